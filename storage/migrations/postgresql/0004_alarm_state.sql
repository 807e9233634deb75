-- Alarms: what the alarm manager needs to persist its state and to restore it after a restart,
-- PostgreSQL flavour (docs/storage.md, docs/alarms.md).
-- alarm_rules gains:
--   deadband        the rule's return-to-normal deadband, in the point's units; NULL: the slot
--                   config's, else the default (docs/alarms.md, "The deadband")
-- alarm_events gains (the manager is the table's only writer, assigns the ids itself and writes
-- whole rows, inserted or replaced by id):
--   severity        the severity the alarm was raised with (the rule's may change later)
--   origin          rule: a rule's alarm; point_comm, rtu_comm: a communication alarm of a point
--                   or of a whole RTU
--   source_rule_id  the evaluator's rule: > 0 an alarm_rules id, < 0 a rule implied by a slot
--                   config, 0 a communication alarm. No foreign key: it stays when the rule goes,
--                   and alarm_rule_id (ON DELETE SET NULL) is the reference
--   listed          in the active-alarm list (ACTIVE, ACKNOWLEDGED, or CLEARED and never
--                   acknowledged): what a restart restores. Index ix_alarm_events_listed
--   suppressed_by   NULL for an annunciated alarm; 'shelf' or 'maintenance <id>' for the record
--                   of an alarm a shelf or a maintenance window held back (ISA-18.2)
-- shelved_alarms gains:
--   alarm_rule_id   the one alarm shelved: > 0 a rule, < 0 a rule implied by a slot config; 0 the
--                   whole slot (what every shelf meant before). No foreign key, as source_rule_id
-- The rows stay as they are; the new columns take their defaults, for which the new CHECKs hold.
-- Events stored before this migration read as MEDIUM rule alarms, annunciated and not listed:
-- history. FLOAT (double precision), as the table's threshold. The ids the manager writes are
-- explicit; each batch moves the identity sequences of these three tables past them.

ALTER TABLE alarm_rules
  ADD COLUMN deadband FLOAT CHECK (deadband IS NULL OR deadband >= 0);

ALTER TABLE alarm_events
  ADD COLUMN severity VARCHAR(16) NOT NULL DEFAULT 'MEDIUM'
    CHECK (severity IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
  ADD COLUMN origin VARCHAR(16) NOT NULL DEFAULT 'rule'
    CHECK (origin IN ('rule', 'point_comm', 'rtu_comm')),
  ADD COLUMN source_rule_id INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN listed BOOLEAN NOT NULL DEFAULT FALSE,
  ADD COLUMN suppressed_by VARCHAR(32);
CREATE INDEX ix_alarm_events_listed ON alarm_events (listed);

ALTER TABLE shelved_alarms
  ADD COLUMN alarm_rule_id INTEGER NOT NULL DEFAULT 0;
