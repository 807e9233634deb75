-- The historian's storage, SQLite flavour (docs/storage.md, docs/historian.md).
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
--              names the point once, where a column repeated in every row would cost space at
--              500,000 rows a second
--   timestamp  INTEGER milliseconds, as every time of the schema
--   value      FLOAT NOT NULL: a point without a value is a BAD one with its last value
--   quality    a code instead of text, 1 byte instead of 5 to 14: 0 GOOD, 1 UNCERTAIN, 2 BAD,
--              3 NOT_CONNECTED (messages/historian_types.hpp)
--   PRIMARY KEY (tag_id, timestamp), WITHOUT ROWID: the rows are the index, ordered the way every
--   query reads them (one tag, a time range), with no second copy of the key as a rowid table with
--   the contract's index would have. One point per tag and time: writing it again replaces it, so a
--   backfill an edge node replays after a link loss is idempotent. Late and out-of-order points
--   land in their place in the B-tree
-- historian_rollups (new; the contract has no table for them): one row per (tag_id, width_ms,
--   bucket_start), the fields of core::rollup, WITHOUT ROWID for the same reasons. min, max,
--   first and last are NULL for a bucket of BAD samples only (count = 0). Kept at ingest and
--   replaced whole when a late sample corrects a bucket
-- No index on timestamp alone: purging walks the primary key tag by tag.
-- The old index ix_historian_sensor_time goes with the old table.

ALTER TABLE historian_tags ADD COLUMN max_interval_ms INTEGER NOT NULL DEFAULT 60000
  CHECK (max_interval_ms > 0);
ALTER TABLE historian_tags ADD COLUMN enabled BOOLEAN NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1));
ALTER TABLE historian_tags ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE historian_tags SET updated_at = created_at;

INSERT OR IGNORE INTO historian_tags (rtu_station, slot, tag_name, unit, compression, created_at,
                                      updated_at)
  SELECT r.station_name, sl.slot_number, min(se.tag), min(se.unit), 'none', min(s.timestamp),
         min(s.timestamp)
  FROM historian_samples s
  JOIN sensors se ON se.id = s.sensor_id
  JOIN slots sl ON sl.id = se.slot_id
  JOIN rtus r ON r.id = sl.rtu_id
  GROUP BY r.station_name, sl.slot_number;

CREATE TABLE historian_samples_new (
  tag_id INTEGER NOT NULL REFERENCES historian_tags (id) ON DELETE CASCADE,
  timestamp INTEGER NOT NULL,
  value FLOAT NOT NULL,
  quality INTEGER NOT NULL DEFAULT 0 CHECK (quality BETWEEN 0 AND 3),
  PRIMARY KEY (tag_id, timestamp)
) WITHOUT ROWID;
INSERT OR REPLACE INTO historian_samples_new (tag_id, timestamp, value, quality)
  SELECT t.id, s.timestamp, coalesce(s.value, 0),
         CASE s.quality WHEN 'GOOD' THEN 0 WHEN 'UNCERTAIN' THEN 1 WHEN 'BAD' THEN 2 ELSE 3 END
  FROM historian_samples s
  JOIN sensors se ON se.id = s.sensor_id
  JOIN slots sl ON sl.id = se.slot_id
  JOIN rtus r ON r.id = sl.rtu_id
  JOIN historian_tags t ON t.rtu_station = r.station_name AND t.slot = sl.slot_number
  ORDER BY s.id;
DROP TABLE historian_samples;
ALTER TABLE historian_samples_new RENAME TO historian_samples;

CREATE TABLE historian_rollups (
  tag_id INTEGER NOT NULL REFERENCES historian_tags (id) ON DELETE CASCADE,
  width_ms INTEGER NOT NULL CHECK (width_ms > 0),
  bucket_start INTEGER NOT NULL,
  count INTEGER NOT NULL CHECK (count >= 0),
  uncertain INTEGER NOT NULL CHECK (uncertain >= 0),
  bad INTEGER NOT NULL CHECK (bad >= 0),
  sum FLOAT NOT NULL,
  min FLOAT,
  max FLOAT,
  first FLOAT,
  last FLOAT,
  first_time INTEGER NOT NULL,
  last_time INTEGER NOT NULL,
  PRIMARY KEY (tag_id, width_ms, bucket_start)
) WITHOUT ROWID;
