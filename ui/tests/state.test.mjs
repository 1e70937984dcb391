import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createStore,
  initialSyncState,
  syncReducer,
  progressView,
  resultMessage,
  runMessage,
  PAGE_SIZE,
  pageCount,
  clampPage,
  pageOffset,
  pageOfOffset,
  pageRange,
  pagerState,
} from '../js/state.js';

const progress = (over = {}) => ({
  files_total: 40,
  files_downloaded: 12,
  files_done: 10,
  bytes_total: 4000,
  bytes_downloaded: 1000,
  destinations: {
    local: { pairs_total: 40, transferred: 9, failed: 1, pending: 0, bytes_uploaded: 900 },
    aws_s3: { pairs_total: 40, transferred: 4, failed: 0, pending: 0, bytes_uploaded: 400 },
  },
  ...over,
});

function run(actions, start = initialSyncState) {
  return actions.reduce((s, a) => syncReducer(s, a), start);
}

test('the store notifies subscribers only when the state changes', () => {
  const store = createStore(syncReducer, initialSyncState);
  const seen = [];
  const unsubscribe = store.subscribe((s, a) => seen.push([s.phase, a.type]));
  store.dispatch({ type: 'started', payload: { run_id: 7 } });
  store.dispatch({ type: 'nothing-known' });
  store.dispatch({ type: 'finished', payload: { status: 'succeeded' } });
  unsubscribe();
  store.dispatch({ type: 'started', payload: { run_id: 8 } });
  assert.deepEqual(seen, [['running', 'started'], ['finished', 'finished']]);
  assert.equal(store.getState().runId, 8);
});

test('started, progress, finished give a running then finished view with the last counts kept', () => {
  const s1 = run([{ type: 'started', payload: { run_id: 3 } }]);
  assert.equal(s1.phase, 'running');
  const v1 = progressView(s1);
  assert.equal(v1.running, true);
  assert.equal(v1.indeterminate, true, 'no snapshot yet: Drive is being listed');

  const s2 = syncReducer(s1, { type: 'progress', payload: progress() });
  const v2 = progressView(s2);
  assert.equal(v2.indeterminate, false);
  assert.equal(v2.percentFiles, 25);
  assert.equal(v2.percentBytes, 25);
  assert.deepEqual([v2.files.value, v2.files.max], [10, 40]);
  assert.deepEqual(v2.perDestination.map((d) => [d.key, d.done, d.total, d.percent]), [
    ['aws_s3', 4, 40, 10],
    ['local', 10, 40, 25],
  ]);

  const s3 = syncReducer(s2, { type: 'progress', payload: progress({ files_done: 40, bytes_downloaded: 4000 }) });
  const s4 = syncReducer(s3, { type: 'finished', payload: { status: 'partial', summary: { destinations: {} } } });
  const v4 = progressView(s4);
  assert.equal(v4.running, false);
  assert.equal(v4.percentFiles, 100);
  assert.equal(s4.result.status, 'partial');
});

test('a progress event arriving after finished is ignored', () => {
  const finished = run([
    { type: 'started', payload: { run_id: 1 } },
    { type: 'progress', payload: progress({ files_done: 40 }) },
    { type: 'finished', payload: { status: 'succeeded' } },
  ]);
  const late = syncReducer(finished, { type: 'progress', payload: progress({ files_done: 5 }) });
  assert.equal(late, finished);
  assert.equal(progressView(late).running, false);
});

test('a new run resets the previous result and progress', () => {
  const s = run([
    { type: 'started', payload: { run_id: 1 } },
    { type: 'progress', payload: progress() },
    { type: 'finished', payload: { status: 'failed', error: 'boom' } },
    { type: 'started', payload: { run_id: 2 } },
  ]);
  assert.equal(s.runId, 2);
  assert.equal(s.result, null);
  assert.equal(s.progress, null);
});

test('progress without started (window opened mid-run) counts as running', () => {
  const s = syncReducer(initialSyncState, { type: 'progress', payload: progress() });
  assert.equal(progressView(s).running, true);
});

