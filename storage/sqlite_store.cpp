#include "storage/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <map>

#include "storage/columns.hpp"
#include "storage/discovery_plan.hpp"
#include "storage/migrations.hpp"

namespace wtc::storage {

namespace {

// Every statement is a string literal: the statement cache is keyed by its text.

constexpr std::string_view sql_begin_write = "BEGIN IMMEDIATE";
constexpr std::string_view sql_begin_read = "BEGIN";
constexpr std::string_view sql_commit = "COMMIT";
constexpr std::string_view sql_rollback = "ROLLBACK";

constexpr std::string_view sql_foreign_keys = "PRAGMA foreign_keys = ON";
constexpr std::string_view sql_foreign_keys_off = "PRAGMA foreign_keys = OFF";
constexpr std::string_view sql_foreign_keys_state = "PRAGMA foreign_keys";
constexpr std::string_view sql_foreign_key_check = "PRAGMA foreign_key_check";
constexpr std::string_view sql_synchronous = "PRAGMA synchronous = FULL";
constexpr std::string_view sql_journal_mode = "PRAGMA journal_mode = WAL";
// 256 MiB (negative: KiB), allocated as pages are used. The historian inserts at the end of every
// tag's range of historian_samples: 1,000 tags are 1,000 leaf pages and their parents touched by
// each batch. With SQLite's default 2 MiB they were read back from the OS and spilled to the WAL in
// mid-transaction for every batch, most of the ingest time (bench/RESULTS.md, Historian).
constexpr std::string_view sql_cache_size = "PRAGMA cache_size = -262144";
// The WAL is copied back into the database every 8,192 pages (32 MiB with 4 KiB pages) instead of
// SQLite's 1,000: one historian batch of 1,000 tags rewrites about 2,000 pages, so with the default
// every commit was followed by a checkpoint, writing and syncing the same leaf pages again. A
// checkpoint copies a page once however many commits changed it. Durability is the WAL's, synced
// at every commit; only recovery after a crash replays more.
constexpr std::string_view sql_wal_autocheckpoint = "PRAGMA wal_autocheckpoint = 8192";
constexpr std::string_view sql_ping = "SELECT 1";

constexpr std::string_view sql_table_exists =
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1";
constexpr std::string_view sql_create_schema_version =
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
    "applied_at INTEGER NOT NULL, description TEXT NOT NULL)";
constexpr std::string_view sql_schema_version =
    "SELECT coalesce(max(version), 0) FROM schema_version";
constexpr std::string_view sql_insert_schema_version =
    "INSERT INTO schema_version (version, applied_at, description) VALUES (?1, ?2, ?3)";

constexpr std::string_view sql_find_user =
    "SELECT id, username, password_hash, role, active, sync_to_rtus, created_at, updated_at, "
    "last_login FROM users WHERE username = ?1";
constexpr std::string_view sql_find_user_by_id =
    "SELECT id, username, password_hash, role, active, sync_to_rtus, created_at, updated_at, "
    "last_login FROM users WHERE id = ?1";
constexpr std::string_view sql_list_users =
    "SELECT id, username, password_hash, role, active, sync_to_rtus, created_at, updated_at, "
    "last_login FROM users ORDER BY id LIMIT ?1 OFFSET ?2";
constexpr std::string_view sql_count_users = "SELECT count(*) FROM users";
constexpr std::string_view sql_count_system =
    "SELECT (SELECT count(*) FROM rtus), (SELECT count(*) FROM rtus WHERE state = 'RUNNING'), "
    "(SELECT count(*) FROM alarm_events WHERE state <> 'CLEARED')";
constexpr std::string_view sql_insert_user =
    "INSERT INTO users (username, password_hash, role, active, sync_to_rtus, created_at, "
    "updated_at, last_login) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULLIF(?8, 0)) "
    "RETURNING id, username, password_hash, role, active, sync_to_rtus, created_at, updated_at, "
    "last_login";
constexpr std::string_view sql_update_user =
    "UPDATE users SET role = CASE WHEN ?2 THEN ?3 ELSE role END, "
    "active = CASE WHEN ?4 THEN ?5 ELSE active END, "
    "sync_to_rtus = CASE WHEN ?6 THEN ?7 ELSE sync_to_rtus END, updated_at = ?8 WHERE id = ?1 "
    "RETURNING id, username, password_hash, role, active, sync_to_rtus, created_at, updated_at, "
    "last_login";
constexpr std::string_view sql_set_password =
    "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1 RETURNING username";
constexpr std::string_view sql_delete_user = "DELETE FROM users WHERE id = ?1";
constexpr std::string_view sql_record_login = "UPDATE users SET last_login = ?2 WHERE id = ?1";

constexpr std::string_view sql_insert_session =
    "INSERT INTO user_sessions (token, username, role, groups, created_at, last_activity, "
    "expires_at, ip_address, user_agent) "
    "VALUES (?1, ?2, ?3, NULLIF(?4, ''), ?5, ?6, ?7, NULLIF(?8, ''), NULLIF(?9, ''))";
constexpr std::string_view sql_load_sessions =
    "SELECT token, username, role, groups, created_at, last_activity, expires_at, ip_address, "
    "user_agent FROM user_sessions WHERE expires_at > ?1 ORDER BY created_at, token";
constexpr std::string_view sql_delete_session = "DELETE FROM user_sessions WHERE token = ?1";
constexpr std::string_view sql_delete_user_sessions =
    "DELETE FROM user_sessions WHERE username = ?1";
constexpr std::string_view sql_update_session_roles =
    "UPDATE user_sessions SET role = ?2 WHERE username = ?1";
constexpr std::string_view sql_touch_session =
    "UPDATE user_sessions SET last_activity = ?2 WHERE token = ?1";
// The complement of load_sessions: a session is either loaded or purged, never both or neither.
constexpr std::string_view sql_purge_sessions = "DELETE FROM user_sessions WHERE expires_at <= ?1";

constexpr std::string_view sql_insert_audit =
    "INSERT INTO audit_log (timestamp, \"user\", action, resource_type, resource_id, details, "
    "ip_address) VALUES (?1, NULLIF(?2, ''), ?3, NULLIF(?4, ''), NULLIF(?5, ''), NULLIF(?6, ''), "
    "NULLIF(?7, ''))";
// One statement for every combination of filters: an empty string or a zero time filters nothing.
constexpr std::string_view sql_query_audit =
    "SELECT id, timestamp, \"user\", action, resource_type, resource_id, details, ip_address "
    "FROM audit_log WHERE (?1 = '' OR \"user\" = ?1) AND (?2 = '' OR action = ?2) "
    "AND (?3 = '' OR resource_type = ?3) AND (?4 = '' OR resource_id = ?4) "
    "AND (?5 = 0 OR timestamp >= ?5) AND (?6 = 0 OR timestamp <= ?6) "
    "ORDER BY timestamp DESC, id DESC LIMIT ?7 OFFSET ?8";
constexpr std::string_view sql_count_audit =
    "SELECT count(*) FROM audit_log WHERE (?1 = '' OR \"user\" = ?1) AND (?2 = '' OR action = ?2) "
    "AND (?3 = '' OR resource_type = ?3) AND (?4 = '' OR resource_id = ?4) "
    "AND (?5 = 0 OR timestamp >= ?5) AND (?6 = 0 OR timestamp <= ?6)";

// The columns of an rtus row in the order query::get_rtu() reads them.
#define WTC_RTU_COLUMNS                                                                      \
  "id, station_name, ip_address, port, unit_id, profile, vendor_id, device_id, slot_count, " \
  "cycle_time_ms, auto_connect, state, state_since, transition_reason, last_error, "         \
  "rtu_version, version_mismatch, created_at, updated_at, node"

constexpr std::string_view sql_list_rtus =
    "SELECT " WTC_RTU_COLUMNS " FROM rtus ORDER BY station_name";
constexpr std::string_view sql_find_rtu =
    "SELECT " WTC_RTU_COLUMNS " FROM rtus WHERE station_name = ?1";
constexpr std::string_view sql_find_rtu_by_id =
    "SELECT " WTC_RTU_COLUMNS " FROM rtus WHERE id = ?1";
constexpr std::string_view sql_station_taken =
    "SELECT count(*) FROM rtus WHERE station_name = ?1 AND id <> ?2";
constexpr std::string_view sql_endpoint_owner =
    "SELECT station_name FROM rtus WHERE ip_address = ?1 AND port = ?2 AND unit_id = ?3 "
    "AND id <> ?4";
constexpr std::string_view sql_insert_rtu =
    "INSERT INTO rtus (station_name, ip_address, port, unit_id, profile, vendor_id, device_id, "
    "slot_count, cycle_time_ms, auto_connect, state, state_since, transition_reason, last_error, "
    "rtu_version, version_mismatch, created_at, updated_at, node) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
    "?7, ?8, ?9, ?10, ?11, ?12, NULLIF(?13, ''), NULLIF(?14, ''), NULLIF(?15, ''), ?16, ?17, ?18, "
    "?19) "
    "RETURNING " WTC_RTU_COLUMNS;
constexpr std::string_view sql_update_rtu =
    "UPDATE rtus SET ip_address = ?2, port = ?3, unit_id = ?4, profile = ?5, vendor_id = ?6, "
    "device_id = ?7, slot_count = ?8, cycle_time_ms = ?9, updated_at = ?10, node = ?11 "
    "WHERE id = ?1 "
    "RETURNING " WTC_RTU_COLUMNS;
constexpr std::string_view sql_delete_rtu = "DELETE FROM rtus WHERE id = ?1";
constexpr std::string_view sql_set_auto_connect = "UPDATE rtus SET auto_connect = ?2 WHERE id = ?1";
// A given last_error replaces the stored one; an empty one keeps it, unless clear_error (?6).
constexpr std::string_view sql_record_transition =
    "UPDATE rtus SET state = ?2, state_since = ?3, transition_reason = NULLIF(?4, ''), "
    "last_error = CASE WHEN ?5 <> '' THEN ?5 WHEN ?6 THEN NULL ELSE last_error END WHERE id = ?1";
constexpr std::string_view sql_identify_rtu =
    "UPDATE rtus SET vendor_id = ?2, device_id = ?3, rtu_version = NULLIF(?4, ''), "
    "version_mismatch = ?5, slot_count = ?6, updated_at = ?7 WHERE id = ?1";

// updated_at moves only when the module data changes.
constexpr std::string_view sql_upsert_slot =
    "INSERT INTO slots (rtu_id, slot_number, module_id, module_type, status, created_at, "
    "updated_at) VALUES (?1, ?2, NULLIF(?3, ''), NULLIF(?4, ''), ?5, ?6, ?6) "
    "ON CONFLICT (rtu_id, slot_number) DO UPDATE SET module_id = excluded.module_id, "
    "module_type = excluded.module_type, status = excluded.status, "
    "updated_at = CASE WHEN slots.module_id IS excluded.module_id "
    "AND slots.module_type IS excluded.module_type AND slots.status = excluded.status "
    "THEN slots.updated_at ELSE excluded.updated_at END RETURNING id";
constexpr std::string_view sql_pull_slot =
    "UPDATE slots SET status = 'PULLED', updated_at = ?2 WHERE id = ?1 AND status <> 'PULLED'";
constexpr std::string_view sql_list_slots =
    "SELECT id, rtu_id, slot_number, module_id, module_type, status, created_at, updated_at "
    "FROM slots WHERE rtu_id = ?1 ORDER BY slot_number";

constexpr std::string_view sql_list_sensors =
    "SELECT s.id, s.rtu_id, s.slot_id, l.slot_number, s.tag, s.channel, s.sensor_type, s.unit, "
    "s.scale_min, s.scale_max, s.eng_min, s.eng_max, s.deadband, s.created_at, s.updated_at "
    "FROM sensors s JOIN slots l ON l.id = s.slot_id WHERE s.rtu_id = ?1 "
    "ORDER BY l.slot_number, s.channel, s.id";
constexpr std::string_view sql_update_sensor =
    "UPDATE sensors SET sensor_type = ?2, unit = NULLIF(?3, ''), scale_min = ?4, scale_max = ?5, "
    "eng_min = ?6, eng_max = ?7, deadband = ?8, updated_at = ?9 WHERE id = ?1";
constexpr std::string_view sql_insert_sensor =
    "INSERT INTO sensors (rtu_id, slot_id, tag, channel, sensor_type, unit, scale_min, "
    "scale_max, eng_min, eng_max, deadband, created_at, updated_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, NULLIF(?6, ''), ?7, ?8, ?9, ?10, ?11, ?12, ?12)";
constexpr std::string_view sql_delete_sensor = "DELETE FROM sensors WHERE id = ?1";
constexpr std::string_view sql_list_controls =
    "SELECT c.id, c.rtu_id, c.slot_id, l.slot_number, c.tag, c.channel, c.control_type, "
    "c.equipment_type, c.min_value, c.max_value, c.unit, c.created_at, c.updated_at "
    "FROM controls c JOIN slots l ON l.id = c.slot_id WHERE c.rtu_id = ?1 "
    "ORDER BY l.slot_number, c.channel, c.id";
// min_value and max_value are NULL unless the control has a range (?8).
constexpr std::string_view sql_insert_control =
    "INSERT INTO controls (rtu_id, slot_id, tag, channel, control_type, equipment_type, "
    "min_value, max_value, unit, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, "
    "NULLIF(?6, ''), CASE WHEN ?7 THEN ?8 END, CASE WHEN ?7 THEN ?9 END, NULLIF(?10, ''), ?11, "
    "?11)";
constexpr std::string_view sql_retype_control =
    "UPDATE controls SET control_type = ?2, min_value = CASE WHEN ?3 THEN ?4 END, "
    "max_value = CASE WHEN ?3 THEN ?5 END, updated_at = ?6 WHERE id = ?1";
constexpr std::string_view sql_delete_control = "DELETE FROM controls WHERE id = ?1";
constexpr std::string_view sql_tag_uses =
    "SELECT (SELECT count(*) FROM sensors WHERE tag = ?1) + "
    "(SELECT count(*) FROM controls WHERE tag = ?1)";

// Inserts nothing when the RTU does not exist, which the caller reports as not_found.
constexpr std::string_view sql_insert_diagnostic =
    "INSERT INTO profinet_diagnostics (rtu_id, timestamp, level, source, message, details) "
    "SELECT id, ?2, ?3, ?4, ?5, NULLIF(?6, '') FROM rtus WHERE id = ?1";
constexpr std::string_view sql_list_diagnostics =
    "SELECT id, rtu_id, timestamp, level, source, message, details FROM profinet_diagnostics "
    "WHERE rtu_id = ?1 ORDER BY timestamp DESC, id DESC LIMIT ?2 OFFSET ?3";
constexpr std::string_view sql_count_diagnostics =
    "SELECT count(*) FROM profinet_diagnostics WHERE rtu_id = ?1";

// The columns of a pid_loops row in the order query::get_pid_loop() reads them.
#define WTC_PID_COLUMNS                                                                         \
  "id, name, enabled, input_rtu, input_slot, output_rtu, output_slot, kp, ki, kd, setpoint, "   \
  "output_min, output_max, deadband, integral_limit, derivative_filter, mode, scan_period_ms, " \
  "output, on_bad_measurement, safe_output, cascade_from, created_at, updated_at"

// An empty station lists every loop.
constexpr std::string_view sql_list_pid_loops =
    "SELECT " WTC_PID_COLUMNS
    " FROM pid_loops "
    "WHERE ?1 = '' OR input_rtu = ?1 OR output_rtu = ?1 ORDER BY id";
constexpr std::string_view sql_find_pid_loop =
    "SELECT " WTC_PID_COLUMNS " FROM pid_loops WHERE id = ?1";
constexpr std::string_view sql_rtu_exists = "SELECT count(*) FROM rtus WHERE station_name = ?1";
// NULL for scan_period_ms and cascade_from of 0, for output without has_output (?18).
constexpr std::string_view sql_insert_pid_loop =
    "INSERT INTO pid_loops (name, enabled, input_rtu, input_slot, output_rtu, output_slot, kp, "
    "ki, kd, setpoint, output_min, output_max, deadband, integral_limit, derivative_filter, mode, "
    "scan_period_ms, output, on_bad_measurement, safe_output, cascade_from, created_at, "
    "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
    "NULLIF(?17, 0), CASE WHEN ?18 THEN ?19 END, ?20, ?21, NULLIF(?22, 0), ?23, ?24) "
    "RETURNING " WTC_PID_COLUMNS;
constexpr std::string_view sql_update_pid_loop =
    "UPDATE pid_loops SET name = ?2, enabled = ?3, input_rtu = ?4, input_slot = ?5, "
    "output_rtu = ?6, output_slot = ?7, kp = ?8, ki = ?9, kd = ?10, setpoint = ?11, "
    "output_min = ?12, output_max = ?13, deadband = ?14, integral_limit = ?15, "
    "derivative_filter = ?16, mode = ?17, scan_period_ms = NULLIF(?18, 0), "
    "output = CASE WHEN ?19 THEN ?20 END, on_bad_measurement = ?21, safe_output = ?22, "
    "cascade_from = NULLIF(?23, 0), updated_at = ?24 WHERE id = ?1 RETURNING " WTC_PID_COLUMNS;
constexpr std::string_view sql_delete_pid_loop = "DELETE FROM pid_loops WHERE id = ?1";
// replace_pid_loops: the cascades go first, so that the self-referencing foreign key lets every
// row go; the rows come back with their ids (?1) and no cascade_from (the caller binds 0), and
// the cascades are set once every loop is there.
constexpr std::string_view sql_clear_pid_cascades =
    "UPDATE pid_loops SET cascade_from = NULL WHERE cascade_from IS NOT NULL";
constexpr std::string_view sql_delete_pid_loops = "DELETE FROM pid_loops";
constexpr std::string_view sql_insert_pid_loop_with_id =
    "INSERT INTO pid_loops (id, name, enabled, input_rtu, input_slot, output_rtu, output_slot, "
    "kp, ki, kd, setpoint, output_min, output_max, deadband, integral_limit, derivative_filter, "
    "mode, scan_period_ms, output, on_bad_measurement, safe_output, cascade_from, created_at, "
    "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
    "?17, NULLIF(?18, 0), CASE WHEN ?19 THEN ?20 END, ?21, ?22, NULLIF(?23, 0), ?24, ?25)";
constexpr std::string_view sql_set_pid_cascade =
    "UPDATE pid_loops SET cascade_from = ?2 WHERE id = ?1";
constexpr std::string_view sql_cascade_children =
    "SELECT id, name FROM pid_loops WHERE cascade_from = ?1 ORDER BY id";
// Whether loop ?2 is on the chain of cascade sources that starts at loop ?1 (?1 itself
// included): making ?1 the cascade_from of ?2 would close a cycle. Bounded against a cycle
// already stored, which the store never writes.
constexpr std::string_view sql_cascade_reaches =
    "WITH RECURSIVE chain (id, depth) AS (SELECT ?1, 0 UNION ALL "
    "SELECT p.cascade_from, chain.depth + 1 FROM pid_loops p JOIN chain ON p.id = chain.id "
    "WHERE p.cascade_from IS NOT NULL AND chain.depth < 1000) "
    "SELECT count(*) FROM chain WHERE id = ?2";
// Writes only a change, so that a loop persisting every scan costs no write while it is steady.
// Refuses CASCADE for a loop without a cascade source (the caller tells the cases apart).
constexpr std::string_view sql_save_pid_output =
    "UPDATE pid_loops SET output = ?2, setpoint = ?3, mode = ?4 WHERE id = ?1 "
    "AND (?4 <> 'CASCADE' OR cascade_from IS NOT NULL) "
    "AND (output IS NOT ?2 OR setpoint <> ?3 OR mode <> ?4)";
constexpr std::string_view sql_pid_loop_has_source =
    "SELECT cascade_from IS NOT NULL FROM pid_loops WHERE id = ?1";

// The columns of an alarm_rules row in the order query::get_alarm_rule() reads them.
#define WTC_ALARM_RULE_COLUMNS                                                                \
  "id, name, rtu_station, slot, condition, threshold, severity, delay_ms, message, enabled, " \
  "deadband, created_at, updated_at"
// The columns of a slot_configs row in the order query::get_slot_config() reads them.
#define WTC_SLOT_CONFIG_COLUMNS                                                              \
  "id, rtu_station, slot, subslot, slot_type, name, unit, measurement_type, actuator_type, " \
  "scale_min, scale_max, alarm_low_low, alarm_low, warning_low, warning_high, alarm_high, "  \
  "alarm_high_high, deadband, enabled, created_at"
// The columns of an alarm_events row in the order query::get_alarm_event() reads them.
#define WTC_ALARM_EVENT_COLUMNS                                                                \
  "id, alarm_rule_id, source_rule_id, origin, rtu_station, slot, state, severity, "            \
  "value_at_activation, message, activated_at, acknowledged_at, acknowledged_by, cleared_at, " \
  "note, listed, suppressed_by"
// The columns of a shelved_alarms row in the order query::get_shelf() reads them.
#define WTC_SHELF_COLUMNS                                                                  \
  "id, rtu_station, slot, alarm_rule_id, shelved_by, shelved_at, shelf_duration_minutes, " \
  "expires_at, reason, active"
// The columns of a scheduled_maintenance row in the order query::get_maintenance() reads them.
#define WTC_MAINTENANCE_COLUMNS                                                                   \
  "id, rtu_station, slot, scheduled_by, scheduled_at, start_time, end_time, reason, work_order, " \
  "status, activated_at, completed_at, cancelled_by, cancelled_at"

constexpr std::string_view sql_list_alarm_rules =
    "SELECT " WTC_ALARM_RULE_COLUMNS " FROM alarm_rules ORDER BY id";
constexpr std::string_view sql_find_alarm_rule =
    "SELECT " WTC_ALARM_RULE_COLUMNS " FROM alarm_rules WHERE id = ?1";
// message NULL when empty, deadband NULL without has_deadband (?10).
constexpr std::string_view sql_insert_alarm_rule =
    "INSERT INTO alarm_rules (name, rtu_station, slot, condition, threshold, severity, delay_ms, "
    "message, enabled, deadband, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
    "NULLIF(?8, ''), ?9, CASE WHEN ?10 THEN ?11 END, ?12, ?13) RETURNING " WTC_ALARM_RULE_COLUMNS;
constexpr std::string_view sql_update_alarm_rule =
    "UPDATE alarm_rules SET name = ?2, rtu_station = ?3, slot = ?4, condition = ?5, "
    "threshold = ?6, severity = ?7, delay_ms = ?8, message = NULLIF(?9, ''), enabled = ?10, "
    "deadband = CASE WHEN ?11 THEN ?12 END, updated_at = ?13 WHERE id = ?1 "
    "RETURNING " WTC_ALARM_RULE_COLUMNS;
// Its events keep their rows: alarm_events.alarm_rule_id is ON DELETE SET NULL.
constexpr std::string_view sql_delete_alarm_rule = "DELETE FROM alarm_rules WHERE id = ?1";

constexpr std::string_view sql_list_slot_configs =
    "SELECT " WTC_SLOT_CONFIG_COLUMNS " FROM slot_configs ORDER BY rtu_station, slot";
// Replaces every column of the (rtu_station, slot) row but its id and created_at. Empty text and
// unset limits (?11, ?13, ...) are NULL.
constexpr std::string_view sql_upsert_slot_config =
    "INSERT INTO slot_configs (rtu_station, slot, subslot, slot_type, name, unit, "
    "measurement_type, actuator_type, scale_min, scale_max, alarm_low_low, alarm_low, "
    "warning_low, warning_high, alarm_high, alarm_high_high, deadband, enabled, created_at) "
    "VALUES (?1, ?2, ?3, ?4, NULLIF(?5, ''), NULLIF(?6, ''), NULLIF(?7, ''), NULLIF(?8, ''), ?9, "
    "?10, CASE WHEN ?11 THEN ?12 END, CASE WHEN ?13 THEN ?14 END, CASE WHEN ?15 THEN ?16 END, "
    "CASE WHEN ?17 THEN ?18 END, CASE WHEN ?19 THEN ?20 END, CASE WHEN ?21 THEN ?22 END, ?23, "
    "?24, ?25) ON CONFLICT (rtu_station, slot) DO UPDATE SET subslot = excluded.subslot, "
    "slot_type = excluded.slot_type, name = excluded.name, unit = excluded.unit, "
    "measurement_type = excluded.measurement_type, actuator_type = excluded.actuator_type, "
    "scale_min = excluded.scale_min, scale_max = excluded.scale_max, "
    "alarm_low_low = excluded.alarm_low_low, alarm_low = excluded.alarm_low, "
    "warning_low = excluded.warning_low, warning_high = excluded.warning_high, "
    "alarm_high = excluded.alarm_high, alarm_high_high = excluded.alarm_high_high, "
    "deadband = excluded.deadband, enabled = excluded.enabled "
    "RETURNING " WTC_SLOT_CONFIG_COLUMNS;

// Whole rows, inserted or replaced by id (the manager assigns the ids). An alarm_rule_id that
// names no rule (deleted meanwhile, or 0) is NULL; empty text and zero times are NULL, and
// value_at_activation without has_value (?9).
constexpr std::string_view sql_upsert_alarm_event =
    "INSERT INTO alarm_events (id, alarm_rule_id, source_rule_id, origin, rtu_station, slot, "
    "state, severity, value_at_activation, message, activated_at, acknowledged_at, "
    "acknowledged_by, cleared_at, note, listed, suppressed_by) VALUES (?1, "
    "(SELECT id FROM alarm_rules WHERE id = ?2), ?3, ?4, ?5, ?6, ?7, ?8, "
    "CASE WHEN ?9 THEN ?10 END, NULLIF(?11, ''), ?12, NULLIF(?13, 0), NULLIF(?14, ''), "
    "NULLIF(?15, 0), NULLIF(?16, ''), ?17, NULLIF(?18, '')) ON CONFLICT (id) DO UPDATE SET "
    "alarm_rule_id = excluded.alarm_rule_id, source_rule_id = excluded.source_rule_id, "
    "origin = excluded.origin, rtu_station = excluded.rtu_station, slot = excluded.slot, "
    "state = excluded.state, severity = excluded.severity, "
    "value_at_activation = excluded.value_at_activation, message = excluded.message, "
    "activated_at = excluded.activated_at, acknowledged_at = excluded.acknowledged_at, "
    "acknowledged_by = excluded.acknowledged_by, cleared_at = excluded.cleared_at, "
    "note = excluded.note, listed = excluded.listed, suppressed_by = excluded.suppressed_by";
constexpr std::string_view sql_upsert_shelf =
    "INSERT INTO shelved_alarms (id, rtu_station, slot, alarm_rule_id, shelved_by, shelved_at, "
    "shelf_duration_minutes, expires_at, reason, active) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
    "NULLIF(?9, ''), ?10) ON CONFLICT (id) DO UPDATE SET rtu_station = excluded.rtu_station, "
    "slot = excluded.slot, alarm_rule_id = excluded.alarm_rule_id, "
    "shelved_by = excluded.shelved_by, shelved_at = excluded.shelved_at, "
    "shelf_duration_minutes = excluded.shelf_duration_minutes, "
    "expires_at = excluded.expires_at, reason = excluded.reason, active = excluded.active";
constexpr std::string_view sql_upsert_maintenance =
    "INSERT INTO scheduled_maintenance (id, rtu_station, slot, scheduled_by, scheduled_at, "
    "start_time, end_time, reason, work_order, status, activated_at, completed_at, cancelled_by, "
    "cancelled_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULLIF(?9, ''), ?10, "
    "NULLIF(?11, 0), NULLIF(?12, 0), NULLIF(?13, ''), NULLIF(?14, 0)) "
    "ON CONFLICT (id) DO UPDATE SET rtu_station = excluded.rtu_station, slot = excluded.slot, "
    "scheduled_by = excluded.scheduled_by, scheduled_at = excluded.scheduled_at, "
    "start_time = excluded.start_time, end_time = excluded.end_time, reason = excluded.reason, "
    "work_order = excluded.work_order, status = excluded.status, "
    "activated_at = excluded.activated_at, completed_at = excluded.completed_at, "
    "cancelled_by = excluded.cancelled_by, cancelled_at = excluded.cancelled_at";

constexpr std::string_view sql_listed_alarm_events =
    "SELECT " WTC_ALARM_EVENT_COLUMNS " FROM alarm_events WHERE listed ORDER BY id";
constexpr std::string_view sql_active_shelves =
    "SELECT " WTC_SHELF_COLUMNS " FROM shelved_alarms WHERE active ORDER BY id";
constexpr std::string_view sql_open_maintenance_by_id =
    "SELECT " WTC_MAINTENANCE_COLUMNS
    " FROM scheduled_maintenance "
    "WHERE status IN ('SCHEDULED', 'ACTIVE') ORDER BY id";
// Where the manager's numbering starts: one more than the largest id stored, at least 1.
constexpr std::string_view sql_next_alarm_ids =
    "SELECT (SELECT max(coalesce(max(id), 0), 0) + 1 FROM alarm_events), "
    "(SELECT max(coalesce(max(id), 0), 0) + 1 FROM shelved_alarms), "
    "(SELECT max(coalesce(max(id), 0), 0) + 1 FROM scheduled_maintenance)";
// One statement for every combination of filters: an empty string or a zero time filters nothing.
constexpr std::string_view sql_alarm_history =
    "SELECT " WTC_ALARM_EVENT_COLUMNS
    " FROM alarm_events WHERE (?1 = 0 OR activated_at >= ?1) "
    "AND (?2 = 0 OR activated_at < ?2) AND (?3 = '' OR severity = ?3) "
    "AND (?4 = '' OR rtu_station = ?4) ORDER BY activated_at DESC, id DESC LIMIT ?5";
constexpr std::string_view sql_list_shelves = "SELECT " WTC_SHELF_COLUMNS
                                              " FROM shelved_alarms WHERE NOT ?1 OR active "
                                              "ORDER BY shelved_at DESC, id DESC";
constexpr std::string_view sql_list_maintenance =
    "SELECT " WTC_MAINTENANCE_COLUMNS
    " FROM scheduled_maintenance "
    "WHERE NOT ?1 OR status IN ('SCHEDULED', 'ACTIVE') ORDER BY start_time, id";
constexpr std::string_view sql_count_annunciated =
    "SELECT count(*) FROM alarm_events WHERE suppressed_by IS NULL AND activated_at >= ?1";

// The columns of a historian_tags row in the order query::get_historian_tag() reads them.
#define WTC_HISTORIAN_TAG_COLUMNS                                                  \
  "id, rtu_station, slot, tag_name, unit, sample_rate_ms, deadband, compression, " \
  "max_interval_ms, enabled, created_at, updated_at"
// The columns of a historian_rollups row in the order query::get_historian_rollup() reads them.
#define WTC_HISTORIAN_ROLLUP_COLUMNS                                                    \
  "tag_id, width_ms, bucket_start, count, uncertain, bad, sum, min, max, first, last, " \
  "first_time, last_time"

constexpr std::string_view sql_list_historian_tags =
    "SELECT " WTC_HISTORIAN_TAG_COLUMNS " FROM historian_tags ORDER BY id";
constexpr std::string_view sql_find_historian_tag =
    "SELECT " WTC_HISTORIAN_TAG_COLUMNS " FROM historian_tags WHERE id = ?1";
// unit NULL when empty.
constexpr std::string_view sql_insert_historian_tag =
    "INSERT INTO historian_tags (rtu_station, slot, tag_name, unit, sample_rate_ms, deadband, "
    "compression, max_interval_ms, enabled, created_at, updated_at) VALUES (?1, ?2, ?3, "
    "NULLIF(?4, ''), ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING " WTC_HISTORIAN_TAG_COLUMNS;
constexpr std::string_view sql_update_historian_tag =
    "UPDATE historian_tags SET rtu_station = ?2, slot = ?3, tag_name = ?4, unit = NULLIF(?5, ''), "
    "sample_rate_ms = ?6, deadband = ?7, compression = ?8, max_interval_ms = ?9, enabled = ?10, "
    "updated_at = ?11 WHERE id = ?1 RETURNING " WTC_HISTORIAN_TAG_COLUMNS;
// Its samples and rollups go with it (ON DELETE CASCADE).
constexpr std::string_view sql_delete_historian_tag = "DELETE FROM historian_tags WHERE id = ?1";
// historian_samples has no foreign key (migration 0006): a tag's samples go explicitly.
constexpr std::string_view sql_delete_historian_tag_samples =
    "DELETE FROM historian_samples WHERE tag_id = ?1";
constexpr std::string_view sql_historian_tag_exists =
    "SELECT count(*) FROM historian_tags WHERE id = ?1";
// A point is inserted, or, when its key is stored (no change), replaces the stored one: two
// statements instead of one upsert, so that append_historian knows how many rows it added.
constexpr std::string_view sql_insert_historian_point =
    "INSERT INTO historian_samples (tag_id, timestamp, value, quality) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (tag_id, timestamp) DO NOTHING";
constexpr std::string_view sql_replace_historian_point =
    "UPDATE historian_samples SET value = ?3, quality = ?4 WHERE tag_id = ?1 AND timestamp = ?2";
// historian_row_counts (migration 0007), changed with the rows.
constexpr std::string_view sql_add_historian_rows =
    "INSERT INTO historian_row_counts (tag_id, sample_rows, rollup_rows) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (tag_id) DO UPDATE SET sample_rows = sample_rows + excluded.sample_rows, "
    "rollup_rows = rollup_rows + excluded.rollup_rows";
constexpr std::string_view sql_remove_historian_rows =
    "UPDATE historian_row_counts SET sample_rows = sample_rows - ?2, "
    "rollup_rows = rollup_rows - ?3 WHERE tag_id = ?1";
constexpr std::string_view sql_historian_rollup_stored =
    "SELECT count(*) FROM historian_rollups WHERE tag_id = ?1 AND width_ms = ?2 "
    "AND bucket_start = ?3";
// min, max, first and last NULL for a bucket without a counted sample (?4 = 0).
constexpr std::string_view sql_upsert_historian_rollup =
    "INSERT INTO historian_rollups (" WTC_HISTORIAN_ROLLUP_COLUMNS
    ") VALUES (?1, ?2, ?3, ?4, ?5, "
    "?6, ?7, CASE WHEN ?4 > 0 THEN ?8 END, CASE WHEN ?4 > 0 THEN ?9 END, "
    "CASE WHEN ?4 > 0 THEN ?10 END, CASE WHEN ?4 > 0 THEN ?11 END, ?12, ?13) "
    "ON CONFLICT (tag_id, width_ms, bucket_start) DO UPDATE SET count = excluded.count, "
    "uncertain = excluded.uncertain, bad = excluded.bad, sum = excluded.sum, min = excluded.min, "
    "max = excluded.max, first = excluded.first, last = excluded.last, "
    "first_time = excluded.first_time, last_time = excluded.last_time";
constexpr std::string_view sql_query_historian =
    "SELECT tag_id, timestamp, value, quality FROM historian_samples WHERE tag_id = ?1 "
    "AND timestamp >= ?2 AND timestamp < ?3 ORDER BY timestamp LIMIT ?4";
constexpr std::string_view sql_query_historian_rollups =
    "SELECT " WTC_HISTORIAN_ROLLUP_COLUMNS
    " FROM historian_rollups WHERE tag_id = ?1 "
    "AND width_ms = ?2 AND bucket_start >= ?3 AND bucket_start < ?4 ORDER BY bucket_start "
    "LIMIT ?5";
// For a query with a group_ms: every row of the range, merged as they come (no LIMIT: the limit
// counts merged rows).
constexpr std::string_view sql_query_historian_rollups_all =
    "SELECT " WTC_HISTORIAN_ROLLUP_COLUMNS
    " FROM historian_rollups WHERE tag_id = ?1 "
    "AND width_ms = ?2 AND bucket_start >= ?3 AND bucket_start < ?4 ORDER BY bucket_start";
constexpr std::string_view sql_historian_point_before =
    "SELECT tag_id, timestamp, value, quality FROM historian_samples WHERE tag_id = ?1 "
    "AND timestamp < ?2 AND timestamp >= ?3 ORDER BY timestamp DESC LIMIT 1";
constexpr std::string_view sql_find_historian_rollup = "SELECT " WTC_HISTORIAN_ROLLUP_COLUMNS
                                                       " FROM historian_rollups WHERE tag_id = ?1 "
                                                       "AND width_ms = ?2 AND bucket_start = ?3";
// Tag by tag along the primary key, counting what each tag loses.
constexpr std::string_view sql_historian_tag_ids = "SELECT id FROM historian_tags ORDER BY id";
constexpr std::string_view sql_purge_historian_tag_samples =
    "DELETE FROM historian_samples WHERE tag_id = ?1 AND timestamp < ?2";
constexpr std::string_view sql_purge_historian_tag_rollups =
    "DELETE FROM historian_rollups WHERE tag_id = ?1 AND bucket_start < ?2";
// The counts kept at write time, and per tag two seeks along the primary key: no scan of the
// samples.
constexpr std::string_view sql_historian_tag_counts =
    "SELECT tag_id, sample_rows, "
    "(SELECT min(timestamp) FROM historian_samples s WHERE s.tag_id = c.tag_id), "
    "(SELECT max(timestamp) FROM historian_samples s WHERE s.tag_id = c.tag_id) "
    "FROM historian_row_counts c WHERE sample_rows > 0 ORDER BY tag_id";
constexpr std::string_view sql_count_historian_rollups =
    "SELECT coalesce(sum(rollup_rows), 0) FROM historian_row_counts";
// The pages in use: SQLite keeps the pages a purge frees for reuse, so the file does not shrink,
// and the size cap is about what is stored.
constexpr std::string_view sql_database_bytes =
    "SELECT (page_count - freelist_count) * page_size "
    "FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()";

#undef WTC_RTU_COLUMNS
#undef WTC_HISTORIAN_TAG_COLUMNS
#undef WTC_HISTORIAN_ROLLUP_COLUMNS
#undef WTC_PID_COLUMNS
#undef WTC_ALARM_RULE_COLUMNS
#undef WTC_SLOT_CONFIG_COLUMNS
#undef WTC_ALARM_EVENT_COLUMNS
#undef WTC_SHELF_COLUMNS
#undef WTC_MAINTENANCE_COLUMNS

// How long a writer waits for another connection's write lock before reporting `unavailable`.
constexpr int busy_timeout_ms = 5000;

errc classify(int rc) {
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return errc::conflict;
    default:
      break;
  }
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
      return errc::bad_request;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
      return errc::unavailable;
    default:
      return errc::internal;
  }
}

}  // namespace

