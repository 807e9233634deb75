-- historian_samples without its foreign key to historian_tags (docs/historian.md, "Ingest").
-- The key was checked for every sample written, a trigger and a lookup in historian_tags per row:
-- 30% of the server's time at the ingest ceiling. append_historian checks the tags of a batch once,
-- before writing, in the same transaction; deleting a tag deletes its samples explicitly (the
-- cascade the key gave). historian_rollups keeps its key: it takes a few rows per tag and batch.
ALTER TABLE historian_samples DROP CONSTRAINT historian_samples_tag_id_fkey;
