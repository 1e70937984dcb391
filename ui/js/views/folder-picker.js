// "Add Folder to Sync" (and Edit): a lazily loaded Drive folder tree with search, destination
// checkboxes and the recursive switch, in a native modal <dialog id="folder-picker">.

import { api } from '../api.js';
import { h, replace, debounce, switchControl } from '../dom.js';
import { icon } from '../icons.js';
import { openModal } from '../modal.js';
import { estimateLines, folderSizeText } from '../format.js';

const SEARCH_DELAY_MS = 300;

/**
 * Opens the picker. With `policy`, edits it (the folder is fixed); without, adds a new one.
 * `track` marks its commands as loading for the ready signal. Resolves to the saved
 * FolderPolicy, or null when closed without saving.
 */
export function openFolderPicker({ policy = null, destinations = [], existing = new Set(), track = (p) => p } = {}) {
  let dialog = document.getElementById('folder-picker');
  if (!dialog) {
    dialog = h('dialog', { id: 'folder-picker', class: 'modal modal--picker', 'aria-labelledby': 'folder-picker-title' });
    document.body.append(dialog);
  }
  return new Promise((resolve) => {
    const picker = buildPicker({ dialog, policy, destinations, existing, track, onSaved: (saved) => close('saved', saved) });
    let result = null;
    const closeModal = openModal(dialog, {
      initialFocus: picker.initialFocus,
      onClose: () => {
        picker.dispose();
        resolve(result);
      },
    });
    function close(reason, saved) {
      result = saved || null;
      closeModal(reason);
    }
    picker.cancel.addEventListener('click', () => close('cancel'));
    picker.closeX.addEventListener('click', () => close('cancel'));
  });
}

