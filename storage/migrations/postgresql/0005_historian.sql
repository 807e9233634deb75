-- The historian's storage, PostgreSQL flavour (docs/storage.md, docs/historian.md).
-- historian_tags gains:
--   max_interval_ms  the longest time without a stored sample (the compressor's heartbeat), and
--                    how far back a query looks for the point before its window
--   enabled          whether the historian records the tag
--   updated_at       the configuration's time; existing rows take their created_at
-- historian_samples is rebuilt. It is empty in every deployment so far; still, the rebuild keeps
-- its rows: a point with samples and no tag gets one (named after its sensor, compression 'none';
-- skipped if that name is taken), and every sample moves to the tag of its sensor's (rtu_station,
-- slot). Samples of two channels of one slot merge into its one tag, the later row winning a tie
-- of timestamps; samples no tag can take (a taken name) are dropped:
--   tag_id     references historian_tags ON DELETE CASCADE, instead of the contract's sensor_id
--              referencing sensors. A tag is (rtu_station, slot) and may exist before its RTU is
--              discovered, when there is no sensors row to reference; and a sample must not go
--              when discovery replaces a sensor. sensor_id is dropped, not kept nullable: the tag
--              names the point once
--   timestamp  BIGINT milliseconds, unlike the schema's other times (TIMESTAMP): the same 8 bytes,
--              no conversion on the hottest path (COPY writes the integer as the program has it,
--              range queries compare integers), and the same value as on SQLite
--   value      FLOAT NOT NULL: a point without a value is a BAD one with its last value
--   quality    SMALLINT code instead of text: 0 GOOD, 1 UNCERTAIN, 2 BAD, 3 NOT_CONNECTED
--              (messages/historian_types.hpp). A row is 24 bytes of data after its header
--   PRIMARY KEY (tag_id, timestamp): the contract's (sensor, timestamp) index, unique. One point
--   per tag and time: writing it again replaces it (the points are COPied into a temporary table
--   and merged with INSERT ... ON CONFLICT), so a replayed backfill is idempotent. No identity
--   column: nothing refers to a sample by id, and a sequence costs a call per row
-- historian_rollups (new; the contract has no table for them): one row per (tag_id, width_ms,
--   bucket_start), the fields of core::rollup. min, max, first and last are NULL for a bucket of
--   BAD samples only (count = 0). Kept at ingest, replaced whole when a late sample corrects it
-- No index on timestamp alone: purging walks the primary key tag by tag.
-- TimescaleDB (the contract's hypertable with a 1 day chunk and a retention policy) is left for
-- later: the extension is not available where this is tested, and converting the table needs
-- create_hypertable on an integer column (chunk_time_interval => 86400000) with an integer_now
-- function for add_retention_policy. Until then the historian purges in the background itself.

ALTER TABLE historian_tags
  ADD COLUMN max_interval_ms INTEGER NOT NULL DEFAULT 60000 CHECK (max_interval_ms > 0),
  ADD COLUMN enabled BOOLEAN NOT NULL DEFAULT TRUE,
  ADD COLUMN updated_at TIMESTAMP;
UPDATE historian_tags SET updated_at = created_at;
ALTER TABLE historian_tags ALTER COLUMN updated_at SET NOT NULL;

INSERT INTO historian_tags (rtu_station, slot, tag_name, unit, compression, created_at,
                            updated_at)
  SELECT r.station_name, sl.slot_number, min(se.tag), min(se.unit), 'none', min(s.timestamp),
         min(s.timestamp)
  FROM historian_samples s
  JOIN sensors se ON se.id = s.sensor_id
  JOIN slots sl ON sl.id = se.slot_id
  JOIN rtus r ON r.id = sl.rtu_id
  GROUP BY r.station_name, sl.slot_number
  ON CONFLICT DO NOTHING;

CREATE TABLE historian_samples_new (
  tag_id INTEGER NOT NULL REFERENCES historian_tags (id) ON DELETE CASCADE,
  timestamp BIGINT NOT NULL,
  value FLOAT NOT NULL,
  quality SMALLINT NOT NULL DEFAULT 0 CHECK (quality BETWEEN 0 AND 3),
  PRIMARY KEY (tag_id, timestamp)
);
INSERT INTO historian_samples_new (tag_id, timestamp, value, quality)
  SELECT DISTINCT ON (t.id, wtc_ts_to_ms(s.timestamp))
         t.id, wtc_ts_to_ms(s.timestamp), coalesce(s.value, 0),
         CASE s.quality WHEN 'GOOD' THEN 0 WHEN 'UNCERTAIN' THEN 1 WHEN 'BAD' THEN 2 ELSE 3 END
  FROM historian_samples s
  JOIN sensors se ON se.id = s.sensor_id
  JOIN slots sl ON sl.id = se.slot_id
  JOIN rtus r ON r.id = sl.rtu_id
  JOIN historian_tags t ON t.rtu_station = r.station_name AND t.slot = sl.slot_number
  ORDER BY t.id, wtc_ts_to_ms(s.timestamp), s.id DESC;
DROP TABLE historian_samples;
ALTER TABLE historian_samples_new RENAME TO historian_samples;
ALTER TABLE historian_samples RENAME CONSTRAINT historian_samples_new_pkey TO historian_samples_pkey;
ALTER TABLE historian_samples RENAME CONSTRAINT historian_samples_new_tag_id_fkey
  TO historian_samples_tag_id_fkey;
ALTER TABLE historian_samples RENAME CONSTRAINT historian_samples_new_quality_check
  TO historian_samples_quality_check;

CREATE TABLE historian_rollups (
  tag_id INTEGER NOT NULL REFERENCES historian_tags (id) ON DELETE CASCADE,
  width_ms BIGINT NOT NULL CHECK (width_ms > 0),
  bucket_start BIGINT NOT NULL,
  count BIGINT NOT NULL CHECK (count >= 0),
  uncertain BIGINT NOT NULL CHECK (uncertain >= 0),
  bad BIGINT NOT NULL CHECK (bad >= 0),
  sum FLOAT NOT NULL,
  min FLOAT,
  max FLOAT,
  first FLOAT,
  last FLOAT,
  first_time BIGINT NOT NULL,
  last_time BIGINT NOT NULL,
  PRIMARY KEY (tag_id, width_ms, bucket_start)
);
