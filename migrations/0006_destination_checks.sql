-- Every sync checks a share of each destination's copies, least recently seen intact first,
-- folder by folder: both lookups need an index to stay cheap at a million copies.
CREATE INDEX file_destinations_by_last_seen ON file_destinations(destination, sync_status, last_verified);
CREATE INDEX file_destinations_by_remote_path ON file_destinations(destination, remote_path);
