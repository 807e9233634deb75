#include "storage/postgres_store.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>
#include <tuple>

#include <pqxx/pqxx>

#include "storage/columns.hpp"
#include "storage/discovery_plan.hpp"
#include "storage/migrations.hpp"

namespace wtc::storage {

namespace {

// Every statement of the backend, registered on each new connection. libpqxx 6 prepares a
// statement on the server at its first execution, so registering those that name tables before
// migrate() has created them is harmless. Timestamps cross the boundary as milliseconds through
// wtc_ms_to_ts() and wtc_ts_to_ms() (migration 0001).
struct statement {
  const char* name;
  const char* sql;
};

constexpr statement ping_stmt{"ping", "SELECT 1"};
constexpr statement schema_version_exists{"schema_version_exists",
                                          "SELECT to_regclass('schema_version') IS NOT NULL"};
constexpr statement read_schema_version{"read_schema_version",
                                        "SELECT coalesce(max(version), 0) FROM schema_version"};
constexpr statement insert_schema_version{
    "insert_schema_version",
    "INSERT INTO schema_version (version, applied_at, description) "
    "VALUES ($1, wtc_ms_to_ts($2), $3)"};
// Serialises the migrations of processes starting together: the key is arbitrary but fixed.
constexpr statement lock_migrations{"lock_migrations", "SELECT pg_advisory_xact_lock(2317001)"};
// Not prepared with the others: the second names a view that exists only with TimescaleDB.
constexpr const char* timescale_installed =
    "SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'";
constexpr const char* historian_is_hypertable =
    "SELECT count(*) FROM timescaledb_information.hypertables "
    "WHERE hypertable_name = 'historian_samples'";

constexpr statement find_user_stmt{
    "find_user",
    "SELECT id, username, password_hash, role, active, sync_to_rtus, wtc_ts_to_ms(created_at), "
    "wtc_ts_to_ms(updated_at), wtc_ts_to_ms(last_login) FROM users WHERE username = $1"};
constexpr statement find_user_by_id_stmt{
    "find_user_by_id",
    "SELECT id, username, password_hash, role, active, sync_to_rtus, wtc_ts_to_ms(created_at), "
    "wtc_ts_to_ms(updated_at), wtc_ts_to_ms(last_login) FROM users WHERE id = $1"};
constexpr statement list_users_stmt{
    "list_users",
    "SELECT id, username, password_hash, role, active, sync_to_rtus, wtc_ts_to_ms(created_at), "
    "wtc_ts_to_ms(updated_at), wtc_ts_to_ms(last_login) FROM users ORDER BY id "
    "LIMIT $1 OFFSET $2"};
constexpr statement count_users_stmt{"count_users", "SELECT count(*) FROM users"};
constexpr statement count_system_stmt{
    "count_system",
    "SELECT (SELECT count(*) FROM rtus), (SELECT count(*) FROM rtus WHERE state = 'RUNNING'), "
    "(SELECT count(*) FROM alarm_events WHERE state <> 'CLEARED')"};
constexpr statement insert_user{
    "insert_user",
    "INSERT INTO users (username, password_hash, role, active, sync_to_rtus, created_at, "
    "updated_at, last_login) VALUES ($1, $2, $3, $4, $5, wtc_ms_to_ts($6), wtc_ms_to_ts($7), "
    "wtc_ms_to_ts(NULLIF($8::bigint, 0))) RETURNING id, username, password_hash, role, active, "
    "sync_to_rtus, wtc_ts_to_ms(created_at), wtc_ts_to_ms(updated_at), wtc_ts_to_ms(last_login)"};
constexpr statement update_user_stmt{
    "update_user",
    "UPDATE users SET role = CASE WHEN $2::boolean THEN $3::varchar ELSE role END, "
    "active = CASE WHEN $4::boolean THEN $5::boolean ELSE active END, "
    "sync_to_rtus = CASE WHEN $6::boolean THEN $7::boolean ELSE sync_to_rtus END, "
    "updated_at = wtc_ms_to_ts($8) WHERE id = $1 RETURNING id, username, password_hash, role, "
    "active, sync_to_rtus, wtc_ts_to_ms(created_at), wtc_ts_to_ms(updated_at), "
    "wtc_ts_to_ms(last_login)"};
constexpr statement set_password_stmt{
    "set_password",
    "UPDATE users SET password_hash = $2, updated_at = wtc_ms_to_ts($3) WHERE id = $1 "
    "RETURNING username"};
constexpr statement delete_user_stmt{"delete_user", "DELETE FROM users WHERE id = $1"};
constexpr statement record_login_stmt{
    "record_login", "UPDATE users SET last_login = wtc_ms_to_ts($2) WHERE id = $1"};

constexpr statement insert_session{
    "insert_session",
    "INSERT INTO user_sessions (token, username, role, groups, created_at, last_activity, "
    "expires_at, ip_address, user_agent) VALUES ($1, $2, $3, NULLIF($4, ''), wtc_ms_to_ts($5), "
    "wtc_ms_to_ts($6), wtc_ms_to_ts($7), NULLIF($8, ''), NULLIF($9, ''))"};
constexpr statement load_sessions_stmt{
    "load_sessions",
    "SELECT token, username, role, groups, wtc_ts_to_ms(created_at), "
    "wtc_ts_to_ms(last_activity), wtc_ts_to_ms(expires_at), ip_address, user_agent "
    "FROM user_sessions WHERE expires_at > wtc_ms_to_ts($1) ORDER BY created_at, token"};
constexpr statement delete_session_stmt{"delete_session",
                                        "DELETE FROM user_sessions WHERE token = $1"};
constexpr statement delete_user_sessions{"delete_user_sessions",
                                         "DELETE FROM user_sessions WHERE username = $1"};
constexpr statement update_session_roles{"update_session_roles",
                                         "UPDATE user_sessions SET role = $2 WHERE username = $1"};
constexpr statement touch_session{
    "touch_session", "UPDATE user_sessions SET last_activity = wtc_ms_to_ts($2) WHERE token = $1"};
// The complement of load_sessions: a session is either loaded or purged, never both or neither.
constexpr statement purge_sessions{
    "purge_sessions", "DELETE FROM user_sessions WHERE expires_at <= wtc_ms_to_ts($1)"};

constexpr statement insert_audit{
    "insert_audit",
    "INSERT INTO audit_log (timestamp, \"user\", action, resource_type, resource_id, details, "
    "ip_address) VALUES (wtc_ms_to_ts($1), NULLIF($2, ''), $3, NULLIF($4, ''), NULLIF($5, ''), "
    "NULLIF($6, ''), NULLIF($7, ''))"};
// One statement for every combination of filters: an empty string or a zero time filters nothing.
constexpr statement query_audit_stmt{
    "query_audit",
    "SELECT id, wtc_ts_to_ms(timestamp), \"user\", action, resource_type, resource_id, details, "
    "ip_address FROM audit_log WHERE ($1::text = '' OR \"user\" = $1) "
    "AND ($2::text = '' OR action = $2) AND ($3::text = '' OR resource_type = $3) "
    "AND ($4::text = '' OR resource_id = $4) "
    "AND ($5::bigint = 0 OR timestamp >= wtc_ms_to_ts($5)) "
    "AND ($6::bigint = 0 OR timestamp <= wtc_ms_to_ts($6)) "
    "ORDER BY timestamp DESC, id DESC LIMIT $7 OFFSET $8"};
constexpr statement count_audit_stmt{
    "count_audit",
    "SELECT count(*) FROM audit_log WHERE ($1::text = '' OR \"user\" = $1) "
    "AND ($2::text = '' OR action = $2) AND ($3::text = '' OR resource_type = $3) "
    "AND ($4::text = '' OR resource_id = $4) "
    "AND ($5::bigint = 0 OR timestamp >= wtc_ms_to_ts($5)) "
    "AND ($6::bigint = 0 OR timestamp <= wtc_ms_to_ts($6))"};

// The columns of an rtus row in the order rtu_from() reads them.
#define WTC_RTU_COLUMNS                                                                      \
  "id, station_name, ip_address, port, unit_id, profile, vendor_id, device_id, slot_count, " \
  "cycle_time_ms, auto_connect, state, wtc_ts_to_ms(state_since), transition_reason, "       \
  "last_error, rtu_version, version_mismatch, wtc_ts_to_ms(created_at), "                    \
  "wtc_ts_to_ms(updated_at), node"

constexpr statement list_rtus_stmt{"list_rtus",
                                   "SELECT " WTC_RTU_COLUMNS " FROM rtus ORDER BY station_name"};
constexpr statement find_rtu_stmt{"find_rtu",
                                  "SELECT " WTC_RTU_COLUMNS " FROM rtus WHERE station_name = $1"};
// Locks the row: an update decides from what it read.
constexpr statement lock_rtu{"lock_rtu",
                             "SELECT " WTC_RTU_COLUMNS " FROM rtus WHERE id = $1 FOR UPDATE"};
constexpr statement station_taken{"station_taken",
                                  "SELECT count(*) FROM rtus WHERE station_name = $1 AND id <> $2"};
constexpr statement endpoint_owner{
    "endpoint_owner",
    "SELECT station_name FROM rtus WHERE ip_address = $1 AND port = $2 AND unit_id = $3 "
    "AND id <> $4"};
constexpr statement insert_rtu{
    "insert_rtu",
    "INSERT INTO rtus (station_name, ip_address, port, unit_id, profile, vendor_id, device_id, "
    "slot_count, cycle_time_ms, auto_connect, state, state_since, transition_reason, last_error, "
    "rtu_version, version_mismatch, created_at, updated_at, node) VALUES ($1, $2, $3, $4, $5, "
    "$6, $7, $8, $9, $10, $11, wtc_ms_to_ts($12), NULLIF($13, ''), NULLIF($14, ''), "
    "NULLIF($15, ''), $16, wtc_ms_to_ts($17), wtc_ms_to_ts($18), $19) RETURNING " WTC_RTU_COLUMNS};
constexpr statement update_rtu_stmt{
    "update_rtu",
    "UPDATE rtus SET ip_address = $2, port = $3, unit_id = $4, profile = $5, vendor_id = $6, "
    "device_id = $7, slot_count = $8, cycle_time_ms = $9, updated_at = wtc_ms_to_ts($10), "
    "node = $11 WHERE id = $1 RETURNING " WTC_RTU_COLUMNS};
constexpr statement delete_rtu_stmt{"delete_rtu", "DELETE FROM rtus WHERE id = $1"};
constexpr statement set_auto_connect{"set_auto_connect",
                                     "UPDATE rtus SET auto_connect = $2 WHERE id = $1"};
// A given last_error replaces the stored one; an empty one keeps it, unless clear_error ($6).
constexpr statement record_transition{
    "record_transition",
    "UPDATE rtus SET state = $2, state_since = wtc_ms_to_ts($3), "
    "transition_reason = NULLIF($4, ''), last_error = CASE WHEN $5::text <> '' THEN $5::text "
    "WHEN $6::boolean THEN NULL ELSE last_error END WHERE id = $1"};
constexpr statement identify_rtu{
    "identify_rtu",
    "UPDATE rtus SET vendor_id = $2, device_id = $3, rtu_version = NULLIF($4, ''), "
    "version_mismatch = $5, slot_count = $6, updated_at = wtc_ms_to_ts($7) WHERE id = $1"};
// Discoveries of different RTUs choose free tags from the same namespace: one at a time.
constexpr statement lock_discovery{"lock_discovery", "SELECT pg_advisory_xact_lock(2317002)"};

// updated_at moves only when the module data changes.
constexpr statement upsert_slot{
    "upsert_slot",
    "INSERT INTO slots (rtu_id, slot_number, module_id, module_type, status, created_at, "
    "updated_at) VALUES ($1, $2, NULLIF($3, ''), NULLIF($4, ''), $5, wtc_ms_to_ts($6), "
    "wtc_ms_to_ts($6)) ON CONFLICT (rtu_id, slot_number) DO UPDATE SET "
    "module_id = excluded.module_id, module_type = excluded.module_type, "
    "status = excluded.status, updated_at = CASE WHEN "
    "slots.module_id IS NOT DISTINCT FROM excluded.module_id AND "
    "slots.module_type IS NOT DISTINCT FROM excluded.module_type AND "
    "slots.status = excluded.status THEN slots.updated_at ELSE excluded.updated_at END "
    "RETURNING id"};
constexpr statement pull_slot{"pull_slot",
                              "UPDATE slots SET status = 'PULLED', updated_at = wtc_ms_to_ts($2) "
                              "WHERE id = $1 AND status <> 'PULLED'"};
constexpr statement list_slots_stmt{
    "list_slots",
    "SELECT id, rtu_id, slot_number, module_id, module_type, status, wtc_ts_to_ms(created_at), "
    "wtc_ts_to_ms(updated_at) FROM slots WHERE rtu_id = $1 ORDER BY slot_number"};

constexpr statement list_sensors_stmt{
    "list_sensors",
    "SELECT s.id, s.rtu_id, s.slot_id, l.slot_number, s.tag, s.channel, s.sensor_type, s.unit, "
    "s.scale_min, s.scale_max, s.eng_min, s.eng_max, s.deadband, wtc_ts_to_ms(s.created_at), "
    "wtc_ts_to_ms(s.updated_at) FROM sensors s JOIN slots l ON l.id = s.slot_id "
    "WHERE s.rtu_id = $1 ORDER BY l.slot_number, s.channel, s.id"};
constexpr statement update_sensor_stmt{
    "update_sensor",
    "UPDATE sensors SET sensor_type = $2, unit = NULLIF($3, ''), scale_min = $4, scale_max = $5, "
    "eng_min = $6, eng_max = $7, deadband = $8, updated_at = wtc_ms_to_ts($9) WHERE id = $1"};
constexpr statement insert_sensor{
    "insert_sensor",
    "INSERT INTO sensors (rtu_id, slot_id, tag, channel, sensor_type, unit, scale_min, "
    "scale_max, eng_min, eng_max, deadband, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, "
    "NULLIF($6, ''), $7, $8, $9, $10, $11, wtc_ms_to_ts($12), wtc_ms_to_ts($12))"};
constexpr statement delete_sensor{"delete_sensor", "DELETE FROM sensors WHERE id = $1"};
constexpr statement list_controls_stmt{
    "list_controls",
    "SELECT c.id, c.rtu_id, c.slot_id, l.slot_number, c.tag, c.channel, c.control_type, "
    "c.equipment_type, c.min_value, c.max_value, c.unit, wtc_ts_to_ms(c.created_at), "
    "wtc_ts_to_ms(c.updated_at) FROM controls c JOIN slots l ON l.id = c.slot_id "
    "WHERE c.rtu_id = $1 ORDER BY l.slot_number, c.channel, c.id"};
// min_value and max_value are NULL unless the control has a range ($7).
constexpr statement insert_control{
    "insert_control",
    "INSERT INTO controls (rtu_id, slot_id, tag, channel, control_type, equipment_type, "
    "min_value, max_value, unit, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, "
    "NULLIF($6, ''), CASE WHEN $7::boolean THEN $8::float8 END, "
    "CASE WHEN $7::boolean THEN $9::float8 END, NULLIF($10, ''), wtc_ms_to_ts($11), "
    "wtc_ms_to_ts($11))"};
constexpr statement retype_control{
    "retype_control",
    "UPDATE controls SET control_type = $2, min_value = CASE WHEN $3::boolean THEN $4::float8 "
    "END, max_value = CASE WHEN $3::boolean THEN $5::float8 END, "
    "updated_at = wtc_ms_to_ts($6) WHERE id = $1"};
constexpr statement delete_control{"delete_control", "DELETE FROM controls WHERE id = $1"};
constexpr statement tag_uses{"tag_uses",
                             "SELECT (SELECT count(*) FROM sensors WHERE tag = $1) + "
                             "(SELECT count(*) FROM controls WHERE tag = $1)"};

// Inserts nothing when the RTU does not exist, which the caller reports as not_found.
constexpr statement insert_diagnostic{
    "insert_diagnostic",
    "INSERT INTO profinet_diagnostics (rtu_id, timestamp, level, source, message, details) "
    "SELECT id, wtc_ms_to_ts($2), $3::text, $4::text, $5::text, NULLIF($6::text, '')::json "
    "FROM rtus WHERE id = $1"};
constexpr statement list_diagnostics_stmt{
    "list_diagnostics",
    "SELECT id, rtu_id, wtc_ts_to_ms(timestamp), level, source, message, details::text "
    "FROM profinet_diagnostics WHERE rtu_id = $1 ORDER BY timestamp DESC, id DESC "
    "LIMIT $2 OFFSET $3"};
constexpr statement count_diagnostics{
    "count_diagnostics", "SELECT count(*) FROM profinet_diagnostics WHERE rtu_id = $1"};

// The columns of a pid_loops row in the order pid_loop_from() reads them.
#define WTC_PID_COLUMNS                                                                         \
  "id, name, enabled, input_rtu, input_slot, output_rtu, output_slot, kp, ki, kd, setpoint, "   \
  "output_min, output_max, deadband, integral_limit, derivative_filter, mode, scan_period_ms, " \
  "output, on_bad_measurement, safe_output, cascade_from, wtc_ts_to_ms(created_at), "           \
  "wtc_ts_to_ms(updated_at)"

// An empty station lists every loop.
constexpr statement list_pid_loops_stmt{"list_pid_loops",
                                        "SELECT " WTC_PID_COLUMNS
                                        " FROM pid_loops WHERE $1::text = '' "
                                        "OR input_rtu = $1 OR output_rtu = $1 ORDER BY id"};
constexpr statement find_pid_loop{"find_pid_loop",
                                  "SELECT " WTC_PID_COLUMNS " FROM pid_loops WHERE id = $1"};
constexpr statement rtu_exists{"rtu_exists", "SELECT count(*) FROM rtus WHERE station_name = $1"};
// Changes to the loops' configuration one at a time, so that two concurrent changes of
// cascade_from cannot close a cycle that neither sees.
constexpr statement lock_pid_config{"lock_pid_config", "SELECT pg_advisory_xact_lock(2317003)"};
// NULL for scan_period_ms and cascade_from of 0, for output without has_output ($18).
constexpr statement insert_pid_loop{
    "insert_pid_loop",
    "INSERT INTO pid_loops (name, enabled, input_rtu, input_slot, output_rtu, output_slot, kp, "
    "ki, kd, setpoint, output_min, output_max, deadband, integral_limit, derivative_filter, mode, "
    "scan_period_ms, output, on_bad_measurement, safe_output, cascade_from, created_at, "
    "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
    "NULLIF($17::integer, 0), CASE WHEN $18::boolean THEN $19::float8 END, $20, $21, "
    "NULLIF($22::integer, 0), wtc_ms_to_ts($23), wtc_ms_to_ts($24)) RETURNING " WTC_PID_COLUMNS};
constexpr statement update_pid_loop_stmt{
    "update_pid_loop",
    "UPDATE pid_loops SET name = $2, enabled = $3, input_rtu = $4, input_slot = $5, "
    "output_rtu = $6, output_slot = $7, kp = $8, ki = $9, kd = $10, setpoint = $11, "
    "output_min = $12, output_max = $13, deadband = $14, integral_limit = $15, "
    "derivative_filter = $16, mode = $17, scan_period_ms = NULLIF($18::integer, 0), "
    "output = CASE WHEN $19::boolean THEN $20::float8 END, on_bad_measurement = $21, "
    "safe_output = $22, cascade_from = NULLIF($23::integer, 0), updated_at = wtc_ms_to_ts($24) "
    "WHERE id = $1 RETURNING " WTC_PID_COLUMNS};
constexpr statement delete_pid_loop_stmt{"delete_pid_loop", "DELETE FROM pid_loops WHERE id = $1"};
// replace_pid_loops, as sqlite_store.cpp does it: the cascades go first (PostgreSQL's RESTRICT
// lets one DELETE take a whole cascade, SQLite's does not; the same steps keep the two alike), the
// rows come back with their ids and no cascade_from, the cascades are set once every loop is
// there, and the identity sequence follows the ids (a later create_pid_loop gets a fresh one
// rather than a duplicate key; the sequence may go back below the ids of rows replaced away, where
// SQLite's AUTOINCREMENT does not).
constexpr statement clear_pid_cascades{
    "clear_pid_cascades",
    "UPDATE pid_loops SET cascade_from = NULL WHERE cascade_from IS NOT NULL"};
constexpr statement delete_pid_loops{"delete_pid_loops", "DELETE FROM pid_loops"};
constexpr statement insert_pid_loop_with_id{
    "insert_pid_loop_with_id",
    "INSERT INTO pid_loops (id, name, enabled, input_rtu, input_slot, output_rtu, output_slot, "
    "kp, ki, kd, setpoint, output_min, output_max, deadband, integral_limit, derivative_filter, "
    "mode, scan_period_ms, output, on_bad_measurement, safe_output, created_at, updated_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, "
    "NULLIF($18::integer, 0), CASE WHEN $19::boolean THEN $20::float8 END, $21, $22, "
    "wtc_ms_to_ts($23), wtc_ms_to_ts($24))"};
constexpr statement set_pid_cascade{"set_pid_cascade",
                                    "UPDATE pid_loops SET cascade_from = $2 WHERE id = $1"};
constexpr statement advance_pid_sequence{
    "advance_pid_sequence",
    "SELECT setval(pg_get_serial_sequence('pid_loops', 'id'), "
    "GREATEST(1, (SELECT COALESCE(MAX(id), 0) FROM pid_loops)))"};
constexpr statement cascade_children{
    "cascade_children", "SELECT id, name FROM pid_loops WHERE cascade_from = $1 ORDER BY id"};
// Whether loop $2 is on the chain of cascade sources that starts at loop $1 ($1 itself
// included): making $1 the cascade_from of $2 would close a cycle. Bounded against a cycle
// already stored, which the store never writes.
constexpr statement cascade_reaches{
    "cascade_reaches",
    "WITH RECURSIVE chain (id, depth) AS (SELECT $1::integer, 0 UNION ALL "
    "SELECT p.cascade_from, chain.depth + 1 FROM pid_loops p JOIN chain ON p.id = chain.id "
    "WHERE p.cascade_from IS NOT NULL AND chain.depth < 1000) "
    "SELECT count(*) FROM chain WHERE id = $2"};
// Writes only a change, so that a loop persisting every scan costs no write (no dead tuple) while
// it is steady. Refuses CASCADE for a loop without a cascade source (the caller tells the cases
// apart).
constexpr statement save_pid_output_stmt{
    "save_pid_output",
    "UPDATE pid_loops SET output = $2::float8, setpoint = $3::float8, mode = $4::varchar "
    "WHERE id = $1 AND ($4::varchar <> 'CASCADE' OR cascade_from IS NOT NULL) "
    "AND (output IS DISTINCT FROM $2::float8 OR setpoint <> $3::float8 OR mode <> $4::varchar)"};
constexpr statement pid_loop_has_source{
    "pid_loop_has_source", "SELECT cascade_from IS NOT NULL FROM pid_loops WHERE id = $1"};

// The columns of an alarm_rules row in the order alarm_rule_from() reads them.
#define WTC_ALARM_RULE_COLUMNS                                                                \
  "id, name, rtu_station, slot, condition, threshold, severity, delay_ms, message, enabled, " \
  "deadband, wtc_ts_to_ms(created_at), wtc_ts_to_ms(updated_at)"
// The columns of a slot_configs row in the order slot_config_from() reads them.
#define WTC_SLOT_CONFIG_COLUMNS                                                              \
  "id, rtu_station, slot, subslot, slot_type, name, unit, measurement_type, actuator_type, " \
  "scale_min, scale_max, alarm_low_low, alarm_low, warning_low, warning_high, alarm_high, "  \
  "alarm_high_high, deadband, enabled, wtc_ts_to_ms(created_at)"
// The columns of an alarm_events row in the order alarm_event_from() reads them.
#define WTC_ALARM_EVENT_COLUMNS                                                               \
  "id, alarm_rule_id, source_rule_id, origin, rtu_station, slot, state, severity, "           \
  "value_at_activation, message, wtc_ts_to_ms(activated_at), wtc_ts_to_ms(acknowledged_at), " \
  "acknowledged_by, wtc_ts_to_ms(cleared_at), note, listed, suppressed_by"
// The columns of a shelved_alarms row in the order shelf_from() reads them.
#define WTC_SHELF_COLUMNS                                                        \
  "id, rtu_station, slot, alarm_rule_id, shelved_by, wtc_ts_to_ms(shelved_at), " \
  "shelf_duration_minutes, wtc_ts_to_ms(expires_at), reason, active"
// The columns of a scheduled_maintenance row in the order maintenance_from() reads them.
#define WTC_MAINTENANCE_COLUMNS                                                                 \
  "id, rtu_station, slot, scheduled_by, wtc_ts_to_ms(scheduled_at), wtc_ts_to_ms(start_time), " \
  "wtc_ts_to_ms(end_time), reason, work_order, status, wtc_ts_to_ms(activated_at), "            \
  "wtc_ts_to_ms(completed_at), cancelled_by, wtc_ts_to_ms(cancelled_at)"

// The columns of a historian_tags row in the order historian_tag_from() reads them.
#define WTC_HISTORIAN_TAG_COLUMNS                                                  \
  "id, rtu_station, slot, tag_name, unit, sample_rate_ms, deadband, compression, " \
  "max_interval_ms, enabled, wtc_ts_to_ms(created_at), wtc_ts_to_ms(updated_at)"
// The columns of a historian_rollups row in the order historian_rollup_from() reads them.
#define WTC_HISTORIAN_ROLLUP_COLUMNS                                                    \
  "tag_id, width_ms, bucket_start, count, uncertain, bad, sum, min, max, first, last, " \
  "first_time, last_time"

constexpr statement list_historian_tags_stmt{
    "list_historian_tags", "SELECT " WTC_HISTORIAN_TAG_COLUMNS " FROM historian_tags ORDER BY id"};
constexpr statement find_historian_tag{
    "find_historian_tag", "SELECT " WTC_HISTORIAN_TAG_COLUMNS " FROM historian_tags WHERE id = $1"};
// unit NULL when empty.
constexpr statement insert_historian_tag{
    "insert_historian_tag",
    "INSERT INTO historian_tags (rtu_station, slot, tag_name, unit, sample_rate_ms, deadband, "
    "compression, max_interval_ms, enabled, created_at, updated_at) VALUES ($1, $2, $3, "
    "NULLIF($4, ''), $5, $6, $7, $8, $9, wtc_ms_to_ts($10), wtc_ms_to_ts($11)) "
    "RETURNING " WTC_HISTORIAN_TAG_COLUMNS};
constexpr statement update_historian_tag_stmt{
    "update_historian_tag",
    "UPDATE historian_tags SET rtu_station = $2, slot = $3, tag_name = $4, unit = NULLIF($5, ''), "
    "sample_rate_ms = $6, deadband = $7, compression = $8, max_interval_ms = $9, enabled = $10, "
    "updated_at = wtc_ms_to_ts($11) WHERE id = $1 RETURNING " WTC_HISTORIAN_TAG_COLUMNS};
// Its rollups go with it (ON DELETE CASCADE); its samples, which have no foreign key (migration
// 0006), by the statement after it.
constexpr statement delete_historian_tag_stmt{"delete_historian_tag",
                                              "DELETE FROM historian_tags WHERE id = $1"};
constexpr statement delete_historian_tag_samples{"delete_historian_tag_samples",
                                                 "DELETE FROM historian_samples WHERE tag_id = $1"};
constexpr statement historian_tag_exists{"historian_tag_exists",
                                         "SELECT count(*) FROM historian_tags WHERE id = $1"};
// $1: an array literal of distinct ids. FOR KEY SHARE stands in for the foreign key that
// historian_samples no longer has: a tag cannot be deleted between this check and the commit
// of the samples written for it (the deletion waits, then deletes them too).
constexpr statement historian_tags_known{
    "historian_tags_known",
    "SELECT count(*) FROM (SELECT id FROM historian_tags WHERE id = ANY($1::integer[]) "
    "FOR KEY SHARE) known"};
// The staging table of append_historian: one per connection, emptied at every commit. seq is the
// point's place in its batch, so that the later of two points with one key wins.
constexpr statement historian_staging_exists{
    "historian_staging_exists", "SELECT to_regclass('pg_temp.historian_staging') IS NOT NULL"};
constexpr const char* create_historian_staging =
    "CREATE TEMPORARY TABLE historian_staging (seq BIGINT NOT NULL, tag_id INTEGER NOT NULL, "
    "timestamp BIGINT NOT NULL, value FLOAT NOT NULL, quality SMALLINT NOT NULL) "
    "ON COMMIT DELETE ROWS";
// Sorted by key, which also inserts into the primary key in its order.
constexpr statement merge_historian_staging{
    "merge_historian_staging",
    "INSERT INTO historian_samples (tag_id, timestamp, value, quality) "
    "SELECT DISTINCT ON (tag_id, timestamp) tag_id, timestamp, value, quality "
    "FROM historian_staging ORDER BY tag_id, timestamp, seq DESC "
    "ON CONFLICT (tag_id, timestamp) DO UPDATE SET value = excluded.value, "
    "quality = excluded.quality"};
// historian_row_counts (migration 0007), changed with the rows. Points copied straight in
// are all new: their counts per tag come as two arrays. Merged points and rollup rows count the
// keys not stored yet, before the merge.
constexpr statement add_historian_sample_rows{
    "add_historian_sample_rows",
    "INSERT INTO historian_row_counts (tag_id, sample_rows) "
    "SELECT * FROM unnest($1::integer[], $2::bigint[]) "
    "ON CONFLICT (tag_id) DO UPDATE "
    "SET sample_rows = historian_row_counts.sample_rows + excluded.sample_rows"};
constexpr statement add_staged_historian_sample_rows{
    "add_staged_historian_sample_rows",
    "INSERT INTO historian_row_counts (tag_id, sample_rows) "
    "SELECT tag_id, count(*) FROM (SELECT DISTINCT tag_id, timestamp FROM historian_staging) s "
    "WHERE NOT EXISTS (SELECT FROM historian_samples h WHERE h.tag_id = s.tag_id "
    "AND h.timestamp = s.timestamp) GROUP BY tag_id "
    "ON CONFLICT (tag_id) DO UPDATE "
    "SET sample_rows = historian_row_counts.sample_rows + excluded.sample_rows"};
// The rollup rows of append_historian are copied into a staging table of their own and merged by
// one statement: one round trip per batch instead of one per row (a batch carries the open minute
// and hour rows of every tag that changed, 2,000 rows with 1,000 tags). seq as for the points.
constexpr statement historian_rollup_staging_exists{
    "historian_rollup_staging_exists",
    "SELECT to_regclass('pg_temp.historian_rollup_staging') IS NOT NULL"};
constexpr const char* create_historian_rollup_staging =
    "CREATE TEMPORARY TABLE historian_rollup_staging (seq BIGINT NOT NULL, "
    "tag_id INTEGER NOT NULL, width_ms BIGINT NOT NULL, bucket_start BIGINT NOT NULL, "
    "count BIGINT NOT NULL, uncertain BIGINT NOT NULL, bad BIGINT NOT NULL, sum FLOAT NOT NULL, "
    "min FLOAT NOT NULL, max FLOAT NOT NULL, first FLOAT NOT NULL, last FLOAT NOT NULL, "
    "first_time BIGINT NOT NULL, last_time BIGINT NOT NULL) ON COMMIT DELETE ROWS";
constexpr statement add_staged_historian_rollup_rows{
    "add_staged_historian_rollup_rows",
    "INSERT INTO historian_row_counts (tag_id, rollup_rows) "
    "SELECT tag_id, count(*) FROM (SELECT DISTINCT tag_id, width_ms, bucket_start "
    "FROM historian_rollup_staging) s WHERE NOT EXISTS (SELECT FROM historian_rollups r "
    "WHERE r.tag_id = s.tag_id AND r.width_ms = s.width_ms AND r.bucket_start = s.bucket_start) "
    "GROUP BY tag_id ON CONFLICT (tag_id) DO UPDATE "
    "SET rollup_rows = historian_row_counts.rollup_rows + excluded.rollup_rows"};
// min, max, first and last NULL for a bucket without a counted sample (count = 0).
constexpr statement merge_historian_rollup_staging{
    "merge_historian_rollup_staging",
    "INSERT INTO historian_rollups (" WTC_HISTORIAN_ROLLUP_COLUMNS
    ") SELECT DISTINCT ON (tag_id, width_ms, bucket_start) tag_id, width_ms, bucket_start, "
    "count, uncertain, bad, sum, CASE WHEN count > 0 THEN min END, "
    "CASE WHEN count > 0 THEN max END, CASE WHEN count > 0 THEN first END, "
    "CASE WHEN count > 0 THEN last END, first_time, last_time "
    "FROM historian_rollup_staging ORDER BY tag_id, width_ms, bucket_start, seq DESC "
    "ON CONFLICT (tag_id, width_ms, bucket_start) DO UPDATE SET count = excluded.count, "
    "uncertain = excluded.uncertain, bad = excluded.bad, sum = excluded.sum, min = excluded.min, "
    "max = excluded.max, first = excluded.first, last = excluded.last, "
    "first_time = excluded.first_time, last_time = excluded.last_time"};
constexpr statement query_historian_stmt{
    "query_historian",
    "SELECT tag_id, timestamp, value, quality FROM historian_samples WHERE tag_id = $1 "
    "AND timestamp >= $2 AND timestamp < $3 ORDER BY timestamp LIMIT $4"};
constexpr statement query_historian_rollups_stmt{
    "query_historian_rollups",
    "SELECT " WTC_HISTORIAN_ROLLUP_COLUMNS
    " FROM historian_rollups WHERE tag_id = $1 "
    "AND width_ms = $2 AND bucket_start >= $3 AND bucket_start < $4 ORDER BY bucket_start "
    "LIMIT $5"};
// The rollup rows of one tag and width in [start, end), merged per group bucket by the server, as
// core::rollup::merge merges them, in one pass without a sort (a window to pick first and last
// took 60 ms for a year of hours here, this 23). A row's first_time and last_time lie in its own
// bucket, so the counted row of the earliest first_time is the one of the smallest bucket_start:
// min() over [bucket_start, first] arrays picks it (bucket_start is exact as float8 below 2^53),
// max() over [bucket_start, last] the latest. g is the group's epoch-aligned start, floored
// before 1970 too. Parameters: tag, width, start, end, limit, group_ms.
constexpr statement query_historian_rollups_grouped{
    "query_historian_rollups_grouped",
    "SELECT tag_id, width_ms, min(bucket_start), sum(count), "
    "sum(CASE WHEN count > 0 THEN uncertain ELSE 0 END), sum(bad), "
    "sum(CASE WHEN count > 0 THEN sum ELSE 0 END), min(min), max(max), "
    "(min(ARRAY[bucket_start::float8, first]) FILTER (WHERE count > 0))[2], "
    "(max(ARRAY[bucket_start::float8, last]) FILTER (WHERE count > 0))[2], "
    "min(first_time) FILTER (WHERE count > 0), max(last_time) FILTER (WHERE count > 0) "
    "FROM historian_rollups WHERE tag_id = $1 AND width_ms = $2 AND bucket_start >= $3 "
    "AND bucket_start < $4 "
    "GROUP BY tag_id, width_ms, bucket_start - ((bucket_start % $6::bigint + $6) % $6) "
    "ORDER BY 3 LIMIT $5"};
constexpr statement historian_point_before_stmt{
    "historian_point_before",
    "SELECT tag_id, timestamp, value, quality FROM historian_samples WHERE tag_id = $1 "
    "AND timestamp < $2 AND timestamp >= $3 ORDER BY timestamp DESC LIMIT 1"};
constexpr statement find_historian_rollup{"find_historian_rollup",
                                          "SELECT " WTC_HISTORIAN_ROLLUP_COLUMNS
                                          " FROM historian_rollups WHERE tag_id = $1 "
                                          "AND width_ms = $2 AND bucket_start = $3"};
// Tag by tag along the primary key; the counts of the tags lose what was deleted. Returns the
// rows deleted.
constexpr statement purge_historian_samples{
    "purge_historian_samples",
    "WITH gone AS (DELETE FROM historian_samples WHERE tag_id IN (SELECT id FROM historian_tags) "
    "AND timestamp < $1 RETURNING tag_id), per_tag AS (SELECT tag_id, count(*) AS n FROM gone "
    "GROUP BY tag_id), counted AS (UPDATE historian_row_counts c "
    "SET sample_rows = c.sample_rows - p.n FROM per_tag p WHERE c.tag_id = p.tag_id) "
    "SELECT coalesce(sum(n), 0)::bigint FROM per_tag"};
constexpr statement purge_historian_rollups{
    "purge_historian_rollups",
    "WITH gone AS (DELETE FROM historian_rollups WHERE bucket_start < $1 RETURNING tag_id), "
    "per_tag AS (SELECT tag_id, count(*) AS n FROM gone GROUP BY tag_id), "
    "counted AS (UPDATE historian_row_counts c SET rollup_rows = c.rollup_rows - p.n "
    "FROM per_tag p WHERE c.tag_id = p.tag_id) SELECT coalesce(sum(n), 0)::bigint FROM per_tag"};
// The counts kept at write time, and per tag two seeks along the primary key: no scan of the
// samples.
constexpr statement historian_tag_counts{
    "historian_tag_counts",
    "SELECT tag_id, sample_rows, "
    "(SELECT min(timestamp) FROM historian_samples s WHERE s.tag_id = c.tag_id), "
    "(SELECT max(timestamp) FROM historian_samples s WHERE s.tag_id = c.tag_id) "
    "FROM historian_row_counts c WHERE sample_rows > 0 ORDER BY tag_id"};
constexpr statement historian_rollups_and_bytes{
    "historian_rollups_and_bytes",
    "SELECT (SELECT coalesce(sum(rollup_rows), 0)::bigint FROM historian_row_counts), "
    "pg_total_relation_size('historian_samples') + pg_total_relation_size('historian_rollups')"};

constexpr statement list_alarm_rules_stmt{
    "list_alarm_rules", "SELECT " WTC_ALARM_RULE_COLUMNS " FROM alarm_rules ORDER BY id"};
constexpr statement find_alarm_rule{
    "find_alarm_rule", "SELECT " WTC_ALARM_RULE_COLUMNS " FROM alarm_rules WHERE id = $1"};
// message NULL when empty, deadband NULL without has_deadband ($10).
constexpr statement insert_alarm_rule{
    "insert_alarm_rule",
    "INSERT INTO alarm_rules (name, rtu_station, slot, condition, threshold, severity, delay_ms, "
    "message, enabled, deadband, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
    "NULLIF($8::text, ''), $9, CASE WHEN $10::boolean THEN $11::float8 END, wtc_ms_to_ts($12), "
    "wtc_ms_to_ts($13)) RETURNING " WTC_ALARM_RULE_COLUMNS};
constexpr statement update_alarm_rule_stmt{
    "update_alarm_rule",
    "UPDATE alarm_rules SET name = $2, rtu_station = $3, slot = $4, condition = $5, "
    "threshold = $6, severity = $7, delay_ms = $8, message = NULLIF($9::text, ''), "
    "enabled = $10, deadband = CASE WHEN $11::boolean THEN $12::float8 END, "
    "updated_at = wtc_ms_to_ts($13) WHERE id = $1 RETURNING " WTC_ALARM_RULE_COLUMNS};
// Its events keep their rows: alarm_events.alarm_rule_id is ON DELETE SET NULL.
constexpr statement delete_alarm_rule_stmt{"delete_alarm_rule",
                                           "DELETE FROM alarm_rules WHERE id = $1"};

constexpr statement list_slot_configs_stmt{"list_slot_configs",
                                           "SELECT " WTC_SLOT_CONFIG_COLUMNS
                                           " FROM slot_configs ORDER BY rtu_station, slot"};
// Replaces every column of the (rtu_station, slot) row but its id and created_at. Empty text and
// unset limits ($11, $13, ...) are NULL.
constexpr statement upsert_slot_config{
    "upsert_slot_config",
    "INSERT INTO slot_configs (rtu_station, slot, subslot, slot_type, name, unit, "
    "measurement_type, actuator_type, scale_min, scale_max, alarm_low_low, alarm_low, "
    "warning_low, warning_high, alarm_high, alarm_high_high, deadband, enabled, created_at) "
    "VALUES ($1, $2, $3, $4, NULLIF($5::text, ''), NULLIF($6::text, ''), NULLIF($7::text, ''), "
    "NULLIF($8::text, ''), $9, $10, CASE WHEN $11::boolean THEN $12::float8 END, "
    "CASE WHEN $13::boolean THEN $14::float8 END, CASE WHEN $15::boolean THEN $16::float8 END, "
    "CASE WHEN $17::boolean THEN $18::float8 END, CASE WHEN $19::boolean THEN $20::float8 END, "
    "CASE WHEN $21::boolean THEN $22::float8 END, $23, $24, wtc_ms_to_ts($25)) "
    "ON CONFLICT (rtu_station, slot) DO UPDATE SET subslot = excluded.subslot, "
    "slot_type = excluded.slot_type, name = excluded.name, unit = excluded.unit, "
    "measurement_type = excluded.measurement_type, actuator_type = excluded.actuator_type, "
    "scale_min = excluded.scale_min, scale_max = excluded.scale_max, "
    "alarm_low_low = excluded.alarm_low_low, alarm_low = excluded.alarm_low, "
    "warning_low = excluded.warning_low, warning_high = excluded.warning_high, "
    "alarm_high = excluded.alarm_high, alarm_high_high = excluded.alarm_high_high, "
    "deadband = excluded.deadband, enabled = excluded.enabled "
    "RETURNING " WTC_SLOT_CONFIG_COLUMNS};

// Whole rows, inserted or replaced by id (the manager assigns the ids; advance_alarm_sequences
// keeps the identity sequences past them). An alarm_rule_id that names no rule (deleted
// meanwhile, or 0) is NULL; empty text and zero times are NULL, and value_at_activation without
// has_value ($9).
// After a batch of explicit ids: the identity sequences follow, so that a row inserted by hand
// (an engineer's SQL, a future writer) gets a fresh id rather than a duplicate key.
constexpr statement advance_alarm_sequences{
    "advance_alarm_sequences",
    "SELECT setval(pg_get_serial_sequence('alarm_events', 'id'), "
    "GREATEST(1, (SELECT COALESCE(MAX(id), 0) FROM alarm_events))), "
    "setval(pg_get_serial_sequence('shelved_alarms', 'id'), "
    "GREATEST(1, (SELECT COALESCE(MAX(id), 0) FROM shelved_alarms))), "
    "setval(pg_get_serial_sequence('scheduled_maintenance', 'id'), "
    "GREATEST(1, (SELECT COALESCE(MAX(id), 0) FROM scheduled_maintenance)))"};

constexpr statement upsert_alarm_event{
    "upsert_alarm_event",
    "INSERT INTO alarm_events (id, alarm_rule_id, source_rule_id, origin, rtu_station, slot, "
    "state, severity, value_at_activation, message, activated_at, acknowledged_at, "
    "acknowledged_by, cleared_at, note, listed, suppressed_by) VALUES ($1, "
    "(SELECT id FROM alarm_rules WHERE id = $2::bigint), $3, $4, $5, $6, $7, $8, "
    "CASE WHEN $9::boolean THEN $10::float8 END, NULLIF($11::text, ''), wtc_ms_to_ts($12), "
    "wtc_ms_to_ts(NULLIF($13::bigint, 0)), NULLIF($14::text, ''), "
    "wtc_ms_to_ts(NULLIF($15::bigint, 0)), NULLIF($16::text, ''), $17, NULLIF($18::text, '')) "
    "ON CONFLICT (id) DO UPDATE SET alarm_rule_id = excluded.alarm_rule_id, "
    "source_rule_id = excluded.source_rule_id, origin = excluded.origin, "
    "rtu_station = excluded.rtu_station, slot = excluded.slot, state = excluded.state, "
    "severity = excluded.severity, value_at_activation = excluded.value_at_activation, "
    "message = excluded.message, activated_at = excluded.activated_at, "
    "acknowledged_at = excluded.acknowledged_at, acknowledged_by = excluded.acknowledged_by, "
    "cleared_at = excluded.cleared_at, note = excluded.note, listed = excluded.listed, "
    "suppressed_by = excluded.suppressed_by"};
constexpr statement upsert_shelf{
    "upsert_shelf",
    "INSERT INTO shelved_alarms (id, rtu_station, slot, alarm_rule_id, shelved_by, shelved_at, "
    "shelf_duration_minutes, expires_at, reason, active) VALUES ($1, $2, $3, $4, $5, "
    "wtc_ms_to_ts($6), $7, wtc_ms_to_ts($8), NULLIF($9::text, ''), $10) "
    "ON CONFLICT (id) DO UPDATE SET rtu_station = excluded.rtu_station, slot = excluded.slot, "
    "alarm_rule_id = excluded.alarm_rule_id, shelved_by = excluded.shelved_by, "
    "shelved_at = excluded.shelved_at, shelf_duration_minutes = excluded.shelf_duration_minutes, "
    "expires_at = excluded.expires_at, reason = excluded.reason, active = excluded.active"};
constexpr statement upsert_maintenance{
    "upsert_maintenance",
    "INSERT INTO scheduled_maintenance (id, rtu_station, slot, scheduled_by, scheduled_at, "
    "start_time, end_time, reason, work_order, status, activated_at, completed_at, cancelled_by, "
    "cancelled_at) VALUES ($1, $2, $3, $4, wtc_ms_to_ts($5), wtc_ms_to_ts($6), wtc_ms_to_ts($7), "
    "$8, NULLIF($9::text, ''), $10, wtc_ms_to_ts(NULLIF($11::bigint, 0)), "
    "wtc_ms_to_ts(NULLIF($12::bigint, 0)), NULLIF($13::text, ''), "
    "wtc_ms_to_ts(NULLIF($14::bigint, 0))) ON CONFLICT (id) DO UPDATE SET "
    "rtu_station = excluded.rtu_station, slot = excluded.slot, "
    "scheduled_by = excluded.scheduled_by, scheduled_at = excluded.scheduled_at, "
    "start_time = excluded.start_time, end_time = excluded.end_time, reason = excluded.reason, "
    "work_order = excluded.work_order, status = excluded.status, "
    "activated_at = excluded.activated_at, completed_at = excluded.completed_at, "
    "cancelled_by = excluded.cancelled_by, cancelled_at = excluded.cancelled_at"};

constexpr statement listed_alarm_events{"listed_alarm_events",
                                        "SELECT " WTC_ALARM_EVENT_COLUMNS
                                        " FROM alarm_events WHERE listed ORDER BY id"};
constexpr statement active_shelves{
    "active_shelves", "SELECT " WTC_SHELF_COLUMNS " FROM shelved_alarms WHERE active ORDER BY id"};
constexpr statement open_maintenance_by_id{
    "open_maintenance_by_id",
    "SELECT " WTC_MAINTENANCE_COLUMNS
    " FROM scheduled_maintenance WHERE status IN ('SCHEDULED', 'ACTIVE') ORDER BY id"};
// Where the manager's numbering starts: one more than the largest id stored, at least 1.
constexpr statement next_alarm_ids{
    "next_alarm_ids",
    "SELECT (SELECT GREATEST(coalesce(max(id), 0), 0) + 1 FROM alarm_events), "
    "(SELECT GREATEST(coalesce(max(id), 0), 0) + 1 FROM shelved_alarms), "
    "(SELECT GREATEST(coalesce(max(id), 0), 0) + 1 FROM scheduled_maintenance)"};
// One statement for every combination of filters: an empty string or a zero time filters nothing.
constexpr statement alarm_history{
    "alarm_history",
    "SELECT " WTC_ALARM_EVENT_COLUMNS
    " FROM alarm_events WHERE ($1::bigint = 0 OR activated_at >= wtc_ms_to_ts($1)) "
    "AND ($2::bigint = 0 OR activated_at < wtc_ms_to_ts($2)) "
    "AND ($3::text = '' OR severity = $3) AND ($4::text = '' OR rtu_station = $4) "
    "ORDER BY activated_at DESC, id DESC LIMIT $5"};
constexpr statement list_shelves_stmt{
    "list_shelves",
    "SELECT " WTC_SHELF_COLUMNS
    " FROM shelved_alarms WHERE NOT $1::boolean OR active ORDER BY shelved_at DESC, id DESC"};
constexpr statement list_maintenance_stmt{
    "list_maintenance",
    "SELECT " WTC_MAINTENANCE_COLUMNS
    " FROM scheduled_maintenance WHERE NOT $1::boolean OR status IN ('SCHEDULED', 'ACTIVE') "
    "ORDER BY start_time, id"};
constexpr statement count_annunciated{
    "count_annunciated",
    "SELECT count(*) FROM alarm_events WHERE suppressed_by IS NULL "
    "AND activated_at >= wtc_ms_to_ts($1)"};

#undef WTC_RTU_COLUMNS
#undef WTC_PID_COLUMNS
#undef WTC_ALARM_RULE_COLUMNS
#undef WTC_SLOT_CONFIG_COLUMNS
#undef WTC_ALARM_EVENT_COLUMNS
#undef WTC_SHELF_COLUMNS
#undef WTC_MAINTENANCE_COLUMNS
#undef WTC_HISTORIAN_TAG_COLUMNS
#undef WTC_HISTORIAN_ROLLUP_COLUMNS

constexpr statement all_statements[] = {
    ping_stmt,          schema_version_exists, read_schema_version,  insert_schema_version,
    lock_migrations,    find_user_stmt,        find_user_by_id_stmt, list_users_stmt,
    count_users_stmt,   count_system_stmt,     insert_user,          update_user_stmt,
    set_password_stmt,  delete_user_stmt,      record_login_stmt,    insert_session,
    load_sessions_stmt, delete_session_stmt,   delete_user_sessions, update_session_roles,
    touch_session,      purge_sessions,        insert_audit,         query_audit_stmt,
    count_audit_stmt,
};

// The field side's statements (migration 0002 onwards).
constexpr statement field_statements[] = {
    update_sensor_stmt,    list_rtus_stmt,    find_rtu_stmt,   lock_rtu,        station_taken,
    endpoint_owner,        insert_rtu,        update_rtu_stmt, delete_rtu_stmt, set_auto_connect,
    record_transition,     identify_rtu,      lock_discovery,  upsert_slot,     pull_slot,
    list_slots_stmt,       list_sensors_stmt, insert_sensor,   delete_sensor,   list_controls_stmt,
    insert_control,        retype_control,    delete_control,  tag_uses,        insert_diagnostic,
    list_diagnostics_stmt, count_diagnostics,
};

// The PID loops' statements (migration 0003 onwards).
constexpr statement pid_statements[] = {
    list_pid_loops_stmt, find_pid_loop,           rtu_exists,           lock_pid_config,
    insert_pid_loop,     update_pid_loop_stmt,    delete_pid_loop_stmt, cascade_children,
    cascade_reaches,     save_pid_output_stmt,    pid_loop_has_source,  clear_pid_cascades,
    delete_pid_loops,    insert_pid_loop_with_id, set_pid_cascade,      advance_pid_sequence,
};

// The historian's statements (migration 0005 onwards).
constexpr statement historian_statements[] = {
    list_historian_tags_stmt,
    find_historian_tag,
    insert_historian_tag,
    update_historian_tag_stmt,
    delete_historian_tag_stmt,
    historian_tag_exists,
    historian_tags_known,
    historian_staging_exists,
    merge_historian_staging,
    historian_rollup_staging_exists,
    merge_historian_rollup_staging,
    delete_historian_tag_samples,
    query_historian_stmt,
    query_historian_rollups_stmt,
    historian_point_before_stmt,
    query_historian_rollups_grouped,
    add_historian_sample_rows,
    add_staged_historian_sample_rows,
    add_staged_historian_rollup_rows,
    find_historian_rollup,
    purge_historian_samples,
    purge_historian_rollups,
    historian_tag_counts,
    historian_rollups_and_bytes,
};

// The alarms' statements (migration 0004 onwards).
constexpr statement alarm_statements[] = {
    list_alarm_rules_stmt,  find_alarm_rule,        insert_alarm_rule,       update_alarm_rule_stmt,
    delete_alarm_rule_stmt, list_slot_configs_stmt, upsert_slot_config,      upsert_alarm_event,
    upsert_shelf,           upsert_maintenance,     listed_alarm_events,     active_shelves,
    open_maintenance_by_id, next_alarm_ids,         alarm_history,           list_shelves_stmt,
    list_maintenance_stmt,  count_annunciated,      advance_alarm_sequences,
};

constexpr const char* create_schema_version =
    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL, "
    "description TEXT NOT NULL)";

// A paged listing reads the page and the total from one snapshot, so they agree.
using snapshot = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

template <class... Args>
pqxx::result exec(pqxx::transaction_base& tx, const statement& stmt, Args&&... args) {
  return tx.exec_prepared(stmt.name, std::forward<Args>(args)...);
}

user_record user_from(const pqxx::row& row) {
  user_record user;
  user.id = row[0].as<std::int64_t>();
  user.username = row[1].as<std::string>();
  user.password_hash = row[2].as<std::string>();
  user.user_role = role_from_column(row[3].as<std::string>());
  user.active = row[4].as<bool>();
  user.sync_to_rtus = row[5].as<bool>();
  user.created_at = row[6].as<std::int64_t>();
  user.updated_at = row[7].as<std::int64_t>();
  user.last_login = row[8].as<std::int64_t>(0);
  return user;
}

// NULL reads as the empty string: the columns the program treats as optional text.
std::string text_or_empty(const pqxx::field& field) {
  return field.as<std::string>(std::string{});
}

rtu_record rtu_from(const pqxx::row& row) {
  rtu_record rtu;
  rtu.id = row[0].as<std::int64_t>();
  rtu.station_name = row[1].as<std::string>();
  rtu.ip_address = row[2].as<std::string>();
  rtu.port = row[3].as<std::int32_t>();
  rtu.unit_id = row[4].as<std::int32_t>();
  rtu.profile = row[5].as<std::string>();
  rtu.vendor_id = row[6].as<std::string>();
  rtu.device_id = row[7].as<std::string>();
  rtu.slot_count = row[8].as<std::int32_t>();
  rtu.cycle_time_ms = row[9].as<std::int64_t>();
  rtu.auto_connect = row[10].as<bool>();
  rtu.state = rtu_state_from_column(row[11].as<std::string>());
  rtu.state_since = row[12].as<std::int64_t>();
  rtu.transition_reason = text_or_empty(row[13]);
  rtu.last_error = text_or_empty(row[14]);
  rtu.rtu_version = text_or_empty(row[15]);
  rtu.version_mismatch = row[16].as<bool>();
  rtu.created_at = row[17].as<std::int64_t>();
  rtu.updated_at = row[18].as<std::int64_t>();
  rtu.node = row[19].as<std::string>();
  return rtu;
}

slot_record slot_from(const pqxx::row& row) {
  slot_record slot;
  slot.id = row[0].as<std::int64_t>();
  slot.rtu_id = row[1].as<std::int64_t>();
  slot.slot_number = row[2].as<std::int32_t>();
  slot.module_id = text_or_empty(row[3]);
  slot.module_type = text_or_empty(row[4]);
  slot.status = row[5].as<std::string>();
  slot.created_at = row[6].as<std::int64_t>();
  slot.updated_at = row[7].as<std::int64_t>();
  return slot;
}

sensor_record sensor_from(const pqxx::row& row) {
  sensor_record sensor;
  sensor.id = row[0].as<std::int64_t>();
  sensor.rtu_id = row[1].as<std::int64_t>();
  sensor.slot_id = row[2].as<std::int64_t>();
  sensor.slot_number = row[3].as<std::int32_t>();
  sensor.tag = row[4].as<std::string>();
  sensor.channel = row[5].as<std::int32_t>();
  sensor.sensor_type = row[6].as<std::string>();
  sensor.unit = text_or_empty(row[7]);
  sensor.scale_min = row[8].as<double>();
  sensor.scale_max = row[9].as<double>();
  sensor.eng_min = row[10].as<double>();
  sensor.eng_max = row[11].as<double>();
  sensor.deadband = row[12].as<double>();
  sensor.created_at = row[13].as<std::int64_t>();
  sensor.updated_at = row[14].as<std::int64_t>();
  return sensor;
}

control_record control_from(const pqxx::row& row) {
  control_record control;
  control.id = row[0].as<std::int64_t>();
  control.rtu_id = row[1].as<std::int64_t>();
  control.slot_id = row[2].as<std::int64_t>();
  control.slot_number = row[3].as<std::int32_t>();
  control.tag = row[4].as<std::string>();
  control.channel = row[5].as<std::int32_t>();
  control.control_type = row[6].as<std::string>();
  control.equipment_type = text_or_empty(row[7]);
  control.has_range = !row[8].is_null() && !row[9].is_null();
  if (control.has_range) {
    control.min_value = row[8].as<double>();
    control.max_value = row[9].as<double>();
  }
  control.unit = text_or_empty(row[10]);
  control.created_at = row[11].as<std::int64_t>();
  control.updated_at = row[12].as<std::int64_t>();
  return control;
}

diagnostic_record diagnostic_from(const pqxx::row& row) {
  diagnostic_record diagnostic;
  diagnostic.id = row[0].as<std::int64_t>();
  diagnostic.rtu_id = row[1].as<std::int64_t>();
  diagnostic.timestamp = row[2].as<std::int64_t>();
  diagnostic.level = row[3].as<std::string>();
  diagnostic.source = row[4].as<std::string>();
  diagnostic.message = row[5].as<std::string>();
  diagnostic.details = text_or_empty(row[6]);
  return diagnostic;
}

pid_loop_record pid_loop_from(const pqxx::row& row) {
  pid_loop_record loop;
  loop.id = row[0].as<std::int64_t>();
  loop.name = row[1].as<std::string>();
  loop.enabled = row[2].as<bool>();
  loop.input_rtu = row[3].as<std::string>();
  loop.input_slot = row[4].as<std::int32_t>();
  loop.output_rtu = row[5].as<std::string>();
  loop.output_slot = row[6].as<std::int32_t>();
  loop.kp = row[7].as<double>();
  loop.ki = row[8].as<double>();
  loop.kd = row[9].as<double>();
  loop.setpoint = row[10].as<double>();
  loop.output_min = row[11].as<double>();
  loop.output_max = row[12].as<double>();
  loop.deadband = row[13].as<double>();
  loop.integral_limit = row[14].as<double>();
  loop.derivative_filter = row[15].as<double>();
  loop.mode = row[16].as<std::string>();
  loop.scan_period_ms = row[17].as<std::int64_t>(0);  // NULL reads as 0
  loop.has_output = !row[18].is_null();
  loop.output = row[18].as<double>(0.0);
  loop.on_bad_measurement = row[19].as<std::string>();
  loop.safe_output = row[20].as<double>();
  loop.cascade_from = row[21].as<std::int64_t>(0);  // NULL reads as 0
  loop.created_at = row[22].as<std::int64_t>();
  loop.updated_at = row[23].as<std::int64_t>();
  return loop;
}

historian_tag_record historian_tag_from(const pqxx::row& row) {
  historian_tag_record tag;
  tag.id = row[0].as<std::int64_t>();
  tag.rtu_station = row[1].as<std::string>();
  tag.slot = row[2].as<std::int32_t>();
  tag.tag_name = row[3].as<std::string>();
  tag.unit = text_or_empty(row[4]);
  tag.sample_rate_ms = row[5].as<std::int64_t>();
  tag.deadband = row[6].as<double>();
  tag.compression = row[7].as<std::string>();
  tag.max_interval_ms = row[8].as<std::int64_t>();
  tag.enabled = row[9].as<bool>();
  tag.created_at = row[10].as<std::int64_t>();
  tag.updated_at = row[11].as<std::int64_t>();
  return tag;
}

// The historian's rows are many and all numbers: std::from_chars on the field's text, where
// libpqxx 6's as<double>() goes through a std::istringstream per field (most of a year's trend
// query in the storage thread). `if_null` for NULL; PostgreSQL writes "Infinity" and "NaN",
// which from_chars reads.
template <class T>
T number_of(const pqxx::field& field, T if_null = T{}) {
  if (field.is_null())
    return if_null;
  const char* text = field.c_str();
  const char* end = text + field.size();
  T value{};
  if (auto [stop, ec] = std::from_chars(text, end, value); ec != std::errc{} || stop != end)
    throw std::runtime_error("not a number in column " + std::string(field.name()) + ": " + text);
  return value;
}

// A double as COPY's text: std::to_chars's shortest form, which reads back as the same double,
// where stream_to's own conversion goes through a string stream per value (most of the storage
// thread's time in a write).
class copy_double {
 public:
  explicit copy_double(double value) {
    *std::to_chars(text_, text_ + sizeof text_ - 1, value).ptr = '\0';
  }
  const char* c_str() const { return text_; }

