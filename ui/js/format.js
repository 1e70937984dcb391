// Pure formatting helpers. No DOM, no Tauri: the unit tests import this module under node.

/** Shown wherever a value is unknown, so an empty cell never looks like a rendering bug. */
export const NONE = '—';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** Binary units, as rclone and most file managers on Linux show them: 1536 → "1.5 KiB". */
export function formatBytes(bytes) {
  const n = toNumber(bytes);
  if (n === null) return NONE;
  const sign = n < 0 ? '-' : '';
  let value = Math.abs(n);
  if (value < 1024) return `${sign}${Math.round(value)} B`;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  let text = trimZero(value.toFixed(value >= 100 ? 0 : 1));
  // 1023.96 KiB rounds to "1024"; say "1 MiB" instead.
  if (Number(text) >= 1024 && unit < UNITS.length - 1) {
    unit += 1;
    text = trimZero((value / 1024).toFixed(1));
  }
  return `${sign}${text} ${UNITS[unit]}`;
}

// Building an Intl formatter costs far more than using one; a Files page formats hundreds of
// values, so formatters are made once per set of options.
const formatters = new Map();
function formatter(Kind, locale, options) {
  const key = `${Kind.name}|${locale}|${JSON.stringify(options)}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Kind(locale, options);
    formatters.set(key, f);
  }
  return f;
}

/** 100000 → "100,000". The UI is written in English, so the grouping is fixed to en-US. */
export function formatCount(n, locale = 'en-US') {
  const value = toNumber(n);
  if (value === null) return NONE;
  return formatter(Intl.NumberFormat, locale, {}).format(value);
}

/** pluralize(1, "file") → "1 file"; pluralize(2, "copy", "copies") → "2 copies". */
export function pluralize(n, singular, plural = `${singular}s`) {
  return `${formatCount(n)} ${Number(n) === 1 ? singular : plural}`;
}

/** A whole fraction as a percentage: 0.4237 → "42%". */
export function formatPercent(fraction) {
  const value = toNumber(fraction);
  if (value === null) return NONE;
  return `${Math.round(Math.min(1, Math.max(0, value)) * 100)}%`;
}

/** A timestamp (RFC 3339 from the engine) as a local date and time. */
export function formatDate(value, { locale = 'en-US', timeZone } = {}) {
  const date = toDate(value);
  if (!date) return NONE;
  return formatter(Intl.DateTimeFormat, locale, { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(date);
}

/**
 * "just now", "5 min ago", "3 h ago", "yesterday", "4 days ago", then the date itself.
 * `now` is a parameter so the tests (and a view rendering many rows) can fix it.
 */
export function relativeTime(value, now = Date.now(), options = {}) {
  const date = toDate(value);
  if (!date) return NONE;
  const seconds = Math.round((toMillis(now) - date.getTime()) / 1000);
  const future = seconds < 0;
  const s = Math.abs(seconds);
  if (s < 45) return 'just now';
  const say = (text) => (future ? `in ${text}` : `${text} ago`);
  const minutes = Math.round(s / 60);
  if (minutes < 60) return say(`${minutes} min`);
  const hours = Math.round(s / 3600);
  if (hours < 24) return say(`${hours} h`);
  const days = Math.round(s / 86400);
  if (days === 1) return future ? 'tomorrow' : 'yesterday';
  if (days < 30) return say(`${days} days`);
  return formatDate(date, options);
}

/**
 * What the schedule says: "Syncs run every 6h. Next sync Dec 3, 2026, 2:30 PM (in 3 h)."
 * `nextDue` is the engine's due time; one already past means a sync starts within a minute.
 */
export function scheduleText({ schedule, paused, nextDue }, now = Date.now(), options = {}) {
  if (paused) return schedule ? `Scheduled syncs (${schedule}) are paused.` : 'Scheduled syncs are paused.';
  if (!schedule) return 'Syncs run when you press Sync now.';
  const due = toDate(nextDue);
  if (!due) return `Syncs run ${schedule}.`;
  if (due.getTime() <= toMillis(now) + 45_000) return `Syncs run ${schedule}. Next sync: now.`;
  return `Syncs run ${schedule}. Next sync ${formatDate(due, options)} (${relativeTime(due, now, options)}).`;
}

/**
 * The stale-backup banner: "Backups are overdue: no backup has completed since Dec 1, 2026,
 * 2:30 AM (2 days ago). Last problem: …", or null when they are not.
 */
export function overdueText(overdue, now = Date.now(), options = {}) {
  if (!overdue || !overdue.since) return null;
  const when = `${formatDate(overdue.since, options)} (${relativeTime(overdue.since, now, options)})`;
  const head = overdue.last_success
    ? `Backups are overdue: no backup has completed since ${when}.`
    : `Backups are overdue: no backup has completed yet; the first was tried ${when}.`;
  return overdue.problem ? `${head} Last problem: ${overdue.problem}` : head;
}

/**
 * What the last sync's check of a destination found: "5 min ago: 350 of 700 copies, all
 * there", "…, 5 missing (copied again)", or "…: could not check" (the card says why).
 */
export function checkText(check, now = Date.now(), options = {}) {
  if (!check) return NONE;
  const when = relativeTime(check.at, now, options);
  if (check.problem) return `${when}: could not check`;
  if (!check.copies) return `${when}: no copies yet`;
  const looked = `${formatCount(check.checked)} of ${pluralize(check.copies, 'copy', 'copies')}`;
  const found = check.missing ? `${formatCount(check.missing)} missing (copied again)` : 'all there';
  return `${when}: ${looked}, ${found}`;
}

/** The check's details, for its tooltip: when, how, and since when every copy was seen. */
export function checkTitle(check, options = {}) {
  if (!check) return 'No sync has checked this destination yet.';
  const since = check.all_seen_since
    ? `Every copy was seen intact at the destination since ${formatDate(check.all_seen_since, options)}.`
    : 'Some copies have not been looked for yet; each sync looks for more.';
  return `Checked ${formatDate(check.at, options)}. Each sync looks for the copies seen least recently, and every copy at least weekly. ${since}`;
}

/** An amount of money: formatMoney(0.23, "USD") → "$0.23"; below a cent, "< $0.01". */
export function formatMoney(amount, currency, locale = 'en-US') {
  const value = toNumber(amount);
  if (value === null || !currency) return NONE;
  const money = formatter(Intl.NumberFormat, locale, { style: 'currency', currency, minimumFractionDigits: 2, maximumFractionDigits: 2 });
  if (value > 0 && value < 0.01) return `< ${money.format(0.01)}`;
  return money.format(value);
}

/** A MonthlyCost as the Dashboard shows it: "~$0.23/month", or null without a price. */
export function costText(cost) {
  if (!cost) return null;
  return `~${formatMoney(cost.amount, cost.currency)}/month`;
}

/**
 * What a folder would add at each ticked destination, for the folder picker: one line per
 * destination, `{ key, name, text }`, from the engine's FolderEstimate.
 */
export function estimateLines(estimate, ticked, destinations) {
  if (!estimate) return [];
  return destinations
    .filter((d) => ticked.includes(d.key))
    .map((d) => {
      const cost = estimate.monthly_costs?.[d.key];
      let text;
      if (cost) text = `+${formatMoney(cost.amount, cost.currency)}/month (${cost.storage_class}, prices as of ${cost.as_of})`;
      else if (d.location_kind === 'folder') text = 'no storage fee (a disk)';
      else text = 'no price known: add one under prices: in config.yaml';
      return { key: d.key, name: d.name, text };
    });
}

/** "12 files, 1.5 MiB in Drive" (+ the Google Docs whose size Drive does not state). */
export function folderSizeText(estimate) {
  if (!estimate) return null;
  const head = `${pluralize(estimate.files, 'file')}, ${formatBytes(estimate.bytes)} in Drive`;
  const docs = estimate.unsized_files;
  return docs > 0 ? `${head} (${pluralize(docs, 'Google file')} counted once exported)` : head;
}

/** A rate in bytes per second as rclone writes it: 1048576 → "1 MiB/s"; none → "unlimited". */
export function formatRate(bytesPerSecond) {
  const n = toNumber(bytesPerSecond);
  return n === null || n <= 0 ? 'unlimited' : `${formatBytes(n)}/s`;
}

/** The bandwidth line of Settings: "Now: uploads 1 MiB/s, downloads from Drive unlimited." */
export function bandwidthText(status) {
  if (!status) return null;
  const { upload, download } = status.now || {};
  return `Now: uploads ${formatRate(upload)}, downloads from Drive ${formatRate(download)}.`;
}

/** A run's length: 45 000 → "45 s", 185 000 → "3 min 5 s", 3 720 000 → "1 h 2 min". */
export function formatDuration(ms) {
  const value = toNumber(ms);
  if (value === null || value < 0) return NONE;
  const total = Math.round(value / 1000);
  if (total < 60) return `${total} s`;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  return s > 0 ? `${m} min ${s} s` : `${m} min`;
}

/** Milliseconds between two timestamps, or null when either is missing. */
export function durationBetween(start, end) {
  const a = toDate(start);
  const b = toDate(end);
  return a && b ? b.getTime() - a.getTime() : null;
}

function trimZero(text) {
  return text.endsWith('.0') ? text.slice(0, -2) : text;
}

function toNumber(value) {
  if (value === null || value === undefined || value === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function toMillis(value) {
  return value instanceof Date ? value.getTime() : Number(value);
}

function toDate(value) {
  if (value === null || value === undefined || value === '') return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}
