#include "storage/columns.hpp"

#include <chrono>
#include <string>

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

}  // namespace wtc::storage
