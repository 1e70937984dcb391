// Restore: pick folders (or everything), a moment, the source and the target; preview what a
// restore would do (the dry run's figures), then run it with live progress and see each
// failure with its reason. Drive names and paths are other people's text: always textContent.

import { api, listen, RESTORE_EVENTS } from '../api.js';
import { h, replace } from '../dom.js';
import { notifyError } from '../notify.js';
import { formatBytes, formatCount, formatDate } from '../format.js';

export function createRestore(root, { shared, track }) {
  let running = false;
  // A file and version chosen in Files ("Restore this version…"): restored as of its exact copy time.
  let preset = null;

  const folders = h('fieldset', { class: 'restore-folders', id: 'restore-folders' }, h('legend', {}, 'What to restore'));
  const everything = h('input', { type: 'checkbox', id: 'restore-all', onchange: syncForm });
  const newest = h('input', { type: 'radio', name: 'restore-when', id: 'restore-newest', checked: true, onchange: syncForm });
  const past = h('input', { type: 'radio', name: 'restore-when', id: 'restore-past', onchange: syncForm });
  const version = h('input', { type: 'radio', name: 'restore-when', id: 'restore-version', onchange: syncForm });
  const versionLabel = h('span', { id: 'restore-version-label' });
  const versionChoice = h('label', { class: 'check', hidden: true }, version, versionLabel);
  const at = h('input', { type: 'datetime-local', id: 'restore-at', class: 'input', disabled: true });
  const from = h('select', { id: 'restore-from', class: 'select' }, h('option', { value: '' }, 'The best copy of each file'));
  const toDisk = h('input', { type: 'radio', name: 'restore-target', id: 'restore-to-disk', checked: true, onchange: syncForm });
  const toDrive = h('input', { type: 'radio', name: 'restore-target', id: 'restore-to-drive', onchange: syncForm });
  const dir = h('input', { type: 'text', id: 'restore-dir', class: 'input mono', placeholder: '/home/you/Restored', spellcheck: 'false', autocomplete: 'off' });
  const choose = h('button', { type: 'button', id: 'restore-choose', class: 'btn', onclick: chooseFolder }, 'Choose…');
  const driveName = h('input', { type: 'text', id: 'restore-drive-name', class: 'input', placeholder: 'Restored by Fanout (today’s date)', disabled: true });
  const convert = h('input', { type: 'checkbox', id: 'restore-convert', disabled: true });
  const overwrite = h('input', { type: 'checkbox', id: 'restore-overwrite' });
  const deleted = h('input', { type: 'checkbox', id: 'restore-deleted' });
  const previewBtn = h('button', { type: 'button', id: 'restore-preview', class: 'btn', onclick: preview }, 'Preview');
  const startBtn = h('button', { type: 'button', id: 'restore-start', class: 'btn btn--primary', onclick: start }, 'Restore');
  const cancelBtn = h('button', { type: 'button', id: 'restore-cancel', class: 'btn', hidden: true, onclick: () => api.cancelRestore().catch(notifyError) }, 'Cancel');
  const bar = h('progress', { id: 'restore-progress', class: 'progress', max: 1, value: 0, hidden: true });
  const progressText = h('p', { id: 'restore-progress-text', class: 'muted', 'aria-live': 'polite' });
  const result = h('section', { id: 'restore-result', class: 'card restore-result', hidden: true, 'aria-live': 'polite' });

  replace(
    root,
    h('header', { class: 'view-header' }, h('div', {}, h('h1', { id: 'restore-title', tabindex: '-1' }, 'Restore'),
      h('p', { class: 'view-header__sub' }, 'Get folders back from their copies, as of any time. Every file is checked before it counts.'))),
    h('form', { class: 'card restore-form', onsubmit: (e) => e.preventDefault() },
      folders,
      h('label', { class: 'check' }, everything, 'Everything that was backed up'),
      h('fieldset', {}, h('legend', {}, 'As of'),
        h('label', { class: 'check' }, newest, 'The newest copies'),
        h('label', { class: 'check' }, past, 'A moment in the past: ', at),
        versionChoice),
      h('label', { class: 'field' }, h('span', {}, 'From'), from),
      h('fieldset', {}, h('legend', {}, 'Into'),
        h('label', { class: 'check' }, toDisk, 'A folder on this computer'),
        h('div', { class: 'restore-dir' }, dir, choose),
        h('label', { class: 'check' }, toDrive, 'Google Drive, as a new folder: ', driveName),
        h('label', { class: 'check restore-convert' }, convert, 'Turn exported Docs, Sheets and Slides back into Google files (Drive converts them; some formatting may change)')),
      h('label', { class: 'check' }, overwrite, 'Replace files that are there with other contents (otherwise the restored one is written beside them)'),
      h('label', { class: 'check' }, deleted, 'Include files deleted from Drive since'),
      h('div', { class: 'actions' }, previewBtn, startBtn, cancelBtn),
      bar,
      progressText,
    ),
    result,
  );

  listen(RESTORE_EVENTS.progress, (p) => {
    bar.hidden = false;
    bar.max = Math.max(1, p.files_total);
    bar.value = p.files_done;
    progressText.textContent = `${formatCount(p.files_done)} of ${formatCount(p.files_total)} files · ${formatBytes(p.bytes_done)} of ${formatBytes(p.bytes_total)}`;
  }).catch(notifyError);
  listen(RESTORE_EVENTS.finished, (report) => {
    setRunning(false);
    showReport(report);
  }).catch(notifyError);
  listen(RESTORE_EVENTS.failed, (error) => {
    setRunning(false);
    showError(error && error.message ? error.message : 'The restore stopped.');
  }).catch(notifyError);

  function syncForm() {
    at.disabled = !past.checked;
    dir.disabled = choose.disabled = !toDisk.checked;
    driveName.disabled = convert.disabled = !toDrive.checked;
    for (const box of folders.querySelectorAll('input')) box.disabled = everything.checked;
  }

  async function chooseFolder() {
    const dialog = globalThis.__TAURI__ && globalThis.__TAURI__.dialog;
    if (!dialog) return;
    try {
      const picked = await dialog.open({ directory: true, multiple: false, title: 'Restore into' });
      if (typeof picked === 'string') dir.value = picked;
    } catch (err) {
      notifyError(err);
    }
  }

  function moment() {
    if (version.checked && preset) return preset.at;
    return past.checked && at.value ? new Date(at.value).toISOString() : undefined;
  }

  function input() {
    const sources = [...folders.querySelectorAll('input:checked')].map((b) => b.value);
    return {
      sources,
      all: everything.checked,
      to: toDisk.checked ? dir.value.trim() : undefined,
      toDrive: toDrive.checked ? driveName.value.trim() : undefined,
      convert: toDrive.checked && convert.checked,
      at: moment(),
      from: from.value || undefined,
      overwrite: overwrite.checked,
      includeDeleted: deleted.checked,
    };
  }

  async function preview() {
    try {
      const report = await track(api.restorePreview(input()));
      showReport(report);
    } catch (err) {
      showError(err.message);
    }
  }

  async function start() {
    try {
      await api.startRestore(input());
      setRunning(true);
      result.hidden = true;
      progressText.textContent = 'Starting…';
    } catch (err) {
      showError(err.message);
    }
  }

  function setRunning(on) {
    running = on;
    startBtn.disabled = previewBtn.disabled = on;
    cancelBtn.hidden = !on;
    if (!on) bar.hidden = true;
  }

  function showError(message) {
    result.hidden = false;
    replace(result, h('h2', {}, 'Not restored'), h('p', { class: 'restore-error' }, message));
  }

  function showReport(r) {
    result.hidden = false;
    const lines = [];
    const total = `${formatCount(r.files)} files (${formatBytes(r.bytes)})`;
    const title = r.dry_run ? `Would restore ${total}` : `Restored ${formatCount(r.restored.length)} of ${total}`;
    lines.push(h('h2', { id: 'restore-result-title' }, title));
    lines.push(h('p', { class: 'muted' }, `Into ${r.to}${r.at ? `, as of ${r.at}` : ''}. ${formatCount(r.already_restored)} already there.`));
    const egress = Object.entries(r.egress || {});
    if (egress.length) {
      lines.push(h('ul', { class: 'restore-egress' }, egress.map(([key, e]) => h('li', { dataset: { destination: key } }, `From ${key}: ${formatCount(e.files)} files, ${formatBytes(e.bytes)} ${r.dry_run ? 'to download' : 'downloaded'}`))));
    }
    if (r.drive) {
      lines.push(h('p', { class: 'restore-drive' }, `Google Drive folder “${r.drive.folder_name}”: ${formatCount(r.drive.uploaded.length)} uploaded, ${formatCount(r.drive.already_in_drive)} already there${r.drive.converted && r.drive.converted.length ? `, ${formatCount(r.drive.converted.length)} turned back into Google files` : ''}.`));
      if (r.drive.stopped) lines.push(h('p', { class: 'restore-error' }, r.drive.stopped));
    }
    const list = (title, items, text) => items.length && lines.push(h('h3', {}, title), h('ul', { class: 'restore-list' }, items.slice(0, 200).map((i) => h('li', {}, text(i)))));
    list('Not restored', r.failures || [], (f) => `${f.drive_path}: ${f.reason}`);
    list('Written beside a different file of the same name', r.conflicts || [], (c) => `${c.path} → ${c.written_as}`);
    list('Drive names that could not be file names', r.renamed || [], (n) => `${n.drive_name} → ${n.path}`);
    list('Only in archive storage: thaw first', r.needs_thaw || [], (t) => `${t.drive_path} (${t.destination})`);
    if (r.cancelled) lines.push(h('p', {}, 'Cancelled. Press Restore again to continue where it stopped.'));
    replace(result, lines);
    result.dataset.success = String(r.all_success);
  }

  async function load() {
    const [policies, destinations] = await Promise.all([api.listPolicies(), api.listDestinations()]);
    const chosen = new Set([...folders.querySelectorAll('input:checked')].map((b) => b.value));
    takePreset(chosen);
    replace(folders, h('legend', {}, 'What to restore'),
      preset ? h('label', { class: 'check' },
        h('input', { type: 'checkbox', class: 'restore-file', value: preset.source, checked: chosen.has(preset.source) }), preset.label) : null,
      policies.length === 0
        ? h('p', { class: 'muted' }, 'No folder is backed up yet.')
        : policies.map((p) => h('label', { class: 'check' },
          h('input', { type: 'checkbox', class: 'restore-folder', value: p.folder_path, checked: chosen.has(p.folder_path) }), p.folder_path)));
    const picked = preset && preset.fresh ? preset.from : from.value;
    if (preset) preset.fresh = false;
    replace(from, h('option', { value: '' }, 'The best copy of each file'),
      destinations.filter((d) => d.enabled).map((d) => h('option', { value: d.key, selected: d.key === picked }, `${d.name} (${d.key})`)));
    syncForm();
    if (!running) setRunning(false);
  }

  /** A version chosen in Files becomes the selection: that file alone, as of that version. */
  function takePreset(chosen) {
    const next = shared.restorePreset;
    if (!next) return;
    shared.restorePreset = null;
    preset = { ...next, fresh: true };
    chosen.clear();
    chosen.add(preset.source);
    everything.checked = false;
    version.checked = true;
    versionChoice.hidden = false;
    versionLabel.textContent = `The version copied ${formatDate(preset.at)}`;
    result.hidden = true;
  }

  return { load };
}
