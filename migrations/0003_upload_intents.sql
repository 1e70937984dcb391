-- Copies to a local folder that were started and not yet known to be over: rclone writes each
-- to `<name>.<8 hex>.partial` first, and after a crash these rows are the proof of which such
-- files Fanout made (and may remove). Nothing else at a destination is ever removed.
CREATE TABLE upload_intents (
    id          INTEGER PRIMARY KEY,
    destination TEXT NOT NULL,
    root        TEXT NOT NULL,   -- the destination's folder (with prefix) at the time
    paths       TEXT NOT NULL,   -- newline-separated object paths under `root`
    created_at  TEXT NOT NULL
);