// One use of a cached statement: binds the arguments in order, steps, reads columns, and resets
// the statement when it goes out of scope so that the next use starts clean.
class sqlite_store::query {
 public:
  query(sqlite_store& owner, std::string_view sql, std::string_view context)
      : owner_(owner), stmt_(owner.prepared(sql, context)), context_(context) {}
  ~query() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  query(const query&) = delete;
  query& operator=(const query&) = delete;

  query& int64(std::int64_t value) {
    check(sqlite3_bind_int64(stmt_, next_++, value));
    return *this;
  }
  query& boolean(bool value) { return int64(value ? 1 : 0); }
  query& real(double value) {
    check(sqlite3_bind_double(stmt_, next_++, value));
    return *this;
  }
  query& text(std::string_view value) {
    if (value.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
      throw storage_error(errc::bad_request, std::string(context_) + ": a value is too long");
    check(sqlite3_bind_text(stmt_, next_++, value.data(), static_cast<int>(value.size()),
                            SQLITE_TRANSIENT));
    return *this;
  }

  /// Advances to the next row; false when there is none.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW)
      return true;
    if (rc == SQLITE_DONE)
      return false;
    owner_.fail(rc, context_);
  }
  /// Runs the statement to its end and returns how many rows it changed.
  std::int64_t run() {
    while (step()) {
    }
    return sqlite3_changes64(owner_.db_.get());
  }