 private:
  char text_[32];  // the shortest form of a double takes at most 24
};

// tag_id, timestamp, value, quality.
historian_point historian_point_from(const pqxx::row& row) {
  historian_point point;
  point.tag_id = number_of<std::int64_t>(row[0]);
  point.timestamp = number_of<std::int64_t>(row[1]);
  point.value = number_of<double>(row[2]);
  point.quality = static_cast<std::uint8_t>(number_of<int>(row[3]));
  return point;
}

// NULL min, max, first, last read as core::rollup's empty values.
historian_rollup_row historian_rollup_from(const pqxx::row& row) {
  historian_rollup_row rollup;
  rollup.tag_id = number_of<std::int64_t>(row[0]);
  rollup.width_ms = number_of<std::int64_t>(row[1]);
  rollup.bucket_start = number_of<std::int64_t>(row[2]);
  rollup.count = number_of<std::int64_t>(row[3]);
  rollup.uncertain = number_of<std::int64_t>(row[4]);
  rollup.bad = number_of<std::int64_t>(row[5]);
  rollup.sum = number_of<double>(row[6]);
  rollup.min = number_of<double>(row[7], std::numeric_limits<double>::infinity());
  rollup.max = number_of<double>(row[8], -std::numeric_limits<double>::infinity());
  rollup.first = number_of<double>(row[9], 0.0);
  rollup.last = number_of<double>(row[10], 0.0);
  rollup.first_time = number_of<std::int64_t>(row[11]);
  rollup.last_time = number_of<std::int64_t>(row[12]);
  return rollup;
}

alarm_rule_record alarm_rule_from(const pqxx::row& row) {
  alarm_rule_record rule;
  rule.id = row[0].as<std::int64_t>();
  rule.name = row[1].as<std::string>();
  rule.rtu_station = row[2].as<std::string>();
  rule.slot = row[3].as<std::int32_t>();
  rule.condition = row[4].as<std::string>();
  rule.threshold = row[5].as<double>();
  rule.severity = row[6].as<std::string>();
  rule.delay_ms = row[7].as<std::int64_t>();
  rule.message = text_or_empty(row[8]);
  rule.enabled = row[9].as<bool>();
  rule.has_deadband = !row[10].is_null();
  rule.deadband = row[10].as<double>(0.0);
  rule.created_at = row[11].as<std::int64_t>();
  rule.updated_at = row[12].as<std::int64_t>();
  return rule;
}

slot_config_record slot_config_from(const pqxx::row& row) {
  slot_config_record config;
  config.id = row[0].as<std::int64_t>();
  config.rtu_station = row[1].as<std::string>();
  config.slot = row[2].as<std::int32_t>();
  config.subslot = row[3].as<std::int32_t>();
  config.slot_type = row[4].as<std::string>();
  config.name = text_or_empty(row[5]);
  config.unit = text_or_empty(row[6]);
  config.measurement_type = text_or_empty(row[7]);
  config.actuator_type = text_or_empty(row[8]);
  config.scale_min = row[9].as<double>();
  config.scale_max = row[10].as<double>();
  auto limit = [&](int column, bool& has, double& value) {
    has = !row[column].is_null();
    value = row[column].as<double>(0.0);
  };
  limit(11, config.has_alarm_low_low, config.alarm_low_low);
  limit(12, config.has_alarm_low, config.alarm_low);
  limit(13, config.has_warning_low, config.warning_low);
  limit(14, config.has_warning_high, config.warning_high);
  limit(15, config.has_alarm_high, config.alarm_high);
  limit(16, config.has_alarm_high_high, config.alarm_high_high);
  config.deadband = row[17].as<double>();
  config.enabled = row[18].as<bool>();
  config.created_at = row[19].as<std::int64_t>();
  return config;
}

alarm_event_record alarm_event_from(const pqxx::row& row) {
  alarm_event_record event;
  event.id = row[0].as<std::int64_t>();
  event.alarm_rule_id = row[1].as<std::int64_t>(0);  // NULL reads as 0
  event.source_rule_id = row[2].as<std::int64_t>();
  event.origin = row[3].as<std::string>();
  event.rtu_station = row[4].as<std::string>();
  event.slot = row[5].as<std::int32_t>();
  event.state = row[6].as<std::string>();
  event.severity = row[7].as<std::string>();
  event.has_value = !row[8].is_null();
  event.value_at_activation = row[8].as<double>(0.0);
  event.message = text_or_empty(row[9]);
  event.activated_at = row[10].as<std::int64_t>();
  event.acknowledged_at = row[11].as<std::int64_t>(0);  // NULL reads as 0
  event.acknowledged_by = text_or_empty(row[12]);
  event.cleared_at = row[13].as<std::int64_t>(0);  // NULL reads as 0
  event.note = text_or_empty(row[14]);
  event.listed = row[15].as<bool>();
  event.suppressed_by = text_or_empty(row[16]);
  return event;
}

alarm_shelf_record shelf_from(const pqxx::row& row) {
  alarm_shelf_record shelf;
  shelf.id = row[0].as<std::int64_t>();
  shelf.rtu_station = row[1].as<std::string>();
  shelf.slot = row[2].as<std::int32_t>();
  shelf.alarm_rule_id = row[3].as<std::int64_t>();
  shelf.shelved_by = row[4].as<std::string>();
  shelf.shelved_at = row[5].as<std::int64_t>();
  shelf.shelf_duration_minutes = row[6].as<std::int32_t>();
  shelf.expires_at = row[7].as<std::int64_t>();
  shelf.reason = text_or_empty(row[8]);
  shelf.active = row[9].as<bool>();
  return shelf;
}

maintenance_record maintenance_from(const pqxx::row& row) {
  maintenance_record window;
  window.id = row[0].as<std::int64_t>();
  window.rtu_station = row[1].as<std::string>();
  window.slot = row[2].as<std::int32_t>();
  window.scheduled_by = row[3].as<std::string>();
  window.scheduled_at = row[4].as<std::int64_t>();
  window.start_time = row[5].as<std::int64_t>();
  window.end_time = row[6].as<std::int64_t>();
  window.reason = row[7].as<std::string>();
  window.work_order = text_or_empty(row[8]);
  window.status = row[9].as<std::string>();
  window.activated_at = row[10].as<std::int64_t>(0);  // NULL reads as 0, as the other times
  window.completed_at = row[11].as<std::int64_t>(0);
  window.cancelled_by = text_or_empty(row[12]);
  window.cancelled_at = row[13].as<std::int64_t>(0);
  return window;
}

std::string first_line(const std::string& message) {
  return message.substr(0, message.find('\n'));
}

errc classify(const std::string& sqlstate) {
  if (sqlstate == "23505" || sqlstate == "23503")  // unique, foreign key
    return errc::conflict;
  if (sqlstate == "23514" || sqlstate == "23502")  // check, not null
    return errc::bad_request;
  if (sqlstate.compare(0, 2, "22") == 0)  // data exception: too long, malformed JSON, ...
    return errc::bad_request;
  return errc::internal;
}

// The server went away or is going away: the connection is of no further use.
bool connection_lost(const std::string& sqlstate) {
  return sqlstate.compare(0, 2, "08") == 0 || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03";
}

void write_audit(pqxx::transaction_base& tx, const audit_entry& entry) {
  exec(tx, insert_audit, entry.timestamp, entry.user, entry.action, entry.resource_type,
       entry.resource_id, entry.details, entry.ip_address);
}

void write_session(pqxx::transaction_base& tx, const session_record& session) {
  exec(tx, insert_session, session.token_hash, session.username,
       std::string(to_string(session.user_role)), session.groups, session.created_at,
       session.last_activity, session.expires_at, session.ip_address, session.user_agent);
}

void write_diagnostic(pqxx::transaction_base& tx, const diagnostic_record& diagnostic) {
  if (exec(tx, insert_diagnostic, diagnostic.rtu_id, diagnostic.timestamp, diagnostic.level,
           diagnostic.source, diagnostic.message, diagnostic.details)
          .affected_rows() == 0)
    throw rtu_not_found(diagnostic.rtu_id);
}

// Throws conflict when another RTU than `rtu.id` has its station name or its endpoint. The UNIQUE
// constraints stand behind these checks; the checks name the duplicate field.
void check_rtu_unique(pqxx::transaction_base& tx, const rtu_record& rtu, std::string_view context) {
  if (exec(tx, station_taken, rtu.station_name, rtu.id)[0][0].as<std::int64_t>() > 0)
    throw duplicate_station(context, rtu.station_name);
  pqxx::result owner = exec(tx, endpoint_owner, rtu.ip_address, rtu.port, rtu.unit_id, rtu.id);
  if (!owner.empty())
    throw duplicate_endpoint(context, rtu, owner[0][0].as<std::string>());
}

// Throws not_found when input_rtu or output_rtu names no RTU or cascade_from no loop, and, for
// an `existing` loop, bad_request when cascade_from would close a cycle of cascades.
void check_pid_references(pqxx::transaction_base& tx, const pid_loop_record& loop, bool existing,
                          std::string_view context) {
  auto exists = [&](const std::string& station) {
    return exec(tx, rtu_exists, station)[0][0].as<std::int64_t>() > 0;
  };
  if (!exists(loop.input_rtu))
    throw pid_rtu_not_found(context, "input_rtu", loop.input_rtu);
  if (loop.output_rtu != loop.input_rtu && !exists(loop.output_rtu))
    throw pid_rtu_not_found(context, "output_rtu", loop.output_rtu);
  if (loop.cascade_from == 0)
    return;
  if (exec(tx, find_pid_loop, loop.cascade_from).empty())
    throw storage_error(errc::not_found, std::string(context) + ": cascade_from: PID loop " +
                                             std::to_string(loop.cascade_from) + " not found");
  if (existing &&
      exec(tx, cascade_reaches, loop.cascade_from, loop.id)[0][0].as<std::int64_t>() > 0)
    throw storage_error(errc::bad_request, std::string(context) + ": cascade_from " +
                                               std::to_string(loop.cascade_from) +
                                               " would make the loop its own cascade source");
}

int recorded_version(pqxx::transaction_base& tx) {
  if (!exec(tx, schema_version_exists)[0][0].as<bool>())
    return 0;
  return exec(tx, read_schema_version)[0][0].as<int>();
}

storage_error user_not_found(std::int64_t id) {
  return storage_error(errc::not_found, "user " + std::to_string(id) + " not found");
}

}  // namespace

template <class Body>
auto postgres_store::guarded(std::string_view context, Body&& body)
    -> decltype(body(std::declval<pqxx::connection&>())) {
  try {
    return body(connection());
  } catch (const storage_error&) {
    throw;
  } catch (...) {
    translate_current_exception(context);
  }
}

postgres_store::postgres_store(std::string url) : url_(std::move(url)) {
  guarded("connect to PostgreSQL", [](pqxx::connection&) {});
}

pqxx::connection& postgres_store::connection() {
  if (!connection_) {
    auto fresh = std::make_unique<pqxx::connection>(url_);
    for (const statement& stmt : all_statements)
      fresh->prepare(stmt.name, stmt.sql);
    for (const statement& stmt : field_statements)
      fresh->prepare(stmt.name, stmt.sql);
    for (const statement& stmt : pid_statements)
      fresh->prepare(stmt.name, stmt.sql);
    for (const statement& stmt : alarm_statements)
      fresh->prepare(stmt.name, stmt.sql);
    for (const statement& stmt : historian_statements)
      fresh->prepare(stmt.name, stmt.sql);
    connection_ = std::move(fresh);
  }
  return *connection_;
}

void postgres_store::translate_current_exception(std::string_view context) {
  std::string prefix = std::string(context) + ": ";
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    connection_.reset();
    throw storage_error(errc::unavailable, prefix + first_line(e.what()));
  } catch (const pqxx::in_doubt_error& e) {
    connection_.reset();
    throw storage_error(errc::unavailable,
                        prefix + "the connection broke during COMMIT: " + first_line(e.what()));
  } catch (const pqxx::sql_error& e) {
    if (connection_lost(e.sqlstate())) {
      connection_.reset();
      throw storage_error(errc::unavailable, prefix + first_line(e.what()));
    }
    throw storage_error(classify(e.sqlstate()), prefix + first_line(e.what()));
  } catch (const std::exception& e) {
    throw storage_error(errc::internal, prefix + first_line(e.what()));
  }
}

