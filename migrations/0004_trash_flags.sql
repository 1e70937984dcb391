-- What Drive last said of an item's own trash state, so the trash state of everything below a
-- folder is worked out from its folders each time (`trashed` is that result). A folder that is
-- untrashed then brings its children back, though Drive reports a change for the folder only.
ALTER TABLE files ADD COLUMN explicitly_trashed INTEGER NOT NULL DEFAULT 0; -- trashed by itself
ALTER TABLE files ADD COLUMN drive_trashed INTEGER NOT NULL DEFAULT 0;      -- Drive's `trashed`
UPDATE files SET drive_trashed = trashed;
