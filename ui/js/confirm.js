// A confirmation dialog (#confirm-dialog) instead of window.confirm, which a webview may not
// show and which would block WebDriver tests.

import { h, replace } from './dom.js';
import { icon } from './icons.js';
import { openModal } from './modal.js';

/** Resolves true when the person confirms, false on Cancel or Escape. */
export function confirmDialog({ title, message, confirmLabel = 'OK', danger = false }) {
  let dialog = document.getElementById('confirm-dialog');
  if (!dialog) {
    dialog = h('dialog', { id: 'confirm-dialog', class: 'modal modal--small', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-message' });
    document.body.append(dialog);
  }
  return new Promise((resolve) => {
    let close;
    const cancel = h('button', { type: 'button', id: 'confirm-cancel', class: 'btn', onclick: () => close('cancel') }, 'Cancel');
    const ok = h('button', { type: 'button', id: 'confirm-ok', class: ['btn', danger ? 'btn--danger' : 'btn--primary'], onclick: () => close('ok') }, confirmLabel);
    replace(
      dialog,
      h(
        'div',
        { class: 'modal__body' },
        h('h2', { id: 'confirm-title', class: 'modal__title' }, danger ? icon('alert', { className: 'icon--danger' }) : null, title),
        h('p', { id: 'confirm-message' }, message),
      ),
      h('div', { class: 'modal__footer' }, cancel, ok),
    );
    close = openModal(dialog, { initialFocus: cancel, onClose: (reason) => resolve(reason === 'ok') });
  });
}
