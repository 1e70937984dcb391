// The window's only door to the Rust shell (docs/desktop-api.md). Nothing else touches
// window.__TAURI__. Every call rejects with an ApiError { kind, message }.

/** The error every command rejects with; `message` is written for the person using the app. */
export class ApiError extends Error {
  constructor(kind, message) {
    super(message);
    this.name = 'ApiError';
    this.kind = kind;
  }
}

/** Whatever the shell threw, as an ApiError (a string, an `{kind, message}`, an Error). */
export function toApiError(err) {
  if (err instanceof ApiError) return err;
  if (err && typeof err === 'object' && typeof err.message === 'string') {
    return new ApiError(typeof err.kind === 'string' ? err.kind : 'internal', err.message);
  }
  if (typeof err === 'string' && err) return new ApiError('internal', err);
  return new ApiError('internal', 'Something went wrong in Fanout. Try again; if it keeps happening, restart the app.');
}

function tauri() {
  const t = globalThis.__TAURI__;
  if (!t || !t.core || !t.event) {
    throw new ApiError('internal', 'Fanout’s window is not connected to the app. Open Fanout from its launcher instead of a browser.');
  }
  return t;
}

async function invoke(command, args) {
  try {
    return await tauri().core.invoke(command, args);
  } catch (err) {
    throw toApiError(err);
  }
}

/** Only the keys that have a value: Option<> fields on the Rust side are then simply absent. */
function defined(obj) {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined && v !== null && v !== ''));
}

export const api = {
  appInfo: () => invoke('app_info'),

  listPolicies: () => invoke('list_policies'),
  addPolicy: ({ folder, destinations, recursive }) => invoke('add_policy', { folder, destinations, recursive }),
  updatePolicy: ({ folder, destinations, recursive }) => invoke('update_policy', defined({ folder, destinations, recursive })),
  removePolicy: (folder) => invoke('remove_policy', { folder }),
  setPolicyEnabled: (folder, enabled) => invoke('set_policy_enabled', { folder, enabled }),

  listDestinations: () => invoke('list_destinations'),
  testDestination: (key) => invoke('test_destination', { key }),

  driveFolders: (parentId) => invoke('drive_folders', parentId ? { parentId } : {}),
  searchFolders: (query) => invoke('search_folders', { query }),
  folderEstimate: (folder, recursive) => invoke('folder_estimate', { folder, recursive }),
  bandwidthLimit: () => invoke('bandwidth_limit'),
  setBandwidthLimit: (limit) => invoke('set_bandwidth_limit', { limit }),

  startSync: () => invoke('start_sync'),
  retryFailed: ({ destination = null, fileId = null } = {}) => invoke('retry_failed', { destination, fileId }),
  cancelSync: () => invoke('cancel_sync'),
  pauseSync: () => invoke('pause_sync'),
  resumeSync: () => invoke('resume_sync'),
  syncStatus: () => invoke('sync_status'),
  destinationStats: () => invoke('destination_stats'),
  recentRuns: (limit = 10) => invoke('recent_runs', { limit }),
  fileHistory: (fileId) => invoke('file_history', { fileId }),
  listFiles: ({ search, destination, status, offset, limit }) =>
    invoke('list_files', { query: { ...defined({ search, destination, status }), offset, limit } }),

  secretStatus: () => invoke('secret_status'),
  setSecret: (owner, field, value) => invoke('set_secret', { owner, field, value }),
  clearSecret: (owner, field) => invoke('clear_secret', { owner, field }),

  googleStatus: () => invoke('google_status'),
  connectGoogle: () => invoke('connect_google'),
  disconnectGoogle: () => invoke('disconnect_google'),

  autostartStatus: () => invoke('autostart_status'),
  setAutostart: (enabled) => invoke('set_autostart', { enabled }),
  setSchedulePaused: (paused) => invoke('set_schedule_paused', { paused }),

  // `input`: { sources, all, to?, toDrive?, convert, at?, from?, overwrite, includeDeleted } (RestoreInput).
  restorePreview: (input) => invoke('restore_preview', { request: restoreInput(input) }),
  startRestore: (input) => invoke('start_restore', { request: restoreInput(input) }),
  cancelRestore: () => invoke('cancel_restore'),
};

/** The window's restore form as the shell's RestoreInput (snake_case fields, absent when unset). */
function restoreInput({ sources, all, to, toDrive, convert, at, from, overwrite, includeDeleted }) {
  return {
    sources: sources || [],
    all: Boolean(all),
    convert: Boolean(convert),
    overwrite: Boolean(overwrite),
    include_deleted: Boolean(includeDeleted),
    ...defined({ to, at, from }),
    // "" is meaningful here: Google Drive, under the default folder name.
    ...(toDrive === undefined ? {} : { to_drive: toDrive }),
  };
}

/** The shell's events. The callback receives the payload; resolves to an unlisten function. */
export const EVENTS = Object.freeze({
  started: 'sync://started',
  progress: 'sync://progress',
  finished: 'sync://finished',
  overdue: 'sync://overdue',
});

export const RESTORE_EVENTS = Object.freeze({
  progress: 'restore://progress',
  finished: 'restore://finished',
  failed: 'restore://failed',
});

export async function listen(event, callback) {
  try {
    return await tauri().event.listen(event, (e) => callback(e.payload));
  } catch (err) {
    throw toApiError(err);
  }
}