int postgres_store::schema_version() {
  return guarded("read the schema version", [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return recorded_version(tx);
  });
}

int postgres_store::migrate() {
  int current = 0;
  for (const migration& step : postgresql_migrations()) {
    std::string context =
        "migration " + std::to_string(step.version) + " (" + std::string(step.description) + ")";
    guarded(context, [&](pqxx::connection& c) {
      pqxx::work tx(c);
      exec(tx, lock_migrations);
      if (!exec(tx, schema_version_exists)[0][0].as<bool>())
        tx.exec0(create_schema_version);
      current = recorded_version(tx);
      if (step.version <= current)
        return;
      tx.exec(std::string(step.sql));
      exec(tx, insert_schema_version, step.version, clock_now(), std::string(step.description));
      tx.commit();
      current = step.version;
    });
  }
  use_timescale_if_installed();
  return current;
}

// Only where a superuser has installed the extension in this database (CREATE EXTENSION
// timescaledb): wtcd's own role need not be one. Idempotent, so every start-up may run it.
void postgres_store::use_timescale_if_installed() {
  guarded("make historian_samples a TimescaleDB hypertable", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    exec(tx, lock_migrations);
    if (tx.exec1(timescale_installed)[0].as<std::int64_t>() == 0)
      return;
    // Time is BIGINT milliseconds: one-day chunks are 86,400,000, and the retention jobs need
    // the integer "now" of that unit.
    tx.exec(
        "SELECT create_hypertable('historian_samples', 'timestamp', "
        "chunk_time_interval => 86400000::BIGINT, if_not_exists => TRUE, migrate_data => TRUE)");
    tx.exec0(
        "CREATE OR REPLACE FUNCTION wtc_unix_ms_now() RETURNS BIGINT LANGUAGE SQL STABLE AS "
        "$$ SELECT (extract(epoch FROM now()) * 1000)::BIGINT $$");
    tx.exec(
        "SELECT set_integer_now_func('historian_samples', 'wtc_unix_ms_now', "
        "replace_if_exists => TRUE)");
    tx.commit();
  });
}