  std::int64_t get_int64(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::int32_t get_int32(int column) const { return sqlite3_column_int(stmt_, column); }
  double get_double(int column) const { return sqlite3_column_double(stmt_, column); }
  bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  bool get_bool(int column) const { return sqlite3_column_int64(stmt_, column) != 0; }
  // NULL reads as the empty string: the columns the program treats as optional text.
  std::string get_text(int column) const {
    auto data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    if (data == nullptr)
      return {};
    return std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
  }

  user_record get_user() const {
    user_record user;
    user.id = get_int64(0);
    user.username = get_text(1);
    user.password_hash = get_text(2);
    user.user_role = role_from_column(get_text(3));
    user.active = get_bool(4);
    user.sync_to_rtus = get_bool(5);
    user.created_at = get_int64(6);
    user.updated_at = get_int64(7);
    user.last_login = get_int64(8);
    return user;
  }

  // The columns of WTC_RTU_COLUMNS.
  rtu_record get_rtu() const {
    rtu_record rtu;
    rtu.id = get_int64(0);
    rtu.station_name = get_text(1);
    rtu.ip_address = get_text(2);
    rtu.port = get_int32(3);
    rtu.unit_id = get_int32(4);
    rtu.profile = get_text(5);
    rtu.vendor_id = get_text(6);
    rtu.device_id = get_text(7);
    rtu.slot_count = get_int32(8);
    rtu.cycle_time_ms = get_int64(9);
    rtu.auto_connect = get_bool(10);
    rtu.state = rtu_state_from_column(get_text(11));
    rtu.state_since = get_int64(12);
    rtu.transition_reason = get_text(13);
    rtu.last_error = get_text(14);
    rtu.rtu_version = get_text(15);
    rtu.version_mismatch = get_bool(16);
    rtu.created_at = get_int64(17);
    rtu.updated_at = get_int64(18);
    rtu.node = get_text(19);
    return rtu;
  }

  slot_record get_slot() const {
    slot_record slot;
    slot.id = get_int64(0);
    slot.rtu_id = get_int64(1);
    slot.slot_number = get_int32(2);
    slot.module_id = get_text(3);
    slot.module_type = get_text(4);
    slot.status = get_text(5);
    slot.created_at = get_int64(6);
    slot.updated_at = get_int64(7);
    return slot;
  }

  sensor_record get_sensor() const {
    sensor_record sensor;
    sensor.id = get_int64(0);
    sensor.rtu_id = get_int64(1);
    sensor.slot_id = get_int64(2);
    sensor.slot_number = get_int32(3);
    sensor.tag = get_text(4);
    sensor.channel = get_int32(5);
    sensor.sensor_type = get_text(6);
    sensor.unit = get_text(7);
    sensor.scale_min = get_double(8);
    sensor.scale_max = get_double(9);
    sensor.eng_min = get_double(10);
    sensor.eng_max = get_double(11);
    sensor.deadband = get_double(12);
    sensor.created_at = get_int64(13);
    sensor.updated_at = get_int64(14);
    return sensor;
  }

  control_record get_control() const {
    control_record control;
    control.id = get_int64(0);
    control.rtu_id = get_int64(1);
    control.slot_id = get_int64(2);
    control.slot_number = get_int32(3);
    control.tag = get_text(4);
    control.channel = get_int32(5);
    control.control_type = get_text(6);
    control.equipment_type = get_text(7);
    control.has_range = !is_null(8) && !is_null(9);
    if (control.has_range) {
      control.min_value = get_double(8);
      control.max_value = get_double(9);
    }
    control.unit = get_text(10);
    control.created_at = get_int64(11);
    control.updated_at = get_int64(12);
    return control;
  }

  diagnostic_record get_diagnostic() const {
    diagnostic_record diagnostic;
    diagnostic.id = get_int64(0);
    diagnostic.rtu_id = get_int64(1);
    diagnostic.timestamp = get_int64(2);
    diagnostic.level = get_text(3);
    diagnostic.source = get_text(4);
    diagnostic.message = get_text(5);
    diagnostic.details = get_text(6);
    return diagnostic;
  }

  // The columns of WTC_PID_COLUMNS.
  pid_loop_record get_pid_loop() const {
    pid_loop_record loop;
    loop.id = get_int64(0);
    loop.name = get_text(1);
    loop.enabled = get_bool(2);
    loop.input_rtu = get_text(3);
    loop.input_slot = get_int32(4);
    loop.output_rtu = get_text(5);
    loop.output_slot = get_int32(6);
    loop.kp = get_double(7);
    loop.ki = get_double(8);
    loop.kd = get_double(9);
    loop.setpoint = get_double(10);
    loop.output_min = get_double(11);
    loop.output_max = get_double(12);
    loop.deadband = get_double(13);
    loop.integral_limit = get_double(14);
    loop.derivative_filter = get_double(15);
    loop.mode = get_text(16);
    loop.scan_period_ms = get_int64(17);  // NULL reads as 0
    loop.has_output = !is_null(18);
    loop.output = loop.has_output ? get_double(18) : 0.0;
    loop.on_bad_measurement = get_text(19);
    loop.safe_output = get_double(20);
    loop.cascade_from = get_int64(21);  // NULL reads as 0
    loop.created_at = get_int64(22);
    loop.updated_at = get_int64(23);
    return loop;
  }

  // The columns of WTC_ALARM_RULE_COLUMNS.
  alarm_rule_record get_alarm_rule() const {
    alarm_rule_record rule;
    rule.id = get_int64(0);
    rule.name = get_text(1);
    rule.rtu_station = get_text(2);
    rule.slot = get_int32(3);
    rule.condition = get_text(4);
    rule.threshold = get_double(5);
    rule.severity = get_text(6);
    rule.delay_ms = get_int64(7);
    rule.message = get_text(8);
    rule.enabled = get_bool(9);
    rule.has_deadband = !is_null(10);
    rule.deadband = rule.has_deadband ? get_double(10) : 0.0;
    rule.created_at = get_int64(11);
    rule.updated_at = get_int64(12);
    return rule;
  }

  // The columns of WTC_SLOT_CONFIG_COLUMNS.
  slot_config_record get_slot_config() const {
    slot_config_record config;
    config.id = get_int64(0);
    config.rtu_station = get_text(1);
    config.slot = get_int32(2);
    config.subslot = get_int32(3);
    config.slot_type = get_text(4);
    config.name = get_text(5);
    config.unit = get_text(6);
    config.measurement_type = get_text(7);
    config.actuator_type = get_text(8);
    config.scale_min = get_double(9);
    config.scale_max = get_double(10);
    auto limit = [&](int column, bool& has, double& value) {
      has = !is_null(column);
      value = has ? get_double(column) : 0.0;
    };
    limit(11, config.has_alarm_low_low, config.alarm_low_low);
    limit(12, config.has_alarm_low, config.alarm_low);
    limit(13, config.has_warning_low, config.warning_low);
    limit(14, config.has_warning_high, config.warning_high);
    limit(15, config.has_alarm_high, config.alarm_high);
    limit(16, config.has_alarm_high_high, config.alarm_high_high);
    config.deadband = get_double(17);
    config.enabled = get_bool(18);
    config.created_at = get_int64(19);
    return config;
  }

  // The columns of WTC_ALARM_EVENT_COLUMNS.
  alarm_event_record get_alarm_event() const {
    alarm_event_record event;
    event.id = get_int64(0);
    event.alarm_rule_id = get_int64(1);  // NULL reads as 0
    event.source_rule_id = get_int64(2);
    event.origin = get_text(3);
    event.rtu_station = get_text(4);
    event.slot = get_int32(5);
    event.state = get_text(6);
    event.severity = get_text(7);
    event.has_value = !is_null(8);
    event.value_at_activation = event.has_value ? get_double(8) : 0.0;
    event.message = get_text(9);
    event.activated_at = get_int64(10);
    event.acknowledged_at = get_int64(11);  // NULL reads as 0
    event.acknowledged_by = get_text(12);
    event.cleared_at = get_int64(13);  // NULL reads as 0
    event.note = get_text(14);
    event.listed = get_bool(15);
    event.suppressed_by = get_text(16);
    return event;
  }

  // The columns of WTC_SHELF_COLUMNS.
  alarm_shelf_record get_shelf() const {
    alarm_shelf_record shelf;
    shelf.id = get_int64(0);
    shelf.rtu_station = get_text(1);
    shelf.slot = get_int32(2);
    shelf.alarm_rule_id = get_int64(3);
    shelf.shelved_by = get_text(4);
    shelf.shelved_at = get_int64(5);
    shelf.shelf_duration_minutes = get_int32(6);
    shelf.expires_at = get_int64(7);
    shelf.reason = get_text(8);
    shelf.active = get_bool(9);
    return shelf;
  }

  // The columns of WTC_MAINTENANCE_COLUMNS.
  maintenance_record get_maintenance() const {
    maintenance_record window;
    window.id = get_int64(0);
    window.rtu_station = get_text(1);
    window.slot = get_int32(2);
    window.scheduled_by = get_text(3);
    window.scheduled_at = get_int64(4);
    window.start_time = get_int64(5);
    window.end_time = get_int64(6);
    window.reason = get_text(7);
    window.work_order = get_text(8);
    window.status = get_text(9);
    window.activated_at = get_int64(10);  // NULL reads as 0, as the other times
    window.completed_at = get_int64(11);
    window.cancelled_by = get_text(12);
    window.cancelled_at = get_int64(13);
    return window;
  }

  // The columns of WTC_HISTORIAN_TAG_COLUMNS.
  historian_tag_record get_historian_tag() const {
    historian_tag_record tag;
    tag.id = get_int64(0);
    tag.rtu_station = get_text(1);
    tag.slot = get_int32(2);
    tag.tag_name = get_text(3);
    tag.unit = get_text(4);
    tag.sample_rate_ms = get_int64(5);
    tag.deadband = get_double(6);
    tag.compression = get_text(7);
    tag.max_interval_ms = get_int64(8);
    tag.enabled = get_bool(9);
    tag.created_at = get_int64(10);
    tag.updated_at = get_int64(11);
    return tag;
  }

  // tag_id, timestamp, value, quality.
  historian_point get_historian_point() const {
    historian_point point;
    point.tag_id = get_int64(0);
    point.timestamp = get_int64(1);
    point.value = get_double(2);
    point.quality = static_cast<std::uint8_t>(get_int32(3));
    return point;
  }

  // The columns of WTC_HISTORIAN_ROLLUP_COLUMNS; NULL min, max, first, last read as core::rollup's
  // empty values.
  historian_rollup_row get_historian_rollup() const {
    historian_rollup_row row;
    row.tag_id = get_int64(0);
    row.width_ms = get_int64(1);
    row.bucket_start = get_int64(2);
    row.count = get_int64(3);
    row.uncertain = get_int64(4);
    row.bad = get_int64(5);
    row.sum = get_double(6);
    row.min = is_null(7) ? std::numeric_limits<double>::infinity() : get_double(7);
    row.max = is_null(8) ? -std::numeric_limits<double>::infinity() : get_double(8);
    row.first = get_double(9);  // NULL reads as 0
    row.last = get_double(10);
    row.first_time = get_int64(11);
    row.last_time = get_int64(12);
    return row;
  }

 private:
  void check(int rc) const {
    if (rc != SQLITE_OK)
      owner_.fail(rc, context_);
  }

  sqlite_store& owner_;
  sqlite3_stmt* stmt_;
  std::string_view context_;
  int next_ = 1;
};

// BEGIN on construction, ROLLBACK on destruction unless committed: an exception anywhere in a
// change takes its audit row with it.
class sqlite_store::transaction {
 public:
  enum class mode { read, write };

