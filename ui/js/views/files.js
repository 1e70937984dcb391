// Files: search and filters, one page of 100 rows at a time (the engine pages; we never hold more
// than the page), one badge per destination, and a details panel for a pair.

import { api } from '../api.js';
import { h, replace, debounce, stateBlock } from '../dom.js';
import { icon } from '../icons.js';
import { notifyError } from '../notify.js';
import { PAGE_SIZE, clampPage, pageOffset, pageOfOffset, pageRange, pagerState } from '../state.js';
import { indexDestinations, pairBadge, sortPairs, STATUS_LABELS } from '../badges.js';
import { formatBytes, formatCount, formatDate, relativeTime, NONE } from '../format.js';

const SEARCH_DELAY_MS = 250;
const EMPTY_TEXT = 'No files yet — add a folder in Settings and press Sync now';

export function createFiles(root, { shared, navigate, track }) {
  const query = { search: '', destination: '', status: '', page: 0 };
  let destinations = new Map();
  let page = { total: 0, offset: 0, rows: [] };
  let seq = 0;
  let loaded = false;
  // The badge whose details are open, to give focus back when the panel closes.
  let detailsOpener = null;

  const search = h('input', { type: 'search', id: 'files-search', class: 'input', placeholder: 'Search by name or folder', autocomplete: 'off', spellcheck: 'false' });
  const destSelect = h('select', { id: 'files-destination', class: 'select' }, h('option', { value: '' }, 'All destinations'));
  const statusSelect = h(
    'select',
    { id: 'files-status', class: 'select' },
    h('option', { value: '' }, 'Any status'),
    ['synced', 'pending', 'failed'].map((s) => h('option', { value: s }, STATUS_LABELS[s])),
  );
  const summary = h('p', { class: 'view-header__sub', id: 'files-summary' });
  const tbody = h('tbody', { onclick: onTableClick });
  const table = h(
    'table',
    { id: 'files-table', class: 'table table--files' },
    h('caption', { class: 'visually-hidden' }, 'Backed-up files, one badge per destination. Press a badge for its details.'),
    h('colgroup', {}, h('col', { class: 'col-file' }), h('col', { class: 'col-size' }), h('col', { class: 'col-dests' })),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'File'), h('th', { scope: 'col', class: 'num' }, 'Size'), h('th', { scope: 'col' }, 'Destinations'))),
    tbody,
  );
  const stateArea = h('div', { class: 'files-state' });
  const details = h('aside', { id: 'file-details', class: 'card details', tabindex: '-1', 'aria-labelledby': 'file-details-title', hidden: true, onkeydown: onDetailsKey });
  const prev = h('button', { type: 'button', id: 'files-prev', class: 'btn', disabled: true, onclick: () => go(query.page - 1) }, 'Previous');
  const next = h('button', { type: 'button', id: 'files-next', class: 'btn', disabled: true, onclick: () => go(query.page + 1) }, 'Next');
  const range = h('span', { id: 'files-range', class: 'pager__range', 'aria-live': 'polite' }, '0 of 0');
  const pageInfo = h('span', { class: 'pager__pages' });
  const busy = h('span', { class: 'pager__busy', hidden: true }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Loading…');

  const tableWrap = h('div', { class: 'table-wrap' }, table);
  const layout = h('div', { class: 'files-layout' },
    h('div', { class: 'files-main' }, tableWrap, stateArea,
      h('nav', { class: 'pager', 'aria-label': 'Pages of files' }, prev, h('span', { class: 'pager__text' }, range, pageInfo), busy, next)),
    details,
  );

  replace(
    root,
    h('header', { class: 'view-header' }, h('div', {}, h('h1', { id: 'files-title', tabindex: '-1' }, 'Files'), summary)),
    h('div', { class: 'toolbar', role: 'search' },
      h('label', { class: 'field field--grow', for: 'files-search' }, h('span', { class: 'field__label' }, 'Search'), h('span', { class: 'input-icon' }, icon('search'), search)),
      h('label', { class: 'field', for: 'files-destination' }, h('span', { class: 'field__label' }, 'Destination'), destSelect),
      h('label', { class: 'field', for: 'files-status' }, h('span', { class: 'field__label' }, 'Status'), statusSelect),
    ),
    layout,
  );

  const searchLater = debounce(() => setQuery({ search: search.value.trim() }), SEARCH_DELAY_MS);
  search.addEventListener('input', searchLater);
  search.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      searchLater.cancel();
      setQuery({ search: search.value.trim() });
    }
  });
  destSelect.addEventListener('change', () => setQuery({ destination: destSelect.value }));
  statusSelect.addEventListener('change', () => setQuery({ status: statusSelect.value }));

  function setQuery(change) {
    const changed = Object.entries(change).some(([k, v]) => query[k] !== v);
    if (!changed) return;
    Object.assign(query, change, { page: 0 });
    track(fetchPage());
  }

  function go(pageIndex) {
    const target = clampPage(pageIndex, page.total);
    if (target === query.page) return;
    query.page = target;
    track(fetchPage());
  }

  async function fetchPage() {
    const mine = ++seq;
    setBusy(true);
    try {
      const result = await api.listFiles({
        search: query.search,
        destination: query.destination,
        status: query.status,
        offset: pageOffset(query.page),
        limit: PAGE_SIZE,
      });
      if (mine !== seq) return;
      // The list shrank under us (a filter, a sync): go to the last page that exists.
      const clamped = clampPage(query.page, result.total);
      if (clamped !== query.page) {
        query.page = clamped;
        await fetchPage();
        return;
      }
      page = { total: result.total, offset: result.offset ?? pageOffset(query.page), rows: result.rows || [] };
      query.page = pageOfOffset(page.offset);
      loaded = true;
      renderPage();
    } catch (err) {
      if (mine !== seq) return;
      renderError(err);
    } finally {
      if (mine === seq) setBusy(false);
    }
  }

  function setBusy(on) {
    table.setAttribute('aria-busy', String(on));
    busy.hidden = !on;
    if (on && !loaded) {
      tableWrap.hidden = true;
      replace(stateArea, stateBlock('loading', 'Loading files…'));
    }
  }

  function filtersActive() {
    return Boolean(query.search || query.destination || query.status);
  }

  function renderPage() {
    closeDetails({ restoreFocus: false });
    const fragment = document.createDocumentFragment();
    page.rows.forEach((row, i) => fragment.append(fileRow(row, i, destinations)));
    tbody.replaceChildren(fragment);

    const empty = page.rows.length === 0;
    tableWrap.hidden = empty;
    if (!empty) stateArea.replaceChildren();
    else if (filtersActive()) {
      replace(stateArea, stateBlock('empty', 'No files match these filters', 'Try another search, destination or status.', h('button', { type: 'button', class: 'btn', onclick: clearFilters }, 'Clear filters')));
    } else {
      replace(stateArea, stateBlock('empty', EMPTY_TEXT, null, h('button', { type: 'button', class: 'btn btn--primary', onclick: () => navigate('settings') }, 'Open Settings')));
    }
    renderPager();
    summary.textContent = filtersActive() ? `${formatCount(page.total)} matching ${page.total === 1 ? 'file' : 'files'}` : `${formatCount(page.total)} ${page.total === 1 ? 'file' : 'files'} tracked`;
  }

  function renderPager() {
    const r = pageRange(page.offset, page.rows.length, page.total);
    const p = pagerState(query.page, page.total);
    range.textContent = r.text;
    Object.assign(range.dataset, { start: r.start, end: r.end, total: r.total });
    pageInfo.textContent = p.pages > 1 ? `Page ${formatCount(p.page + 1)} of ${formatCount(p.pages)}` : '';
    prev.disabled = !p.hasPrev;
    next.disabled = !p.hasNext;
  }

  function renderError(err) {
    notifyError(err);
    tableWrap.hidden = !loaded || page.rows.length === 0;
    replace(stateArea, stateBlock('error', 'Could not load files', err.message, h('button', { type: 'button', class: 'btn', onclick: () => track(fetchPage()) }, 'Try again')));
  }

  function clearFilters() {
    search.value = '';
    destSelect.value = '';
    statusSelect.value = '';
    setQuery({ search: '', destination: '', status: '' });
  }

  function onTableClick(e) {
    const button = e.target.closest('button.badge');
    if (!button) return;
    const tr = button.closest('tr.file-row');
    const row = page.rows[Number(tr.dataset.index)];
    const pair = row && row.destinations.find((p) => p.destination === button.dataset.destination);
    if (pair) openDetails(row, pair, button);
  }

  function openDetails(row, pair, opener) {
    if (detailsOpener) detailsOpener.setAttribute('aria-expanded', 'false');
    detailsOpener = opener;
    opener.setAttribute('aria-expanded', 'true');
    const info = destinations.get(pair.destination);
    const badge = pairBadge(pair, info);
    Object.assign(details.dataset, { path: row.drive_path, destination: pair.destination, status: badge.status });
    const versionsList = h('section', { class: 'details__versions', 'aria-label': 'Versions at this destination' });
    loadVersions(row, pair.destination, versionsList);
    const fact = (label, value, cls) => h('div', { class: cls }, h('dt', {}, label), h('dd', {}, value === null || value === undefined || value === '' ? NONE : value));
    replace(
      details,
      h('div', { class: 'details__head' },
        h('h2', { id: 'file-details-title', class: 'details__title' }, icon(info ? info.icon : 'cloud'), badge.label),
        h('button', { type: 'button', class: 'btn btn--ghost btn--icon file-details-close', 'aria-label': 'Close details', onclick: () => closeDetails() }, icon('x')),
      ),
      h('p', { class: 'details__file' }, h('span', { class: badge.className, dataset: { status: badge.status } }, h('span', { class: 'badge__dot', 'aria-hidden': 'true' }), STATUS_LABELS[badge.status]), h('span', { class: 'details__path' }, row.drive_path)),
      badge.status === 'failed'
        ? h('div', { class: 'details__error', role: 'note' },
          h('p', { class: 'details__error-label' }, icon('alert'), 'Error'),
          h('p', { class: 'file-details__error' }, pair.error_message || 'No error message was recorded.'),
          h('button', { type: 'button', class: 'btn btn--ghost file-details__retry', onclick: () => retryPair(row, pair.destination) }, 'Retry'))
        : null,
      h('dl', { class: 'details__facts' },
        fact('Remote path', pair.remote_path, 'mono'),
        fact('Size', pair.size !== null && pair.size !== undefined ? `${formatBytes(pair.size)} (${formatCount(pair.size)} bytes)` : null),
        fact('MD5', pair.md5, 'mono'),
        fact('Verified by', pair.verified_by),
        fact('Destination hash', pair.remote_hash, 'mono'),
        fact('Last sync', pair.last_sync ? `${formatDate(pair.last_sync)} (${relativeTime(pair.last_sync)})` : null),
        fact('Last verified', pair.last_verified ? `${formatDate(pair.last_verified)} (${relativeTime(pair.last_verified)})` : null),
        fact('Attempts', formatCount(pair.attempts || 0)),
      ),
      versionsList,
      row.skip_reason ? h('p', { class: 'details__note' }, `Skipped: ${row.skip_reason}`) : null,
      row.trashed ? h('p', { class: 'details__note' }, 'In Drive’s trash. Its copies stay at the destinations.') : null,
      row.gone ? h('p', { class: 'details__note' }, 'No longer in Drive or in a synced folder. Its copies stay at the destinations.') : null,
    );
    details.hidden = false;
    layout.classList.add('files-layout--details');
    details.focus();
  }

  /** Every copy kept of the file at one destination, newest first (names stay text). */
  async function loadVersions(row, destination, list) {
    let history;
    try {
      history = await api.fileHistory(row.file_id);
    } catch (err) {
      replace(list, h('p', { class: 'details__note' }, `Versions could not be read: ${err.message}`));
      return;
    }
    const versions = (history.destinations && history.destinations[destination]) || [];
    replace(
      list,
      h('h3', { class: 'details__subtitle' }, `Versions (${formatCount(versions.length)})`),
      h('ol', { class: 'versions' }, versions.map((v) => h('li', { class: 'version', dataset: { state: v.state, md5: v.md5 || '' } },
        h('span', { class: 'version__when' }, formatDate(v.copied_at)),
        h('span', { class: 'version__state' }, versionState(v)),
        h('span', { class: 'version__size' }, v.size === null || v.size === undefined ? NONE : formatBytes(v.size)),
        v.state === 'current' || v.state === 'kept'
          ? h('button', { type: 'button', class: 'btn btn--link version__restore', onclick: () => restoreVersion(row, destination, v) }, 'Restore this version…')
          : null,
      ))),
    );
  }

  /** Opens Restore with this file, as of the moment this version was copied, from this destination. */
  // Copies this one failed pair again; the Dashboard shows the run.
  async function retryPair(row, destination) {
    try {
      await api.retryFailed({ destination, fileId: row.file_id });
      navigate('dashboard');
    } catch (err) {
      notifyError(err);
    }
  }

  function restoreVersion(row, destination, version) {
    shared.restorePreset = { source: row.file_id, label: row.drive_path, at: version.copied_at, from: destination };
    navigate('restore');
  }

  function versionState(v) {
    switch (v.state) {
      case 'current': return 'Current copy';
      case 'kept': return v.provider_version ? 'Earlier version, kept by the destination' : 'Earlier version, kept by Fanout';
      case 'pruned': return 'Removed by a prune';
      default: return 'Missing at the destination';
    }
  }

  function closeDetails({ restoreFocus = true } = {}) {
    if (details.hidden) return;
    details.hidden = true;
    layout.classList.remove('files-layout--details');
    details.replaceChildren();
    const opener = detailsOpener;
    detailsOpener = null;
    if (opener) {
      opener.setAttribute('aria-expanded', 'false');
      if (restoreFocus && opener.isConnected) opener.focus();
    }
  }

  function onDetailsKey(e) {
    if (e.key === 'Escape') {
      e.preventDefault();
      closeDetails();
    }
  }

  function renderDestinationOptions(list) {
    const chosen = destSelect.value || query.destination;
    const options = list.map((d) => h('option', { value: d.key }, d.name === d.key ? d.name : `${d.name} (${d.key})`));
    if (chosen && !list.some((d) => d.key === chosen)) options.push(h('option', { value: chosen }, chosen));
    replace(destSelect, h('option', { value: '' }, 'All destinations'), options);
    destSelect.value = chosen;
  }

  async function loadDestinations() {
    try {
      const list = await api.listDestinations();
      destinations = indexDestinations(list);
      shared.destinationNames = Object.fromEntries(list.map((d) => [d.key, d.name]));
      renderDestinationOptions(list);
    } catch (err) {
      // Badges still work with keys for names; say why the names are missing.
      notifyError(err);
    }
  }

  async function load() {
    // Names first, so the page renders with them; both requests are local and quick.
    await loadDestinations();
    await fetchPage();
  }

  return { load, onSyncFinished: () => fetchPage() };
}