std::string postgres_store::historian_layout() {
  return guarded("read the historian's layout", [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    if (tx.exec1(timescale_installed)[0].as<std::int64_t>() == 0)
      return std::string("table");
    return tx.exec1(historian_is_hypertable)[0].as<std::int64_t>() > 0 ? std::string("hypertable")
                                                                       : std::string("table");
  });
}

void postgres_store::ping() {
  guarded("ping", [](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    exec(tx, ping_stmt);
  });
}

std::optional<user_record> postgres_store::find_user(std::string_view username) {
  return guarded("find user", [&](pqxx::connection& c) -> std::optional<user_record> {
    pqxx::read_transaction tx(c);
    pqxx::result rows = exec(tx, find_user_stmt, std::string(username));
    if (rows.empty())
      return std::nullopt;
    return user_from(rows[0]);
  });
}

std::optional<user_record> postgres_store::find_user_by_id(std::int64_t id) {
  return guarded("find user", [&](pqxx::connection& c) -> std::optional<user_record> {
    pqxx::read_transaction tx(c);
    pqxx::result rows = exec(tx, find_user_by_id_stmt, id);
    if (rows.empty())
      return std::nullopt;
    return user_from(rows[0]);
  });
}

paged<user_record> postgres_store::list_users(const page& window) {
  check_window(window);
  return guarded("list users", [&](pqxx::connection& c) {
    snapshot tx(c);
    paged<user_record> result;
    for (const pqxx::row& row : exec(tx, list_users_stmt, window.limit, window.skip))
      result.items.push_back(user_from(row));
    result.total = exec(tx, count_users_stmt)[0][0].as<std::int64_t>();
    tx.commit();
    return result;
  });
}

