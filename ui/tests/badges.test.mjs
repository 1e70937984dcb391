import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  STATUS_ORDER,
  statusRank,
  compareStatus,
  indexDestinations,
  pairBadge,
  destinationBadge,
  sortPairs,
  summarizePairs,
  runBadge,
  cardState,
} from '../js/badges.js';

const destinations = [
  { key: 'aws_s3', name: 'AWS S3', icon: 'amazon', provider: 'aws_s3', enabled: true, configured: true, location: 'my-bucket' },
  { key: 'backblaze_b2', name: 'Backblaze B2', icon: 'cloud', provider: 'backblaze_b2', enabled: true, configured: false, location: 'b2-bucket' },
  { key: 'scaleway', name: 'Scaleway', icon: 'hdd-network', provider: 'scaleway', enabled: false, configured: false, location: '' },
  { key: 'local', name: 'Local folder', icon: 'device-hdd', provider: 'local', enabled: true, configured: true, location: '/backups' },
];
const byKey = indexDestinations(destinations);

test('statuses order failed, then pending, then synced, unknown last', () => {
  assert.deepEqual(STATUS_ORDER, ['failed', 'pending', 'synced']);
  assert.deepEqual(['synced', 'weird', 'failed', 'pending'].sort(compareStatus), ['failed', 'pending', 'synced', 'weird']);
  assert.equal(statusRank('failed'), 0);
  assert.equal(statusRank('nonsense'), 3);
});

test('a failed pair badge is red and carries the recorded error as its title', () => {
  const error = 'AccessDenied: the key cannot write to bucket my-bucket';
  const badge = pairBadge({ destination: 'aws_s3', status: 'failed', error_message: error, attempts: 2 }, byKey.get('aws_s3'));
  assert.equal(badge.status, 'failed');
  assert.equal(badge.className, 'badge badge--failed');
  assert.equal(badge.label, 'AWS S3');
  assert.equal(badge.title, error);
  assert.equal(badge.ariaLabel, 'AWS S3: failed');
});

test('a failed pair with no error still says so', () => {
  const badge = pairBadge({ destination: 'aws_s3', status: 'failed', attempts: 1 }, byKey.get('aws_s3'));
  assert.match(badge.title, /no error message/);
});

test('synced and pending badges are green and amber', () => {
  const synced = pairBadge({ destination: 'local', status: 'synced', last_sync: '2025-01-02T03:04:05Z', attempts: 0 }, byKey.get('local'));
  assert.equal(synced.className, 'badge badge--synced');
  assert.match(synced.title, /^Synced Jan 2, 2025/);
  const pending = pairBadge({ destination: 'local', status: 'pending', attempts: 3 }, byKey.get('local'));
  assert.equal(pending.className, 'badge badge--pending');
  assert.equal(pending.title, 'Pending, 3 attempts so far');
});

test('a pair for a destination no longer in config.yaml is labelled by its key', () => {
  const badge = pairBadge({ destination: 'old_nas', status: 'synced', attempts: 0 }, undefined);
  assert.equal(badge.label, 'old_nas');
});

test('an unknown pair status is treated as pending, never as synced', () => {
  assert.equal(pairBadge({ destination: 'local', status: 'weird', attempts: 0 }).status, 'pending');
});

test('destination badges on policy cards say whether copies can go there now', () => {
  assert.equal(destinationBadge('aws_s3', byKey.get('aws_s3')).status, 'ready');
  assert.equal(destinationBadge('aws_s3', byKey.get('aws_s3')).title, 'AWS S3: my-bucket');
  const noKeys = destinationBadge('backblaze_b2', byKey.get('backblaze_b2'));
  assert.equal(noKeys.status, 'not-configured');
  assert.equal(noKeys.className, 'badge badge--not-configured');
  assert.match(noKeys.title, /no keys/);
  assert.equal(destinationBadge('scaleway', byKey.get('scaleway')).status, 'disabled');
  const missing = destinationBadge('gone', undefined);
  assert.equal(missing.status, 'not-configured');
  assert.equal(missing.label, 'gone');
});

test('pairs are shown in configuration order, unknown destinations last', () => {
  const pairs = [{ destination: 'zeta' }, { destination: 'local' }, { destination: 'alpha' }, { destination: 'aws_s3' }];
  assert.deepEqual(sortPairs(pairs, destinations).map((p) => p.destination), ['aws_s3', 'local', 'alpha', 'zeta']);
});

test('summarizePairs reports the worst status and the counts', () => {
  const s = summarizePairs([
    { destination: 'a', status: 'synced' },
    { destination: 'b', status: 'failed' },
    { destination: 'c', status: 'synced' },
  ]);
  assert.equal(s.status, 'failed');
  assert.deepEqual(s.counts, { failed: 1, pending: 0, synced: 2 });
  assert.equal(s.total, 3);
  assert.equal(s.text, '1 failed, 2 synced');
  assert.deepEqual(summarizePairs([]), { status: null, counts: { failed: 0, pending: 0, synced: 0 }, total: 0, text: 'Not copied anywhere' });
});

test('run badges map run statuses onto the status colours', () => {
  assert.equal(runBadge('succeeded').className, 'badge badge--synced');
  assert.equal(runBadge('partial').className, 'badge badge--pending');
  assert.equal(runBadge('failed').className, 'badge badge--failed');
  assert.equal(runBadge('cancelled').label, 'Cancelled');
});

test('a destination card with failed copies says Problem, never Ready', () => {
  const d = { key: 'aws_s3', enabled: true, configured: true };
  assert.deepEqual(cardState(d, { failed: 0 }).slice(0, 2), ['ready', 'Ready']);
  assert.deepEqual(cardState(d, { failed: 12 }).slice(0, 2), ['problem', 'Problem: 12 copies failed']);
  assert.deepEqual(cardState(d, { failed: 1 }).slice(0, 2), ['problem', 'Problem: 1 copy failed']);
  assert.equal(cardState({ ...d, configured: false }, { failed: 3 })[0], 'not-configured');
  assert.equal(cardState({ ...d, enabled: false }, null)[0], 'disabled');
  assert.equal(cardState(null, { failed: 2 })[1], 'Not in config.yaml');
});

test('a destination that failed the last sync check says Problem with the reason, whatever its counts', () => {
  const d = { key: 'local', enabled: true, configured: true };
  const problem = 'local: /media/backup is a file, not a folder; choose a folder.';
  const stats = { failed: 0, last_check: { at: '2026-12-03T10:00:00Z', problem, checked: 0, missing: 0, copies: 12 } };
  assert.deepEqual(cardState(d, stats), ['problem', 'Problem', problem]);
  assert.deepEqual(cardState(d, { failed: 0, last_check: { ...stats.last_check, problem: null } }).slice(0, 2), ['ready', 'Ready']);
});