  transaction(sqlite_store& owner, std::string_view context, mode kind = mode::write)
      : owner_(owner), context_(context) {
    // IMMEDIATE takes the write lock up front: a deferred transaction that upgrades later can fail
    // with SQLITE_BUSY halfway through, which busy_timeout cannot cure.
    query(owner_, kind == mode::write ? sql_begin_write : sql_begin_read, context_).run();
  }
  ~transaction() {
    if (!open_)
      return;
    // A failed statement may already have ended the transaction, and a destructor must not throw:
    // a failing ROLLBACK has nothing left to undo.
    try {
      query(owner_, sql_rollback, context_).run();
    } catch (...) {
    }
  }
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;

  void commit() {
    query(owner_, sql_commit, context_).run();
    open_ = false;
  }

 private:
  sqlite_store& owner_;
  std::string_view context_;
  bool open_ = true;
};

void sqlite_store::connection_closer::operator()(sqlite3* db) const noexcept {
  sqlite3_close(db);
}

void sqlite_store::statement_finalizer::operator()(sqlite3_stmt* stmt) const noexcept {
  sqlite3_finalize(stmt);
}

sqlite_store::sqlite_store(const std::string& path) {
  sqlite3* raw = nullptr;
  // NOMUTEX: a store is used by one thread at a time (the storage actor's own), so SQLite's
  // per-call locking of the connection (a lock and an unlock around every bind, step and reset:
  // 9% of the ingest's CPU) buys nothing.
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  // Even a failed open allocates a handle, which must be closed.
  db_.reset(raw);
  if (rc != SQLITE_OK) {
    std::string reason = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    throw storage_error(errc::unavailable,
                        "cannot open the SQLite database '" + path + "': " + reason);
  }
  sqlite3_extended_result_codes(db_.get(), 1);
  sqlite3_busy_timeout(db_.get(), busy_timeout_ms);
  constexpr std::string_view context = "open the SQLite database";
  query(*this, sql_foreign_keys, context).run();
  query(*this, sql_synchronous, context).run();
  query(*this, sql_cache_size, context).run();
  query(*this, sql_wal_autocheckpoint, context).run();
  query journal(*this, sql_journal_mode, context);
  if (!journal.step() || journal.get_text(0) != "wal")
    throw storage_error(errc::unavailable,
                        "the SQLite database '" + path + "' cannot switch to WAL mode");
}

sqlite3_stmt* sqlite_store::prepared(std::string_view sql, std::string_view context) {
  auto found = statements_.find(sql);
  if (found != statements_.end())
    return found->second.get();
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    fail(rc, context);
  }
  statements_.emplace(sql, stmt);
  return stmt;
}

