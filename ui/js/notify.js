// The app's alert region (#app-alert): errors stay until dismissed or replaced; confirmations
// fade after a few seconds. Text only, set with textContent.

import { h, replace } from './dom.js';
import { icon } from './icons.js';

const TIMEOUT_MS = 6000;
let timer = null;

function region() {
  return document.getElementById('app-alert');
}

/** tone: "error" | "warning" | "success" | "info". */
export function notify(message, tone = 'info') {
  const el = region();
  if (!el) return;
  clearTimeout(timer);
  el.dataset.tone = tone;
  replace(
    el,
    h(
      'div',
      { class: `notice notice--${tone}` },
      icon(tone === 'error' || tone === 'warning' ? 'alert' : tone === 'success' ? 'check' : 'info'),
      h('p', { class: 'notice__text' }, message),
      h('button', { type: 'button', class: 'btn btn--ghost btn--icon notice__close', 'aria-label': 'Dismiss message', onclick: clearNotice }, icon('x')),
    ),
  );
  if (tone === 'success' || tone === 'info') timer = setTimeout(clearNotice, TIMEOUT_MS);
}

/** Shows a command's error exactly as the engine worded it. */
export function notifyError(err) {
  notify(err && err.message ? err.message : String(err), 'error');
}

export function clearNotice() {
  clearTimeout(timer);
  const el = region();
  if (!el) return;
  delete el.dataset.tone;
  el.replaceChildren();
}