/** One table row. Drive names are untrusted: every string goes in as text via h(). */
function fileRow(row, index, destinations) {
  const folder = parentPath(row);
  const flags = [];
  if (row.trashed) flags.push(h('span', { class: 'tag', title: 'In Drive’s trash; its copies stay at the destinations.' }, 'In trash'));
  if (row.gone) flags.push(h('span', { class: 'tag', title: 'No longer in Drive or in a synced folder; its copies stay.' }, 'Gone from Drive'));
  if (row.skip_reason) flags.push(h('span', { class: 'tag tag--muted', title: row.skip_reason }, 'Skipped'));
  const pairs = sortPairs(row.destinations, destinations);
  return h(
    'tr',
    { class: ['file-row', row.trashed || row.gone ? 'file-row--gone' : ''], dataset: { path: row.drive_path, index, fileId: row.file_id } },
    h('td', { class: 'file-cell' },
      h('div', { class: 'file-name' }, h('span', { class: 'file-name__text', title: row.drive_path }, row.name), flags),
      h('div', { class: 'file-path', title: row.drive_path }, folder),
    ),
    h('td', { class: 'num' }, formatBytes(row.size)),
    h('td', { class: 'badges' },
      pairs.length === 0
        ? h('span', { class: 'muted' }, row.skip_reason ? `Not copied: ${row.skip_reason}` : 'Not copied anywhere')
        : pairs.map((pair) => {
            const b = pairBadge(pair, destinations.get(pair.destination));
            return h(
              'button',
              { type: 'button', class: b.className, title: b.title, 'aria-label': `${b.ariaLabel}: show details`, 'aria-controls': 'file-details', 'aria-expanded': 'false', dataset: { destination: b.destination, status: b.status } },
              h('span', { class: 'badge__dot', 'aria-hidden': 'true' }),
              b.label,
            );
          }),
    ),
  );
}

/** The folder part of a Drive path ("Work/Reports" for "Work/Reports/q1.pdf"); names may contain "/". */
function parentPath(row) {
  const path = row.drive_path || '';
  if (row.name && path.endsWith(`/${row.name}`)) return path.slice(0, -(row.name.length + 1));
  if (path === row.name) return 'My Drive';
  return path;
}