void sqlite_store::fail(int rc, std::string_view context) const {
  throw storage_error(classify(rc), std::string(context) + ": " + sqlite3_errmsg(db_.get()));
}

int sqlite_store::recorded_version(std::string_view context) {
  {
    query exists(*this, sql_table_exists, context);
    exists.text("schema_version");
    if (!exists.step() || exists.get_int64(0) == 0)
      return 0;
  }
  query version(*this, sql_schema_version, context);
  version.step();
  return static_cast<int>(version.get_int64(0));
}

int sqlite_store::schema_version() {
  return recorded_version("read the schema version");
}

std::string sqlite_store::historian_layout() {
  return "table";
}

int sqlite_store::migrate() {
  query(*this, sql_create_schema_version, "create the schema_version table").run();
  int current = recorded_version("read the schema version");
  const std::vector<migration>& all = sqlite_migrations();
  if (all.empty() || all.back().version <= current)
    return current;

  // SQLite's procedure for the schema changes ALTER TABLE cannot make ("Making Other Kinds Of
  // Table Schema Changes"): foreign keys off around the transaction, PRAGMA foreign_key_check
  // before COMMIT. With them on, rebuilding a parent table (migration 0002 rebuilds rtus) would
  // delete its children through ON DELETE CASCADE. PRAGMA foreign_keys is a no-op inside a
  // transaction, hence outside, and checked.
  class foreign_keys_off {
   public:
    explicit foreign_keys_off(sqlite_store& owner) : owner_(owner) {
      query(owner_, sql_foreign_keys_off, "migrate").run();
      if (enforced())
        throw storage_error(errc::internal, "migrate: cannot switch foreign keys off");
    }
    ~foreign_keys_off() {
      try {
        restore();
      } catch (...) {
      }
    }
    foreign_keys_off(const foreign_keys_off&) = delete;
    foreign_keys_off& operator=(const foreign_keys_off&) = delete;

    void restore() {
      query(owner_, sql_foreign_keys, "migrate").run();
      if (!enforced())
        throw storage_error(errc::internal, "migrate: cannot switch foreign keys back on");
    }

   private:
    bool enforced() {
      query state(owner_, sql_foreign_keys_state, "migrate");
      return state.step() && state.get_int64(0) != 0;
    }
    sqlite_store& owner_;
  };

  foreign_keys_off unchecked(*this);
  for (const migration& step : all) {
    if (step.version <= current)
      continue;
    std::string step_context =
        "migration " + std::to_string(step.version) + " (" + std::string(step.description) + ")";
    transaction tx(*this, step_context);
    // Another process may have applied it while this one waited for the write lock.
    current = recorded_version(step_context);
    if (step.version <= current)
      continue;
    std::string script(step.sql);
    char* message = nullptr;
    int rc = sqlite3_exec(db_.get(), script.c_str(), nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
      std::string reason = message != nullptr ? message : sqlite3_errstr(rc);
      sqlite3_free(message);
      throw storage_error(classify(rc), step_context + ": " + reason);
    }
    check_foreign_keys(step_context);
    query(*this, sql_insert_schema_version, step_context)
        .int64(step.version)
        .int64(clock_now())
        .text(step.description)
        .run();
    tx.commit();
    current = step.version;
  }
  unchecked.restore();
  return current;
}

void sqlite_store::check_foreign_keys(std::string_view context) {
  query broken(*this, sql_foreign_key_check, context);
  if (broken.step())
    throw storage_error(errc::internal, std::string(context) + ": row " +
                                            std::to_string(broken.get_int64(1)) + " of " +
                                            broken.get_text(0) + " references a missing row of " +
                                            broken.get_text(2));
}

void sqlite_store::ping() {
  query q(*this, sql_ping, "ping");
  q.step();
}

std::optional<user_record> sqlite_store::find_user(std::string_view username) {
  query q(*this, sql_find_user, "find user");
  q.text(username);
  if (!q.step())
    return std::nullopt;
  return q.get_user();
}

std::optional<user_record> sqlite_store::find_user_by_id(std::int64_t id) {
  query q(*this, sql_find_user_by_id, "find user");
  q.int64(id);
  if (!q.step())
    return std::nullopt;
  return q.get_user();
}

paged<user_record> sqlite_store::list_users(const page& window) {
  check_window(window);
  constexpr std::string_view context = "list users";
  transaction tx(*this, context, transaction::mode::read);
  paged<user_record> result;
  {
    query q(*this, sql_list_users, context);
    q.int64(window.limit).int64(window.skip);
    while (q.step())
      result.items.push_back(q.get_user());
  }
  result.total = count_users();
  tx.commit();
  return result;
}

system_counts sqlite_store::count_system() {
  query q(*this, sql_count_system, "count RTUs and alarms");
  q.step();
  return {q.get_int64(0), q.get_int64(1), q.get_int64(2)};
}

std::int64_t sqlite_store::count_users() {
  query q(*this, sql_count_users, "count users");
  q.step();
  return q.get_int64(0);
}

user_record sqlite_store::create_user(const user_record& user, const audit_entry& audit) {
  std::string context = "create user '" + user.username + "'";
  transaction tx(*this, context);
  user_record stored;
  {
    query q(*this, sql_insert_user, context);
    q.text(user.username)
        .text(user.password_hash)
        .text(to_string(user.user_role))
        .boolean(user.active)
        .boolean(user.sync_to_rtus)
        .int64(user.created_at)
        .int64(user.updated_at)
        .int64(user.last_login);
    q.step();
    stored = q.get_user();
  }
  insert_audit(audit, context);
  tx.commit();
  return stored;
}

user_record sqlite_store::update_user(std::int64_t id, const user_update& update, timestamp_ms now,
                                      const audit_entry& audit) {
  std::string context = "update user " + std::to_string(id);
  transaction tx(*this, context);
  user_record stored;
  {
    query q(*this, sql_update_user, context);
    q.int64(id)
        .boolean(update.set_role)
        .text(to_string(update.user_role))
        .boolean(update.set_active)
        .boolean(update.active)
        .boolean(update.set_sync_to_rtus)
        .boolean(update.sync_to_rtus)
        .int64(now);
    if (!q.step())
      throw storage_error(errc::not_found, "user " + std::to_string(id) + " not found");
    stored = q.get_user();
  }
  if (update.set_role)
    query(*this, sql_update_session_roles, context)
        .text(stored.username)
        .text(to_string(stored.user_role))
        .run();
  if (update.set_active && !update.active)
    query(*this, sql_delete_user_sessions, context).text(stored.username).run();
  insert_audit(audit, context);
  tx.commit();
  return stored;
}

void sqlite_store::set_password(std::int64_t id, const std::string& password_hash, timestamp_ms now,
                                const audit_entry& audit) {
  std::string context = "set the password of user " + std::to_string(id);
  transaction tx(*this, context);
  std::string username;
  {
    query q(*this, sql_set_password, context);
    q.int64(id).text(password_hash).int64(now);
    if (!q.step())
      throw storage_error(errc::not_found, "user " + std::to_string(id) + " not found");
    username = q.get_text(0);
  }
  query(*this, sql_delete_user_sessions, context).text(username).run();
  insert_audit(audit, context);
  tx.commit();
}

void sqlite_store::delete_user(std::int64_t id, const audit_entry& audit) {
  std::string context = "delete user " + std::to_string(id);
  transaction tx(*this, context);
  // The user's sessions go with it: user_sessions.username cascades.
  if (query(*this, sql_delete_user, context).int64(id).run() == 0)
    throw storage_error(errc::not_found, "user " + std::to_string(id) + " not found");
  insert_audit(audit, context);
  tx.commit();
}

void sqlite_store::record_login(std::int64_t id, timestamp_ms at) {
  std::string context = "record the login of user " + std::to_string(id);
  if (query(*this, sql_record_login, context).int64(id).int64(at).run() == 0)
    throw storage_error(errc::not_found, "user " + std::to_string(id) + " not found");
}

void sqlite_store::insert_session(const session_record& session, std::string_view context) {
  query(*this, sql_insert_session, context)
      .text(session.token_hash)
      .text(session.username)
      .text(to_string(session.user_role))
      .text(session.groups)
      .int64(session.created_at)
      .int64(session.last_activity)
      .int64(session.expires_at)
      .text(session.ip_address)
      .text(session.user_agent)
      .run();
}

void sqlite_store::create_session(const session_record& session, const audit_entry& audit) {
  std::string context = "create a session for '" + session.username + "'";
  transaction tx(*this, context);
  insert_session(session, context);
  insert_audit(audit, context);
  tx.commit();
}

std::vector<session_record> sqlite_store::load_sessions(timestamp_ms now) {
  query q(*this, sql_load_sessions, "load sessions");
  q.int64(now);
  std::vector<session_record> sessions;
  while (q.step()) {
    session_record session;
    session.token_hash = q.get_text(0);
    session.username = q.get_text(1);
    session.user_role = role_from_column(q.get_text(2));
    session.groups = q.get_text(3);
    session.created_at = q.get_int64(4);
    session.last_activity = q.get_int64(5);
    session.expires_at = q.get_int64(6);
    session.ip_address = q.get_text(7);
    session.user_agent = q.get_text(8);
    sessions.push_back(std::move(session));
  }
  return sessions;
}

void sqlite_store::delete_session(const std::string& token_hash, const audit_entry& audit) {
  constexpr std::string_view context = "delete a session";
  transaction tx(*this, context);
  // A logout racing the purge of the same expired session is no error: the session is gone.
  query(*this, sql_delete_session, context).text(token_hash).run();
  insert_audit(audit, context);
  tx.commit();
}

void sqlite_store::replace_session(const std::string& old_token_hash, const session_record& fresh,
                                   const audit_entry& audit) {
  std::string context = "refresh a session of '" + fresh.username + "'";
  transaction tx(*this, context);
  // A token that is no longer stored (logged out, purged) must not be refreshable.
  if (query(*this, sql_delete_session, context).text(old_token_hash).run() == 0)
    throw storage_error(errc::not_found, "the session to refresh does not exist");
  insert_session(fresh, context);
  insert_audit(audit, context);
  tx.commit();
}

void sqlite_store::touch_sessions(
    const std::vector<std::pair<std::string, timestamp_ms>>& activity) {
  if (activity.empty())
    return;
  constexpr std::string_view context = "record session activity";
  transaction tx(*this, context);
  for (const auto& [token_hash, at] : activity)
    query(*this, sql_touch_session, context).text(token_hash).int64(at).run();
  tx.commit();
}

std::int64_t sqlite_store::purge_expired_sessions(timestamp_ms now) {
  return query(*this, sql_purge_sessions, "purge expired sessions").int64(now).run();
}

std::vector<rtu_record> sqlite_store::list_rtus() {
  query q(*this, sql_list_rtus, "list RTUs");
  std::vector<rtu_record> rtus;
  while (q.step())
    rtus.push_back(q.get_rtu());
  return rtus;
}

std::optional<rtu_record> sqlite_store::find_rtu(std::string_view station_name) {
  query q(*this, sql_find_rtu, "find RTU");
  q.text(station_name);
  if (!q.step())
    return std::nullopt;
  return q.get_rtu();
}

std::optional<rtu_record> sqlite_store::rtu_by_id(std::int64_t id, std::string_view context) {
  query q(*this, sql_find_rtu_by_id, context);
  q.int64(id);
  if (!q.step())
    return std::nullopt;
  return q.get_rtu();
}

void sqlite_store::check_rtu_unique(const rtu_record& rtu, std::string_view context) {
  // The UNIQUE constraints stand behind these checks; the checks name the duplicate field.
  {
    query q(*this, sql_station_taken, context);
    q.text(rtu.station_name).int64(rtu.id);
    if (q.step() && q.get_int64(0) > 0)
      throw duplicate_station(context, rtu.station_name);
  }
  query q(*this, sql_endpoint_owner, context);
  q.text(rtu.ip_address).int64(rtu.port).int64(rtu.unit_id).int64(rtu.id);
  if (q.step())
    throw duplicate_endpoint(context, rtu, q.get_text(0));
}

rtu_record sqlite_store::create_rtu(const rtu_record& rtu, const audit_entry& audit) {
  std::string context = "create RTU '" + rtu.station_name + "'";
  transaction tx(*this, context);
  rtu_record candidate = rtu;
  candidate.id = 0;
  check_rtu_unique(candidate, context);
  rtu_record stored;
  {
    query q(*this, sql_insert_rtu, context);
    q.text(rtu.station_name)
        .text(rtu.ip_address)
        .int64(rtu.port)
        .int64(rtu.unit_id)
        .text(rtu.profile)
        .text(rtu.vendor_id)
        .text(rtu.device_id)
        .int64(rtu.slot_count)
        .int64(rtu.cycle_time_ms)
        .boolean(rtu.auto_connect)
        .text(to_string(rtu.state))
        .int64(rtu.state_since)
        .text(rtu.transition_reason)
        .text(rtu.last_error)
        .text(rtu.rtu_version)
        .boolean(rtu.version_mismatch)
        .int64(rtu.created_at)
        .int64(rtu.updated_at)
        .text(rtu.node);
    q.step();
    stored = q.get_rtu();
  }
  insert_audit(audit, context);
  tx.commit();
  return stored;
}

