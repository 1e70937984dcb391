import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NONE,
  formatBytes,
  formatCount,
  pluralize,
  formatPercent,
  formatDate,
  relativeTime,
  formatDuration,
  durationBetween,
  scheduleText,
  overdueText,
  formatMoney,
  costText,
  estimateLines,
  folderSizeText,
  formatRate,
  bandwidthText,
  checkText,
  checkTitle,
} from '../js/format.js';

test('formatBytes uses binary units with one decimal that is dropped when zero', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1), '1 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1024), '1 KiB');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(16 * 1024), '16 KiB');
  assert.equal(formatBytes(1024 * 1024), '1 MiB');
  assert.equal(formatBytes(256 * 1024 * 1024), '256 MiB');
  assert.equal(formatBytes(3 * 1024 ** 3 + 512 * 1024 ** 2), '3.5 GiB');
  assert.equal(formatBytes(2 * 1024 ** 4), '2 TiB');
});

test('formatBytes never shows 1024 of a unit: it moves up instead', () => {
  assert.equal(formatBytes(1024 * 1024 - 1), '1 MiB');
});

test('formatBytes shows a dash for unknown sizes (Google Docs have none)', () => {
  assert.equal(formatBytes(null), NONE);
  assert.equal(formatBytes(undefined), NONE);
  assert.equal(formatBytes('not a number'), NONE);
});

test('formatCount groups thousands', () => {
  assert.equal(formatCount(0), '0');
  assert.equal(formatCount(999), '999');
  assert.equal(formatCount(100000), '100,000');
  assert.equal(formatCount(null), NONE);
});

test('pluralize chooses the form by count and keeps the number', () => {
  assert.equal(pluralize(0, 'file'), '0 files');
  assert.equal(pluralize(1, 'file'), '1 file');
  assert.equal(pluralize(2, 'file'), '2 files');
  assert.equal(pluralize(1, 'copy', 'copies'), '1 copy');
  assert.equal(pluralize(12000, 'copy', 'copies'), '12,000 copies');
});

test('formatPercent rounds and clamps to 0–100%', () => {
  assert.equal(formatPercent(0.4237), '42%');
  assert.equal(formatPercent(1.2), '100%');
  assert.equal(formatPercent(-1), '0%');
});

test('formatDate shows date and time in the given zone, and a dash for nothing', () => {
  const text = formatDate('2025-01-02T03:04:05Z', { timeZone: 'UTC' });
  assert.match(text, /^Jan 2, 2025, 3:04\sAM$/);
  assert.equal(formatDate(null), NONE);
  assert.equal(formatDate('garbage'), NONE);
});

test('relativeTime reads like a person would say it', () => {
  const now = Date.parse('2025-06-10T12:00:00Z');
  const ago = (s) => new Date(now - s * 1000).toISOString();
  assert.equal(relativeTime(ago(10), now), 'just now');
  assert.equal(relativeTime(ago(5 * 60), now), '5 min ago');
  assert.equal(relativeTime(ago(3 * 3600), now), '3 h ago');
  assert.equal(relativeTime(ago(26 * 3600), now), 'yesterday');
  assert.equal(relativeTime(ago(4 * 86400), now), '4 days ago');
  assert.equal(relativeTime(new Date(now + 10 * 60 * 1000).toISOString(), now), 'in 10 min');
  assert.match(relativeTime(ago(90 * 86400), now, { timeZone: 'UTC' }), /^Mar 12, 2025/);
  assert.equal(relativeTime(undefined, now), NONE);
});

test('formatDuration and durationBetween describe a run length', () => {
  assert.equal(formatDuration(45_000), '45 s');
  assert.equal(formatDuration(185_000), '3 min 5 s');
  assert.equal(formatDuration(180_000), '3 min');
  assert.equal(formatDuration(3_720_000), '1 h 2 min');
  assert.equal(formatDuration(null), NONE);
  assert.equal(durationBetween('2025-01-01T00:00:00Z', '2025-01-01T00:01:30Z'), 90_000);
  assert.equal(durationBetween('2025-01-01T00:00:00Z', null), null);
});

test('the schedule line says when the next sync is due, or that it is due now, or paused', () => {
  const now = Date.parse('2026-12-03T12:00:00Z');
  const utc = { timeZone: 'UTC' };
  assert.equal(
    scheduleText({ schedule: 'every 6h', nextDue: '2026-12-03T15:00:00Z' }, now, utc),
    'Syncs run every 6h. Next sync Dec 3, 2026, 3:00 PM (in 3 h).',
  );
  assert.equal(scheduleText({ schedule: 'daily at 02:30', nextDue: '2026-12-02T02:30:00Z' }, now, utc), 'Syncs run daily at 02:30. Next sync: now.');
  assert.equal(scheduleText({ schedule: 'every 6h', paused: true, nextDue: null }, now, utc), 'Scheduled syncs (every 6h) are paused.');
  assert.equal(scheduleText({ schedule: null }, now, utc), 'Syncs run when you press Sync now.');
});

