-- What the destination itself reported for a verified copy, and when it was last checked.
ALTER TABLE file_destinations ADD COLUMN remote_hash TEXT;   -- the destination's own hash (md5 or sha1)
ALTER TABLE file_destinations ADD COLUMN last_verified TEXT; -- last time the copy was seen intact