rtu_record sqlite_store::update_rtu(std::int64_t id, const rtu_update& update, timestamp_ms now,
                                    const audit_entry& audit) {
  std::string context = "update RTU " + std::to_string(id);
  transaction tx(*this, context);
  std::optional<rtu_record> current = rtu_by_id(id, context);
  if (!current)
    throw rtu_not_found(id);
  rtu_record wanted = apply_update(*current, update, now);
  check_rtu_unique(wanted, context);
  rtu_record stored;
  {
    query q(*this, sql_update_rtu, context);
    q.int64(id)
        .text(wanted.ip_address)
        .int64(wanted.port)
        .int64(wanted.unit_id)
        .text(wanted.profile)
        .text(wanted.vendor_id)
        .text(wanted.device_id)
        .int64(wanted.slot_count)
        .int64(wanted.cycle_time_ms)
        .int64(now)
        .text(wanted.node);
    q.step();
    stored = q.get_rtu();
  }
  insert_audit(audit, context);
  tx.commit();
  return stored;
}

void sqlite_store::delete_rtu(std::int64_t id, const audit_entry& audit) {
  std::string context = "delete RTU " + std::to_string(id);
  transaction tx(*this, context);
  // Slots, sensors, controls (and their samples) and diagnostics cascade.
  if (query(*this, sql_delete_rtu, context).int64(id).run() == 0)
    throw rtu_not_found(id);
  insert_audit(audit, context);
  tx.commit();
}

void sqlite_store::set_rtu_auto_connect(std::int64_t id, bool auto_connect,
                                        const audit_entry& audit) {
  std::string context = "set auto_connect of RTU " + std::to_string(id);
  transaction tx(*this, context);
  if (query(*this, sql_set_auto_connect, context).int64(id).boolean(auto_connect).run() == 0)
    throw rtu_not_found(id);
  insert_audit(audit, context);
  tx.commit();
}

void sqlite_store::insert_diagnostic(const diagnostic_record& diagnostic,
                                     std::string_view context) {
  std::int64_t inserted = query(*this, sql_insert_diagnostic, context)
                              .int64(diagnostic.rtu_id)
                              .int64(diagnostic.timestamp)
                              .text(diagnostic.level)
                              .text(diagnostic.source)
                              .text(diagnostic.message)
                              .text(diagnostic.details)
                              .run();
  if (inserted == 0)
    throw rtu_not_found(diagnostic.rtu_id);
}

void sqlite_store::record_rtu_transition(const rtu_transition& transition,
                                         const diagnostic_record& diagnostic) {
  std::string context = "record a state transition of RTU " + std::to_string(transition.rtu_id);
  diagnostic_record row = diagnostic_of(transition.rtu_id, diagnostic);
  transaction tx(*this, context);
  std::int64_t changed = query(*this, sql_record_transition, context)
                             .int64(transition.rtu_id)
                             .text(to_string(transition.state))
                             .int64(transition.since)
                             .text(transition.reason)
                             .text(transition.last_error)
                             .boolean(transition.clear_error)
                             .run();
  if (changed == 0)
    throw rtu_not_found(transition.rtu_id);
  insert_diagnostic(row, context);
  tx.commit();
}

void sqlite_store::apply_discovery(const discovery_result& found, timestamp_ms now,
                                   const diagnostic_record& diagnostic) {
  const std::int64_t rtu_id = found.rtu_id;
  std::string context = "apply the discovery of RTU " + std::to_string(rtu_id);
  diagnostic_record row = diagnostic_of(rtu_id, diagnostic);
  check_discovery(found);
  transaction tx(*this, context);
  std::int64_t identified = query(*this, sql_identify_rtu, context)
                                .int64(rtu_id)
                                .text(found.vendor_id)
                                .text(found.device_id)
                                .text(found.rtu_version)
                                .boolean(found.version_mismatch)
                                .int64(found.slot_count)
                                .int64(now)
                                .run();
  if (identified == 0)
    throw rtu_not_found(rtu_id);

  // Slots: the found ones upserted, the others PULLED (kept, with their points).
  std::map<std::int32_t, std::int64_t> slot_ids;  // slot number -> id
  for (const slot_record& slot : found.slots) {
    query q(*this, sql_upsert_slot, context);
    q.int64(rtu_id)
        .int64(slot.slot_number)
        .text(slot.module_id)
        .text(slot.module_type)
        .text(slot.status)
        .int64(now);
    q.step();
    slot_ids[slot.slot_number] = q.get_int64(0);
  }
  for (const slot_record& slot : list_slots(rtu_id)) {
    if (slot_ids.count(slot.slot_number) == 0)
      query(*this, sql_pull_slot, context).int64(slot.id).int64(now).run();
  }

  std::vector<existing_point> existing;
  for (const sensor_record& sensor : list_sensors(rtu_id))
    existing.push_back({sensor.id, true, sensor.slot_number, sensor.channel, sensor.tag, ""});
  for (const control_record& control : list_controls(rtu_id))
    existing.push_back({control.id, false, control.slot_number, control.channel, control.tag,
                        control.control_type});
  discovery_plan plan = plan_discovery(found, existing, [&](const std::string& tag) {
    query q(*this, sql_tag_uses, context);
    q.text(tag);
    q.step();
    return q.get_int64(0);
  });

  for (std::int64_t id : plan.delete_sensors)
    query(*this, sql_delete_sensor, context).int64(id).run();
  for (std::int64_t id : plan.delete_controls)
    query(*this, sql_delete_control, context).int64(id).run();
  for (const control_retype& retype : plan.retype_controls)
    query(*this, sql_retype_control, context)
        .int64(retype.id)
        .text(retype.control_type)
        .boolean(retype.has_range)
        .real(retype.min_value)
        .real(retype.max_value)
        .int64(now)
        .run();
  for (const sensor_record& sensor : plan.insert_sensors)
    query(*this, sql_insert_sensor, context)
        .int64(rtu_id)
        .int64(slot_ids.at(sensor.slot_number))
        .text(sensor.tag)
        .int64(sensor.channel)
        .text(sensor.sensor_type)
        .text(sensor.unit)
        .real(sensor.scale_min)
        .real(sensor.scale_max)
        .real(sensor.eng_min)
        .real(sensor.eng_max)
        .real(sensor.deadband)
        .int64(now)
        .run();
  for (const control_record& control : plan.insert_controls)
    query(*this, sql_insert_control, context)
        .int64(rtu_id)
        .int64(slot_ids.at(control.slot_number))
        .text(control.tag)
        .int64(control.channel)
        .text(control.control_type)
        .text(control.equipment_type)
        .boolean(control.has_range)
        .real(control.min_value)
        .real(control.max_value)
        .text(control.unit)
        .int64(now)
        .run();

  for (const std::string& warning : plan.warnings)
    insert_diagnostic({0, rtu_id, now, "WARNING", "DISCOVERY", warning, ""}, context);
  insert_diagnostic(row, context);
  tx.commit();
}

std::vector<slot_record> sqlite_store::list_slots(std::int64_t rtu_id) {
  query q(*this, sql_list_slots, "list slots");
  q.int64(rtu_id);
  std::vector<slot_record> slots;
  while (q.step())
    slots.push_back(q.get_slot());
  return slots;
}

std::vector<sensor_record> sqlite_store::list_sensors(std::int64_t rtu_id) {
  query q(*this, sql_list_sensors, "list sensors");
  q.int64(rtu_id);
  std::vector<sensor_record> sensors;
  while (q.step())
    sensors.push_back(q.get_sensor());
  return sensors;
}

std::vector<control_record> sqlite_store::list_controls(std::int64_t rtu_id) {
  query q(*this, sql_list_controls, "list controls");
  q.int64(rtu_id);
  std::vector<control_record> controls;
  while (q.step())
    controls.push_back(q.get_control());
  return controls;
}

void sqlite_store::update_sensor(const sensor_record& sensor, timestamp_ms now,
                                 const audit_entry& audit) {
  std::string context = "update sensor '" + sensor.tag + "'";
  transaction tx(*this, context);
  const auto changed = query(*this, sql_update_sensor, context)
                           .int64(sensor.id)
                           .text(sensor.sensor_type)
                           .text(sensor.unit)
                           .real(sensor.scale_min)
                           .real(sensor.scale_max)
                           .real(sensor.eng_min)
                           .real(sensor.eng_max)
                           .real(sensor.deadband)
                           .int64(now)
                           .run();
  if (changed == 0)
    throw sensor_not_found(sensor.id);
  insert_audit(audit, context);
  tx.commit();
}

std::vector<pid_loop_record> sqlite_store::list_pid_loops(std::string_view station) {
  query q(*this, sql_list_pid_loops, "list PID loops");
  q.text(station);
  std::vector<pid_loop_record> loops;
  while (q.step())
    loops.push_back(q.get_pid_loop());
  return loops;
}

std::optional<pid_loop_record> sqlite_store::get_pid_loop(std::int64_t id) {
  query q(*this, sql_find_pid_loop, "get PID loop");
  q.int64(id);
  if (!q.step())
    return std::nullopt;
  return q.get_pid_loop();
}

void sqlite_store::check_pid_references(const pid_loop_record& loop, bool existing,
                                        std::string_view context) {
  auto rtu_exists = [&](const std::string& station) {
    query q(*this, sql_rtu_exists, context);
    q.text(station);
    return q.step() && q.get_int64(0) > 0;
  };
  if (!rtu_exists(loop.input_rtu))
    throw pid_rtu_not_found(context, "input_rtu", loop.input_rtu);
  if (loop.output_rtu != loop.input_rtu && !rtu_exists(loop.output_rtu))
    throw pid_rtu_not_found(context, "output_rtu", loop.output_rtu);
  if (loop.cascade_from == 0)
    return;
  {
    query q(*this, sql_find_pid_loop, context);
    q.int64(loop.cascade_from);
    if (!q.step())
      throw storage_error(errc::not_found, std::string(context) + ": cascade_from: PID loop " +
                                               std::to_string(loop.cascade_from) + " not found");
  }
  if (!existing)
    return;  // nothing can cascade from a loop that does not exist yet
  query q(*this, sql_cascade_reaches, context);
  q.int64(loop.cascade_from).int64(loop.id);
  if (q.step() && q.get_int64(0) > 0)
    throw storage_error(errc::bad_request, std::string(context) + ": cascade_from " +
                                               std::to_string(loop.cascade_from) +
                                               " would make the loop its own cascade source");
}

/// Binds a loop's columns from name to cascade_from, in the order of sql_insert_pid_loop and
/// sql_update_pid_loop.
sqlite_store::query& sqlite_store::bind_pid_columns(query& q, const pid_loop_record& loop) {
  return q.text(loop.name)
      .boolean(loop.enabled)
      .text(loop.input_rtu)
      .int64(loop.input_slot)
      .text(loop.output_rtu)
      .int64(loop.output_slot)
      .real(loop.kp)
      .real(loop.ki)
      .real(loop.kd)
      .real(loop.setpoint)
      .real(loop.output_min)
      .real(loop.output_max)
      .real(loop.deadband)
      .real(loop.integral_limit)
      .real(loop.derivative_filter)
      .text(loop.mode)
      .int64(loop.scan_period_ms)
      .boolean(loop.has_output)
      .real(loop.output)
      .text(loop.on_bad_measurement)
      .real(loop.safe_output)
      .int64(loop.cascade_from);
}

pid_loop_record sqlite_store::create_pid_loop(const pid_loop_record& loop,
                                              const audit_entry& audit) {
  std::string context = "create PID loop '" + loop.name + "'";
  check_pid_loop(context, loop);
  transaction tx(*this, context);
  check_pid_references(loop, false, context);
  pid_loop_record stored;
  {
    query q(*this, sql_insert_pid_loop, context);
    bind_pid_columns(q, loop).int64(loop.created_at).int64(loop.updated_at);
    q.step();
    stored = q.get_pid_loop();
  }
  insert_audit(audit, context);
  tx.commit();
  return stored;
}

pid_loop_record sqlite_store::update_pid_loop(const pid_loop_record& loop, timestamp_ms now,
                                              const audit_entry& audit) {
  std::string context = "update PID loop " + std::to_string(loop.id);
  check_pid_loop(context, loop);
  transaction tx(*this, context);
  {
    query q(*this, sql_find_pid_loop, context);
    q.int64(loop.id);
    if (!q.step())
      throw pid_loop_not_found(loop.id);
  }
  check_pid_references(loop, true, context);
  pid_loop_record stored;
  {
    query q(*this, sql_update_pid_loop, context);
    bind_pid_columns(q.int64(loop.id), loop).int64(now);
    q.step();
    stored = q.get_pid_loop();
  }
  insert_audit(audit, context);
  tx.commit();
  return stored;
}

