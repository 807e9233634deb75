-- The whole schema of the contract (seeds/wtc-api-v1.md, "Database Schema"), SQLite flavour.
-- Conventions (docs/storage.md): TIMESTAMP columns hold INTEGER milliseconds since the epoch, UTC,
-- so historian range queries compare integers; BOOLEAN columns hold 0 or 1; JSON columns are TEXT
-- checked with json_valid(). A column with a default is NOT NULL too: NULL would mean nothing the
-- default does not. Foreign keys of rows that are meaningless without their parent cascade.

-- Core tables

CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  username VARCHAR(64) NOT NULL,
  password_hash VARCHAR(128) NOT NULL,
  role VARCHAR(16) NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
  active BOOLEAN NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  sync_to_rtus BOOLEAN NOT NULL DEFAULT 1 CHECK (sync_to_rtus IN (0, 1)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  last_login INTEGER
);
CREATE UNIQUE INDEX ix_users_username ON users (username);

-- token is the hex SHA-256 of the bearer token, never the token itself.
CREATE TABLE user_sessions (
  token VARCHAR(256) NOT NULL PRIMARY KEY
    CHECK (length(token) = 64 AND token NOT GLOB '*[^0-9a-f]*'),
  username VARCHAR(64) NOT NULL
    REFERENCES users (username) ON DELETE CASCADE ON UPDATE CASCADE,
  role VARCHAR(16) NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
  groups TEXT,
  created_at INTEGER NOT NULL,
  last_activity INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  ip_address VARCHAR(45),
  user_agent VARCHAR(256)
);
CREATE INDEX ix_user_sessions_expires ON user_sessions (expires_at);
CREATE INDEX ix_user_sessions_username ON user_sessions (username);

CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  timestamp INTEGER NOT NULL,
  "user" VARCHAR(64),
  action VARCHAR(32) NOT NULL,
  resource_type VARCHAR(32),
  resource_id VARCHAR(64),
  details TEXT,
  ip_address VARCHAR(45)
);
CREATE INDEX ix_audit_log_user ON audit_log ("user");
CREATE INDEX ix_audit_log_action ON audit_log (action);
CREATE INDEX ix_audit_log_resource ON audit_log (resource_type, resource_id);
CREATE INDEX ix_audit_log_timestamp_user ON audit_log (timestamp, "user");

-- RTU and I/O tables