test('sync_status seeds the state and ends a run whose finished event was missed', () => {
  const running = syncReducer(initialSyncState, {
    type: 'status',
    payload: { running: true, paused: true, schedule: 'every 6h', progress: progress() },
  });
  assert.equal(running.phase, 'running');
  assert.equal(running.paused, true);
  assert.equal(running.schedule, 'every 6h');
  assert.equal(progressView(running).percentFiles, 25);
  const ended = syncReducer(running, { type: 'status', payload: { running: false, paused: false } });
  assert.equal(ended.phase, 'finished');
  assert.equal(ended.paused, false);
});

test('an empty run that finished shows full bars instead of 0 of 0', () => {
  const s = run([
    { type: 'started', payload: { run_id: 1 } },
    { type: 'progress', payload: progress({ files_total: 0, files_done: 0, bytes_total: 0, bytes_downloaded: 0, destinations: {} }) },
    { type: 'finished', payload: { status: 'succeeded' } },
  ]);
  const v = progressView(s);
  assert.deepEqual([v.files.value, v.files.max, v.percentFiles], [1, 1, 100]);
});

test('a run with failures gives a warning that names the destinations and the first error', () => {
  const msg = resultMessage(
    {
      status: 'partial',
      summary: {
        files_planned: 10,
        errors: ['AccessDenied: check the bucket policy'],
        destinations: {
          local: { synced: 10, failed: 0, pending: 0, transferred: 10 },
          aws_s3: { synced: 7, failed: 3, pending: 0, transferred: 7 },
        },
      },
    },
    { aws_s3: 'AWS S3' },
  );
  assert.equal(msg.tone, 'warning');
  assert.match(msg.text, /^Sync finished with failures: 3 copies failed \(AWS S3: 3 failed\)\./);
  assert.match(msg.text, /First error: AccessDenied: check the bucket policy/);
});

test('result messages for success, nothing to do, cancel and could-not-run', () => {
  assert.equal(
    resultMessage({ status: 'succeeded', summary: { files_planned: 2, destinations: { a: { transferred: 2 }, b: { transferred: 2 } } } }).text,
    'Sync finished: 4 copies made and verified.',
  );
  assert.match(resultMessage({ status: 'succeeded', summary: { files_planned: 0, destinations: {} } }).text, /up to date/);
  assert.equal(resultMessage({ status: 'cancelled' }).tone, 'info');
  const cannot = resultMessage({ status: 'failed', error: 'not signed in to Google' });
  assert.equal(cannot.tone, 'error');
  assert.equal(cannot.text, 'Sync could not run: not signed in to Google');
  assert.equal(resultMessage(null), null);
});

test('the last run record gives the same kind of message', () => {
  const msg = runMessage({ status: 'partial', files_planned: 5, pairs_synced: 8, pairs_failed: 2, pairs_pending: 0, error: 'quota exceeded' });
  assert.equal(msg.tone, 'warning');
  assert.match(msg.text, /2 copies failed\. First error: quota exceeded/);
  assert.equal(runMessage({ status: 'succeeded', files_planned: 1, pairs_synced: 2 }).text, 'Sync finished: 2 copies made and verified.');
  assert.equal(runMessage(null), null);
});

test('paging: 100 rows a page, at least one page', () => {
  assert.equal(PAGE_SIZE, 100);
  assert.equal(pageCount(0), 1);
  assert.equal(pageCount(1), 1);
  assert.equal(pageCount(100), 1);
  assert.equal(pageCount(101), 2);
  assert.equal(pageCount(100000), 1000);
});

test('paging clamps at 100,000 rows', () => {
  assert.equal(clampPage(-3, 100000), 0);
  assert.equal(clampPage(999, 100000), 999);
  assert.equal(clampPage(1000, 100000), 999);
  assert.equal(clampPage(5, 0), 0);
  assert.equal(pageOffset(999), 99900);
  assert.equal(pageOfOffset(99950), 999);
  assert.deepEqual(pagerState(0, 100000), { page: 0, pages: 1000, hasPrev: false, hasNext: true });
  assert.deepEqual(pagerState(5000, 100000), { page: 999, pages: 1000, hasPrev: true, hasNext: false });
});