void sqlite_store::delete_pid_loop(std::int64_t id, const audit_entry& audit) {
  std::string context = "delete PID loop " + std::to_string(id);
  transaction tx(*this, context);
  // The foreign key (ON DELETE RESTRICT) stands behind this check; the check names the loops.
  {
    query q(*this, sql_cascade_children, context);
    q.int64(id);
    std::string inner;
    while (q.step())
      inner += (inner.empty() ? "" : ", ") + std::to_string(q.get_int64(0)) + " ('" +
               q.get_text(1) + "')";
    if (!inner.empty())
      throw storage_error(errc::conflict,
                          context + ": it is the cascade_from of PID loop(s) " + inner);
  }
  if (query(*this, sql_delete_pid_loop, context).int64(id).run() == 0)
    throw pid_loop_not_found(id);
  insert_audit(audit, context);
  tx.commit();
}

void sqlite_store::replace_pid_loops(const std::vector<pid_loop_record>& loops,
                                     const audit_entry& audit) {
  std::string context = "replace every PID loop (" + std::to_string(loops.size()) + " given)";
  check_pid_loop_set(context, loops);
  transaction tx(*this, context);
  query(*this, sql_clear_pid_cascades, context).run();
  query(*this, sql_delete_pid_loops, context).run();
  // AUTOINCREMENT: sqlite_sequence follows the highest id inserted, so that a later
  // create_pid_loop gets a fresh one.
  for (const pid_loop_record& loop : loops) {
    pid_loop_record without_cascade = loop;
    without_cascade.cascade_from = 0;
    query q(*this, sql_insert_pid_loop_with_id, context);
    bind_pid_columns(q.int64(loop.id), without_cascade)
        .int64(loop.created_at)
        .int64(loop.updated_at);
    q.run();
  }
  for (const pid_loop_record& loop : loops)
    if (loop.cascade_from != 0)
      query(*this, sql_set_pid_cascade, context).int64(loop.id).int64(loop.cascade_from).run();
  insert_audit(audit, context);
  tx.commit();
}

bool sqlite_store::save_pid_output(std::int64_t id, double output, double setpoint,
                                   std::string_view mode) {
  std::string context = "save the output of PID loop " + std::to_string(id);
  check_pid_output(context, output, setpoint);
  // One statement in autocommit; only a refusal or "unchanged" takes a second look.
  if (query(*this, sql_save_pid_output, context)
          .int64(id)
          .real(output)
          .real(setpoint)
          .text(mode)
          .run() > 0)
    return true;
  query q(*this, sql_pid_loop_has_source, context);
  q.int64(id);
  if (!q.step())
    throw pid_loop_not_found(id);
  if (mode == "CASCADE" && !q.get_bool(0))
    throw storage_error(errc::bad_request,
                        context + ": mode CASCADE needs a cascade_from loop, and it has none");
  return false;
}

std::size_t sqlite_store::save_pid_outputs(const std::vector<pid_runtime>& states) {
  if (states.empty())
    return 0;
  for (const pid_runtime& state : states)
    check_pid_output("save the output of PID loop " + std::to_string(state.loop_id), state.output,
                     state.setpoint);
  std::string context = "save the outputs of " + std::to_string(states.size()) + " PID loops";
  transaction tx(*this, context);
  std::size_t changed = 0;
  // A row the statement leaves alone (unchanged, missing, CASCADE without a source) is skipped:
  // no second look.
  for (const pid_runtime& state : states)
    changed += static_cast<std::size_t>(query(*this, sql_save_pid_output, context)
                                            .int64(state.loop_id)
                                            .real(state.output)
                                            .real(state.setpoint)
                                            .text(state.mode)
                                            .run());
  tx.commit();
  return changed;
}

std::vector<alarm_rule_record> sqlite_store::list_alarm_rules() {
  query q(*this, sql_list_alarm_rules, "list alarm rules");
  std::vector<alarm_rule_record> rules;
  while (q.step())
    rules.push_back(q.get_alarm_rule());
  return rules;
}

std::optional<alarm_rule_record> sqlite_store::get_alarm_rule(std::int64_t id) {
  query q(*this, sql_find_alarm_rule, "get alarm rule");
  q.int64(id);
  if (!q.step())
    return std::nullopt;
  return q.get_alarm_rule();
}

/// Binds a rule's columns from name to deadband, in the order of sql_insert_alarm_rule and
/// sql_update_alarm_rule.
sqlite_store::query& sqlite_store::bind_alarm_rule_columns(query& q,
                                                           const alarm_rule_record& rule) {
  return q.text(rule.name)
      .text(rule.rtu_station)
      .int64(rule.slot)
      .text(rule.condition)
      .real(rule.threshold)
      .text(rule.severity)
      .int64(rule.delay_ms)
      .text(rule.message)
      .boolean(rule.enabled)
      .boolean(rule.has_deadband)
      .real(rule.deadband);
}

alarm_rule_record sqlite_store::create_alarm_rule(const alarm_rule_record& rule,
                                                  const audit_entry& audit) {
  std::string context = "create alarm rule '" + rule.name + "'";
  check_alarm_rule(context, rule);
  transaction tx(*this, context);
  alarm_rule_record stored;
  {
    query q(*this, sql_insert_alarm_rule, context);
    bind_alarm_rule_columns(q, rule).int64(rule.created_at).int64(rule.updated_at);
    q.step();
    stored = q.get_alarm_rule();
  }
  insert_audit(audit, context);
  tx.commit();
  return stored;
}

alarm_rule_record sqlite_store::update_alarm_rule(const alarm_rule_record& rule, timestamp_ms now,
                                                  const audit_entry& audit) {
  std::string context = "update alarm rule " + std::to_string(rule.id);
  check_alarm_rule(context, rule);
  transaction tx(*this, context);
  alarm_rule_record stored;
  {
    query q(*this, sql_update_alarm_rule, context);
    bind_alarm_rule_columns(q.int64(rule.id), rule).int64(now);
    if (!q.step())
      throw alarm_rule_not_found(rule.id);
    stored = q.get_alarm_rule();
  }
  insert_audit(audit, context);
  tx.commit();
  return stored;
}

void sqlite_store::delete_alarm_rule(std::int64_t id, const audit_entry& audit) {
  std::string context = "delete alarm rule " + std::to_string(id);
  transaction tx(*this, context);
  if (query(*this, sql_delete_alarm_rule, context).int64(id).run() == 0)
    throw alarm_rule_not_found(id);
  insert_audit(audit, context);
  tx.commit();
}

std::vector<slot_config_record> sqlite_store::list_slot_configs() {
  query q(*this, sql_list_slot_configs, "list slot configs");
  std::vector<slot_config_record> configs;
  while (q.step())
    configs.push_back(q.get_slot_config());
  return configs;
}

/// Binds a slot config's columns in the order of sql_upsert_slot_config.
sqlite_store::query& sqlite_store::bind_slot_config_columns(query& q,
                                                            const slot_config_record& config) {
  return q.text(config.rtu_station)
      .int64(config.slot)
      .int64(config.subslot)
      .text(config.slot_type)
      .text(config.name)
      .text(config.unit)
      .text(config.measurement_type)
      .text(config.actuator_type)
      .real(config.scale_min)
      .real(config.scale_max)
      .boolean(config.has_alarm_low_low)
      .real(config.alarm_low_low)
      .boolean(config.has_alarm_low)
      .real(config.alarm_low)
      .boolean(config.has_warning_low)
      .real(config.warning_low)
      .boolean(config.has_warning_high)
      .real(config.warning_high)
      .boolean(config.has_alarm_high)
      .real(config.alarm_high)
      .boolean(config.has_alarm_high_high)
      .real(config.alarm_high_high)
      .real(config.deadband)
      .boolean(config.enabled)
      .int64(config.created_at);
}

slot_config_record sqlite_store::save_slot_config(const slot_config_record& config,
                                                  const audit_entry& audit) {
  std::string context =
      "save the slot config of " + config.rtu_station + " slot " + std::to_string(config.slot);
  check_slot_config(context, config);
  transaction tx(*this, context);
  slot_config_record stored;
  {
    query q(*this, sql_upsert_slot_config, context);
    bind_slot_config_columns(q, config);
    q.step();
    stored = q.get_slot_config();
  }
  insert_audit(audit, context);
  tx.commit();
  return stored;
}

alarm_restore sqlite_store::load_alarm_state() {
  constexpr std::string_view context = "load the alarm state";
  transaction tx(*this, context, transaction::mode::read);
  alarm_restore restore;
  {
    query q(*this, sql_list_alarm_rules, context);
    while (q.step())
      restore.rules.push_back(q.get_alarm_rule());
  }
  {
    query q(*this, sql_list_slot_configs, context);
    while (q.step())
      restore.slot_configs.push_back(q.get_slot_config());
  }
  {
    query q(*this, sql_open_maintenance_by_id, context);
    while (q.step())
      restore.open_windows.push_back(q.get_maintenance());
  }
  {
    query q(*this, sql_active_shelves, context);
    while (q.step())
      restore.active_shelves.push_back(q.get_shelf());
  }
  {
    query q(*this, sql_listed_alarm_events, context);
    while (q.step())
      restore.listed_events.push_back(q.get_alarm_event());
  }
  {
    query q(*this, sql_next_alarm_ids, context);
    q.step();
    restore.next_event_id = q.get_int64(0);
    restore.next_shelf_id = q.get_int64(1);
    restore.next_window_id = q.get_int64(2);
  }
  tx.commit();
  return restore;
}

void sqlite_store::save_alarm_state(const alarm_state_batch& batch) {
  if (batch.events.empty() && batch.shelves.empty() && batch.windows.empty() &&
      batch.audits.empty())
    return;
  std::string context = "save the alarm state (" + std::to_string(batch.events.size()) +
                        " events, " + std::to_string(batch.shelves.size()) + " shelves, " +
                        std::to_string(batch.windows.size()) + " maintenance windows)";
  check_alarm_state(context, batch);
  transaction tx(*this, context);
  for (const alarm_event_record& event : batch.events)
    query(*this, sql_upsert_alarm_event, context)
        .int64(event.id)
        .int64(event.alarm_rule_id)
        .int64(event.source_rule_id)
        .text(event.origin)
        .text(event.rtu_station)
        .int64(event.slot)
        .text(event.state)
        .text(event.severity)
        .boolean(event.has_value)
        .real(event.value_at_activation)
        .text(event.message)
        .int64(event.activated_at)
        .int64(event.acknowledged_at)
        .text(event.acknowledged_by)
        .int64(event.cleared_at)
        .text(event.note)
        .boolean(event.listed)
        .text(event.suppressed_by)
        .run();
  for (const alarm_shelf_record& shelf : batch.shelves)
    query(*this, sql_upsert_shelf, context)
        .int64(shelf.id)
        .text(shelf.rtu_station)
        .int64(shelf.slot)
        .int64(shelf.alarm_rule_id)
        .text(shelf.shelved_by)
        .int64(shelf.shelved_at)
        .int64(shelf.shelf_duration_minutes)
        .int64(shelf.expires_at)
        .text(shelf.reason)
        .boolean(shelf.active)
        .run();
  for (const maintenance_record& window : batch.windows)
    query(*this, sql_upsert_maintenance, context)
        .int64(window.id)
        .text(window.rtu_station)
        .int64(window.slot)
        .text(window.scheduled_by)
        .int64(window.scheduled_at)
        .int64(window.start_time)
        .int64(window.end_time)
        .text(window.reason)
        .text(window.work_order)
        .text(window.status)
        .int64(window.activated_at)
        .int64(window.completed_at)
        .text(window.cancelled_by)
        .int64(window.cancelled_at)
        .run();
  for (const audit_entry& audit : batch.audits)
    insert_audit(audit, context);
  tx.commit();
}

std::vector<alarm_event_record> sqlite_store::query_alarm_history(
    const alarm_history_filter& filter) {
  query q(*this, sql_alarm_history, "query the alarm history");
  q.int64(filter.start)
      .int64(filter.end)
      .text(filter.severity)
      .text(filter.rtu_station)
      .int64(history_limit(filter));
  std::vector<alarm_event_record> events;
  while (q.step())
    events.push_back(q.get_alarm_event());
  return events;
}

std::vector<alarm_shelf_record> sqlite_store::list_shelves(bool active_only) {
  query q(*this, sql_list_shelves, "list shelved alarms");
  q.boolean(active_only);
  std::vector<alarm_shelf_record> shelves;
  while (q.step())
    shelves.push_back(q.get_shelf());
  return shelves;
}

std::vector<maintenance_record> sqlite_store::list_maintenance(bool open_only) {
  query q(*this, sql_list_maintenance, "list maintenance windows");
  q.boolean(open_only);
  std::vector<maintenance_record> windows;
  while (q.step())
    windows.push_back(q.get_maintenance());
  return windows;
}

std::int64_t sqlite_store::count_annunciated_alarms(timestamp_ms since) {
  query q(*this, sql_count_annunciated, "count annunciated alarms");
  q.int64(since);
  q.step();
  return q.get_int64(0);
}

std::vector<historian_tag_record> sqlite_store::list_historian_tags() {
  query q(*this, sql_list_historian_tags, "list historian tags");
  std::vector<historian_tag_record> tags;
  while (q.step())
    tags.push_back(q.get_historian_tag());
  return tags;
}

std::optional<historian_tag_record> sqlite_store::get_historian_tag(std::int64_t id) {
  query q(*this, sql_find_historian_tag, "get historian tag");
  q.int64(id);
  if (!q.step())
    return std::nullopt;
  return q.get_historian_tag();
}

/// Binds a tag's columns from rtu_station to enabled, in the order of sql_insert_historian_tag and
/// sql_update_historian_tag.
sqlite_store::query& sqlite_store::bind_historian_tag_columns(query& q,
                                                              const historian_tag_record& tag) {
  return q.text(tag.rtu_station)
      .int64(tag.slot)
      .text(tag.tag_name)
      .text(tag.unit)
      .int64(tag.sample_rate_ms)
      .real(tag.deadband)
      .text(tag.compression)
      .int64(tag.max_interval_ms)
      .boolean(tag.enabled);
}