-- state also allows DISCOVERY: the contract's state machine has it, its column list forgets it.
CREATE TABLE rtus (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  station_name VARCHAR(32) NOT NULL,
  ip_address VARCHAR(15) NOT NULL UNIQUE,
  vendor_id VARCHAR(6) NOT NULL,
  device_id VARCHAR(6) NOT NULL,
  slot_count INTEGER NOT NULL CHECK (slot_count >= 0),
  state VARCHAR(20) NOT NULL
    CHECK (state IN ('OFFLINE', 'CONNECTING', 'DISCOVERY', 'RUNNING', 'ERROR')),
  state_since INTEGER NOT NULL,
  transition_reason VARCHAR(256),
  last_error TEXT,
  rtu_version VARCHAR(32),
  version_mismatch BOOLEAN NOT NULL DEFAULT 0 CHECK (version_mismatch IN (0, 1)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX ix_rtus_station_name ON rtus (station_name);

CREATE TABLE slots (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  rtu_id INTEGER NOT NULL REFERENCES rtus (id) ON DELETE CASCADE,
  slot_number INTEGER NOT NULL,
  module_id VARCHAR(6),
  module_type VARCHAR(32),
  status VARCHAR(20) NOT NULL DEFAULT 'EMPTY'
    CHECK (status IN ('OK', 'EMPTY', 'FAULT', 'PULLED')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (rtu_id, slot_number)
);
CREATE INDEX ix_slots_rtu_id ON slots (rtu_id);

CREATE TABLE sensors (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  rtu_id INTEGER NOT NULL REFERENCES rtus (id) ON DELETE CASCADE,
  slot_id INTEGER NOT NULL REFERENCES slots (id) ON DELETE CASCADE,
  tag VARCHAR(32) NOT NULL,
  channel INTEGER NOT NULL,
  sensor_type VARCHAR(32) NOT NULL,
  unit VARCHAR(16),
  scale_min FLOAT NOT NULL DEFAULT 0.0,
  scale_max FLOAT NOT NULL DEFAULT 100.0,
  eng_min FLOAT NOT NULL DEFAULT 0.0,
  eng_max FLOAT NOT NULL DEFAULT 100.0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX ix_sensors_tag ON sensors (tag);
CREATE INDEX ix_sensors_rtu_id ON sensors (rtu_id);
CREATE INDEX ix_sensors_slot_id ON sensors (slot_id);

CREATE TABLE controls (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  rtu_id INTEGER NOT NULL REFERENCES rtus (id) ON DELETE CASCADE,
  slot_id INTEGER NOT NULL REFERENCES slots (id) ON DELETE CASCADE,
  tag VARCHAR(32) NOT NULL,
  channel INTEGER NOT NULL,
  control_type VARCHAR(16) NOT NULL CHECK (control_type IN ('discrete', 'analog')),
  equipment_type VARCHAR(32),
  min_value FLOAT,
  max_value FLOAT,
  unit VARCHAR(16),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX ix_controls_tag ON controls (tag);
CREATE INDEX ix_controls_rtu_id ON controls (rtu_id);
CREATE INDEX ix_controls_slot_id ON controls (slot_id);

-- Alarm tables

CREATE TABLE alarm_rules (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name VARCHAR(64) NOT NULL,
  rtu_station VARCHAR(32) NOT NULL,
  slot INTEGER NOT NULL,
  condition VARCHAR(16) NOT NULL CHECK (condition IN ('>', '<', '>=', '<=', '==')),
  threshold FLOAT NOT NULL,
  severity VARCHAR(16) NOT NULL CHECK (severity IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
  delay_ms INTEGER NOT NULL DEFAULT 0 CHECK (delay_ms >= 0),
  message TEXT,
  enabled BOOLEAN NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX ix_alarm_rules_rtu_station ON alarm_rules (rtu_station);

-- An event outlives its rule: it is history.
CREATE TABLE alarm_events (
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
  note TEXT
);
CREATE INDEX ix_alarm_events_state ON alarm_events (state);
CREATE INDEX ix_alarm_events_activated_at ON alarm_events (activated_at);
CREATE INDEX ix_alarm_events_rtu_station ON alarm_events (rtu_station);
CREATE INDEX ix_alarm_events_state_activated_at ON alarm_events (state, activated_at);

CREATE TABLE shelved_alarms (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  rtu_station VARCHAR(32) NOT NULL,
  slot INTEGER NOT NULL,
  shelved_by VARCHAR(64) NOT NULL,
  shelved_at INTEGER NOT NULL,
  shelf_duration_minutes INTEGER NOT NULL CHECK (shelf_duration_minutes > 0),
  expires_at INTEGER NOT NULL,
  reason TEXT,
  active BOOLEAN NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
);
CREATE INDEX ix_shelved_alarms_active_expires ON shelved_alarms (active, expires_at);
CREATE INDEX ix_shelved_alarms_rtu_slot ON shelved_alarms (rtu_station, slot);

-- slot -1 means the whole RTU.
CREATE TABLE scheduled_maintenance (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  rtu_station VARCHAR(32) NOT NULL,
  slot INTEGER NOT NULL CHECK (slot >= -1),
  scheduled_by VARCHAR(64) NOT NULL,
  scheduled_at INTEGER NOT NULL,
  start_time INTEGER NOT NULL,
  end_time INTEGER NOT NULL,
  reason TEXT NOT NULL,
  work_order VARCHAR(64),
  status VARCHAR(16) NOT NULL DEFAULT 'SCHEDULED'
    CHECK (status IN ('SCHEDULED', 'ACTIVE', 'COMPLETED', 'CANCELLED')),
  activated_at INTEGER,
  completed_at INTEGER,
  cancelled_by VARCHAR(64),
  cancelled_at INTEGER,
  CHECK (end_time > start_time)
);
CREATE INDEX ix_scheduled_maintenance_status ON scheduled_maintenance (status);
CREATE INDEX ix_scheduled_maintenance_start ON scheduled_maintenance (start_time);
CREATE INDEX ix_scheduled_maintenance_rtu ON scheduled_maintenance (rtu_station);

-- Historian tables

-- quality also allows NOT_CONNECTED: the field's quality code 0xC0 (DESIGN.md).
CREATE TABLE historian_samples (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  sensor_id INTEGER NOT NULL REFERENCES sensors (id) ON DELETE CASCADE,
  timestamp INTEGER NOT NULL,
  value FLOAT,
  quality VARCHAR(16) NOT NULL DEFAULT 'GOOD'
    CHECK (quality IN ('GOOD', 'UNCERTAIN', 'BAD', 'NOT_CONNECTED'))
);
CREATE INDEX ix_historian_sensor_time ON historian_samples (sensor_id, timestamp);

CREATE TABLE historian_tags (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  rtu_station VARCHAR(32) NOT NULL,
  slot INTEGER NOT NULL,
  tag_name VARCHAR(64) NOT NULL,
  unit VARCHAR(16),
  sample_rate_ms INTEGER NOT NULL DEFAULT 1000 CHECK (sample_rate_ms > 0),
  deadband FLOAT NOT NULL DEFAULT 0.1 CHECK (deadband >= 0),
  compression VARCHAR(16) NOT NULL DEFAULT 'swinging_door'
    CHECK (compression IN ('none', 'deadband', 'swinging_door')),
  created_at INTEGER NOT NULL,
  UNIQUE (rtu_station, slot)
);
CREATE UNIQUE INDEX ix_historian_tags_tag_name ON historian_tags (tag_name);
CREATE INDEX ix_historian_tags_rtu_station ON historian_tags (rtu_station);

CREATE TABLE slot_configs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  rtu_station VARCHAR(32) NOT NULL,
  slot INTEGER NOT NULL,
  subslot INTEGER NOT NULL DEFAULT 1,
  slot_type VARCHAR(16) NOT NULL CHECK (slot_type IN ('AI', 'AO', 'DI', 'DO')),
  name VARCHAR(64),
  unit VARCHAR(16),
  measurement_type VARCHAR(32),
  actuator_type VARCHAR(32),
  scale_min FLOAT NOT NULL DEFAULT 0,
  scale_max FLOAT NOT NULL DEFAULT 100,
  alarm_low FLOAT,
  alarm_high FLOAT,
  alarm_low_low FLOAT,
  alarm_high_high FLOAT,
  warning_low FLOAT,
  warning_high FLOAT,
  deadband FLOAT NOT NULL DEFAULT 0,
  enabled BOOLEAN NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  created_at INTEGER NOT NULL,
  UNIQUE (rtu_station, slot)
);
CREATE INDEX ix_slot_configs_rtu_station ON slot_configs (rtu_station);

-- Control tables

CREATE TABLE pid_loops (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name VARCHAR(64) NOT NULL,
  enabled BOOLEAN NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  input_rtu VARCHAR(32) NOT NULL,
  input_slot INTEGER NOT NULL,
  output_rtu VARCHAR(32) NOT NULL,
  output_slot INTEGER NOT NULL,
  kp FLOAT NOT NULL DEFAULT 1.0,
  ki FLOAT NOT NULL DEFAULT 0.0,
  kd FLOAT NOT NULL DEFAULT 0.0,
  setpoint FLOAT NOT NULL DEFAULT 0,
  output_min FLOAT NOT NULL DEFAULT 0,
  output_max FLOAT NOT NULL DEFAULT 100,
  deadband FLOAT NOT NULL DEFAULT 0,
  integral_limit FLOAT NOT NULL DEFAULT 100,
  derivative_filter FLOAT NOT NULL DEFAULT 0.1,
  mode VARCHAR(16) NOT NULL DEFAULT 'AUTO' CHECK (mode IN ('MANUAL', 'AUTO', 'CASCADE')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  CHECK (output_min <= output_max)
);
CREATE INDEX ix_pid_loops_name ON pid_loops (name);
CREATE INDEX ix_pid_loops_input_rtu ON pid_loops (input_rtu);
CREATE INDEX ix_pid_loops_output_rtu ON pid_loops (output_rtu);

-- Diagnostics tables

CREATE TABLE profinet_diagnostics (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  rtu_id INTEGER NOT NULL REFERENCES rtus (id) ON DELETE CASCADE,
  timestamp INTEGER NOT NULL,
  level VARCHAR(16) NOT NULL DEFAULT 'INFO' CHECK (level IN ('INFO', 'WARNING', 'ERROR')),
  source VARCHAR(32) NOT NULL,
  message VARCHAR(256) NOT NULL,
  details TEXT CHECK (details IS NULL OR json_valid(details))
);
CREATE INDEX ix_profinet_diag_rtu_time ON profinet_diagnostics (rtu_id, timestamp);
CREATE INDEX ix_profinet_diag_level ON profinet_diagnostics (level);
