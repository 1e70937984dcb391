// A tiny store, the sync progress reducer and the Files paging math. Pure: no DOM, no Tauri.

import { formatCount, pluralize } from './format.js';

/** A minimal observable store: dispatch(action) runs the reducer and tells subscribers. */
export function createStore(reducer, initialState) {
  let state = initialState;
  const listeners = new Set();
  return {
    getState: () => state,
    dispatch(action) {
      const next = reducer(state, action);
      if (next === state) return state;
      state = next;
      for (const fn of [...listeners]) fn(state, action);
      return state;
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Sync progress

/**
 * phase: "idle" (nothing this session), "running", or "finished".
 * progress: the last Progress payload (kept after the run so the bars show where it ended).
 * result: the last `sync://finished` payload.
 */
export const initialSyncState = Object.freeze({
  phase: 'idle',
  runId: null,
  progress: null,
  result: null,
  paused: false,
  schedule: null,
  nextDue: null,
  overdue: null,
  lastRun: null,
});

/**
 * Applies an action to the sync state. Actions:
 *   { type: "status", payload: SyncStatus }          from the `sync_status` command
 *   { type: "started", payload: { run_id } }         the `sync://started` event
 *   { type: "progress", payload: Progress }          the `sync://progress` event
 *   { type: "finished", payload: { status, summary?, error? } }
 *   { type: "overdue", payload: Overdue }           the `sync://overdue` event
 * A progress event that arrives after `finished` belongs to the run that ended and is ignored;
 * one that arrives without `started` (the window opened mid-run) marks the run as running.
 */
export function syncReducer(state = initialSyncState, action = {}) {
  const payload = action.payload || {};
  switch (action.type) {
    case 'status': {
      const next = { ...state, paused: !!payload.paused, schedule: payload.schedule || null, nextDue: payload.next_due || null, overdue: payload.overdue || null };
      if ('last_run' in payload) next.lastRun = payload.last_run || null;
      if (payload.running) {
        if (state.phase !== 'running') {
          // A run we heard no `started` for: whatever the last run left behind is stale.
          Object.assign(next, { phase: 'running', progress: payload.progress || null, result: null });
        } else if (payload.progress && !state.progress) {
          // Events are fresher than a polled snapshot; take the snapshot only when we have none.
          next.progress = payload.progress;
        }
      } else if (state.phase === 'running' && !startedAfter(state, payload.last_run)) {
        // The run ended while no event reached us (e.g. a missed `finished`).
        next.phase = 'finished';
      }
      return next;
    }
    case 'started':
      return { ...state, phase: 'running', runId: payload.run_id ?? null, progress: null, result: null };
    case 'progress':
      if (state.phase === 'finished') return state;
      return { ...state, phase: 'running', progress: payload };
    case 'finished': {
      const next = { ...state, phase: 'finished', result: { status: payload.status, summary: payload.summary || null, error: payload.error || null } };
      // A backup that completed ends the overdue warning (the shell's next look agrees).
      if (payload.status === 'succeeded') next.overdue = null;
      return next;
    }
    case 'overdue':
      return { ...state, overdue: payload && payload.since ? payload : null };
    default:
      return state;
  }
}

/** A status read before `sync://started` arrived must not end the run that just started. */
function startedAfter(state, lastRun) {
  return state.runId !== null && (!lastRun || lastRun.id < state.runId);
}

/** What the progress section shows, derived from the state. */
export function progressView(state) {
  const running = state.phase === 'running';
  const p = state.progress;
  const finished = state.phase === 'finished';
  const files = bar(p ? p.files_done : 0, p ? p.files_total : 0, finished);
  // Exported Google Docs have no size until downloaded, so the bytes can outgrow the plan's total.
  const bytesDone = p ? p.bytes_downloaded : 0;
  const bytes = bar(bytesDone, Math.max(p ? p.bytes_total : 0, bytesDone), finished);
  const perDestination = Object.entries((p && p.destinations) || {})
    .map(([key, d]) => {
      const done = (d.transferred || 0) + (d.failed || 0) + (d.pending || 0);
      return {
        key,
        total: d.pairs_total || 0,
        transferred: d.transferred || 0,
        failed: d.failed || 0,
        pending: d.pending || 0,
        bytesUploaded: d.bytes_uploaded || 0,
        notResponding: Boolean(running && d.not_responding),
        done,
        ...bar(done, d.pairs_total || 0, finished),
        // The bar shows copies made: failed and pending ones are said beside it, not filled in.
        copied: bar(d.transferred || 0, d.pairs_total || 0, false),
      };
    })
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    running,
    // No snapshot yet: the run is listing Drive, so the bars are indeterminate.
    indeterminate: running && !p,
    files,
    bytes,
    percentFiles: files.percent,
    percentBytes: bytes.percent,
    perDestination,
  };
}

/** `<progress>` wants max > 0: an empty run that finished shows as complete, not as 0 of 0. */
function bar(done, total, finished) {
  const d = Math.max(0, Number(done) || 0);
  const t = Math.max(0, Number(total) || 0);
  if (t === 0) return { done: d, total: t, value: finished ? 1 : 0, max: 1, percent: finished ? 100 : 0 };
  const value = Math.min(d, t);
  return { done: d, total: t, value, max: t, percent: Math.floor((value / t) * 100) };
}

/**
 * The sentence shown when a run ends, and its tone (success, warning, error, info).
 * `names` maps destination keys to display names.
 */
export function resultMessage(result, names = {}) {
  if (!result) return null;
  const { status, summary, error } = result;
  const dests = Object.entries((summary && summary.destinations) || {});
  const sum = (field) => dests.reduce((n, [, d]) => n + (d[field] || 0), 0);
  const where = dests
    .filter(([, d]) => d.failed || d.pending)
    .map(([k, d]) => `${names[k] || k}: ${[d.failed ? `${formatCount(d.failed)} failed` : '', d.pending ? `${formatCount(d.pending)} pending` : ''].filter(Boolean).join(', ')}`)
    .join('; ');
  return describeOutcome({
    status,
    error,
    filesPlanned: summary ? summary.files_planned : null,
    copied: sum('transferred'),
    failed: sum('failed'),
    pending: sum('pending'),
    where,
    firstError: summary && summary.errors && summary.errors.length ? summary.errors[0] : null,
  });
}

/** The same sentence for a RunRecord (the last run, when this session has not seen one end). */
export function runMessage(run) {
  if (!run) return null;
  if (run.status === 'running') return { tone: 'info', status: 'running', text: 'A sync is running.' };
  return describeOutcome({
    status: run.status,
    // A run that could not start at all has an error and nothing planned.
    error: run.status === 'failed' && !run.files_planned ? run.error : null,
    filesPlanned: run.files_planned,
    copied: run.pairs_synced,
    failed: run.pairs_failed,
    pending: run.pairs_pending,
    where: '',
    firstError: run.error || null,
  });
}

function describeOutcome({ status, error, filesPlanned, copied, failed, pending, where, firstError }) {
  if (error) return { tone: 'error', status: status || 'failed', text: `Sync could not run: ${error}` };
  if (status === 'cancelled') return { tone: 'info', status, text: 'Sync cancelled. What was copied is kept; the rest is copied next time.' };
  if (status === 'succeeded') {
    if (filesPlanned === 0) return { tone: 'success', status, text: 'Everything is up to date: nothing needed copying.' };
    return { tone: 'success', status, text: `Sync finished: ${pluralize(copied || 0, 'copy', 'copies')} made and verified.` };
  }
  const counts = [failed ? `${pluralize(failed, 'copy', 'copies')} failed` : '', pending ? `${formatCount(pending)} still pending` : '']
    .filter(Boolean)
    .join(' and ');
  const detail = `${counts || 'some copies did not complete'}${where ? ` (${where})` : ''}.${firstError ? ` First error: ${firstError}` : ''} The next sync retries them; see Files for each error.`;
  if (status === 'partial') return { tone: 'warning', status, text: `Sync finished with failures: ${detail}` };
  return { tone: 'error', status: status || 'failed', text: `Sync failed: ${detail}` };
}

// ---------------------------------------------------------------------------------------------
// Files paging

export const PAGE_SIZE = 100;

/** At least one page, so an empty table still reads "page 1 of 1". */
export function pageCount(total, size = PAGE_SIZE) {
  return Math.max(1, Math.ceil(Math.max(0, Number(total) || 0) / size));
}

/** A zero-based page index kept within [0, pageCount - 1]. */
export function clampPage(page, total, size = PAGE_SIZE) {
  const p = Math.floor(Number(page) || 0);
  return Math.min(Math.max(0, p), pageCount(total, size) - 1);
}

export function pageOffset(page, size = PAGE_SIZE) {
  return Math.max(0, Math.floor(Number(page) || 0)) * size;
}

export function pageOfOffset(offset, size = PAGE_SIZE) {
  return Math.floor(Math.max(0, Number(offset) || 0) / size);
}

/**
 * "1–100 of 100000" for the rows shown. Plain digits, so the text can be read back by tests and
 * screen readers alike; start/end are 1-based and inclusive.
 */
export function pageRange(offset, shown, total) {
  const t = Math.max(0, Number(total) || 0);
  const n = Math.max(0, Number(shown) || 0);
  if (t === 0 || n === 0) return { start: 0, end: 0, total: t, text: `0 of ${t}` };
  const start = Math.max(0, Number(offset) || 0) + 1;
  const end = Math.min(start + n - 1, t);
  return { start, end, total: t, text: `${start}–${end} of ${t}` };
}

/** Whether Previous / Next can move. */
export function pagerState(page, total, size = PAGE_SIZE) {
  const p = clampPage(page, total, size);
  return { page: p, pages: pageCount(total, size), hasPrev: p > 0, hasNext: p < pageCount(total, size) - 1 };
}
