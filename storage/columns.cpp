#include "storage/columns.hpp"

#include <chrono>
#include <cmath>
#include <string>
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

}  // namespace wtc::storage
