-- RTU endpoints and settings, and the sensor deadband, SQLite flavour (docs/storage.md).
-- rtus gains port, unit_id, profile, cycle_time_ms and auto_connect, and the contract's
-- UNIQUE (ip_address) becomes UNIQUE (ip_address, port, unit_id): one Modbus TCP gateway serves
-- many RTUs under different unit ids, and the simulator serves many RTUs on one address under
-- different ports. sensors gains deadband.
--
-- SQLite cannot drop the inline UNIQUE of ip_address, so rtus is rebuilt by the procedure of the
-- SQLite documentation ("ALTER TABLE", section "Making Other Kinds Of Table Schema Changes"):
-- create rtus_new, copy, drop rtus, rename rtus_new to rtus, recreate the indexes. It is only
-- safe with foreign keys OFF: with them ON, DROP TABLE rtus deletes every row first and the
-- ON DELETE CASCADE of slots, sensors, controls and profinet_diagnostics deletes them too.
-- PRAGMA foreign_keys is a no-op inside a transaction, so the runner (sqlite_store::migrate)
-- turns it off before BEGIN, runs PRAGMA foreign_key_check before COMMIT and turns it on again.
-- Renaming the new table to the old name (never the old one away) leaves the children's
-- REFERENCES rtus (id) as they are: they name the rebuilt table once the rename is done.

-- Refuses to run with foreign keys enforced (a CHECK violation aborts the migration).
CREATE TEMP TABLE migration_0002_guard (
  foreign_keys INTEGER CHECK (foreign_keys = 0)
);
INSERT INTO migration_0002_guard SELECT foreign_keys FROM pragma_foreign_keys;
DROP TABLE migration_0002_guard;

-- Unit ids: Modbus allows 0 to 247; 255 is the usual "unit id unused" of Modbus TCP devices.
CREATE TABLE rtus_new (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  station_name VARCHAR(32) NOT NULL,
  ip_address VARCHAR(15) NOT NULL,
  port INTEGER NOT NULL DEFAULT 502 CHECK (port BETWEEN 1 AND 65535),
  unit_id INTEGER NOT NULL DEFAULT 1 CHECK (unit_id BETWEEN 0 AND 247 OR unit_id = 255),
  profile VARCHAR(64) NOT NULL DEFAULT 'wtc-rtu',
  vendor_id VARCHAR(6) NOT NULL,
  device_id VARCHAR(6) NOT NULL,
  slot_count INTEGER NOT NULL CHECK (slot_count >= 0),
  cycle_time_ms INTEGER NOT NULL DEFAULT 1000 CHECK (cycle_time_ms >= 10),
  auto_connect BOOLEAN NOT NULL DEFAULT 0 CHECK (auto_connect IN (0, 1)),
  state VARCHAR(20) NOT NULL
    CHECK (state IN ('OFFLINE', 'CONNECTING', 'DISCOVERY', 'RUNNING', 'ERROR')),
  state_since INTEGER NOT NULL,
  transition_reason VARCHAR(256),
  last_error TEXT,
  rtu_version VARCHAR(32),
  version_mismatch BOOLEAN NOT NULL DEFAULT 0 CHECK (version_mismatch IN (0, 1)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (ip_address, port, unit_id)
);

INSERT INTO rtus_new (id, station_name, ip_address, vendor_id, device_id, slot_count, state,
                      state_since, transition_reason, last_error, rtu_version, version_mismatch,
                      created_at, updated_at)
  SELECT id, station_name, ip_address, vendor_id, device_id, slot_count, state, state_since,
         transition_reason, last_error, rtu_version, version_mismatch, created_at, updated_at
  FROM rtus;

-- AUTOINCREMENT never reuses an id: carry the old table's high-water mark over (the rename below
-- renames the sqlite_sequence row too, the drop removes the old one).
DELETE FROM sqlite_sequence WHERE name = 'rtus_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'rtus_new', seq FROM sqlite_sequence WHERE name = 'rtus';

DROP TABLE rtus;
ALTER TABLE rtus_new RENAME TO rtus;
CREATE UNIQUE INDEX ix_rtus_station_name ON rtus (station_name);

-- Live updates only on a change beyond this, in engineering units.
ALTER TABLE sensors ADD COLUMN deadband FLOAT NOT NULL DEFAULT 0 CHECK (deadband >= 0);
