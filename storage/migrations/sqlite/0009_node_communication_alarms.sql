-- Edge nodes' communication alarms (docs/alarms.md, "Edge nodes"), SQLite flavour:
-- alarm_events.origin also allows 'node_comm', the alarm of an edge node whose link to the
-- central node is lost. Its rtu_station is the node's name and its slot -1; the origin, not the
-- name, tells it from the rtu_comm alarm of an RTU of the same name.
--
-- SQLite cannot change the CHECK migration 0004 put on origin, so alarm_events is rebuilt by the
-- procedure of the SQLite documentation ("ALTER TABLE", "Making Other Kinds Of Table Schema
-- Changes"), as 0002 rebuilt rtus: create alarm_events_new with the same columns in the same
-- order and the same constraints (origin's CHECK widened), copy every row, drop alarm_events,
-- rename alarm_events_new to alarm_events, recreate its five indexes. No table references
-- alarm_events; its own reference (alarm_rule_id, ON DELETE SET NULL) is checked by the runner's
-- PRAGMA foreign_key_check before COMMIT. It has no trigger and no view. Every row is copied
-- once, at the first start of this version.

-- Refuses to run with foreign keys enforced (a CHECK violation aborts the migration).
CREATE TEMP TABLE migration_0009_guard (
  foreign_keys INTEGER CHECK (foreign_keys = 0)
);
INSERT INTO migration_0009_guard SELECT foreign_keys FROM pragma_foreign_keys;
DROP TABLE migration_0009_guard;

CREATE TABLE alarm_events_new (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  alarm_rule_id INTEGER REFERENCES alarm_rules (id) ON DELETE SET NULL,
  rtu_station VARCHAR(32) NOT NULL,
  slot INTEGER NOT NULL,
  state VARCHAR(16) NOT NULL CHECK (state IN ('ACTIVE', 'ACKNOWLEDGED', 'CLEARED')),
  value_at_activation FLOAT,
  message VARCHAR(256),
  activated_at INTEGER NOT NULL,
  acknowledged_at INTEGER,
  acknowledged_by VARCHAR(64),
  cleared_at INTEGER,
  note TEXT,
  severity VARCHAR(16) NOT NULL DEFAULT 'MEDIUM'
    CHECK (severity IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
  origin VARCHAR(16) NOT NULL DEFAULT 'rule'
    CHECK (origin IN ('rule', 'point_comm', 'rtu_comm', 'node_comm')),
  source_rule_id INTEGER NOT NULL DEFAULT 0,
  listed BOOLEAN NOT NULL DEFAULT 0 CHECK (listed IN (0, 1)),
  suppressed_by VARCHAR(32)
);

INSERT INTO alarm_events_new (id, alarm_rule_id, rtu_station, slot, state, value_at_activation,
                              message, activated_at, acknowledged_at, acknowledged_by,
                              cleared_at, note, severity, origin, source_rule_id, listed,
                              suppressed_by)
  SELECT id, alarm_rule_id, rtu_station, slot, state, value_at_activation, message,
         activated_at, acknowledged_at, acknowledged_by, cleared_at, note, severity, origin,
         source_rule_id, listed, suppressed_by
  FROM alarm_events ORDER BY id;

-- AUTOINCREMENT never reuses an id: carry the old table's high-water mark over (the rename below
-- renames the sqlite_sequence row too, the drop removes the old one).
DELETE FROM sqlite_sequence WHERE name = 'alarm_events_new';
INSERT INTO sqlite_sequence (name, seq)
  SELECT 'alarm_events_new', seq FROM sqlite_sequence WHERE name = 'alarm_events';

DROP TABLE alarm_events;
ALTER TABLE alarm_events_new RENAME TO alarm_events;
CREATE INDEX ix_alarm_events_state ON alarm_events (state);
CREATE INDEX ix_alarm_events_activated_at ON alarm_events (activated_at);
CREATE INDEX ix_alarm_events_rtu_station ON alarm_events (rtu_station);
CREATE INDEX ix_alarm_events_state_activated_at ON alarm_events (state, activated_at);
CREATE INDEX ix_alarm_events_listed ON alarm_events (listed);