system_counts postgres_store::count_system() {
  return guarded("count RTUs and alarms", [](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    const auto row = exec(tx, count_system_stmt)[0];
    return system_counts{row[0].as<std::int64_t>(), row[1].as<std::int64_t>(),
                         row[2].as<std::int64_t>()};
  });
}

std::int64_t postgres_store::count_users() {
  return guarded("count users", [](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return exec(tx, count_users_stmt)[0][0].as<std::int64_t>();
  });
}

user_record postgres_store::create_user(const user_record& user, const audit_entry& audit) {
  return guarded("create user '" + user.username + "'", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    user_record stored = user_from(exec(
        tx, insert_user, user.username, user.password_hash, std::string(to_string(user.user_role)),
        user.active, user.sync_to_rtus, user.created_at, user.updated_at, user.last_login)[0]);
    write_audit(tx, audit);
    tx.commit();
    return stored;
  });
}

user_record postgres_store::update_user(std::int64_t id, const user_update& update,
                                        timestamp_ms now, const audit_entry& audit) {
  return guarded("update user " + std::to_string(id), [&](pqxx::connection& c) {
    pqxx::work tx(c);
    pqxx::result rows =
        exec(tx, update_user_stmt, id, update.set_role, std::string(to_string(update.user_role)),
             update.set_active, update.active, update.set_sync_to_rtus, update.sync_to_rtus, now);
    if (rows.empty())
      throw user_not_found(id);
    user_record stored = user_from(rows[0]);
    if (update.set_role)
      exec(tx, update_session_roles, stored.username, std::string(to_string(stored.user_role)));
    if (update.set_active && !update.active)
      exec(tx, delete_user_sessions, stored.username);
    write_audit(tx, audit);
    tx.commit();
    return stored;
  });
}