function buildPicker({ dialog, policy, destinations, existing, track, onSaved }) {
  const editing = Boolean(policy);
  let selected = editing ? { id: policy.folder_id, name: policy.folder_name, path: policy.folder_path || policy.folder_name } : null;
  let searchSeq = 0;
  let estimateSeq = 0;
  let estimate = null;

  const error = h('div', { id: 'folder-error', class: 'form-error', role: 'alert', 'aria-live': 'polite' });
  const selectedText = h('strong', { id: 'folder-selected', class: 'picker-selected__path' });
  // The folder's size in Drive and what each ticked destination would add a month.
  const estimateBox = h('div', { id: 'folder-estimate', class: 'picker-estimate', 'aria-live': 'polite' });
  const closeX = h('button', { type: 'button', class: 'btn btn--ghost btn--icon', 'aria-label': 'Close' }, icon('x'));
  const cancel = h('button', { type: 'button', id: 'folder-cancel', class: 'btn' }, 'Cancel');
  const save = h('button', { type: 'button', id: 'folder-save', class: 'btn btn--primary', onclick: onSave }, 'Save');

  // --- Browse: tree and search (only when adding; an edited policy keeps its folder) ---------
  const tree = h('ul', { class: 'folder-tree', 'aria-label': 'My Drive folders' });
  const results = h('ul', { class: 'folder-tree folder-results', 'aria-label': 'Folders found', hidden: true });
  const search = h('input', { type: 'search', id: 'folder-search', class: 'input', placeholder: 'Search folders by name', autocomplete: 'off', spellcheck: 'false' });
  const runSearch = debounce(() => doSearch(search.value.trim()), SEARCH_DELAY_MS);
  search.addEventListener('input', runSearch);
  search.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      runSearch.cancel();
      doSearch(search.value.trim());
    }
  });

  const browse = editing
    ? null
    : h('div', { class: 'picker-browse' },
        h('label', { class: 'field', for: 'folder-search' }, h('span', { class: 'field__label' }, 'Find a folder'), h('span', { class: 'input-icon' }, icon('search'), search)),
        h('div', { class: 'folder-browser', tabindex: '-1' }, tree, results),
      );

  // --- Destinations and recursive ---------------------------------------------------------------
  const chosen = new Set(editing ? policy.destinations : []);
  const destChoices = destinations.map((d) => {
    const note = !d.enabled ? 'Disabled in config.yaml' : !d.configured ? 'Keys missing' : d.location;
    // A disabled destination cannot take copies; it stays tickable only to let an edit untick it.
    const blocked = !d.enabled && !chosen.has(d.key);
    return h(
      'label',
      { class: ['dest-option', d.enabled && d.configured ? '' : 'dest-option--off'] },
      h('input', { type: 'checkbox', class: 'dest-choice', name: 'destinations', value: d.key, checked: chosen.has(d.key), disabled: blocked }),
      h('span', { class: 'dest-option__icon' }, icon(d.icon)),
      h('span', { class: 'dest-option__text' }, h('span', { class: 'dest-option__name' }, d.name), note ? h('span', { class: 'dest-option__note' }, note) : null),
    );
  });
  const recursive = switchControl({
    id: 'folder-recursive',
    checked: editing ? policy.recursive : true,
    label: 'Include subfolders',
    description: 'Back up every folder below this one too, not only the files directly in it.',
  });

  replace(
    dialog,
    h('div', { class: 'modal__header' }, h('h2', { id: 'folder-picker-title', class: 'modal__title' }, icon('folder'), editing ? 'Edit Folder' : 'Add Folder to Sync'), closeX),
    h('div', { class: 'modal__body' },
      browse,
      h('p', { class: 'picker-selected' }, h('span', { class: 'muted' }, editing ? 'Folder: ' : 'Selected: '), selectedText),
      estimateBox,
      h('fieldset', { class: 'picker-dests' },
        h('legend', {}, 'Backup Destinations'),
        destinations.length ? h('div', { class: 'dest-options' }, destChoices) : h('p', { class: 'muted' }, 'No destinations are configured in config.yaml.'),
      ),
      recursive,
    ),
    h('div', { class: 'modal__footer' }, error, cancel, save),
  );
  showSelected();
  if (!editing) loadChildren(null, '', tree);
  else loadEstimate();
  dialog.querySelector('#folder-recursive').addEventListener('change', loadEstimate);
  for (const box of dialog.querySelectorAll('input.dest-choice')) {
    box.addEventListener('change', () => {
      if (tickedKeys().length) clearProblem('destinations');
      showEstimate();
    });
  }

  /** Shows what stops Save, until the person fixes it (`about`: what it is about). */
  function showProblem(about, text) {
    error.textContent = text;
    error.dataset.about = about;
  }

  function clearProblem(about) {
    if (error.dataset.about !== about) return;
    error.textContent = '';
    delete error.dataset.about;
  }

  function tickedKeys() {
    return [...dialog.querySelectorAll('input.dest-choice:checked')].map((i) => i.value);
  }

  /** Asks the engine for the selected folder's size and costs; a later request wins. */
  async function loadEstimate() {
    const mine = ++estimateSeq;
    estimate = null;
    if (!selected) {
      estimateBox.replaceChildren();
      return;
    }
    replace(estimateBox, h('p', { class: 'muted' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Measuring the folder in Drive…'));
    try {
      const found = await track(api.folderEstimate(selected.id, dialog.querySelector('#folder-recursive').checked));
      if (mine !== estimateSeq) return;
      estimate = found;
      showEstimate();
    } catch (err) {
      if (mine !== estimateSeq) return;
      replace(estimateBox, h('p', { class: 'muted' }, `Could not measure the folder: ${err.message}`));
    }
  }

  function showEstimate() {
    if (!estimate) return;
    const lines = estimateLines(estimate, tickedKeys(), destinations);
    replace(
      estimateBox,
      h('p', { class: 'picker-estimate__size' }, folderSizeText(estimate)),
      lines.length
        ? h('ul', { class: 'picker-estimate__costs' }, lines.map((l) => h('li', { dataset: { key: l.key } }, h('strong', {}, l.name), ': ', l.text)))
        : h('p', { class: 'muted' }, 'Tick destinations to see what they would cost a month.'),
    );
  }

  function showSelected() {
    if (selected) clearProblem('folder');
    if (selected) {
      selectedText.textContent = selected.path;
      selectedText.dataset.folderId = selected.id;
    } else {
      selectedText.textContent = 'No folder selected yet';
      delete selectedText.dataset.folderId;
    }
    for (const b of dialog.querySelectorAll('.folder-select')) {
      const on = Boolean(selected) && b.closest('.folder-node').dataset.id === selected.id;
      b.setAttribute('aria-pressed', String(on));
      b.closest('.folder-node').classList.toggle('folder-node--selected', on);
    }
  }

  function folderNode(folder, parentPath, { expandable }) {
    const path = parentPath ? `${parentPath}/${folder.name}` : folder.name;
    const children = h('ul', { class: 'folder-children', hidden: true });
    const select = h(
      'button',
      { type: 'button', class: 'folder-select', 'aria-pressed': 'false', title: path, onclick: () => {
        selected = { id: folder.id, name: folder.name, path };
        error.textContent = '';
        showSelected();
        loadEstimate();
      } },
      icon('folder'),
      folder.name,
    );
    let loaded = false;
    const expand = expandable
      ? h('button', { type: 'button', class: 'folder-expand', 'aria-expanded': 'false', 'aria-label': `Show folders in ${folder.name}`, onclick: async () => {
          const open = expand.getAttribute('aria-expanded') === 'true';
          expand.setAttribute('aria-expanded', String(!open));
          children.hidden = open;
          if (!open && !loaded) {
            loaded = await loadChildren(folder.id, path, children);
          }
        } }, icon('chevron'))
      : null;
    return h(
      'li',
      { class: 'folder-node', dataset: { id: folder.id } },
      h('div', { class: 'folder-row' }, expand || h('span', { class: 'folder-expand-spacer', 'aria-hidden': 'true' }), select, existing.has(folder.id) ? h('span', { class: 'tag tag--muted' }, 'Already synced') : null),
      expandable ? children : null,
    );
  }

  /** Fills `list` with the sub-folders of `parentId` (My Drive when null); true once loaded. */
  async function loadChildren(parentId, parentPath, list) {
    replace(list, h('li', { class: 'folder-status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Loading folders…'));
    list.setAttribute('aria-busy', 'true');
    try {
      const folders = await track(api.driveFolders(parentId));
      if (folders.length === 0) replace(list, h('li', { class: 'folder-status muted' }, parentId ? 'No folders inside.' : 'Your Drive has no folders.'));
      else replace(list, folders.map((f) => folderNode(f, parentPath, { expandable: true })));
      showSelected();
      return true;
    } catch (err) {
      error.textContent = err.message;
      replace(list, h('li', { class: 'folder-status folder-status--error' }, 'Could not load folders. ', h('button', { type: 'button', class: 'btn btn--link', onclick: () => loadChildren(parentId, parentPath, list) }, 'Try again')));
      return false;
    } finally {
      list.removeAttribute('aria-busy');
    }
  }

  async function doSearch(query) {
    const mine = ++searchSeq;
    if (!query) {
      results.hidden = true;
      tree.hidden = false;
      results.replaceChildren();
      return;
    }
    tree.hidden = true;
    results.hidden = false;
    replace(results, h('li', { class: 'folder-status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Searching…'));
    try {
      const found = await track(api.searchFolders(query));
      if (mine !== searchSeq) return;
      // Search results carry no path; the name is what we can show.
      if (found.length === 0) replace(results, h('li', { class: 'folder-status muted' }, `No folders match “${query}”.`));
      else replace(results, found.map((f) => folderNode(f, '', { expandable: false })));
      showSelected();
    } catch (err) {
      if (mine !== searchSeq) return;
      error.textContent = err.message;
      replace(results, h('li', { class: 'folder-status folder-status--error' }, 'Search failed.'));
    }
  }

  async function onSave() {
    error.textContent = '';
    delete error.dataset.about;
    const picked = tickedKeys();
    const isRecursive = dialog.querySelector('#folder-recursive').checked;
    if (!selected) {
      showProblem('folder', 'Choose a Drive folder first.');
      return;
    }
    if (picked.length === 0) {
      showProblem('destinations', 'Tick at least one destination.');
      return;
    }
    save.disabled = true;
    save.textContent = 'Saving…';
    try {
      const saved = await track(
        editing
          ? api.updatePolicy({ folder: policy.folder_id, destinations: picked, recursive: isRecursive })
          : api.addPolicy({ folder: selected.id, destinations: picked, recursive: isRecursive }),
      );
      onSaved(saved);
    } catch (err) {
      error.textContent = err.message;
    } finally {
      save.disabled = false;
      save.textContent = 'Save';
    }
  }

  return {
    cancel,
    closeX,
    initialFocus: () => (editing ? dialog.querySelector('input.dest-choice:not(:disabled)') || save : search),
    dispose: () => runSearch.cancel(),
  };
}