test('the overdue banner says since when and the last problem, and nothing when not overdue', () => {
  const now = Date.parse('2026-12-03T12:00:00Z');
  const utc = { timeZone: 'UTC' };
  assert.equal(overdueText(null, now, utc), null);
  assert.equal(
    overdueText({ since: '2026-12-01T12:00:00Z', last_success: '2026-12-01T12:00:00Z', problem: 'aws_s3: cannot reach the server' }, now, utc),
    'Backups are overdue: no backup has completed since Dec 1, 2026, 12:00 PM (2 days ago). Last problem: aws_s3: cannot reach the server',
  );
  assert.equal(
    overdueText({ since: '2026-12-02T12:00:00Z', last_success: null, problem: null }, now, utc),
    'Backups are overdue: no backup has completed yet; the first was tried Dec 2, 2026, 12:00 PM (yesterday).',
  );
});

test('costs: money with two decimals, a cent as the smallest figure, the estimate per month', () => {
  assert.equal(formatMoney(0.23, 'USD'), '$0.23');
  assert.equal(formatMoney(1234.5, 'EUR'), '€1,234.50');
  assert.equal(formatMoney(0.004, 'USD'), '< $0.01');
  assert.equal(formatMoney(0, 'USD'), '$0.00');
  assert.equal(formatMoney(null, 'USD'), NONE);
  assert.equal(costText({ amount: 0.23, currency: 'USD' }), '~$0.23/month');
  assert.equal(costText(undefined), null);
});

test("the folder picker's figure is the folder's Drive size times each ticked destination's price", () => {
  const gib = 1024 ** 3;
  const price = { aws_s3: 0.023, scaleway: 0.0146 };
  // What the engine sends for a folder of 10 GiB (amount = bytes / GiB × price).
  const estimate = {
    files: 12,
    bytes: 10 * gib,
    unsized_files: 2,
    monthly_costs: Object.fromEntries(
      Object.entries(price).map(([key, p]) => [key, { amount: (10 * gib / gib) * p, currency: key === 'scaleway' ? 'EUR' : 'USD', storage_class: 'STANDARD', as_of: '2025-06-01' }]),
    ),
  };
  const destinations = [
    { key: 'aws_s3', name: 'AWS S3', location_kind: 'bucket' },
    { key: 'scaleway', name: 'Scaleway', location_kind: 'bucket' },
    { key: 'local', name: 'Local folder', location_kind: 'folder' },
    { key: 'nas', name: 'Office NAS', location_kind: 'bucket' },
  ];
  const lines = estimateLines(estimate, ['aws_s3', 'local', 'nas'], destinations);
  assert.deepEqual(lines.map((l) => l.key), ['aws_s3', 'local', 'nas'], 'only ticked destinations');
  assert.equal(lines[0].text, '+$0.23/month (STANDARD, prices as of 2025-06-01)');
  assert.equal(lines[1].text, 'no storage fee (a disk)');
  assert.match(lines[2].text, /no price known/);
  assert.equal(estimateLines(estimate, ['scaleway'], destinations)[0].text, '+€0.15/month (STANDARD, prices as of 2025-06-01)');
  assert.equal(folderSizeText(estimate), '12 files, 10 GiB in Drive (2 Google files counted once exported)');
  assert.deepEqual(estimateLines(null, ['aws_s3'], destinations), []);
});

test('the bandwidth line says the rates in force now each way', () => {
  assert.equal(formatRate(1024 * 1024), '1 MiB/s');
  assert.equal(formatRate(undefined), 'unlimited');
  assert.equal(bandwidthText({ limit: '08:00,1M 19:00,off', now: { upload: 1048576, download: 524288 } }), 'Now: uploads 1 MiB/s, downloads from Drive 512 KiB/s.');
  assert.equal(bandwidthText({ limit: '', now: {} }), 'Now: uploads unlimited, downloads from Drive unlimited.');
});

test('the check line says when, how many of the copies were looked for, and what was found', () => {
  const now = Date.parse('2026-12-03T10:05:00Z');
  const check = { at: '2026-12-03T10:00:00Z', problem: null, checked: 350, missing: 0, copies: 700, all_seen_since: null };
  assert.equal(checkText(check, now), '5 min ago: 350 of 700 copies, all there');
  assert.equal(checkText({ ...check, missing: 13 }, now), '5 min ago: 350 of 700 copies, 13 missing (copied again)');
  assert.equal(checkText({ ...check, checked: 1, copies: 1 }, now), '5 min ago: 1 of 1 copy, all there');
  assert.equal(checkText({ ...check, problem: 'local: the folder /media/b does not exist (is the disk connected?).' }, now), '5 min ago: could not check');
  assert.equal(checkText(null, now), NONE);
  const opts = { timeZone: 'UTC' };
  assert.match(checkTitle(check, opts), /Some copies have not been looked for yet/);
  assert.match(checkTitle({ ...check, all_seen_since: '2026-12-01T00:00:00Z' }, opts), /since Dec 1, 2026, 12:00 AM/);
});