void postgres_store::set_password(std::int64_t id, const std::string& password_hash,
                                  timestamp_ms now, const audit_entry& audit) {
  guarded("set the password of user " + std::to_string(id), [&](pqxx::connection& c) {
    pqxx::work tx(c);
    pqxx::result rows = exec(tx, set_password_stmt, id, password_hash, now);
    if (rows.empty())
      throw user_not_found(id);
    exec(tx, delete_user_sessions, rows[0][0].as<std::string>());
    write_audit(tx, audit);
    tx.commit();
  });
}

void postgres_store::delete_user(std::int64_t id, const audit_entry& audit) {
  guarded("delete user " + std::to_string(id), [&](pqxx::connection& c) {
    pqxx::work tx(c);
    // The user's sessions go with it: user_sessions.username cascades.
    if (exec(tx, delete_user_stmt, id).affected_rows() == 0)
      throw user_not_found(id);
    write_audit(tx, audit);
    tx.commit();
  });
}

void postgres_store::record_login(std::int64_t id, timestamp_ms at) {
  guarded("record the login of user " + std::to_string(id), [&](pqxx::connection& c) {
    pqxx::work tx(c);
    if (exec(tx, record_login_stmt, id, at).affected_rows() == 0)
      throw user_not_found(id);
    tx.commit();
  });
}

void postgres_store::create_session(const session_record& session, const audit_entry& audit) {
  guarded("create a session for '" + session.username + "'", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    write_session(tx, session);
    write_audit(tx, audit);
    tx.commit();
  });
}

std::vector<session_record> postgres_store::load_sessions(timestamp_ms now) {
  return guarded("load sessions", [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    std::vector<session_record> sessions;
    for (const pqxx::row& row : exec(tx, load_sessions_stmt, now)) {
      session_record session;
      session.token_hash = row[0].as<std::string>();
      session.username = row[1].as<std::string>();
      session.user_role = role_from_column(row[2].as<std::string>());
      session.groups = text_or_empty(row[3]);
      session.created_at = row[4].as<std::int64_t>();
      session.last_activity = row[5].as<std::int64_t>();
      session.expires_at = row[6].as<std::int64_t>();
      session.ip_address = text_or_empty(row[7]);
      session.user_agent = text_or_empty(row[8]);
      sessions.push_back(std::move(session));
    }
    return sessions;
  });
}

void postgres_store::delete_session(const std::string& token_hash, const audit_entry& audit) {
  guarded("delete a session", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    // A logout racing the purge of the same expired session is no error: the session is gone.
    exec(tx, delete_session_stmt, token_hash);
    write_audit(tx, audit);
    tx.commit();
  });
}

void postgres_store::replace_session(const std::string& old_token_hash, const session_record& fresh,
                                     const audit_entry& audit) {
  guarded("refresh a session of '" + fresh.username + "'", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    // A token that is no longer stored (logged out, purged) must not be refreshable.
    if (exec(tx, delete_session_stmt, old_token_hash).affected_rows() == 0)
      throw storage_error(errc::not_found, "the session to refresh does not exist");
    write_session(tx, fresh);
    write_audit(tx, audit);
    tx.commit();
  });
}

void postgres_store::touch_sessions(
    const std::vector<std::pair<std::string, timestamp_ms>>& activity) {
  if (activity.empty())
    return;
  guarded("record session activity", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    for (const auto& [token_hash, at] : activity)
      exec(tx, touch_session, token_hash, at);
    tx.commit();
  });
}

std::int64_t postgres_store::purge_expired_sessions(timestamp_ms now) {
  return guarded("purge expired sessions", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    auto purged = static_cast<std::int64_t>(exec(tx, purge_sessions, now).affected_rows());
    tx.commit();
    return purged;
  });
}

std::vector<rtu_record> postgres_store::list_rtus() {
  return guarded("list RTUs", [](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    std::vector<rtu_record> rtus;
    for (const pqxx::row& row : exec(tx, list_rtus_stmt))
      rtus.push_back(rtu_from(row));
    return rtus;
  });
}

std::optional<rtu_record> postgres_store::find_rtu(std::string_view station_name) {
  return guarded("find RTU", [&](pqxx::connection& c) -> std::optional<rtu_record> {
    pqxx::read_transaction tx(c);
    pqxx::result rows = exec(tx, find_rtu_stmt, std::string(station_name));
    if (rows.empty())
      return std::nullopt;
    return rtu_from(rows[0]);
  });
}

rtu_record postgres_store::create_rtu(const rtu_record& rtu, const audit_entry& audit) {
  std::string context = "create RTU '" + rtu.station_name + "'";
  return guarded(context, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    rtu_record candidate = rtu;
    candidate.id = 0;
    check_rtu_unique(tx, candidate, context);
    rtu_record stored = rtu_from(exec(
        tx, insert_rtu, rtu.station_name, rtu.ip_address, rtu.port, rtu.unit_id, rtu.profile,
        rtu.vendor_id, rtu.device_id, rtu.slot_count, rtu.cycle_time_ms, rtu.auto_connect,
        std::string(to_string(rtu.state)), rtu.state_since, rtu.transition_reason, rtu.last_error,
        rtu.rtu_version, rtu.version_mismatch, rtu.created_at, rtu.updated_at, rtu.node)[0]);
    write_audit(tx, audit);
    tx.commit();
    return stored;
  });
}

rtu_record postgres_store::update_rtu(std::int64_t id, const rtu_update& update, timestamp_ms now,
                                      const audit_entry& audit) {
  std::string context = "update RTU " + std::to_string(id);
  return guarded(context, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    pqxx::result current = exec(tx, lock_rtu, id);
    if (current.empty())
      throw rtu_not_found(id);
    rtu_record wanted = apply_update(rtu_from(current[0]), update, now);
    check_rtu_unique(tx, wanted, context);
    rtu_record stored =
        rtu_from(exec(tx, update_rtu_stmt, id, wanted.ip_address, wanted.port, wanted.unit_id,
                      wanted.profile, wanted.vendor_id, wanted.device_id, wanted.slot_count,
                      wanted.cycle_time_ms, now, wanted.node)[0]);
    write_audit(tx, audit);
    tx.commit();
    return stored;
  });
}

void postgres_store::delete_rtu(std::int64_t id, const audit_entry& audit) {
  guarded("delete RTU " + std::to_string(id), [&](pqxx::connection& c) {
    pqxx::work tx(c);
    // Slots, sensors, controls (and their samples) and diagnostics cascade.
    if (exec(tx, delete_rtu_stmt, id).affected_rows() == 0)
      throw rtu_not_found(id);
    write_audit(tx, audit);
    tx.commit();
  });
}

void postgres_store::set_rtu_auto_connect(std::int64_t id, bool auto_connect,
                                          const audit_entry& audit) {
  guarded("set auto_connect of RTU " + std::to_string(id), [&](pqxx::connection& c) {
    pqxx::work tx(c);
    if (exec(tx, set_auto_connect, id, auto_connect).affected_rows() == 0)
      throw rtu_not_found(id);
    write_audit(tx, audit);
    tx.commit();
  });
}

void postgres_store::record_rtu_transition(const rtu_transition& transition,
                                           const diagnostic_record& diagnostic) {
  std::string context = "record a state transition of RTU " + std::to_string(transition.rtu_id);
  guarded(context, [&](pqxx::connection& c) {
    diagnostic_record row = diagnostic_of(transition.rtu_id, diagnostic);
    pqxx::work tx(c);
    if (exec(tx, record_transition, transition.rtu_id, std::string(to_string(transition.state)),
             transition.since, transition.reason, transition.last_error, transition.clear_error)
            .affected_rows() == 0)
      throw rtu_not_found(transition.rtu_id);
    write_diagnostic(tx, row);
    tx.commit();
  });
}

void postgres_store::apply_discovery(const discovery_result& found, timestamp_ms now,
                                     const diagnostic_record& diagnostic) {
  const std::int64_t rtu_id = found.rtu_id;
  std::string context = "apply the discovery of RTU " + std::to_string(rtu_id);
  guarded(context, [&](pqxx::connection& c) {
    diagnostic_record row = diagnostic_of(rtu_id, diagnostic);
    check_discovery(found);
    pqxx::work tx(c);
    exec(tx, lock_discovery);
    if (exec(tx, identify_rtu, rtu_id, found.vendor_id, found.device_id, found.rtu_version,
             found.version_mismatch, found.slot_count, now)
            .affected_rows() == 0)
      throw rtu_not_found(rtu_id);

    // Slots: the found ones upserted, the others PULLED (kept, with their points).
    std::map<std::int32_t, std::int64_t> slot_ids;  // slot number -> id
    for (const slot_record& slot : found.slots)
      slot_ids[slot.slot_number] = exec(tx, upsert_slot, rtu_id, slot.slot_number, slot.module_id,
                                        slot.module_type, slot.status, now)[0][0]
                                       .as<std::int64_t>();
    for (const pqxx::row& slot : exec(tx, list_slots_stmt, rtu_id)) {
      if (slot_ids.count(slot[2].as<std::int32_t>()) == 0)
        exec(tx, pull_slot, slot[0].as<std::int64_t>(), now);
    }

    std::vector<existing_point> existing;
    for (const pqxx::row& sensor : exec(tx, list_sensors_stmt, rtu_id))
      existing.push_back({sensor[0].as<std::int64_t>(), true, sensor[3].as<std::int32_t>(),
                          sensor[5].as<std::int32_t>(), sensor[4].as<std::string>(), ""});
    for (const pqxx::row& control : exec(tx, list_controls_stmt, rtu_id))
      existing.push_back({control[0].as<std::int64_t>(), false, control[3].as<std::int32_t>(),
                          control[5].as<std::int32_t>(), control[4].as<std::string>(),
                          control[6].as<std::string>()});
    discovery_plan plan = plan_discovery(found, existing, [&](const std::string& tag) {
      return exec(tx, tag_uses, tag)[0][0].as<std::int64_t>();
    });

    for (std::int64_t id : plan.delete_sensors)
      exec(tx, delete_sensor, id);
    for (std::int64_t id : plan.delete_controls)
      exec(tx, delete_control, id);
    for (const control_retype& retype : plan.retype_controls)
      exec(tx, retype_control, retype.id, retype.control_type, retype.has_range, retype.min_value,
           retype.max_value, now);
    for (const sensor_record& sensor : plan.insert_sensors)
      exec(tx, insert_sensor, rtu_id, slot_ids.at(sensor.slot_number), sensor.tag, sensor.channel,
           sensor.sensor_type, sensor.unit, sensor.scale_min, sensor.scale_max, sensor.eng_min,
           sensor.eng_max, sensor.deadband, now);
    for (const control_record& control : plan.insert_controls)
      exec(tx, insert_control, rtu_id, slot_ids.at(control.slot_number), control.tag,
           control.channel, control.control_type, control.equipment_type, control.has_range,
           control.min_value, control.max_value, control.unit, now);

    for (const std::string& warning : plan.warnings)
      write_diagnostic(tx, {0, rtu_id, now, "WARNING", "DISCOVERY", warning, ""});
    write_diagnostic(tx, row);
    tx.commit();
  });
}

