-- PID loops: the scan period, and what a restart needs to take a loop up where it left it,
-- PostgreSQL flavour (docs/storage.md). pid_loops gains:
--   scan_period_ms      NULL: the loop scans at its input RTU's cycle time (rtus.cycle_time_ms)
--   output              the last output (in MANUAL: the operator's); NULL: none yet
--   on_bad_measurement  what AUTO and CASCADE do while the measurement is BAD (core/pid.hpp)
--   safe_output         the output of SAFE_OUTPUT, in output units
--   cascade_from        the outer loop whose output is this loop's setpoint in CASCADE
-- The contract's CHECK on mode and its indexes are those of migration 0001 and stay. The rows stay
-- as they are; the new columns take their defaults. FLOAT (double precision), as the other
-- numbers of the table: REAL would be single precision here.
--
-- cascade_from is ON DELETE RESTRICT: an outer loop cannot be deleted while an inner loop takes its
-- setpoint from it (SET NULL would leave the inner loop in CASCADE with no setpoint source).

ALTER TABLE pid_loops
  ADD COLUMN scan_period_ms INTEGER CHECK (scan_period_ms IS NULL OR scan_period_ms >= 10),
  ADD COLUMN output FLOAT,
  ADD COLUMN on_bad_measurement VARCHAR(16) NOT NULL DEFAULT 'HOLD'
    CHECK (on_bad_measurement IN ('HOLD', 'SAFE_OUTPUT')),
  ADD COLUMN safe_output FLOAT NOT NULL DEFAULT 0,
  ADD COLUMN cascade_from INTEGER REFERENCES pid_loops (id) ON DELETE RESTRICT,
  ADD CONSTRAINT pid_loops_cascade_from_check CHECK (cascade_from IS NULL OR cascade_from <> id);
CREATE INDEX ix_pid_loops_cascade_from ON pid_loops (cascade_from);
