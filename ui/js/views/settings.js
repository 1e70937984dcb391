// Settings: Google account, destinations (keys in the keychain, Test connection), Sync Folder
// Configuration (policy cards and the folder picker), schedule, start at login, about.
// Each section loads and reloads on its own, so one failing command never blanks the others.

import { api } from '../api.js';
import { h, replace, stateBlock, switchControl, nextId } from '../dom.js';
import { icon } from '../icons.js';
import { notify, notifyError } from '../notify.js';
import { confirmDialog } from '../confirm.js';
import { destinationBadge, indexDestinations } from '../badges.js';
import { relativeTime, formatDate, bandwidthText } from '../format.js';
import { openFolderPicker } from './folder-picker.js';

export function createSettings(root, { store, shared, track }) {
  let destinations = [];
  let secrets = [];
  let policies = [];

  const googleBody = h('div', { class: 'card__body', id: 'google-account' });
  const destBody = h('div', { class: 'dest-settings-list', id: 'destination-settings' });
  const policyList = h('div', { id: 'folder-policies-list', class: 'policy-list' });
  const addFolder = h('button', { type: 'button', id: 'add-folder', class: 'btn btn--primary', onclick: () => editPolicy(null) }, icon('plus'), 'Add Folder to Sync');
  const scheduleBody = h('div', { class: 'card__body', id: 'schedule-settings' });
  const bandwidthBody = h('div', { class: 'card__body', id: 'bandwidth-settings' });
  const autostartBody = h('div', { class: 'card__body', id: 'autostart-settings' });
  const aboutBody = h('div', { class: 'card__body', id: 'about' });

  replace(
    root,
    h('header', { class: 'view-header' }, h('div', {}, h('h1', { id: 'settings-title', tabindex: '-1' }, 'Settings'), h('p', { class: 'view-header__sub' }, 'Accounts, destinations and which Drive folders go where.'))),
    section('settings-google', 'user', 'Google account', googleBody),
    h('section', { class: 'section', 'aria-labelledby': 'settings-destinations' },
      h('h2', { id: 'settings-destinations', class: 'section__title' }, icon('key'), 'Destinations'),
      h('p', { class: 'section__hint' }, 'Keys are stored in the system keychain and never shown again. Buckets, regions and endpoints come from config.yaml.'),
      destBody,
    ),
    h('section', { class: 'section', 'aria-labelledby': 'settings-folders' },
      h('div', { class: 'section__head' },
        h('div', {},
          h('h2', { id: 'settings-folders', class: 'section__title' }, icon('folder'), 'Sync Folder Configuration'),
          h('p', { class: 'section__hint' }, 'Pick Drive folders and where each one goes. The deepest folder with a policy decides for a file; turn a subfolder off to leave it out.'),
        ),
        addFolder,
      ),
      policyList,
    ),
    section('settings-schedule', 'clock', 'Schedule', scheduleBody),
    section('settings-bandwidth', 'speedometer', 'Bandwidth', bandwidthBody),
    section('settings-autostart', 'power', 'Start at login', autostartBody),
    section('settings-about', 'info', 'About', aboutBody),
  );

  // --- Google account ---------------------------------------------------------------------------

  let google = { signed_in: false };

  async function loadGoogle() {
    try {
      const [status] = await Promise.all([api.googleStatus(), appInfo().catch(() => null)]);
      renderGoogle(status);
    } catch (err) {
      replace(googleBody, stateBlock('error', 'Could not read the Google account', err.message, retry(loadGoogle)));
    }
  }

  function renderGoogle(status, waiting = false) {
    google = status;
    const demo = shared.appInfo && shared.appInfo.demo;
    const who = status.signed_in
      ? h('p', { class: 'account', id: 'google-status', dataset: { signedIn: 'true' } }, icon('check', { className: 'icon--ok' }), 'Connected', status.account ? h('span', {}, ' as ', h('strong', {}, status.account)) : null, status.method ? h('span', { class: 'muted' }, ` (${status.method})`) : null)
      : h('p', { class: 'account', id: 'google-status', dataset: { signedIn: 'false' } }, icon('user'), 'Not connected. Connect to back up your Google Drive.');
    const connect = h('button', { type: 'button', id: 'google-connect', class: 'btn btn--primary', disabled: waiting, onclick: onConnect }, waiting ? 'Waiting…' : status.signed_in ? 'Reconnect' : 'Connect Google Drive');
    const disconnect = status.signed_in ? h('button', { type: 'button', id: 'google-disconnect', class: 'btn', disabled: waiting, onclick: onDisconnect }, 'Disconnect') : null;
    replace(
      googleBody,
      who,
      demo ? h('p', { class: 'note' }, 'Demo data: a sample Drive is in use, so no account is needed to try Fanout.') : null,
      waiting ? h('p', { class: 'waiting', id: 'google-waiting', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Waiting for the browser… Finish signing in there; this window updates by itself.') : null,
      h('div', { class: 'actions' }, connect, disconnect),
    );
  }

  async function onConnect() {
    renderGoogle(google, true);
    try {
      renderGoogle(await api.connectGoogle());
      notify('Google Drive is connected.', 'success');
    } catch (err) {
      notifyError(err);
      await loadGoogle();
    }
  }

  async function onDisconnect() {
    const ok = await confirmDialog({
      title: 'Disconnect Google Drive?',
      message: 'Fanout’s access is revoked at Google and its token deleted. Copies already made stay where they are; syncs stop until you connect again.',
      confirmLabel: 'Disconnect',
      danger: true,
    });
    if (!ok) return;
    try {
      renderGoogle(await track(api.disconnectGoogle()));
    } catch (err) {
      notifyError(err);
      await loadGoogle();
    }
  }

  // --- Destinations -----------------------------------------------------------------------------

  async function loadDestinations() {
    const [dests, secretList] = await Promise.allSettled([api.listDestinations(), api.secretStatus()]);
    if (dests.status === 'rejected') {
      replace(destBody, stateBlock('error', 'Could not load destinations', dests.reason.message, retry(loadDestinations)));
      return;
    }
    destinations = dests.value;
    shared.destinationNames = Object.fromEntries(destinations.map((d) => [d.key, d.name]));
    if (secretList.status === 'fulfilled') secrets = secretList.value;
    else notifyError(secretList.reason);
    renderDestinations();
  }

  function renderDestinations() {
    if (destinations.length === 0) {
      replace(destBody, stateBlock('empty', 'No destinations configured', 'Add one under destinations in config.yaml, then reopen Settings.'));
      return;
    }
    replace(destBody, destinations.map(destinationSettings));
  }

  function destinationSettings(d) {
    const keys = secrets.filter((s) => s.owner === d.key);
    const verdict = h('p', { class: 'dest-test-result', role: 'status', 'aria-live': 'polite' });
    const test = h('button', { type: 'button', class: 'btn dest-test', onclick: () => onTest(d, test, verdict) }, 'Test connection');
    const isFolder = d.location_kind === 'folder';
    return h(
      'article',
      { class: ['card', 'dest-settings', d.enabled ? '' : 'dest-settings--off'], dataset: { key: d.key }, 'aria-labelledby': `dest-settings-${d.key}` },
      h('div', { class: 'dest-card__head' },
        h('span', { class: 'dest-card__icon' }, icon(d.icon)),
        h('div', { class: 'dest-card__id' }, h('h3', { id: `dest-settings-${d.key}`, class: 'dest-card__name' }, d.name), h('p', { class: 'dest-card__location mono' }, d.key)),
        h('div', { class: 'pills' },
          h('span', { class: ['badge', d.enabled ? 'badge--ready' : 'badge--disabled', 'dest-enabled'], title: d.enabled ? 'Enabled in config.yaml' : 'Disabled in config.yaml: set enabled: true to use it' }, d.enabled ? 'Enabled' : 'Disabled'),
          h('span', { class: ['badge', d.configured ? 'badge--synced' : 'badge--not-configured', 'dest-configured'] }, d.configured ? 'Configured' : 'Keys missing'),
        ),
      ),
      h('dl', { class: 'facts facts--inline' },
        h('div', {}, h('dt', {}, isFolder ? 'Folder' : 'Bucket'), h('dd', { class: 'mono' }, d.location || '(not set in config.yaml)')),
        h('div', {}, h('dt', {}, 'Type'), h('dd', {}, d.name)),
        d.versions ? h('div', {}, h('dt', {}, 'Versions'), h('dd', { class: 'dest-versions' }, d.versions)) : null,
      ),
      keys.length === 0 ? h('p', { class: 'muted' }, isFolder ? 'No keys needed.' : 'No keys are needed for this destination.') : h('div', { class: 'secrets' }, keys.map((s) => secretRow(d, s))),
      h('div', { class: 'actions' }, test, verdict),
    );
  }

  function secretRow(dest, secret) {
    const id = nextId('secret');
    const input = h('input', { type: 'password', id, class: 'input secret-input', autocomplete: 'off', spellcheck: 'false', placeholder: secret.stored ? 'Stored — type to replace' : 'Paste the key', 'aria-describedby': `${id}-state` });
    const save = h('button', { type: 'submit', class: 'btn btn--primary secret-save', disabled: true }, 'Save');
    const clear = h('button', { type: 'button', class: 'btn secret-clear', disabled: !secret.stored, onclick: () => onClear(dest, secret) }, 'Clear');
    input.addEventListener('input', () => {
      save.disabled = input.value.length === 0;
    });
    return h(
      'form',
      { class: 'secret-row', dataset: { owner: secret.owner, field: secret.field }, onsubmit: (e) => onSave(e, secret, input, save) },
      h('label', { class: 'secret-row__label', for: id }, secret.label),
      h('span', { id: `${id}-state`, class: ['badge', 'secret-state', secret.stored ? 'badge--synced' : 'badge--not-configured'], dataset: { stored: String(!!secret.stored) } }, secret.stored ? 'stored' : 'missing'),
      input,
      h('div', { class: 'secret-row__buttons' }, save, clear),
    );
  }

  async function onSave(e, secret, input, save) {
    e.preventDefault();
    if (!input.value) return;
    save.disabled = true;
    try {
      await track(api.setSecret(secret.owner, secret.field, input.value));
      input.value = '';
      notify(`${secret.label} saved in the system keychain.`, 'success');
      await track(reloadDestinationsKeepingFocus(secret, '.secret-input'));
    } catch (err) {
      notifyError(err);
      save.disabled = input.value.length === 0;
    }
  }

  async function onClear(dest, secret) {
    // A stored key is never shown again: clearing it is asked first, saying what stops.
    const ok = await confirmDialog({
      title: `Clear the ${secret.label}?`,
      message: `Fanout cannot copy to ${dest.name} or restore from it until you save this key again, and it cannot show you the key it has now.`,
      confirmLabel: 'Clear key',
      danger: true,
    });
    if (!ok) return;
    try {
      await track(api.clearSecret(secret.owner, secret.field));
      notify(`${secret.label} removed from the keychain.`, 'success');
      await track(reloadDestinationsKeepingFocus(secret, '.secret-input'));
    } catch (err) {
      notifyError(err);
    }
  }

  /** Re-renders the destinations and puts focus back in the same row, not at the page top. */
  async function reloadDestinationsKeepingFocus(secret, selector) {
    await loadDestinations();
    const row = [...destBody.querySelectorAll('.secret-row')].find((r) => r.dataset.owner === secret.owner && r.dataset.field === secret.field);
    const target = row && row.querySelector(selector);
    if (target) target.focus();
  }

  async function onTest(dest, button, verdict) {
    button.disabled = true;
    delete verdict.dataset.ok;
    replace(verdict, h('span', { class: 'spinner', 'aria-hidden': 'true' }), `Testing ${dest.name}…`);
    try {
      const result = await track(api.testDestination(dest.key));
      verdict.dataset.ok = String(!!result.ok);
      replace(verdict, icon(result.ok ? 'check' : 'alert'), h('span', {}, result.message || (result.ok ? 'Connection works.' : 'Connection failed.')));
    } catch (err) {
      verdict.dataset.ok = 'false';
      replace(verdict, icon('alert'), h('span', {}, err.message));
    } finally {
      button.disabled = false;
    }
  }

  // --- Sync Folder Configuration ----------------------------------------------------------------

  async function loadPolicies() {
    if (!policyList.firstChild) replace(policyList, stateBlock('loading', 'Loading folders…'));
    try {
      policies = await api.listPolicies();
      renderPolicies();
    } catch (err) {
      replace(policyList, stateBlock('error', 'Could not load the synced folders', err.message, retry(loadPolicies)));
    }
  }

  function renderPolicies() {
    if (policies.length === 0) {
      replace(policyList, stateBlock('empty', 'No folders are synced yet', 'Press “Add Folder to Sync” to pick a Drive folder and where it goes.'));
      return;
    }
    const byKey = indexDestinations(destinations);
    replace(policyList, policies.map((p) => policyCard(p, byKey)));
  }

  function policyCard(policy, byKey) {
    const switchId = nextId('policy-enabled');
    const card = h(
      'article',
      { class: ['card', 'policy-card', policy.enabled ? '' : 'policy-card--disabled'], dataset: { folderPath: policy.folder_path, folderId: policy.folder_id }, 'aria-label': `Synced folder ${policy.folder_path || policy.folder_name}` },
      h('div', { class: 'policy-card__main' },
        h('h3', { class: 'policy-card__name' }, icon('folder'), h('span', {}, policy.folder_name || policy.folder_path)),
        policy.folder_path ? h('p', { class: 'policy-card__path mono' }, policy.folder_path) : null,
        h('div', { class: 'badges' },
          policy.destinations.map((key) => {
            const b = destinationBadge(key, byKey.get(key));
            return h('span', { class: b.className, title: b.title, dataset: { destination: key, status: b.status } }, icon(byKey.get(key) ? byKey.get(key).icon : 'cloud'), b.label);
          }),
        ),
        h('p', { class: 'policy-card__meta' },
          policy.recursive ? 'Includes subfolders' : 'This folder only',
          policy.updated_at ? h('span', { title: formatDate(policy.updated_at) }, ` · changed ${relativeTime(policy.updated_at)}`) : null,
          policy.enabled ? null : h('span', { class: 'policy-card__off' }, ' · Off: this folder and everything under it are left out'),
        ),
      ),
      h('div', { class: 'policy-card__actions' },
        switchControl({ id: switchId, className: 'policy-enabled', checked: policy.enabled, label: 'Enabled', onchange: (e) => onToggle(policy, e.target) }),
        h('button', { type: 'button', class: 'btn policy-edit', 'aria-label': `Edit ${policy.folder_name || policy.folder_path}`, onclick: () => editPolicy(policy) }, icon('pencil'), 'Edit'),
        h('button', { type: 'button', class: 'btn btn--danger-outline policy-remove', 'aria-label': `Remove ${policy.folder_name || policy.folder_path}`, onclick: () => onRemove(policy) }, icon('trash'), 'Remove'),
      ),
    );
    return card;
  }

  async function onToggle(policy, checkbox) {
    const wanted = checkbox.checked;
    checkbox.disabled = true;
    try {
      const updated = await track(api.setPolicyEnabled(policy.folder_id, wanted));
      policies = policies.map((p) => (p.folder_id === policy.folder_id ? updated : p));
      renderPolicies();
      const again = [...policyList.querySelectorAll('.policy-card')].find((c) => c.dataset.folderId === policy.folder_id);
      if (again) again.querySelector('.policy-enabled').focus();
    } catch (err) {
      checkbox.checked = !wanted;
      checkbox.disabled = false;
      notifyError(err);
    }
  }

  async function onRemove(policy) {
    const name = policy.folder_name || policy.folder_path;
    const ok = await confirmDialog({
      title: `Remove “${name}” from sync?`,
      message: 'Its files stop being backed up. Copies already at the destinations are kept.',
      confirmLabel: 'Remove',
      danger: true,
    });
    if (!ok) return;
    try {
      await track(api.removePolicy(policy.folder_id));
      notify(`“${name}” is no longer synced.`, 'success');
      await track(loadPolicies());
      addFolder.focus();
    } catch (err) {
      notifyError(err);
    }
  }

  async function editPolicy(policy) {
    // The picker lists every destination, so make sure they are current.
    if (destinations.length === 0) await loadDestinations();
    const saved = await openFolderPicker({ policy, destinations, existing: new Set(policies.map((p) => p.folder_id)), track });
    if (saved) notify(policy ? `“${saved.folder_name || saved.folder_path}” updated.` : `“${saved.folder_name || saved.folder_path}” will be synced.`, 'success');
    // Reload even after Cancel: a save may have landed just before the dialog was dismissed.
    await track(loadPolicies());
  }

  // --- Schedule ---------------------------------------------------------------------------------

  async function loadSchedule() {
    try {
      store.dispatch({ type: 'status', payload: await api.syncStatus() });
      renderSchedule();
    } catch (err) {
      replace(scheduleBody, stateBlock('error', 'Could not read the schedule', err.message, retry(loadSchedule)));
    }
  }

  function renderSchedule() {
    const { schedule, paused } = store.getState();
    const toggle = h('button', { type: 'button', id: 'schedule-toggle', class: 'btn', 'aria-pressed': String(paused), dataset: { paused: String(paused) }, onclick: () => onPause(!paused, toggle) }, paused ? 'Resume scheduled syncs' : 'Pause scheduled syncs');
    replace(
      scheduleBody,
      h('p', { id: 'schedule-text' }, schedule ? `Fanout syncs ${schedule}.` : 'No schedule is set: syncs run when you press Sync now (or from the tray). Set sync.schedule in config.yaml, e.g. “every 6h”.'),
      h('p', { class: ['schedule-state', paused ? 'schedule-state--paused' : ''] }, paused ? 'Scheduled syncs are paused.' : 'Scheduled syncs are active.'),
      h('div', { class: 'actions' }, toggle),
    );
  }

  async function onPause(paused, button) {
    button.disabled = true;
    try {
      store.dispatch({ type: 'status', payload: await track(api.setSchedulePaused(paused)) });
      renderSchedule();
      scheduleBody.querySelector('#schedule-toggle').focus();
    } catch (err) {
      notifyError(err);
      button.disabled = false;
    }
  }

  // --- Bandwidth --------------------------------------------------------------------------------

  async function loadBandwidth() {
    try {
      renderBandwidth(await api.bandwidthLimit());
    } catch (err) {
      replace(bandwidthBody, stateBlock('error', 'Could not read the bandwidth limit', err.message, retry(loadBandwidth)));
    }
  }

  function renderBandwidth(status) {
    const input = h('input', { type: 'text', id: 'bandwidth-limit', class: 'input mono', value: status.limit, placeholder: 'unlimited, e.g. 10M or 08:00,1M 19:00,off', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'bandwidth-help bandwidth-now' });
    const error = h('p', { id: 'bandwidth-error', class: 'form-error', role: 'alert' });
    const save = h('button', { type: 'submit', id: 'bandwidth-save', class: 'btn' }, 'Apply');
    const form = h('form', { class: 'secret-row', onsubmit: (e) => onBandwidth(e, input, save, error) },
      h('label', { class: 'field', for: 'bandwidth-limit' }, h('span', { class: 'field__label' }, 'Limit'), input),
      save,
    );
    replace(
      bandwidthBody,
      h('p', { id: 'bandwidth-help', class: 'muted' }, 'For uploads to destinations and downloads from Drive, in rclone’s form: one rate (10M, 512K; upload:download as 1M:4M), or times of day with a rate from then on (08:00,1M 19:00,off; Sat-00:00,off for one weekday). Empty means unlimited. It applies at once, also to a sync that is running.'),
      form,
      h('p', { id: 'bandwidth-now' }, bandwidthText(status)),
      error,
    );
  }

  async function onBandwidth(e, input, save, error) {
    e.preventDefault();
    save.disabled = true;
    error.textContent = '';
    try {
      renderBandwidth(await track(api.setBandwidthLimit(input.value.trim())));
      bandwidthBody.querySelector('#bandwidth-limit').focus();
    } catch (err) {
      error.textContent = err.message;
      save.disabled = false;
    }
  }

  // --- Start at login ---------------------------------------------------------------------------

  async function loadAutostart() {
    try {
      renderAutostart(await api.autostartStatus());
    } catch (err) {
      replace(autostartBody, stateBlock('error', 'Could not read the login setting', err.message, retry(loadAutostart)));
    }
  }

  function renderAutostart(enabled) {
    replace(
      autostartBody,
      switchControl({ id: 'autostart', checked: enabled, label: 'Start Fanout when I log in', description: 'It opens minimised to the tray, so scheduled syncs keep running.', onchange: (e) => onAutostart(e.target) }),
    );
  }

  async function onAutostart(checkbox) {
    const wanted = checkbox.checked;
    checkbox.disabled = true;
    try {
      const now = await track(api.setAutostart(wanted));
      checkbox.checked = !!now;
    } catch (err) {
      checkbox.checked = !wanted;
      notifyError(err);
    } finally {
      checkbox.disabled = false;
    }
  }

  // --- About ------------------------------------------------------------------------------------

  async function loadAbout() {
    try {
      const info = await appInfo();
      replace(
        aboutBody,
        h('dl', { class: 'facts facts--inline' },
          h('div', {}, h('dt', {}, 'Version'), h('dd', {}, info.version || '—')),
          h('div', {}, h('dt', {}, 'Configuration'), h('dd', { class: 'mono selectable' }, info.config_path || '—')),
          h('div', {}, h('dt', {}, 'Data folder'), h('dd', { class: 'mono selectable' }, info.data_dir || '—')),
        ),
        info.demo ? h('p', { class: 'note' }, 'Demo data is in use.') : null,
      );
    } catch (err) {
      replace(aboutBody, stateBlock('error', 'Could not read app information', err.message));
    }
  }

  async function appInfo() {
    if (!shared.appInfo) shared.appInfo = await api.appInfo();
    return shared.appInfo;
  }

  function retry(fn) {
    return h('button', { type: 'button', class: 'btn', onclick: () => track(fn()) }, 'Try again');
  }

  async function load() {
    // Destinations first: the policy badges need their names and states.
    await Promise.all([loadGoogle(), loadDestinations().then(loadPolicies), loadSchedule(), loadBandwidth(), loadAutostart(), loadAbout()]);
  }

  return { load };
}

function section(id, iconName, title, body) {
  return h('section', { class: 'section', 'aria-labelledby': id },
    h('h2', { id, class: 'section__title' }, icon(iconName), title),
    h('div', { class: 'card' }, body),
  );
}
