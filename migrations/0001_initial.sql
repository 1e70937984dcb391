-- Folder policies: which Drive folders go to which destinations (the seed's sync_folders).
CREATE TABLE sync_folders (
    folder_id    TEXT PRIMARY KEY,          -- Drive folder ID: renames and moves never break a policy
    folder_name  TEXT NOT NULL,
    folder_path  TEXT NOT NULL,             -- for display; refreshed on every sync
    destinations TEXT NOT NULL,             -- JSON array of destination keys
    recursive    INTEGER NOT NULL DEFAULT 1,
    enabled      INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

-- Drive items seen under policy folders (and their ancestors), with the remote-name mapping.
CREATE TABLE files (
    file_id       TEXT PRIMARY KEY,
    parent_id     TEXT,
    name          TEXT NOT NULL,             -- Drive's name, untrusted
    remote_name   TEXT NOT NULL,             -- sanitised, de-duplicated; never changes for a name
    mime_type     TEXT NOT NULL,
    is_folder     INTEGER NOT NULL,
    content_id    TEXT,                      -- whose bytes to fetch (a shortcut's target)
    size          INTEGER,
    md5           TEXT,                      -- Drive's md5Checksum (absent for Workspace files)
    version       INTEGER,
    modified_time TEXT,
    drive_path    TEXT NOT NULL DEFAULT '',  -- human path from My Drive, for display and search
    remote_path   TEXT NOT NULL DEFAULT '',  -- google-drive/<sanitised path>
    trashed       INTEGER NOT NULL DEFAULT 0,
    gone          INTEGER NOT NULL DEFAULT 0, -- no longer in Drive (deleted, trashed or out of reach)
    skip_reason   TEXT,                      -- why this file goes nowhere, when it goes nowhere
    updated_at    TEXT NOT NULL
);
CREATE INDEX files_by_parent ON files(parent_id);
CREATE INDEX files_by_path ON files(drive_path);

-- One row per (file, destination): the ledger (the seed's file_destinations).
CREATE TABLE file_destinations (
    id            INTEGER PRIMARY KEY,
    file_id       TEXT NOT NULL REFERENCES files(file_id) ON DELETE CASCADE,
    destination   TEXT NOT NULL,
    sync_status   TEXT NOT NULL CHECK (sync_status IN ('synced', 'failed', 'pending')),
    last_sync     TEXT,                      -- when it was last verified at the destination
    remote_path   TEXT,
    size          INTEGER,
    md5           TEXT,                      -- the md5 the destination's copy was checked against
    version       INTEGER,                   -- Drive version that was copied
    verified_by   TEXT,                      -- md5, sha1 or size
    error_message TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    updated_at    TEXT NOT NULL,
    UNIQUE (file_id, destination)
);
CREATE INDEX file_destinations_by_status ON file_destinations(destination, sync_status);

-- One row per sync run.
CREATE TABLE sync_runs (
    id               INTEGER PRIMARY KEY,
    started_at       TEXT NOT NULL,
    finished_at      TEXT,
    status           TEXT NOT NULL,          -- running, succeeded, partial, failed, cancelled
    files_planned    INTEGER NOT NULL DEFAULT 0,
    pairs_synced     INTEGER NOT NULL DEFAULT 0,
    pairs_failed     INTEGER NOT NULL DEFAULT 0,
    pairs_pending    INTEGER NOT NULL DEFAULT 0,
    bytes_downloaded INTEGER NOT NULL DEFAULT 0,
    bytes_uploaded   INTEGER NOT NULL DEFAULT 0,
    error            TEXT
);

-- Small facts about the Drive account: its root folder ID, the saved changes page token.
CREATE TABLE drive_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
