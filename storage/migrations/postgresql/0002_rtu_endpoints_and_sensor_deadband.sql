-- RTU endpoints and settings, and the sensor deadband, PostgreSQL flavour (docs/storage.md).
-- rtus gains port, unit_id, profile, cycle_time_ms and auto_connect, and the contract's
-- UNIQUE (ip_address) becomes UNIQUE (ip_address, port, unit_id): one Modbus TCP gateway serves
-- many RTUs under different unit ids, and the simulator serves many RTUs on one address under
-- different ports. sensors gains deadband. PostgreSQL changes all of it in place: the rows and
-- the foreign keys that reference rtus are untouched.

-- Unit ids: Modbus allows 0 to 247; 255 is the usual "unit id unused" of Modbus TCP devices.
ALTER TABLE rtus
  ADD COLUMN port INTEGER NOT NULL DEFAULT 502 CHECK (port BETWEEN 1 AND 65535),
  ADD COLUMN unit_id INTEGER NOT NULL DEFAULT 1 CHECK (unit_id BETWEEN 0 AND 247 OR unit_id = 255),
  ADD COLUMN profile VARCHAR(64) NOT NULL DEFAULT 'wtc-rtu',
  ADD COLUMN cycle_time_ms INTEGER NOT NULL DEFAULT 1000 CHECK (cycle_time_ms >= 10),
  ADD COLUMN auto_connect BOOLEAN NOT NULL DEFAULT FALSE;

-- rtus_ip_address_key is the name PostgreSQL gave the inline UNIQUE of migration 0001.
ALTER TABLE rtus DROP CONSTRAINT rtus_ip_address_key;
ALTER TABLE rtus ADD CONSTRAINT rtus_endpoint_key UNIQUE (ip_address, port, unit_id);

-- Live updates only on a change beyond this, in engineering units.
ALTER TABLE sensors ADD COLUMN deadband FLOAT NOT NULL DEFAULT 0 CHECK (deadband >= 0);