test('the range text reads "x–y of N"', () => {
  assert.equal(pageRange(0, 100, 100000).text, '1–100 of 100000');
  assert.equal(pageRange(99900, 100, 100000).text, '99901–100000 of 100000');
  assert.equal(pageRange(100, 5, 105).text, '101–105 of 105');
  assert.deepEqual(pageRange(0, 0, 0), { start: 0, end: 0, total: 0, text: '0 of 0' });
});

test('a stale sync_status (read before the run started) does not end the new run', () => {
  const started = syncReducer(initialSyncState, { type: 'started', payload: { run_id: 9 } });
  const stale = syncReducer(started, { type: 'status', payload: { running: false, paused: false, last_run: { id: 8, status: 'succeeded' } } });
  assert.equal(stale.phase, 'running');
  const fresh = syncReducer(started, { type: 'status', payload: { running: false, paused: false, last_run: { id: 9, status: 'succeeded' } } });
  assert.equal(fresh.phase, 'finished');
});

test('a polled snapshot never replaces progress already received from events', () => {
  const s = run([
    { type: 'started', payload: { run_id: 1 } },
    { type: 'progress', payload: progress({ files_done: 30 }) },
    { type: 'status', payload: { running: true, progress: progress({ files_done: 20 }) } },
  ]);
  assert.equal(s.progress.files_done, 30);
});

test('a status that reveals a new run drops the previous run’s progress and result', () => {
  const s = run([
    { type: 'started', payload: { run_id: 1 } },
    { type: 'progress', payload: progress({ files_done: 40 }) },
    { type: 'finished', payload: { status: 'succeeded' } },
    { type: 'status', payload: { running: true, progress: progress({ files_done: 2 }) } },
  ]);
  assert.equal(s.phase, 'running');
  assert.equal(s.result, null);
  assert.equal(s.progress.files_done, 2);
});

test('the overdue warning comes from sync_status or its event and ends with a run that succeeded', () => {
  const overdue = { since: '2026-12-01T12:00:00Z', last_success: null, problem: 'aws_s3 is down' };
  let state = syncReducer(undefined, { type: 'status', payload: { running: false, overdue } });
  assert.deepEqual(state.overdue, overdue);
  state = syncReducer(state, { type: 'finished', payload: { status: 'failed' } });
  assert.deepEqual(state.overdue, overdue, 'a failed run leaves it');
  state = syncReducer(state, { type: 'finished', payload: { status: 'succeeded' } });
  assert.equal(state.overdue, null);
  state = syncReducer(state, { type: 'overdue', payload: overdue });
  assert.deepEqual(state.overdue, overdue);
});

test('a destination not responding is said while the run goes on, and not after it ended', () => {
  const s1 = run([{ type: 'started', payload: { run_id: 4 } }]);
  const stalled = progress();
  stalled.destinations.aws_s3.not_responding = true;
  const s2 = syncReducer(s1, { type: 'progress', payload: stalled });
  assert.deepEqual(progressView(s2).perDestination.map((d) => [d.key, d.notResponding]), [['aws_s3', true], ['local', false]]);
  const s3 = syncReducer(s2, { type: 'finished', payload: { status: 'partial', summary: { destinations: {} } } });
  assert.ok(progressView(s3).perDestination.every((d) => !d.notResponding), 'a finished run shows no live state');
});

test('a destination whose copies all failed shows an empty bar and the failures, never a full one', () => {
  const s1 = run([{ type: 'started', payload: { run_id: 5 } }]);
  const allFailed = progress({ destinations: { aws_s3: { pairs_total: 12, transferred: 0, failed: 12, pending: 0, bytes_uploaded: 0 } } });
  const [d] = progressView(syncReducer(s1, { type: 'progress', payload: allFailed })).perDestination;
  assert.deepEqual([d.transferred, d.failed, d.copied.value, d.copied.max, d.copied.percent], [0, 12, 0, 12, 0]);
});

test('bytes downloaded beyond the planned total (exports have no size) never read as more than the whole', () => {
  const s1 = run([{ type: 'started', payload: { run_id: 6 } }]);
  const v = progressView(syncReducer(s1, { type: 'progress', payload: progress({ bytes_total: 66560, bytes_downloaded: 66867 }) }));
  assert.deepEqual([v.bytes.done, v.bytes.total, v.bytes.percent], [66867, 66867, 100]);
});
