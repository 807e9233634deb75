-- historian_samples without its foreign key to historian_tags (docs/historian.md, "Ingest").
-- The key was checked for every sample written, a lookup in historian_tags per row: at hundreds of
-- thousands of rows a second that check cost as much as the insert itself. append_historian checks
-- the tags of a batch once, before writing, in the same transaction; deleting a tag deletes its
-- samples explicitly (the cascade the key gave). historian_rollups keeps its key: it takes a few
-- rows per tag and batch. SQLite cannot drop a constraint, hence the rebuild, in key order.
CREATE TABLE historian_samples_new (
  tag_id INTEGER NOT NULL,
  timestamp INTEGER NOT NULL,
  value FLOAT NOT NULL,
  quality INTEGER NOT NULL DEFAULT 0 CHECK (quality BETWEEN 0 AND 3),
  PRIMARY KEY (tag_id, timestamp)
) WITHOUT ROWID;
INSERT INTO historian_samples_new (tag_id, timestamp, value, quality)
  SELECT tag_id, timestamp, value, quality FROM historian_samples ORDER BY tag_id, timestamp;
DROP TABLE historian_samples;
ALTER TABLE historian_samples_new RENAME TO historian_samples;