std::vector<slot_record> postgres_store::list_slots(std::int64_t rtu_id) {
  return guarded("list slots", [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    std::vector<slot_record> slots;
    for (const pqxx::row& row : exec(tx, list_slots_stmt, rtu_id))
      slots.push_back(slot_from(row));
    return slots;
  });
}

void postgres_store::update_sensor(const sensor_record& sensor, timestamp_ms now,
                                   const audit_entry& audit) {
  guarded("update sensor '" + sensor.tag + "'", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    if (exec(tx, update_sensor_stmt, sensor.id, sensor.sensor_type, sensor.unit, sensor.scale_min,
             sensor.scale_max, sensor.eng_min, sensor.eng_max, sensor.deadband, now)
            .affected_rows() == 0)
      throw sensor_not_found(sensor.id);
    write_audit(tx, audit);
    tx.commit();
  });
}

std::vector<sensor_record> postgres_store::list_sensors(std::int64_t rtu_id) {
  return guarded("list sensors", [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    std::vector<sensor_record> sensors;
    for (const pqxx::row& row : exec(tx, list_sensors_stmt, rtu_id))
      sensors.push_back(sensor_from(row));
    return sensors;
  });
}

std::vector<control_record> postgres_store::list_controls(std::int64_t rtu_id) {
  return guarded("list controls", [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    std::vector<control_record> controls;
    for (const pqxx::row& row : exec(tx, list_controls_stmt, rtu_id))
      controls.push_back(control_from(row));
    return controls;
  });
}

std::vector<pid_loop_record> postgres_store::list_pid_loops(std::string_view station) {
  return guarded("list PID loops", [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    std::vector<pid_loop_record> loops;
    for (const pqxx::row& row : exec(tx, list_pid_loops_stmt, std::string(station)))
      loops.push_back(pid_loop_from(row));
    return loops;
  });
}

std::optional<pid_loop_record> postgres_store::get_pid_loop(std::int64_t id) {
  return guarded("get PID loop", [&](pqxx::connection& c) -> std::optional<pid_loop_record> {
    pqxx::read_transaction tx(c);
    pqxx::result rows = exec(tx, find_pid_loop, id);
    if (rows.empty())
      return std::nullopt;
    return pid_loop_from(rows[0]);
  });
}

pid_loop_record postgres_store::create_pid_loop(const pid_loop_record& loop,
                                                const audit_entry& audit) {
  std::string context = "create PID loop '" + loop.name + "'";
  check_pid_loop(context, loop);
  return guarded(context, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    exec(tx, lock_pid_config);
    check_pid_references(tx, loop, false, context);
    pid_loop_record stored = pid_loop_from(
        exec(tx, insert_pid_loop, loop.name, loop.enabled, loop.input_rtu, loop.input_slot,
             loop.output_rtu, loop.output_slot, loop.kp, loop.ki, loop.kd, loop.setpoint,
             loop.output_min, loop.output_max, loop.deadband, loop.integral_limit,
             loop.derivative_filter, loop.mode, loop.scan_period_ms, loop.has_output, loop.output,
             loop.on_bad_measurement, loop.safe_output, loop.cascade_from, loop.created_at,
             loop.updated_at)[0]);
    write_audit(tx, audit);
    tx.commit();
    return stored;
  });
}

pid_loop_record postgres_store::update_pid_loop(const pid_loop_record& loop, timestamp_ms now,
                                                const audit_entry& audit) {
  std::string context = "update PID loop " + std::to_string(loop.id);
  check_pid_loop(context, loop);
  return guarded(context, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    exec(tx, lock_pid_config);
    if (exec(tx, find_pid_loop, loop.id).empty())
      throw pid_loop_not_found(loop.id);
    check_pid_references(tx, loop, true, context);
    pid_loop_record stored = pid_loop_from(
        exec(tx, update_pid_loop_stmt, loop.id, loop.name, loop.enabled, loop.input_rtu,
             loop.input_slot, loop.output_rtu, loop.output_slot, loop.kp, loop.ki, loop.kd,
             loop.setpoint, loop.output_min, loop.output_max, loop.deadband, loop.integral_limit,
             loop.derivative_filter, loop.mode, loop.scan_period_ms, loop.has_output, loop.output,
             loop.on_bad_measurement, loop.safe_output, loop.cascade_from, now)[0]);
    write_audit(tx, audit);
    tx.commit();
    return stored;
  });
}

void postgres_store::delete_pid_loop(std::int64_t id, const audit_entry& audit) {
  std::string context = "delete PID loop " + std::to_string(id);
  guarded(context, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    exec(tx, lock_pid_config);
    // The foreign key (ON DELETE RESTRICT) stands behind this check; the check names the loops.
    std::string inner;
    for (const pqxx::row& row : exec(tx, cascade_children, id))
      inner += (inner.empty() ? "" : ", ") + row[0].as<std::string>() + " ('" +
               row[1].as<std::string>() + "')";
    if (!inner.empty())
      throw storage_error(errc::conflict,
                          context + ": it is the cascade_from of PID loop(s) " + inner);
    if (exec(tx, delete_pid_loop_stmt, id).affected_rows() == 0)
      throw pid_loop_not_found(id);
    write_audit(tx, audit);
    tx.commit();
  });
}

void postgres_store::replace_pid_loops(const std::vector<pid_loop_record>& loops,
                                       const audit_entry& audit) {
  std::string context = "replace every PID loop (" + std::to_string(loops.size()) + " given)";
  check_pid_loop_set(context, loops);
  guarded(context, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    exec(tx, lock_pid_config);
    exec(tx, clear_pid_cascades);
    exec(tx, delete_pid_loops);
    for (const pid_loop_record& loop : loops)
      exec(tx, insert_pid_loop_with_id, loop.id, loop.name, loop.enabled, loop.input_rtu,
           loop.input_slot, loop.output_rtu, loop.output_slot, loop.kp, loop.ki, loop.kd,
           loop.setpoint, loop.output_min, loop.output_max, loop.deadband, loop.integral_limit,
           loop.derivative_filter, loop.mode, loop.scan_period_ms, loop.has_output, loop.output,
           loop.on_bad_measurement, loop.safe_output, loop.created_at, loop.updated_at);
    for (const pid_loop_record& loop : loops)
      if (loop.cascade_from != 0)
        exec(tx, set_pid_cascade, loop.id, loop.cascade_from);
    exec(tx, advance_pid_sequence);
    write_audit(tx, audit);
    tx.commit();
  });
}

bool postgres_store::save_pid_output(std::int64_t id, double output, double setpoint,
                                     std::string_view mode) {
  std::string context = "save the output of PID loop " + std::to_string(id);
  check_pid_output(context, output, setpoint);
  return guarded(context, [&](pqxx::connection& c) {
    // One statement in autocommit, one round trip (no BEGIN and COMMIT around it); only a
    // refusal or "unchanged" takes a second look.
    pqxx::nontransaction tx(c);
    if (exec(tx, save_pid_output_stmt, id, output, setpoint, std::string(mode)).affected_rows() > 0)
      return true;
    pqxx::result source = exec(tx, pid_loop_has_source, id);
    if (source.empty())
      throw pid_loop_not_found(id);
    if (mode == "CASCADE" && !source[0][0].as<bool>())
      throw storage_error(errc::bad_request,
                          context + ": mode CASCADE needs a cascade_from loop, and it has none");
    return false;
  });
}

std::size_t postgres_store::save_pid_outputs(const std::vector<pid_runtime>& states) {
  if (states.empty())
    return 0;
  for (const pid_runtime& state : states)
    check_pid_output("save the output of PID loop " + std::to_string(state.loop_id), state.output,
                     state.setpoint);
  return guarded("save the outputs of " + std::to_string(states.size()) + " PID loops",
                 [&](pqxx::connection& c) {
                   pqxx::work tx(c);
                   std::size_t changed = 0;
                   // A row the statement leaves alone (unchanged, missing, CASCADE without a
                   // source) is skipped: no second look.
                   for (const pid_runtime& state : states)
                     changed +=
                         static_cast<std::size_t>(exec(tx, save_pid_output_stmt, state.loop_id,
                                                       state.output, state.setpoint, state.mode)
                                                      .affected_rows());
                   tx.commit();
                   return changed;
                 });
}

std::vector<alarm_rule_record> postgres_store::list_alarm_rules() {
  return guarded("list alarm rules", [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    std::vector<alarm_rule_record> rules;
    for (const pqxx::row& row : exec(tx, list_alarm_rules_stmt))
      rules.push_back(alarm_rule_from(row));
    return rules;
  });
}

std::optional<alarm_rule_record> postgres_store::get_alarm_rule(std::int64_t id) {
  return guarded("get alarm rule", [&](pqxx::connection& c) -> std::optional<alarm_rule_record> {
    pqxx::read_transaction tx(c);
    pqxx::result rows = exec(tx, find_alarm_rule, id);
    if (rows.empty())
      return std::nullopt;
    return alarm_rule_from(rows[0]);
  });
}

alarm_rule_record postgres_store::create_alarm_rule(const alarm_rule_record& rule,
                                                    const audit_entry& audit) {
  std::string context = "create alarm rule '" + rule.name + "'";
  check_alarm_rule(context, rule);
  return guarded(context, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    alarm_rule_record stored = alarm_rule_from(
        exec(tx, insert_alarm_rule, rule.name, rule.rtu_station, rule.slot, rule.condition,
             rule.threshold, rule.severity, rule.delay_ms, rule.message, rule.enabled,
             rule.has_deadband, rule.deadband, rule.created_at, rule.updated_at)[0]);
    write_audit(tx, audit);
    tx.commit();
    return stored;
  });
}

alarm_rule_record postgres_store::update_alarm_rule(const alarm_rule_record& rule, timestamp_ms now,
                                                    const audit_entry& audit) {
  std::string context = "update alarm rule " + std::to_string(rule.id);
  check_alarm_rule(context, rule);
  return guarded(context, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    pqxx::result rows =
        exec(tx, update_alarm_rule_stmt, rule.id, rule.name, rule.rtu_station, rule.slot,
             rule.condition, rule.threshold, rule.severity, rule.delay_ms, rule.message,
             rule.enabled, rule.has_deadband, rule.deadband, now);
    if (rows.empty())
      throw alarm_rule_not_found(rule.id);
    alarm_rule_record stored = alarm_rule_from(rows[0]);
    write_audit(tx, audit);
    tx.commit();
    return stored;
  });
}

void postgres_store::delete_alarm_rule(std::int64_t id, const audit_entry& audit) {
  std::string context = "delete alarm rule " + std::to_string(id);
  guarded(context, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    if (exec(tx, delete_alarm_rule_stmt, id).affected_rows() == 0)
      throw alarm_rule_not_found(id);
    write_audit(tx, audit);
    tx.commit();
  });
}

std::vector<slot_config_record> postgres_store::list_slot_configs() {
  return guarded("list slot configs", [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    std::vector<slot_config_record> configs;
    for (const pqxx::row& row : exec(tx, list_slot_configs_stmt))
      configs.push_back(slot_config_from(row));
    return configs;
  });
}

slot_config_record postgres_store::save_slot_config(const slot_config_record& config,
                                                    const audit_entry& audit) {
  std::string context =
      "save the slot config of " + config.rtu_station + " slot " + std::to_string(config.slot);
  check_slot_config(context, config);
  return guarded(context, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    slot_config_record stored = slot_config_from(exec(
        tx, upsert_slot_config, config.rtu_station, config.slot, config.subslot, config.slot_type,
        config.name, config.unit, config.measurement_type, config.actuator_type, config.scale_min,
        config.scale_max, config.has_alarm_low_low, config.alarm_low_low, config.has_alarm_low,
        config.alarm_low, config.has_warning_low, config.warning_low, config.has_warning_high,
        config.warning_high, config.has_alarm_high, config.alarm_high, config.has_alarm_high_high,
        config.alarm_high_high, config.deadband, config.enabled, config.created_at)[0]);
    write_audit(tx, audit);
    tx.commit();
    return stored;
  });
}

alarm_restore postgres_store::load_alarm_state() {
  return guarded("load the alarm state", [&](pqxx::connection& c) {
    // One snapshot: the rows and the next ids agree.
    snapshot tx(c);
    alarm_restore restore;
    for (const pqxx::row& row : exec(tx, list_alarm_rules_stmt))
      restore.rules.push_back(alarm_rule_from(row));
    for (const pqxx::row& row : exec(tx, list_slot_configs_stmt))
      restore.slot_configs.push_back(slot_config_from(row));
    for (const pqxx::row& row : exec(tx, open_maintenance_by_id))
      restore.open_windows.push_back(maintenance_from(row));
    for (const pqxx::row& row : exec(tx, active_shelves))
      restore.active_shelves.push_back(shelf_from(row));
    for (const pqxx::row& row : exec(tx, listed_alarm_events))
      restore.listed_events.push_back(alarm_event_from(row));
    const auto next = exec(tx, next_alarm_ids)[0];
    restore.next_event_id = next[0].as<std::int64_t>();
    restore.next_shelf_id = next[1].as<std::int64_t>();
    restore.next_window_id = next[2].as<std::int64_t>();
    tx.commit();
    return restore;
  });
}

void postgres_store::save_alarm_state(const alarm_state_batch& batch) {
  if (batch.events.empty() && batch.shelves.empty() && batch.windows.empty() &&
      batch.audits.empty())
    return;
  std::string context = "save the alarm state (" + std::to_string(batch.events.size()) +
                        " events, " + std::to_string(batch.shelves.size()) + " shelves, " +
                        std::to_string(batch.windows.size()) + " maintenance windows)";
  check_alarm_state(context, batch);
  guarded(context, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    for (const alarm_event_record& e : batch.events)
      exec(tx, upsert_alarm_event, e.id, e.alarm_rule_id, e.source_rule_id, e.origin, e.rtu_station,
           e.slot, e.state, e.severity, e.has_value, e.value_at_activation, e.message,
           e.activated_at, e.acknowledged_at, e.acknowledged_by, e.cleared_at, e.note, e.listed,
           e.suppressed_by);
    for (const alarm_shelf_record& shelf : batch.shelves)
      exec(tx, upsert_shelf, shelf.id, shelf.rtu_station, shelf.slot, shelf.alarm_rule_id,
           shelf.shelved_by, shelf.shelved_at, shelf.shelf_duration_minutes, shelf.expires_at,
           shelf.reason, shelf.active);
    for (const maintenance_record& w : batch.windows)
      exec(tx, upsert_maintenance, w.id, w.rtu_station, w.slot, w.scheduled_by, w.scheduled_at,
           w.start_time, w.end_time, w.reason, w.work_order, w.status, w.activated_at,
           w.completed_at, w.cancelled_by, w.cancelled_at);
    for (const audit_entry& audit : batch.audits)
      write_audit(tx, audit);
    if (!batch.events.empty() || !batch.shelves.empty() || !batch.windows.empty())
      exec(tx, advance_alarm_sequences);
    tx.commit();
  });
}

