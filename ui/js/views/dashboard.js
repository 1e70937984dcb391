// Dashboard: Sync now / Cancel, live progress from sync events, one card per destination, and
// the recent runs.

import { api } from '../api.js';
import { h, replace, stateBlock } from '../dom.js';
import { icon } from '../icons.js';
import { notify, notifyError } from '../notify.js';
import { progressView, resultMessage } from '../state.js';
import { cardState, runBadge } from '../badges.js';
import { formatBytes, formatCount, formatDate, relativeTime, formatDuration, durationBetween, scheduleText, overdueText, costText, checkText, checkTitle, NONE } from '../format.js';

export function createDashboard(root, { store, shared, navigate }) {
  let destinations = [];
  let starting = false;
  // "Could not start" stays on screen until a run starts or the next attempt.
  let startError = null;

  const syncNow = h('button', { type: 'button', id: 'sync-now', class: 'btn btn--primary', onclick: () => onSyncNow() }, icon('sync'), 'Sync now');
  const cancel = h('button', { type: 'button', id: 'sync-cancel', class: 'btn', disabled: true, onclick: onCancel }, icon('stop'), 'Cancel');
  // Pause and resume the running sync: copies under way finish, nothing new starts.
  let runPaused = false;
  const pauseRun = h('button', { type: 'button', id: 'sync-pause', class: 'btn', disabled: true, 'aria-pressed': 'false', onclick: onPauseRun }, 'Pause');
  const scheduleLine = h('p', { id: 'schedule-status', class: 'view-header__sub' });

  const phaseLabel = h('span', { class: 'progress-card__phase' });
  const filesText = h('span', { class: 'meter__value' });
  const bytesText = h('span', { class: 'meter__value' });
  const filesBar = h('progress', { id: 'progress-files', class: 'progress', max: 1, value: 0, 'aria-labelledby': 'progress-files-label' });
  const bytesBar = h('progress', { id: 'progress-bytes', class: 'progress', max: 1, value: 0, 'aria-labelledby': 'progress-bytes-label' });
  const perDest = h('ul', { class: 'dest-progress', 'aria-label': 'Progress per destination' });
  const result = h('p', { id: 'sync-result', class: 'sync-result', role: 'status', 'aria-live': 'polite' });
  const overdueBanner = h('div', { id: 'overdue-banner', class: 'notice notice--warning', role: 'alert', hidden: true }, icon('alert'), h('p', { class: 'notice__text' }));
  const progressSection = h(
    'section',
    { id: 'sync-progress', class: 'card progress-card', 'aria-labelledby': 'sync-progress-title', dataset: { running: 'false' } },
    h('div', { class: 'card__header' }, h('h2', { id: 'sync-progress-title', class: 'card__title' }, 'Sync progress'), phaseLabel),
    h('div', { class: 'meters' },
      h('div', { class: 'meter' }, h('div', { class: 'meter__label' }, h('span', { id: 'progress-files-label' }, 'Files'), filesText), filesBar),
      h('div', { class: 'meter' }, h('div', { class: 'meter__label' }, h('span', { id: 'progress-bytes-label' }, 'Downloaded'), bytesText), bytesBar),
    ),
    perDest,
  );

  const cards = h('div', { class: 'dest-grid', id: 'dest-cards' });
  const runs = h('div', { id: 'recent-runs' });

  replace(
    root,
    h('header', { class: 'view-header' },
      h('div', {}, h('h1', { id: 'dashboard-title', tabindex: '-1' }, 'Dashboard'), scheduleLine),
      h('div', { class: 'view-header__actions' }, pauseRun, cancel, syncNow),
    ),
    overdueBanner,
    result,
    progressSection,
    h('section', { class: 'section', 'aria-labelledby': 'dest-cards-title' }, h('h2', { id: 'dest-cards-title', class: 'section__title' }, 'Destinations'), cards),
    h('section', { class: 'section', 'aria-labelledby': 'recent-runs-title' }, h('h2', { id: 'recent-runs-title', class: 'section__title' }, 'Recent runs'), runs),
  );

  store.subscribe(renderSync);
  renderSync(store.getState());

  // Sync now, or a retry of failed pairs: `begin` starts the run.
  async function onSyncNow(begin = () => api.startSync()) {
    starting = true;
    startError = null;
    renderSync(store.getState());
    try {
      await begin();
      // The shell replies before the run's `started` event; ask once so the section never
      // flickers idle. An event that lands meanwhile is newer than this answer, so it wins.
      const before = store.getState();
      if (before.phase !== 'running') {
        const status = await api.syncStatus();
        if (store.getState() === before) store.dispatch({ type: 'status', payload: status });
      }
    } catch (err) {
      notifyError(err);
      startError = { tone: 'error', status: 'error', text: err.message };
    } finally {
      starting = false;
      renderSync(store.getState());
    }
  }

  async function onPauseRun() {
    const wanted = !runPaused;
    pauseRun.disabled = true;
    try {
      if (await (wanted ? api.pauseSync() : api.resumeSync())) runPaused = wanted;
      if (wanted) notify('Sync paused: copies under way finish, nothing new starts.', 'info');
    } catch (err) {
      notifyError(err);
    } finally {
      renderSync(store.getState());
    }
  }

  async function onCancel() {
    cancel.disabled = true;
    try {
      const cancelled = await api.cancelSync();
      if (!cancelled) notify('No sync was running.', 'info');
    } catch (err) {
      notifyError(err);
    } finally {
      renderSync(store.getState());
    }
  }

  function showResult(message) {
    if (!message) {
      result.textContent = '';
      delete result.dataset.status;
      delete result.dataset.tone;
      return;
    }
    result.dataset.status = message.status;
    result.dataset.tone = message.tone;
    replace(result, icon(message.tone === 'success' ? 'check' : message.tone === 'info' ? 'info' : 'alert'), h('span', {}, message.text));
  }

  function renderSync(state) {
    const view = progressView(state);
    // Between the click and the run's first event the section already counts as running.
    progressSection.dataset.running = String(view.running || starting);
    syncNow.disabled = view.running || starting;
    // Usable from the click on: a run the shell has begun can be cancelled before its first event.
    cancel.disabled = !(view.running || starting);
    pauseRun.disabled = !view.running;
    if (!view.running) runPaused = false;
    pauseRun.textContent = runPaused ? 'Resume' : 'Pause';
    pauseRun.setAttribute('aria-pressed', String(runPaused));

    phaseLabel.textContent = view.running ? (view.indeterminate ? 'Reading Drive…' : 'Copying…') : state.phase === 'finished' ? 'Finished' : 'Idle';
    setBar(filesBar, view.files, view.indeterminate);
    setBar(bytesBar, view.bytes, view.indeterminate);
    filesText.textContent = state.progress ? `${formatCount(view.files.done)} of ${formatCount(view.files.total)}` : NONE;
    bytesText.textContent = state.progress ? `${formatBytes(view.bytes.done)} of ${formatBytes(view.bytes.total)}` : NONE;

    replace(
      perDest,
      view.perDestination.map((d) => {
        const name = shared.destinationNames[d.key] || d.key;
        const labelId = `dest-progress-${d.key}`;
        return h(
          'li',
          { class: 'dest-progress__item', dataset: { key: d.key } },
          h('div', { class: 'meter__label' },
            h('span', { id: labelId }, name),
            h('span', { class: 'meter__value' }, `${formatCount(d.transferred)} of ${formatCount(d.total)} copied · ${formatBytes(d.bytesUploaded)} uploaded`),
          ),
          setBar(h('progress', { class: 'progress', 'aria-labelledby': labelId }), d.copied, false),
          d.notResponding
            ? h('p', { class: 'dest-progress__note dest-progress__note--stalled', role: 'status' }, `${name} is not responding; the other destinations go on.`)
            : null,
          d.failed || d.pending
            ? h('p', { class: 'dest-progress__note' }, [d.failed ? `${formatCount(d.failed)} failed` : '', d.pending ? `${formatCount(d.pending)} left pending` : ''].filter(Boolean).join(' · '))
            : null,
        );
      }),
    );

    if (view.running) startError = null;
    if (view.running || starting) showResult(null);
    else if (startError) showResult(startError);
    else if (state.result) showResult(resultMessage(state.result, shared.destinationNames));
    // Nothing ended while this window was open: the banner stays empty (Recent runs and the
    // cards say how earlier runs went), so it never contradicts an idle progress section.
    else showResult(null);

    scheduleLine.textContent = scheduleText(state);
    const warning = overdueText(state.overdue);
    overdueBanner.hidden = !warning;
    overdueBanner.querySelector('.notice__text').textContent = warning || '';
  }

  function destinationCard(d, s) {
    const stats = s || { synced: 0, pending: 0, failed: 0, synced_bytes: 0 };
    const state = cardState(d, stats);
    const key = d ? d.key : s.destination;
    const name = d ? d.name : s.destination;
    return h(
      'article',
      { class: ['card', 'dest-card', d && d.enabled ? '' : 'dest-card--off'], dataset: { key, state: state[0] }, 'aria-labelledby': `dest-card-${key}` },
      h('div', { class: 'dest-card__head' },
        h('span', { class: 'dest-card__icon' }, icon(d ? d.icon : 'cloud')),
        h('div', { class: 'dest-card__id' }, h('h3', { id: `dest-card-${key}`, class: 'dest-card__name' }, name), h('p', { class: 'dest-card__location', title: d ? d.location : '' }, d ? d.location || key : key)),
        h('span', { class: `badge badge--${state[0]} dest-card__state`, title: state[2] }, state[1]),
      ),
      h('dl', { class: 'counts' },
        count('synced', 'Synced', stats.synced),
        count('pending', 'Pending', stats.pending),
        count('failed', 'Failed', stats.failed),
      ),
      h('dl', { class: 'facts' },
        h('div', {}, h('dt', {}, 'Backed up'), h('dd', { title: stats.kept_bytes ? `and ${formatBytes(stats.kept_bytes)} of earlier versions` : '' }, formatBytes((stats.synced_bytes || 0) + (stats.kept_bytes || 0)))),
        h('div', {}, h('dt', {}, 'Storage cost'), h('dd', { class: 'dest-card__cost', title: costTitle(stats.monthly_cost) }, costText(stats.monthly_cost) || NONE)),
        h('div', {}, h('dt', {}, 'Last sync'), h('dd', { title: formatDate(stats.last_sync) }, relativeTime(stats.last_sync))),
        h('div', {}, h('dt', {}, 'Last checked'), h('dd', { class: 'dest-card__check', title: checkTitle(stats.last_check) }, checkText(stats.last_check))),
      ),
      state[0] === 'problem' && stats.last_check && stats.last_check.problem
        ? h('p', { class: 'dest-card__problem', role: 'status' }, `Problem: ${stats.last_check.problem}`)
        : null,
      d && d.enabled && !d.configured
        ? h('button', { type: 'button', class: 'btn btn--link', onclick: () => navigate('settings') }, 'Add keys in Settings')
        : null,
      d && d.enabled && d.configured && stats.failed > 0
        ? h('button', { type: 'button', class: 'btn btn--link dest-card__retry', onclick: () => onSyncNow(() => api.retryFailed({ destination: key })) }, 'Retry all failed')
        : null,
    );
  }

  function costTitle(cost) {
    return cost ? `Estimate at ${cost.storage_class} prices of ${cost.per_gb_month} ${cost.currency} per GB-month, as of ${cost.as_of} (prices: in config.yaml)` : 'No price known for this destination';
  }

  function count(status, label, n) {
    return h('div', { class: `count count--${status}` }, h('dt', {}, label), h('dd', {}, formatCount(n || 0)));
  }

  function renderCards(dests, stats) {
    const byKey = new Map(stats.map((s) => [s.destination, s]));
    const known = new Set(dests.map((d) => d.key));
    // A destination removed from config.yaml still holds copies; show it rather than hide them.
    const orphans = stats.filter((s) => !known.has(s.destination) && s.synced + s.pending + s.failed > 0);
    if (dests.length === 0 && orphans.length === 0) {
      replace(cards, stateBlock('empty', 'No destinations configured', 'Add one under destinations in config.yaml.'));
      return;
    }
    replace(cards, dests.map((d) => destinationCard(d, byKey.get(d.key))), orphans.map((s) => destinationCard(null, s)));
  }

  function renderRuns(list) {
    if (list.length === 0) {
      replace(runs, stateBlock('empty', 'No runs yet', 'Press Sync now to make the first backup.'));
      return;
    }
    const now = Date.now();
    replace(
      runs,
      h('div', { class: 'table-wrap' },
        h('table', { class: 'table', id: 'runs-table' },
          h('thead', {}, h('tr', {},
            ['Started', 'Status', 'Duration', 'Files', 'Synced', 'Failed', 'Pending', 'Downloaded', 'Uploaded'].map((t, i) => h('th', { scope: 'col', class: i >= 2 ? 'num' : '' }, t)),
          )),
          h('tbody', {}, list.map((r) => {
            const badge = runBadge(r.status);
            return h('tr', { class: 'run-row', dataset: { runId: r.id, status: r.status } },
              h('td', { title: formatDate(r.started_at) }, relativeTime(r.started_at, now)),
              h('td', {}, h('span', { class: badge.className, title: r.error || badge.title }, badge.label), r.error ? h('p', { class: 'run-error' }, r.error) : null),
              h('td', { class: 'num' }, r.finished_at ? formatDuration(durationBetween(r.started_at, r.finished_at)) : NONE),
              h('td', { class: 'num' }, formatCount(r.files_planned)),
              h('td', { class: 'num' }, formatCount(r.pairs_synced)),
              h('td', { class: ['num', r.pairs_failed ? 'text-failed' : ''] }, formatCount(r.pairs_failed)),
              h('td', { class: ['num', r.pairs_pending ? 'text-pending' : ''] }, formatCount(r.pairs_pending)),
              h('td', { class: 'num' }, formatBytes(r.bytes_downloaded)),
              h('td', { class: 'num' }, formatBytes(r.bytes_uploaded)),
            );
          })),
        ),
      ),
    );
  }

  async function load() {
    if (!cards.firstChild) replace(cards, stateBlock('loading', 'Loading destinations…'));
    if (!runs.firstChild) replace(runs, stateBlock('loading', 'Loading runs…'));
    const [dests, stats, recent, status] = await Promise.allSettled([api.listDestinations(), api.destinationStats(), api.recentRuns(10), api.syncStatus()]);

    if (dests.status === 'fulfilled') {
      destinations = dests.value;
      shared.destinationNames = Object.fromEntries(destinations.map((d) => [d.key, d.name]));
    }
    if (dests.status === 'rejected' || stats.status === 'rejected') {
      const err = dests.status === 'rejected' ? dests.reason : stats.reason;
      replace(cards, stateBlock('error', 'Could not load destinations', err.message, retryButton()));
    } else {
      lastCards = [destinations, stats.value];
      renderCards(...lastCards);
    }
    if (recent.status === 'fulfilled') {
      lastRuns = recent.value;
      renderRuns(lastRuns);
    }
    else replace(runs, stateBlock('error', 'Could not load recent runs', recent.reason.message, retryButton()));
    if (status.status === 'fulfilled') store.dispatch({ type: 'status', payload: status.value });
    else notifyError(status.reason);
    renderSync(store.getState());
  }

  // Relative times ("4 min ago", "in 3 h") move on while the window stays open.
  let lastCards = null;
  let lastRuns = null;
  setInterval(() => {
    if (!root.isConnected || root.hidden) return;
    if (lastCards) renderCards(...lastCards);
    if (lastRuns) renderRuns(lastRuns);
    renderSync(store.getState());
  }, 30_000);

  function retryButton() {
    return h('button', { type: 'button', class: 'btn', onclick: () => navigate('dashboard') }, 'Try again');
  }

  return { load, onSyncFinished: load };
}

/** Sets a <progress> from a bar model; an indeterminate bar has no value attribute at all. */
function setBar(el, bar, indeterminate) {
  el.max = bar.max;
  if (indeterminate) el.removeAttribute('value');
  else el.value = bar.value;
  el.dataset.percent = String(bar.percent);
  el.setAttribute('aria-valuetext', `${bar.percent}%`);
  return el;
}
