-- Edge nodes' communication alarms (docs/alarms.md, "Edge nodes"), PostgreSQL flavour:
-- alarm_events.origin also allows 'node_comm', the alarm of an edge node whose link to the
-- central node is lost. Its rtu_station is the node's name and its slot -1; the origin, not the
-- name, tells it from the rtu_comm alarm of an RTU of the same name.
--
-- Migration 0004 declared the CHECK on the column without a name, so PostgreSQL named it
-- alarm_events_origin_check. One ALTER TABLE drops it and adds the wider one under the same name:
-- one check of the rows, under the table's lock, in the migration's transaction.

ALTER TABLE alarm_events
  DROP CONSTRAINT alarm_events_origin_check,
  ADD CONSTRAINT alarm_events_origin_check
    CHECK (origin IN ('rule', 'point_comm', 'rtu_comm', 'node_comm'));
