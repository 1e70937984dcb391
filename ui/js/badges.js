// Badge models: what a badge says and how it is coloured, decided here so every view agrees.
// Pure: no DOM, no Tauri.

import { formatDate, pluralize } from './format.js';

/** Pair statuses, most urgent first: a failed copy matters more than a pending one. */
export const STATUS_ORDER = ['failed', 'pending', 'synced'];

/** The word shown for each status. */
export const STATUS_LABELS = {
  failed: 'Failed',
  pending: 'Pending',
  synced: 'Synced',
  ready: 'Ready',
  disabled: 'Disabled',
  'not-configured': 'Not configured',
};

/** Rank for sorting; unknown statuses sort last. */
export function statusRank(status) {
  const i = STATUS_ORDER.indexOf(status);
  return i === -1 ? STATUS_ORDER.length : i;
}

export function compareStatus(a, b) {
  return statusRank(a) - statusRank(b);
}

/** DestinationInfo[] → Map by key (a Map is also accepted and returned as is). */
export function indexDestinations(destinations) {
  if (destinations instanceof Map) return destinations;
  return new Map((destinations || []).map((d) => [d.key, d]));
}

/** The name a person knows a destination by; the key when config.yaml no longer lists it. */
export function destinationName(key, info) {
  return info && info.name ? info.name : key;
}

/**
 * The badge for one (file, destination) pair.
 * A failed badge's title is the recorded error itself, so hovering shows exactly what went wrong.
 */
export function pairBadge(pair, info) {
  const status = STATUS_ORDER.includes(pair.status) ? pair.status : 'pending';
  const label = destinationName(pair.destination, info);
  let title;
  if (status === 'failed') {
    title = pair.error_message || 'Failed; no error message was recorded.';
  } else if (status === 'synced') {
    title = pair.last_sync ? `Synced ${formatDate(pair.last_sync)}` : 'Synced';
  } else {
    title = pair.attempts > 0 ? `Pending, ${pluralize(pair.attempts, 'attempt')} so far` : 'Pending: copied at the next sync';
  }
  return {
    destination: pair.destination,
    label,
    status,
    className: `badge badge--${status}`,
    title,
    ariaLabel: `${label}: ${STATUS_LABELS[status].toLowerCase()}`,
  };
}

/**
 * The badge for a destination named by a policy: whether copies can go there now.
 * Grey when the destination is disabled, has no keys, or is no longer in config.yaml.
 */
export function destinationBadge(key, info) {
  const label = destinationName(key, info);
  let status;
  let title;
  if (!info) {
    status = 'not-configured';
    title = `${key} is not in config.yaml; files for it are not copied.`;
  } else if (!info.enabled) {
    status = 'disabled';
    title = `${label} is disabled in config.yaml; files for it are not copied.`;
  } else if (!info.configured) {
    status = 'not-configured';
    title = `${label} has no keys yet: add them under Destinations.`;
  } else {
    status = 'ready';
    title = info.location ? `${label}: ${info.location}` : label;
  }
  return { destination: key, label, status, className: `badge badge--${status}`, title, ariaLabel: `${label}: ${STATUS_LABELS[status].toLowerCase()}` };
}

// sortPairs runs once per table row; the order of a given destinations Map is computed once.
const orderCache = new WeakMap();
function destinationOrder(index) {
  let order = orderCache.get(index);
  if (!order) {
    order = new Map([...index.keys()].map((k, i) => [k, i]));
    orderCache.set(index, order);
  }
  return order;
}

/** Pairs in the order destinations are configured, unknown destinations last by key. */
export function sortPairs(pairs, destinations) {
  const order = destinationOrder(indexDestinations(destinations));
  return [...(pairs || [])].sort((a, b) => {
    const ia = order.has(a.destination) ? order.get(a.destination) : Infinity;
    const ib = order.has(b.destination) ? order.get(b.destination) : Infinity;
    if (ia !== ib) return ia - ib;
    return a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0;
  });
}

/**
 * A FileRow's pairs in one line: the worst status and the counts, e.g.
 * { status: "failed", counts: {failed: 1, pending: 0, synced: 2}, text: "1 failed, 2 synced" }.
 */
export function summarizePairs(pairs) {
  const counts = { failed: 0, pending: 0, synced: 0 };
  for (const p of pairs || []) {
    if (p.status in counts) counts[p.status] += 1;
  }
  const total = counts.failed + counts.pending + counts.synced;
  const status = STATUS_ORDER.find((s) => counts[s] > 0) || null;
  const text = total === 0 ? 'Not copied anywhere' : STATUS_ORDER.filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${s}`).join(', ');
  return { status, counts, total, text };
}

/** The badge for a run's status in the recent runs table. */
export function runBadge(status) {
  const map = {
    succeeded: ['synced', 'Succeeded'],
    partial: ['pending', 'Partial'],
    failed: ['failed', 'Failed'],
    cancelled: ['disabled', 'Cancelled'],
    running: ['ready', 'Running'],
    interrupted: ['failed', 'Interrupted'],
  };
  const [tone, label] = map[status] || ['disabled', status || 'Unknown'];
  return { status, label, className: `badge badge--${tone}`, title: label };
}

/**
 * A destination card's state, in words: a destination with failed copies, or that failed the
 * last sync's check, is never "Ready".
 * `d` is the destination from `list_destinations` (null once config.yaml lost it), `stats` its
 * ledger counts. Returns [state, label, title].
 */
export function cardState(d, stats) {
  const failed = (stats && stats.failed) || 0;
  if (!d) return ['disabled', 'Not in config.yaml', 'This destination is no longer configured; its copies stay where they are.'];
  if (!d.enabled) return ['disabled', 'Disabled', 'Fanout does not copy to it until it is enabled again.'];
  if (!d.configured) return ['not-configured', 'Keys missing', 'Add its keys in Settings.'];
  // The last sync's check found it unusable (unreachable, keys refused, folder gone).
  const problem = stats && stats.last_check && stats.last_check.problem;
  if (problem) return ['problem', 'Problem', problem];
  if (failed > 0) {
    const copies = failed === 1 ? '1 copy' : `${failed.toLocaleString('en-US')} copies`;
    return ['problem', `Problem: ${copies} failed`, 'Open Files, filtered by this destination and Failed, to read why; Retry all failed copies them again.'];
  }
  return ['ready', 'Ready', 'Its copies are up to date as of the last sync.'];
}
