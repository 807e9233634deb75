#include "storage/columns.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <initializer_list>
#include <string>
#include <unordered_map>
#include <utility>

#include "storage/store.hpp"

namespace wtc::storage {

role role_from_column(std::string_view text) {
  role parsed = role::viewer;
  if (!parse_role(text, parsed))
    throw storage_error(errc::internal,
                        "the database holds an unknown role '" + std::string(text) + "'");
  return parsed;
}

void check_window(const page& window) {
  if (window.skip < 0 || window.limit < 0)
    throw storage_error(errc::bad_request, "skip and limit must not be negative");
}

timestamp_ms clock_now() {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  using std::chrono::system_clock;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

rtu_state rtu_state_from_column(std::string_view text) {
  rtu_state parsed = rtu_state::offline;
  if (!parse_rtu_state(text, parsed))
    throw storage_error(errc::internal,
                        "the database holds an unknown RTU state '" + std::string(text) + "'");
  return parsed;
}

storage_error rtu_not_found(std::int64_t id) {
  return storage_error(errc::not_found, "RTU " + std::to_string(id) + " not found");
}

storage_error sensor_not_found(std::int64_t id) {
  return storage_error(errc::not_found, "sensor " + std::to_string(id) + " not found");
}

storage_error duplicate_station(std::string_view context, const std::string& station_name) {
  return storage_error(errc::conflict, std::string(context) + ": station_name '" + station_name +
                                           "' is already taken by another RTU");
}

storage_error duplicate_endpoint(std::string_view context, const rtu_record& rtu,
                                 const std::string& owner) {
  return storage_error(errc::conflict, std::string(context) + ": ip_address, port and unit_id (" +
                                           rtu.ip_address + ":" + std::to_string(rtu.port) +
                                           ", unit " + std::to_string(rtu.unit_id) +
                                           ") are already used by RTU '" + owner + "'");
}

rtu_record apply_update(rtu_record current, const rtu_update& update, timestamp_ms now) {
  if (update.set_ip_address)
    current.ip_address = update.ip_address;
  if (update.set_port)
    current.port = update.port;
  if (update.set_unit_id)
    current.unit_id = update.unit_id;
  if (update.set_profile)
    current.profile = update.profile;
  if (update.set_vendor_id)
    current.vendor_id = update.vendor_id;
  if (update.set_device_id)
    current.device_id = update.device_id;
  if (update.set_slot_count)
    current.slot_count = update.slot_count;
  if (update.set_cycle_time_ms)
    current.cycle_time_ms = update.cycle_time_ms;
  if (update.set_node)
    current.node = update.node;
  current.updated_at = now;
  return current;
}

diagnostic_record diagnostic_of(std::int64_t rtu_id, const diagnostic_record& diagnostic) {
  if (diagnostic.rtu_id != 0 && diagnostic.rtu_id != rtu_id)
    throw storage_error(errc::bad_request, "the diagnostic names RTU " +
                                               std::to_string(diagnostic.rtu_id) +
                                               ", the change RTU " + std::to_string(rtu_id));
  diagnostic_record row = diagnostic;
  row.rtu_id = rtu_id;
  return row;
}

storage_error pid_loop_not_found(std::int64_t id) {
  return storage_error(errc::not_found, "PID loop " + std::to_string(id) + " not found");
}

storage_error pid_rtu_not_found(std::string_view context, std::string_view field,
                                const std::string& station_name) {
  return storage_error(errc::not_found, std::string(context) + ": " + std::string(field) + " '" +
                                            station_name + "' is not an RTU");
}

namespace {

void check_finite(std::string_view context, std::string_view field, double value) {
  if (!std::isfinite(value))
    throw storage_error(errc::bad_request,
                        std::string(context) + ": " + std::string(field) + " must be a number");
}

}  // namespace

void check_pid_loop(std::string_view context, const pid_loop_record& loop) {
  const std::pair<std::string_view, double> numbers[] = {
      {"kp", loop.kp},
      {"ki", loop.ki},
      {"kd", loop.kd},
      {"setpoint", loop.setpoint},
      {"output_min", loop.output_min},
      {"output_max", loop.output_max},
      {"deadband", loop.deadband},
      {"integral_limit", loop.integral_limit},
      {"derivative_filter", loop.derivative_filter},
      {"safe_output", loop.safe_output},
      {"output", loop.has_output ? loop.output : 0.0},
  };
  for (const auto& [field, value] : numbers)
    check_finite(context, field, value);
  if (loop.cascade_from < 0)
    throw storage_error(errc::bad_request,
                        std::string(context) + ": cascade_from must be a PID loop's id");
  if (loop.mode == "CASCADE" && loop.cascade_from == 0)
    throw storage_error(errc::bad_request,
                        std::string(context) + ": mode CASCADE needs a cascade_from loop");
}

void check_pid_output(std::string_view context, double output, double setpoint) {
  check_finite(context, "output", output);
  check_finite(context, "setpoint", setpoint);
}

void check_pid_loop_set(std::string_view context, const std::vector<pid_loop_record>& loops) {
  auto loop_context = [&](const pid_loop_record& loop) {
    return std::string(context) + ": PID loop " + std::to_string(loop.id) + " ('" + loop.name +
           "')";
  };
  // id -> cascade_from (0: none)
  std::unordered_map<std::int64_t, std::int64_t> source_of;
  source_of.reserve(loops.size());
  for (const pid_loop_record& loop : loops) {
    std::string where = loop_context(loop);
    check_pid_loop(where, loop);
    if (loop.id <= 0)
      throw storage_error(errc::bad_request, where + ": the id must be above 0");
    if (!source_of.emplace(loop.id, loop.cascade_from).second)
      throw storage_error(errc::bad_request, where + ": the id is given twice");
  }
  for (const pid_loop_record& loop : loops) {
    if (loop.cascade_from == 0)
      continue;
    if (source_of.count(loop.cascade_from) == 0)
      throw storage_error(errc::bad_request, loop_context(loop) + ": cascade_from " +
                                                 std::to_string(loop.cascade_from) +
                                                 " is not a loop of the set");
    // A chain longer than the set has come back on itself; one that leaves the set ends there
    // (the loop that points out of it is refused in its own turn).
    std::int64_t at = loop.cascade_from;
    for (std::size_t steps = 0; at != 0; ++steps) {
      if (at == loop.id || steps > loops.size())
        throw storage_error(errc::bad_request, loop_context(loop) + ": cascade_from " +
                                                   std::to_string(loop.cascade_from) +
                                                   " leads to a cycle of cascades");
      auto next = source_of.find(at);
      at = next == source_of.end() ? 0 : next->second;
    }
  }
}

storage_error alarm_rule_not_found(std::int64_t id) {
  return storage_error(errc::not_found, "alarm rule " + std::to_string(id) + " not found");
}

void check_alarm_rule(std::string_view context, const alarm_rule_record& rule) {
  check_finite(context, "threshold", rule.threshold);
  if (rule.has_deadband)
    check_finite(context, "deadband", rule.deadband);
}

void check_slot_config(std::string_view context, const slot_config_record& config) {
  const std::pair<std::string_view, double> numbers[] = {
      {"scale_min", config.scale_min},
      {"scale_max", config.scale_max},
      {"alarm_low_low", config.has_alarm_low_low ? config.alarm_low_low : 0.0},
      {"alarm_low", config.has_alarm_low ? config.alarm_low : 0.0},
      {"warning_low", config.has_warning_low ? config.warning_low : 0.0},
      {"warning_high", config.has_warning_high ? config.warning_high : 0.0},
      {"alarm_high", config.has_alarm_high ? config.alarm_high : 0.0},
      {"alarm_high_high", config.has_alarm_high_high ? config.alarm_high_high : 0.0},
      {"deadband", config.deadband},
  };
  for (const auto& [field, value] : numbers)
    check_finite(context, field, value);
}

namespace {

void check_one_of(const std::string& where, std::string_view field, const std::string& value,
                  std::initializer_list<std::string_view> allowed) {
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end())
    return;
  std::string list;
  for (std::string_view name : allowed)
    list += (list.empty() ? "" : ", ") + std::string(name);
  throw storage_error(errc::bad_request,
                      where + ": " + std::string(field) + " '" + value + "' is not one of " + list);
}

void check_id(const std::string& where, std::int64_t id) {
  if (id <= 0)
    throw storage_error(errc::bad_request, where + ": the id must be positive");
}

}  // namespace

void check_alarm_state(std::string_view context, const alarm_state_batch& batch) {
  for (const alarm_event_record& event : batch.events) {
    std::string where = std::string(context) + ": alarm event " + std::to_string(event.id);
    check_id(where, event.id);
    check_one_of(where, "state", event.state, {"ACTIVE", "ACKNOWLEDGED", "CLEARED"});
    check_one_of(where, "severity", event.severity, {"LOW", "MEDIUM", "HIGH", "CRITICAL"});
    check_one_of(where, "origin", event.origin, {"rule", "point_comm", "rtu_comm", "node_comm"});
    if (event.has_value)
      check_finite(where, "value_at_activation", event.value_at_activation);
  }
  for (const alarm_shelf_record& shelf : batch.shelves)
    check_id(std::string(context) + ": shelf " + std::to_string(shelf.id), shelf.id);
  for (const maintenance_record& window : batch.windows) {
    std::string where = std::string(context) + ": maintenance window " + std::to_string(window.id);
    check_id(where, window.id);
    check_one_of(where, "status", window.status, {"SCHEDULED", "ACTIVE", "COMPLETED", "CANCELLED"});
  }
}

std::int64_t history_limit(const alarm_history_filter& filter) {
  return std::clamp<std::int64_t>(filter.limit, 1, 10000);
}

storage_error historian_tag_not_found(std::int64_t id) {
  return storage_error(errc::not_found, "historian tag " + std::to_string(id) + " not found");
}

void check_historian_tag(std::string_view context, const historian_tag_record& tag) {
  check_finite(context, "deadband", tag.deadband);
}

void check_historian_grouping(std::string_view context, const historian_filter& filter) {
  if (filter.group_ms != 0 &&
      (filter.group_ms < 0 || filter.width_ms <= 0 || filter.group_ms % filter.width_ms != 0))
    throw storage_error(errc::bad_request, std::string(context) + ": a group of " +
                                               std::to_string(filter.group_ms) +
                                               " ms is not a multiple of the rollups' " +
                                               std::to_string(filter.width_ms) + " ms");
}

void check_historian_batch(std::string_view context, const historian_batch& batch) {
  auto where = [&](std::string_view kind, std::size_t index) {
    return std::string(context) + ": " + std::string(kind) + " " + std::to_string(index);
  };
  for (std::size_t i = 0; i < batch.points.size(); ++i) {
    const historian_point& point = batch.points[i];
    if (point.tag_id <= 0 || point.quality > historian_not_connected || !std::isfinite(point.value))
      throw storage_error(errc::bad_request,
                          where("point", i) + ": " +
                              (point.tag_id <= 0             ? "the tag id must be positive"
                               : !std::isfinite(point.value) ? "value must be a finite number"
                                                             : "quality must be a code 0..3"));
  }
  for (std::size_t i = 0; i < batch.rollups.size(); ++i) {
    const historian_rollup_row& row = batch.rollups[i];
    std::string at = where("rollup", i);
    if (row.tag_id <= 0)
      throw storage_error(errc::bad_request, at + ": the tag id must be positive");
    if (row.width_ms <= 0)
      throw storage_error(errc::bad_request, at + ": width_ms must be positive");
    if (row.count < 0 || row.uncertain < 0 || row.bad < 0)
      throw storage_error(errc::bad_request, at + ": a count is negative");
    check_finite(at, "sum", row.sum);
    if (row.count > 0) {
      check_finite(at, "min", row.min);
      check_finite(at, "max", row.max);
      check_finite(at, "first", row.first);
      check_finite(at, "last", row.last);
    }
  }
}

std::vector<std::int64_t> historian_batch_tags(const historian_batch& batch) {
  std::vector<std::int64_t> tags;
  std::int64_t previous = 0;
  for (const historian_point& point : batch.points)
    if (point.tag_id != previous)
      tags.push_back(previous = point.tag_id);
  for (const historian_rollup_row& row : batch.rollups)
    tags.push_back(row.tag_id);
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  return tags;
}

std::int64_t historian_limit(const historian_filter& filter) {
  return std::clamp<std::int64_t>(filter.limit, 1, 1000000);
}

}  // namespace wtc::storage
