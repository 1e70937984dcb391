// Entry point: routes between the views, feeds sync events into the store, and keeps the
// sidebar's status line current.

import { api, listen, EVENTS } from './api.js';
import { createStore, syncReducer, initialSyncState, progressView, resultMessage } from './state.js';
import { notify, notifyError } from './notify.js';
import { setCurrentView, track } from './ready.js';
import { h, replace } from './dom.js';
import { icon } from './icons.js';
import { createDashboard } from './views/dashboard.js';
import { createFiles } from './views/files.js';
import { createSettings } from './views/settings.js';
import { createRestore } from './views/restore.js';

const VIEWS = ['dashboard', 'files', 'restore', 'settings'];
const POLL_MS = 3000;

const store = createStore(syncReducer, initialSyncState);
// Facts several views use; filled by whichever view loads them first.
const shared = { appInfo: null, destinationNames: {} };
const views = {};
let current = null;
let pollTimer = null;

function viewFromHash() {
  const m = /^#\/([a-z]+)/.exec(location.hash);
  return m && VIEWS.includes(m[1]) ? m[1] : 'dashboard';
}

function navigate(name) {
  const hash = `#/${name}`;
  // Pressing the current view's button again reloads it.
  if (location.hash === hash) show(name, { focus: true });
  else location.hash = hash;
}

function show(name, { focus = false } = {}) {
  current = name;
  for (const v of VIEWS) {
    document.getElementById(`view-${v}`).hidden = v !== name;
    const nav = document.getElementById(`nav-${v}`);
    if (v === name) nav.setAttribute('aria-current', 'page');
    else nav.removeAttribute('aria-current');
  }
  setCurrentView(name);
  track(name, Promise.resolve().then(() => views[name].load()).catch(notifyError));
  if (focus) {
    const title = document.getElementById(`${name}-title`);
    if (title) title.focus();
  }
}

function renderSidebarStatus(state) {
  const el = document.getElementById('sidebar-sync');
  const view = progressView(state);
  if (view.running) {
    const bar = h('progress', { class: 'progress progress--small', max: view.files.max, 'aria-hidden': 'true' });
    if (!view.indeterminate) bar.value = view.files.value;
    replace(el, h('span', { class: 'sidebar-sync__line' }, icon('sync', { className: 'icon--spin' }), view.indeterminate ? 'Syncing…' : `Syncing · ${view.percentFiles}%`), bar);
  } else if (state.paused) {
    replace(el, h('span', { class: 'sidebar-sync__line' }, icon('clock'), 'Scheduled syncs paused'));
  } else if (state.schedule) {
    replace(el, h('span', { class: 'sidebar-sync__line' }, icon('clock'), `Syncs ${state.schedule}`));
  } else {
    replace(el, h('span', { class: 'sidebar-sync__line' }, icon('check'), 'Idle'));
  }
}

// While a run is going, ask for the status now and then, in case an event is lost.
function pollWhileRunning(state) {
  if (state.phase !== 'running') {
    clearTimeout(pollTimer);
    pollTimer = null;
    return;
  }
  if (pollTimer) return;
  pollTimer = setTimeout(async () => {
    pollTimer = null;
    try {
      const before = store.getState();
      const status = await api.syncStatus();
      // An event that arrived while we asked is newer than this answer.
      if (store.getState() === before) store.dispatch({ type: 'status', payload: status });
    } catch {
      // The next event or poll will catch up; an error here is not the person's problem.
    }
    pollWhileRunning(store.getState());
  }, POLL_MS);
}

function onFinished(state) {
  const view = views[current];
  if (view && view.onSyncFinished) track(current, Promise.resolve().then(() => view.onSyncFinished()).catch(notifyError));
  const message = resultMessage(state.result, shared.destinationNames);
  // The dashboard shows the result itself; elsewhere, failures still deserve a visible note.
  if (current !== 'dashboard' && message && message.tone !== 'success' && message.tone !== 'info') notify(message.text, message.tone);
}

async function listenToSync() {
  const pairs = [
    [EVENTS.started, 'started'],
    [EVENTS.progress, 'progress'],
    [EVENTS.finished, 'finished'],
    [EVENTS.overdue, 'overdue'],
  ];
  await Promise.all(pairs.map(([event, type]) => listen(event, (payload) => store.dispatch({ type, payload }))));
}

async function loadAppInfo() {
  const info = await api.appInfo();
  shared.appInfo = info;
  document.getElementById('demo-badge').hidden = !info.demo;
  document.getElementById('app-version').textContent = info.version ? `Version ${info.version}` : '';
}

function init() {
  for (const slot of document.querySelectorAll('[data-icon]')) slot.replaceWith(icon(slot.dataset.icon));
  for (const v of VIEWS) document.getElementById(`nav-${v}`).addEventListener('click', () => navigate(v));
  window.addEventListener('hashchange', () => show(viewFromHash(), { focus: true }));

  const ctx = (name) => ({ store, shared, navigate, track: (promise) => track(name, promise) });
  views.dashboard = createDashboard(document.getElementById('view-dashboard'), ctx('dashboard'));
  views.files = createFiles(document.getElementById('view-files'), ctx('files'));
  views.settings = createSettings(document.getElementById('view-settings'), ctx('settings'));
  views.restore = createRestore(document.getElementById('view-restore'), ctx('restore'));

  store.subscribe((state, action) => {
    renderSidebarStatus(state);
    pollWhileRunning(state);
    if (action.type === 'finished') onFinished(state);
  });
  renderSidebarStatus(store.getState());

  listenToSync().catch(notifyError);
  loadAppInfo().catch(notifyError);
  show(viewFromHash());
}

init();