historian_tag_record sqlite_store::create_historian_tag(const historian_tag_record& tag,
                                                        const audit_entry& audit) {
  std::string context = "create historian tag '" + tag.tag_name + "'";
  check_historian_tag(context, tag);
  transaction tx(*this, context);
  historian_tag_record stored;
  {
    query q(*this, sql_insert_historian_tag, context);
    bind_historian_tag_columns(q, tag).int64(tag.created_at).int64(tag.updated_at);
    q.step();
    stored = q.get_historian_tag();
  }
  insert_audit(audit, context);
  tx.commit();
  return stored;
}

historian_tag_record sqlite_store::update_historian_tag(const historian_tag_record& tag,
                                                        timestamp_ms now,
                                                        const audit_entry& audit) {
  std::string context = "update historian tag " + std::to_string(tag.id);
  check_historian_tag(context, tag);
  transaction tx(*this, context);
  historian_tag_record stored;
  {
    query q(*this, sql_update_historian_tag, context);
    bind_historian_tag_columns(q.int64(tag.id), tag).int64(now);
    if (!q.step())
      throw historian_tag_not_found(tag.id);
    stored = q.get_historian_tag();
  }
  insert_audit(audit, context);
  tx.commit();
  return stored;
}

void sqlite_store::delete_historian_tag(std::int64_t id, const audit_entry& audit) {
  std::string context = "delete historian tag " + std::to_string(id);
  transaction tx(*this, context);
  if (query(*this, sql_delete_historian_tag, context).int64(id).run() == 0)
    throw historian_tag_not_found(id);
  query(*this, sql_delete_historian_tag_samples, context).int64(id).run();
  insert_audit(audit, context);
  tx.commit();
}

void sqlite_store::append_historian(const historian_batch& batch) {
  if (batch.points.empty() && batch.rollups.empty())
    return;
  std::string context = "append to the historian (" + std::to_string(batch.points.size()) +
                        " points, " + std::to_string(batch.rollups.size()) + " rollups)";
  check_historian_batch(context, batch);
  transaction tx(*this, context);
  for (std::int64_t tag_id : historian_batch_tags(batch)) {
    query q(*this, sql_historian_tag_exists, context);
    q.int64(tag_id).step();
    if (q.get_int64(0) == 0)
      throw storage_error(errc::not_found,
                          context + ": historian tag " + std::to_string(tag_id) + " not found");
  }
  // The hot loop binds the cached statements directly: a query per point would look the statement
  // up by its text each time.
  sqlite3_stmt* insert = prepared(sql_insert_historian_point, context);
  sqlite3_stmt* replace = prepared(sql_replace_historian_point, context);
  auto write = [&](sqlite3_stmt* stmt, const historian_point& point) {
    sqlite3_bind_int64(stmt, 1, point.tag_id);
    sqlite3_bind_int64(stmt, 2, point.timestamp);
    sqlite3_bind_double(stmt, 3, point.value);
    sqlite3_bind_int(stmt, 4, point.quality);
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE)
      fail(rc, context);
  };
  // Sample rows added per tag, counted in runs (a batch comes sorted by tag: one run each).
  std::vector<std::pair<std::int64_t, std::int64_t>> added;
  for (const historian_point& point : batch.points) {
    write(insert, point);
    if (sqlite3_changes(db_.get()) == 0) {
      write(replace, point);
      continue;
    }
    if (added.empty() || added.back().first != point.tag_id)
      added.emplace_back(point.tag_id, 0);
    ++added.back().second;
  }
  // Per tag: sample rows and rollup rows added.
  std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> counts;
  for (const auto& [tag_id, rows] : added)
    counts[tag_id].first += rows;
  for (const historian_rollup_row& row : batch.rollups) {
    query stored(*this, sql_historian_rollup_stored, context);
    stored.int64(row.tag_id).int64(row.width_ms).int64(row.bucket_start).step();
    if (stored.get_int64(0) == 0)
      ++counts[row.tag_id].second;
    query(*this, sql_upsert_historian_rollup, context)
        .int64(row.tag_id)
        .int64(row.width_ms)
        .int64(row.bucket_start)
        .int64(row.count)
        .int64(row.uncertain)
        .int64(row.bad)
        .real(row.sum)
        .real(row.min)
        .real(row.max)
        .real(row.first)
        .real(row.last)
        .int64(row.first_time)
        .int64(row.last_time)
        .run();
  }
  for (const auto& [tag_id, rows] : counts)
    query(*this, sql_add_historian_rows, context)
        .int64(tag_id)
        .int64(rows.first)
        .int64(rows.second)
        .run();
  tx.commit();
}

std::vector<historian_point> sqlite_store::query_historian(const historian_filter& filter) {
  query q(*this, sql_query_historian, "query the historian");
  q.int64(filter.tag_id).int64(filter.start).int64(filter.end).int64(historian_limit(filter));
  std::vector<historian_point> points;
  while (q.step())
    points.push_back(q.get_historian_point());
  return points;
}

namespace {

// core::rollup::merge on the stored form (storage does not depend on core): `later` counted as
// having come after `into`.
void merge_rollup_row(historian_rollup_row& into, const historian_rollup_row& later) {
  into.bad += later.bad;
  if (later.count == 0)
    return;
  if (into.count == 0 || later.first_time < into.first_time) {
    into.first = later.first;
    into.first_time = later.first_time;
  }
  if (into.count == 0 || later.last_time >= into.last_time) {
    into.last = later.last;
    into.last_time = later.last_time;
  }
  into.count += later.count;
  into.uncertain += later.uncertain;
  into.sum += later.sum;
  into.min = std::min(into.min, later.min);
  into.max = std::max(into.max, later.max);
}

}  // namespace

std::vector<historian_rollup_row> sqlite_store::query_historian_rollups(
    const historian_filter& filter) {
  constexpr std::string_view context = "query the historian's rollups";
  check_historian_grouping(context, filter);
  std::vector<historian_rollup_row> rows;
  if (filter.group_ms == 0) {
    query q(*this, sql_query_historian_rollups, context);
    q.int64(filter.tag_id)
        .int64(filter.width_ms)
        .int64(filter.start)
        .int64(filter.end)
        .int64(historian_limit(filter));
    while (q.step())
      rows.push_back(q.get_historian_rollup());
    return rows;
  }
  // SQLite merges in the program: its rows cost no transfer or parsing, and the same merge in
  // SQL (a window to pick first and last, then a GROUP BY) took ten times longer than reading
  // them (a year at 1 h: 70 ms against 7).
  query q(*this, sql_query_historian_rollups_all, context);
  q.int64(filter.tag_id).int64(filter.width_ms).int64(filter.start).int64(filter.end);
  const std::int64_t limit = historian_limit(filter);
  timestamp_ms group = 0;
  while (q.step()) {
    const historian_rollup_row row = q.get_historian_rollup();
    const timestamp_ms g =
        row.bucket_start -
        ((row.bucket_start % filter.group_ms) + filter.group_ms) % filter.group_ms;
    if (rows.empty() || g != group) {
      if (static_cast<std::int64_t>(rows.size()) == limit)
        break;
      group = g;
      historian_rollup_row first;  // empty: merged into, as core::rollup::merge starts
      first.tag_id = row.tag_id;
      first.width_ms = row.width_ms;
      first.bucket_start = row.bucket_start;
      first.min = std::numeric_limits<double>::infinity();
      first.max = -std::numeric_limits<double>::infinity();
      rows.push_back(first);
    }
    merge_rollup_row(rows.back(), row);
  }
  return rows;
}

std::optional<historian_point> sqlite_store::historian_point_before(std::int64_t tag_id,
                                                                    timestamp_ms before,
                                                                    std::int64_t max_age_ms) {
  query q(*this, sql_historian_point_before, "find the historian point before a time");
  q.int64(tag_id).int64(before).int64(before - max_age_ms);
  if (!q.step())
    return std::nullopt;
  return q.get_historian_point();
}

std::vector<historian_rollup_row> sqlite_store::get_historian_rollups(
    const std::vector<historian_rollup_key>& keys) {
  constexpr std::string_view context = "read historian rollups";
  transaction tx(*this, context, transaction::mode::read);
  std::vector<historian_rollup_row> rows;
  for (const historian_rollup_key& key : keys) {
    query q(*this, sql_find_historian_rollup, context);
    q.int64(key.tag_id).int64(key.width_ms).int64(key.bucket_start);
    if (q.step())
      rows.push_back(q.get_historian_rollup());
  }
  tx.commit();
  return rows;
}

std::int64_t sqlite_store::purge_historian(timestamp_ms samples_before,
                                           timestamp_ms rollups_before) {
  constexpr std::string_view context = "purge the historian";
  transaction tx(*this, context);
  std::vector<std::int64_t> tags;
  {
    query q(*this, sql_historian_tag_ids, context);
    while (q.step())
      tags.push_back(q.get_int64(0));
  }
  std::int64_t deleted = 0;
  for (std::int64_t tag_id : tags) {
    const std::int64_t samples = query(*this, sql_purge_historian_tag_samples, context)
                                     .int64(tag_id)
                                     .int64(samples_before)
                                     .run();
    const std::int64_t rollups = rollups_before == 0
                                     ? 0
                                     : query(*this, sql_purge_historian_tag_rollups, context)
                                           .int64(tag_id)
                                           .int64(rollups_before)
                                           .run();
    if (samples > 0 || rollups > 0)
      query(*this, sql_remove_historian_rows, context)
          .int64(tag_id)
          .int64(samples)
          .int64(rollups)
          .run();
    deleted += samples + rollups;
  }
  tx.commit();
  return deleted;
}

historian_stats sqlite_store::historian_statistics() {
  constexpr std::string_view context = "read the historian's statistics";
  transaction tx(*this, context, transaction::mode::read);
  historian_stats stats;
  {
    query q(*this, sql_historian_tag_counts, context);
    while (q.step()) {
      historian_tag_count tag{q.get_int64(0), q.get_int64(1), q.get_int64(2), q.get_int64(3)};
      stats.sample_rows += tag.rows;
      stats.oldest = stats.per_tag.empty() ? tag.oldest : std::min(stats.oldest, tag.oldest);
      stats.newest = stats.per_tag.empty() ? tag.newest : std::max(stats.newest, tag.newest);
      stats.per_tag.push_back(tag);
    }
  }
  {
    query q(*this, sql_count_historian_rollups, context);
    q.step();
    stats.rollup_rows = q.get_int64(0);
  }
  {
    query q(*this, sql_database_bytes, context);
    q.step();
    stats.bytes = q.get_int64(0);
  }
  tx.commit();
  return stats;
}

void sqlite_store::append_diagnostic(const diagnostic_record& diagnostic) {
  insert_diagnostic(diagnostic, "append a diagnostic of RTU " + std::to_string(diagnostic.rtu_id));
}

paged<diagnostic_record> sqlite_store::list_diagnostics(std::int64_t rtu_id, const page& window) {
  check_window(window);
  constexpr std::string_view context = "list diagnostics";
  transaction tx(*this, context, transaction::mode::read);
  paged<diagnostic_record> result;
  {
    query q(*this, sql_list_diagnostics, context);
    q.int64(rtu_id).int64(window.limit).int64(window.skip);
    while (q.step())
      result.items.push_back(q.get_diagnostic());
  }
  {
    query q(*this, sql_count_diagnostics, context);
    q.int64(rtu_id);
    q.step();
    result.total = q.get_int64(0);
  }
  tx.commit();
  return result;
}

void sqlite_store::insert_audit(const audit_entry& entry, std::string_view context) {
  query(*this, sql_insert_audit, context)
      .int64(entry.timestamp)
      .text(entry.user)
      .text(entry.action)
      .text(entry.resource_type)
      .text(entry.resource_id)
      .text(entry.details)
      .text(entry.ip_address)
      .run();
}

void sqlite_store::append_audit(const audit_entry& entry) {
  insert_audit(entry, "append to the audit log");
}

paged<audit_entry> sqlite_store::query_audit(const audit_filter& filter) {
  check_window(filter.window);
  constexpr std::string_view context = "query the audit log";
  transaction tx(*this, context, transaction::mode::read);
  paged<audit_entry> result;
  {
    query q(*this, sql_query_audit, context);
    q.text(filter.user)
        .text(filter.action)
        .text(filter.resource_type)
        .text(filter.resource_id)
        .int64(filter.start)
        .int64(filter.end)
        .int64(filter.window.limit)
        .int64(filter.window.skip);
    while (q.step()) {
      audit_entry entry;
      entry.id = q.get_int64(0);
      entry.timestamp = q.get_int64(1);
      entry.user = q.get_text(2);
      entry.action = q.get_text(3);
      entry.resource_type = q.get_text(4);
      entry.resource_id = q.get_text(5);
      entry.details = q.get_text(6);
      entry.ip_address = q.get_text(7);
      result.items.push_back(std::move(entry));
    }
  }
  {
    query q(*this, sql_count_audit, context);
    q.text(filter.user)
        .text(filter.action)
        .text(filter.resource_type)
        .text(filter.resource_id)
        .int64(filter.start)
        .int64(filter.end);
    q.step();
    result.total = q.get_int64(0);
  }
  tx.commit();
  return result;
}

}  // namespace wtc::storage
