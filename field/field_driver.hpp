#pragma once

// The interface every field protocol implements. One driver object talks to one RTU and is used
// from one thread only (the RTU's I/O worker); its calls block for at most the configured
// timeouts. Failures throw field_error.

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "messages/field_types.hpp"

namespace wtc::field {

/// Why a field operation failed. The rtu_actor decides from the kind whether to retry the
/// cycle, drop the connection, or report a device fault.
enum class failure {
  connect,    // could not open the connection
  timeout,    // the device did not answer in time
  closed,     // the peer closed or reset the connection
  protocol,   // a malformed, short or mismatched reply (wrong unit id, transaction id, CRC)
  exception,  // the device answered with a protocol exception (e.g. Modbus 0x02)
  config,     // the profile and the device disagree (e.g. more slots than the profile maps)
};

const char* to_string(failure f);

class field_error : public std::runtime_error {
 public:
  field_error(failure kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  failure kind() const noexcept { return kind_; }

 private:
  failure kind_;
};

/// Where an RTU is and how long to wait for it.
struct endpoint {
  std::string host;
  std::uint16_t port = 502;
  int unit_id = 1;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds response_timeout{500};
};

/// One point found at discovery: a sensor channel or an actuator channel, with the defaults
/// the profile gives it (scaling, type, unit).
struct point_info {
  std::int32_t channel = 0;
  bool is_sensor = true;
  std::string sensor_type;     // sensors: level, flow, pH, ...
  std::string control_type;    // actuators: discrete, analog
  std::string equipment_type;  // actuators: pump, valve, dosing_pump, ...
  std::string unit;
  double scale_min = 0.0;  // raw range ...
  double scale_max = 100.0;
  double eng_min = 0.0;  // ... mapped onto the engineering range
  double eng_max = 100.0;
};

struct slot_info {
  std::int32_t slot = 0;
  std::uint16_t module_code = 0;
  std::string module_type;  // "EMPTY" for an empty slot
  std::vector<point_info> points;
};

/// What discovery reads from a device.
struct device_description {
  std::uint16_t vendor_id = 0;
  std::uint16_t device_id = 0;
  std::string firmware_version;   // "1.2.0"
  std::string expected_firmware;  // from the profile; empty: no expectation
  std::int32_t slot_count = 0;
  std::vector<slot_info> slots;
};

/// One channel as read in a cycle, before scaling: the raw value, the RTU's own quality code
/// and its flags.
struct point_reading {
  std::int32_t slot = 0;
  std::int32_t channel = 0;
  bool is_sensor = true;
  double raw = 0.0;               // sensors: raw value; actuators: applied output in percent
  std::uint8_t quality_code = 0;  // 0x00 good, 0x40 uncertain, 0x80 bad, 0xC0 not connected
  bool interlocked = false;
  bool forced = false;
  bool running = false;
  command_kind command = command_kind::off;  // actuators: the command register read back
  double pwm_duty = 0.0;                     // actuators: percent
};

struct cycle_reading {
  std::vector<point_reading> points;
  std::uint16_t heartbeat = 0;
  bool heartbeat_valid = false;  // false when the profile maps no heartbeat
};

/// Counters a driver keeps about its link.
struct driver_health {
  bool connected = false;
  std::uint64_t requests = 0;
  std::uint64_t failures = 0;
  double last_round_trip_ms = 0.0;
  std::string last_error;
};

class field_driver {
 public:
  virtual ~field_driver() = default;

  virtual void connect(const endpoint& where) = 0;
  virtual void disconnect() noexcept = 0;
  /// Reads the identification and the slot directory.
  virtual device_description discover() = 0;
  /// Reads every point of the slots found by the last discover().
  virtual cycle_reading read_cycle() = 0;
  /// Writes a command to an actuator slot (channel 0). A command the slot cannot take (PWM to a
  /// discrete actuator, a duty outside 0–100 %, a slot without an actuator) throws
  /// failure::config without touching the device; the caller should refuse it before.
  virtual void write_command(const actuator_command& command) = 0;
  virtual driver_health health() const = 0;
};

}  // namespace wtc::field
