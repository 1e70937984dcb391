-- Every copy Fanout made, per file and destination: the one the destination holds now
-- ('current'), the earlier ones it still holds ('kept': moved to Fanout's versions area, or
-- kept by the provider's own versioning, or left at an old path after a rename), and what
-- became of them ('pruned' by an explicit prune, 'missing' when a check did not find them).
CREATE TABLE file_versions (
    id               INTEGER PRIMARY KEY,
    file_id          TEXT NOT NULL,
    destination      TEXT NOT NULL,
    md5              TEXT,                 -- Drive's md5 (or the export's) of this version
    size             INTEGER,
    drive_version    INTEGER,
    modified_time    TEXT,                 -- Drive's modifiedTime of this version
    remote_path      TEXT NOT NULL,        -- where it was copied (`<bucket>/<prefix>/google-drive/...`)
    kept_path        TEXT,                 -- Fanout's versions area: where it lives now
    provider_version TEXT,                 -- the provider kept it: rclone's name for that version
    remote_hash      TEXT,
    verified_by      TEXT,
    copied_at        TEXT NOT NULL,
    replaced_at      TEXT,                 -- when a newer copy took its place
    last_verified    TEXT,
    state            TEXT NOT NULL CHECK (state IN ('current', 'kept', 'pruned', 'missing')),
    note             TEXT                  -- why a version is missing or was not kept
);
CREATE INDEX file_versions_by_pair ON file_versions(file_id, destination, copied_at);

-- What was already copied counts as each pair's current version.
INSERT INTO file_versions (file_id, destination, md5, size, drive_version, remote_path, remote_hash,
                           verified_by, copied_at, last_verified, state)
SELECT file_id, destination, md5, size, version, remote_path, remote_hash, verified_by,
       COALESCE(last_sync, updated_at), last_verified, 'current'
FROM file_destinations WHERE remote_path IS NOT NULL AND last_sync IS NOT NULL;
