#pragma once

// What both backends share when they turn rows into values and back.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "messages/alarm_types.hpp"
#include "messages/control_types.hpp"
#include "messages/field_types.hpp"
#include "messages/historian_types.hpp"
#include "messages/types.hpp"

namespace wtc::storage {

/// Parses a role column. The schema's CHECK admits only the contract's roles, so anything else
/// means a database changed behind our back: an internal error, never a silent downgrade.
role role_from_column(std::string_view text);

/// Rejects a window no query can serve: a negative skip or limit is a bad request.
void check_window(const page& window);

/// The wall clock in UTC milliseconds, for schema_version.applied_at.
timestamp_ms clock_now();

/// Parses an rtus.state column; like role_from_column, anything unknown is an internal error.
rtu_state rtu_state_from_column(std::string_view text);

class storage_error;

/// The errors both backends raise for RTUs, worded alike. `context` names the operation.
storage_error rtu_not_found(std::int64_t id);
storage_error sensor_not_found(std::int64_t id);
storage_error duplicate_station(std::string_view context, const std::string& station_name);
storage_error duplicate_endpoint(std::string_view context, const rtu_record& rtu,
                                 const std::string& owner);

/// `current` with the set fields of `update` applied and updated_at = now.
rtu_record apply_update(rtu_record current, const rtu_update& update, timestamp_ms now);

/// The diagnostic row to write for an RTU: an unset rtu_id (0) takes `rtu_id`; another RTU's id is
/// a bad request (a diagnostic goes with the change it reports).
diagnostic_record diagnostic_of(std::int64_t rtu_id, const diagnostic_record& diagnostic);

/// The errors both backends raise for PID loops. `context` names the operation.
storage_error pid_loop_not_found(std::int64_t id);
/// `field` (input_rtu, output_rtu) names no RTU: not_found.
storage_error pid_rtu_not_found(std::string_view context, std::string_view field,
                                const std::string& station_name);

/// What a pid_loops row must be beyond the schema's CHECKs, checked before any SQL: every number
/// finite (SQLite would store NaN as NULL, PostgreSQL as NaN), CASCADE only with a cascade_from,
/// and cascade_from not negative. Throws bad_request naming the field.
void check_pid_loop(std::string_view context, const pid_loop_record& loop);
/// The same for what save_pid_output writes; whether the loop has a cascade_from is the SQL's.
void check_pid_output(std::string_view context, double output, double setpoint);
/// What replace_pid_loops must be given, checked before any SQL: check_pid_loop for every loop,
/// ids above 0 and each given once, a cascade_from that names a loop of the set, and no cycle of
/// cascades (a loop its own source, directly or through others). Throws bad_request naming the
/// loop (its id and name).
void check_pid_loop_set(std::string_view context, const std::vector<pid_loop_record>& loops);

/// The errors and checks both backends share for alarms. `context` names the operation.
storage_error alarm_rule_not_found(std::int64_t id);
/// Every number of a rule finite (threshold, a set deadband); the CHECKs refuse the rest
/// (condition, severity, a negative delay or deadband). Throws bad_request naming the field.
void check_alarm_rule(std::string_view context, const alarm_rule_record& rule);
/// Every number of a slot config finite (scaling, the set limits, deadband); the CHECKs refuse
/// the rest (slot_type).
void check_slot_config(std::string_view context, const slot_config_record& config);
/// What save_alarm_state checks before anything is written: every id positive (the manager
/// assigns them), every enumerated value one its CHECK admits (state, severity, origin, status)
/// and every number finite. Throws bad_request naming the row and the field.
void check_alarm_state(std::string_view context, const alarm_state_batch& batch);
/// A history query's limit clamped to 1..10000.
std::int64_t history_limit(const alarm_history_filter& filter);

/// A bad_request unless filter.group_ms is 0 or a positive multiple of filter.width_ms.
void check_historian_grouping(std::string_view context, const historian_filter& filter);

/// The errors and checks both backends share for the historian. `context` names the operation.
storage_error historian_tag_not_found(std::int64_t id);
/// The deadband finite; the CHECKs refuse the rest (compression, a sample rate or max interval
/// not positive, a negative deadband). Throws bad_request naming the field.
void check_historian_tag(std::string_view context, const historian_tag_record& tag);
/// What append_historian checks before anything is written: every tag id positive, every quality
/// a code (0..3), every value finite; every rollup's width positive, its counts not negative, its
/// sum finite, and with count > 0 its min, max, first and last finite. Throws bad_request naming
/// the row and the field.
void check_historian_batch(std::string_view context, const historian_batch& batch);
/// The distinct tag ids of a batch's points and rollups, ascending.
std::vector<std::int64_t> historian_batch_tags(const historian_batch& batch);
/// A historian query's limit clamped to 1..1,000,000.
std::int64_t historian_limit(const historian_filter& filter);

}  // namespace wtc::storage