std::vector<alarm_event_record> postgres_store::query_alarm_history(
    const alarm_history_filter& filter) {
  return guarded("query the alarm history", [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    std::vector<alarm_event_record> events;
    for (const pqxx::row& row : exec(tx, alarm_history, filter.start, filter.end, filter.severity,
                                     filter.rtu_station, history_limit(filter)))
      events.push_back(alarm_event_from(row));
    return events;
  });
}

std::vector<alarm_shelf_record> postgres_store::list_shelves(bool active_only) {
  return guarded("list shelved alarms", [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    std::vector<alarm_shelf_record> shelves;
    for (const pqxx::row& row : exec(tx, list_shelves_stmt, active_only))
      shelves.push_back(shelf_from(row));
    return shelves;
  });
}

std::vector<maintenance_record> postgres_store::list_maintenance(bool open_only) {
  return guarded("list maintenance windows", [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    std::vector<maintenance_record> windows;
    for (const pqxx::row& row : exec(tx, list_maintenance_stmt, open_only))
      windows.push_back(maintenance_from(row));
    return windows;
  });
}

std::int64_t postgres_store::count_annunciated_alarms(timestamp_ms since) {
  return guarded("count annunciated alarms", [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return exec(tx, count_annunciated, since)[0][0].as<std::int64_t>();
  });
}

std::vector<historian_tag_record> postgres_store::list_historian_tags() {
  return guarded("list historian tags", [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    std::vector<historian_tag_record> tags;
    for (const pqxx::row& row : exec(tx, list_historian_tags_stmt))
      tags.push_back(historian_tag_from(row));
    return tags;
  });
}

std::optional<historian_tag_record> postgres_store::get_historian_tag(std::int64_t id) {
  return guarded("get historian tag",
                 [&](pqxx::connection& c) -> std::optional<historian_tag_record> {
                   pqxx::read_transaction tx(c);
                   pqxx::result rows = exec(tx, find_historian_tag, id);
                   if (rows.empty())
                     return std::nullopt;
                   return historian_tag_from(rows[0]);
                 });
}

historian_tag_record postgres_store::create_historian_tag(const historian_tag_record& tag,
                                                          const audit_entry& audit) {
  std::string context = "create historian tag '" + tag.tag_name + "'";
  check_historian_tag(context, tag);
  return guarded(context, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    historian_tag_record stored = historian_tag_from(
        exec(tx, insert_historian_tag, tag.rtu_station, tag.slot, tag.tag_name, tag.unit,
             tag.sample_rate_ms, tag.deadband, tag.compression, tag.max_interval_ms, tag.enabled,
             tag.created_at, tag.updated_at)[0]);
    write_audit(tx, audit);
    tx.commit();
    return stored;
  });
}

historian_tag_record postgres_store::update_historian_tag(const historian_tag_record& tag,
                                                          timestamp_ms now,
                                                          const audit_entry& audit) {
  std::string context = "update historian tag " + std::to_string(tag.id);
  check_historian_tag(context, tag);
  return guarded(context, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    pqxx::result rows = exec(tx, update_historian_tag_stmt, tag.id, tag.rtu_station, tag.slot,
                             tag.tag_name, tag.unit, tag.sample_rate_ms, tag.deadband,
                             tag.compression, tag.max_interval_ms, tag.enabled, now);
    if (rows.empty())
      throw historian_tag_not_found(tag.id);
    historian_tag_record stored = historian_tag_from(rows[0]);
    write_audit(tx, audit);
    tx.commit();
    return stored;
  });
}

void postgres_store::delete_historian_tag(std::int64_t id, const audit_entry& audit) {
  std::string context = "delete historian tag " + std::to_string(id);
  guarded(context, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    if (exec(tx, delete_historian_tag_stmt, id).affected_rows() == 0)
      throw historian_tag_not_found(id);
    exec(tx, delete_historian_tag_samples, id);
    write_audit(tx, audit);
    tx.commit();
  });
}

void postgres_store::append_historian(const historian_batch& batch) {
  if (batch.points.empty() && batch.rollups.empty())
    return;
  std::string context = "append to the historian (" + std::to_string(batch.points.size()) +
                        " points, " + std::to_string(batch.rollups.size()) + " rollups)";
  check_historian_batch(context, batch);
  guarded(context, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    const auto tags = historian_batch_tags(batch);
    std::string tag_array = "{";
    for (std::int64_t tag_id : tags)
      tag_array += (tag_array.size() > 1 ? "," : "") + std::to_string(tag_id);
    tag_array += "}";
    if (exec(tx, historian_tags_known, tag_array)[0][0].as<std::size_t>() != tags.size())
      for (std::int64_t tag_id : tags)
        if (exec(tx, historian_tag_exists, tag_id)[0][0].as<std::int64_t>() == 0)
          throw storage_error(errc::not_found,
                              context + ": historian tag " + std::to_string(tag_id) + " not found");
    if (!batch.points.empty()) {
      // New points (the live stream) are copied straight into the table. Only a batch that
      // repeats a stored key (a replayed backfill) or one of its own takes the slower way, merged
      // through the staging table so that the later point wins.
      const std::vector<std::string> columns{"tag_id", "timestamp", "value", "quality"};
      bool copied = false;
      {
        pqxx::subtransaction direct(tx, "historian_direct");
        try {
          pqxx::stream_to copy(direct, "historian_samples", columns);
          for (const historian_point& point : batch.points)
            copy << std::make_tuple(point.tag_id, point.timestamp, copy_double(point.value).c_str(),
                                    int{point.quality});
          copy.complete();
          direct.commit();
          copied = true;
        } catch (const pqxx::unique_violation&) {
          direct.abort();
        }
      }
      if (copied) {
        // All new: their counts per tag, as two array literals. Counted in runs first (a batch
        // comes sorted by tag: one run each), not a map lookup per point.
        std::map<std::int64_t, std::int64_t> added;
        std::int64_t run_tag = batch.points.front().tag_id;
        std::int64_t run = 0;
        for (const historian_point& point : batch.points) {
          if (point.tag_id != run_tag) {
            added[run_tag] += run;
            run_tag = point.tag_id;
            run = 0;
          }
          ++run;
        }
        added[run_tag] += run;
        std::string ids = "{";
        std::string counts = "{";
        for (const auto& [tag_id, rows] : added) {
          ids += (ids.size() > 1 ? "," : "") + std::to_string(tag_id);
          counts += (counts.size() > 1 ? "," : "") + std::to_string(rows);
        }
        exec(tx, add_historian_sample_rows, ids + "}", counts + "}");
      } else {
        if (!exec(tx, historian_staging_exists)[0][0].as<bool>())
          tx.exec0(create_historian_staging);
        {
          pqxx::stream_to copy(
              tx, "historian_staging",
              std::vector<std::string>{"seq", "tag_id", "timestamp", "value", "quality"});
          std::int64_t seq = 0;
          for (const historian_point& point : batch.points)
            copy << std::make_tuple(seq++, point.tag_id, point.timestamp,
                                    copy_double(point.value).c_str(), int{point.quality});
          copy.complete();
        }
        exec(tx, add_staged_historian_sample_rows);
        exec(tx, merge_historian_staging);
      }
    }
    if (!batch.rollups.empty()) {
      if (!exec(tx, historian_rollup_staging_exists)[0][0].as<bool>())
        tx.exec0(create_historian_rollup_staging);
      {
        pqxx::stream_to copy(
            tx, "historian_rollup_staging",
            std::vector<std::string>{"seq", "tag_id", "width_ms", "bucket_start", "count",
                                     "uncertain", "bad", "sum", "min", "max", "first", "last",
                                     "first_time", "last_time"});
        std::int64_t seq = 0;
        // An empty bucket's min and max are infinite in core::rollup; the merge stores NULL.
        for (const historian_rollup_row& row : batch.rollups)
          copy << std::make_tuple(seq++, row.tag_id, row.width_ms, row.bucket_start, row.count,
                                  row.uncertain, row.bad, row.sum, row.count > 0 ? row.min : 0.0,
                                  row.count > 0 ? row.max : 0.0, row.first, row.last,
                                  row.first_time, row.last_time);
        copy.complete();
      }
      exec(tx, add_staged_historian_rollup_rows);
      exec(tx, merge_historian_rollup_staging);
    }
    tx.commit();
  });
}

std::vector<historian_point> postgres_store::query_historian(const historian_filter& filter) {
  return guarded("query the historian", [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    std::vector<historian_point> points;
    pqxx::result rows = exec(tx, query_historian_stmt, filter.tag_id, filter.start, filter.end,
                             historian_limit(filter));
    points.reserve(rows.size());
    for (const pqxx::row& row : rows)
      points.push_back(historian_point_from(row));
    return points;
  });
}

std::vector<historian_rollup_row> postgres_store::query_historian_rollups(
    const historian_filter& filter) {
  constexpr std::string_view context = "query the historian's rollups";
  check_historian_grouping(context, filter);
  return guarded(context, [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    std::vector<historian_rollup_row> rollups;
    pqxx::result rows =
        filter.group_ms != 0
            ? exec(tx, query_historian_rollups_grouped, filter.tag_id, filter.width_ms,
                   filter.start, filter.end, historian_limit(filter), filter.group_ms)
            : exec(tx, query_historian_rollups_stmt, filter.tag_id, filter.width_ms, filter.start,
                   filter.end, historian_limit(filter));
    rollups.reserve(rows.size());
    for (const pqxx::row& row : rows)
      rollups.push_back(historian_rollup_from(row));
    return rollups;
  });
}

std::optional<historian_point> postgres_store::historian_point_before(std::int64_t tag_id,
                                                                      timestamp_ms before,
                                                                      std::int64_t max_age_ms) {
  return guarded("find the historian point before a time",
                 [&](pqxx::connection& c) -> std::optional<historian_point> {
                   pqxx::read_transaction tx(c);
                   pqxx::result rows =
                       exec(tx, historian_point_before_stmt, tag_id, before, before - max_age_ms);
                   if (rows.empty())
                     return std::nullopt;
                   return historian_point_from(rows[0]);
                 });
}

std::vector<historian_rollup_row> postgres_store::get_historian_rollups(
    const std::vector<historian_rollup_key>& keys) {
  return guarded("read historian rollups", [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    std::vector<historian_rollup_row> rollups;
    for (const historian_rollup_key& key : keys) {
      pqxx::result rows =
          exec(tx, find_historian_rollup, key.tag_id, key.width_ms, key.bucket_start);
      if (!rows.empty())
        rollups.push_back(historian_rollup_from(rows[0]));
    }
    return rollups;
  });
}

std::int64_t postgres_store::purge_historian(timestamp_ms samples_before,
                                             timestamp_ms rollups_before) {
  return guarded("purge the historian", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    auto deleted = exec(tx, purge_historian_samples, samples_before)[0][0].as<std::int64_t>();
    if (rollups_before != 0)
      deleted += exec(tx, purge_historian_rollups, rollups_before)[0][0].as<std::int64_t>();
    tx.commit();
    return deleted;
  });
}

historian_stats postgres_store::historian_statistics() {
  return guarded("read the historian's statistics", [&](pqxx::connection& c) {
    snapshot tx(c);
    historian_stats stats;
    for (const pqxx::row& row : exec(tx, historian_tag_counts)) {
      historian_tag_count tag{row[0].as<std::int64_t>(), row[1].as<std::int64_t>(),
                              row[2].as<std::int64_t>(), row[3].as<std::int64_t>()};
      stats.sample_rows += tag.rows;
      stats.oldest = stats.per_tag.empty() ? tag.oldest : std::min(stats.oldest, tag.oldest);
      stats.newest = stats.per_tag.empty() ? tag.newest : std::max(stats.newest, tag.newest);
      stats.per_tag.push_back(tag);
    }
    pqxx::row totals = exec(tx, historian_rollups_and_bytes)[0];
    stats.rollup_rows = totals[0].as<std::int64_t>();
    stats.bytes = totals[1].as<std::int64_t>();
    return stats;
  });
}

void postgres_store::append_diagnostic(const diagnostic_record& diagnostic) {
  guarded("append a diagnostic of RTU " + std::to_string(diagnostic.rtu_id),
          [&](pqxx::connection& c) {
            pqxx::work tx(c);
            write_diagnostic(tx, diagnostic);
            tx.commit();
          });
}

paged<diagnostic_record> postgres_store::list_diagnostics(std::int64_t rtu_id, const page& window) {
  check_window(window);
  return guarded("list diagnostics", [&](pqxx::connection& c) {
    snapshot tx(c);
    paged<diagnostic_record> result;
    for (const pqxx::row& row : exec(tx, list_diagnostics_stmt, rtu_id, window.limit, window.skip))
      result.items.push_back(diagnostic_from(row));
    result.total = exec(tx, count_diagnostics, rtu_id)[0][0].as<std::int64_t>();
    tx.commit();
    return result;
  });
}

void postgres_store::append_audit(const audit_entry& entry) {
  guarded("append to the audit log", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    write_audit(tx, entry);
    tx.commit();
  });
}

paged<audit_entry> postgres_store::query_audit(const audit_filter& filter) {
  check_window(filter.window);
  return guarded("query the audit log", [&](pqxx::connection& c) {
    snapshot tx(c);
    paged<audit_entry> result;
    for (const pqxx::row& row : exec(tx, query_audit_stmt, filter.user, filter.action,
                                     filter.resource_type, filter.resource_id, filter.start,
                                     filter.end, filter.window.limit, filter.window.skip)) {
      audit_entry entry;
      entry.id = row[0].as<std::int64_t>();
      entry.timestamp = row[1].as<std::int64_t>();
      entry.user = text_or_empty(row[2]);
      entry.action = row[3].as<std::string>();
      entry.resource_type = text_or_empty(row[4]);
      entry.resource_id = text_or_empty(row[5]);
      entry.details = text_or_empty(row[6]);
      entry.ip_address = text_or_empty(row[7]);
      result.items.push_back(std::move(entry));
    }
    result.total = exec(tx, count_audit_stmt, filter.user, filter.action, filter.resource_type,
                        filter.resource_id, filter.start, filter.end)[0][0]
                       .as<std::int64_t>();
    tx.commit();
    return result;
  });
}

}  // namespace wtc::storage
