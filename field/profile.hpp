#pragma once

// A register-map profile: how a device's Modbus registers map onto WTC slots and channels, so a
// third-party device works without code. docs/field-profiles.md describes the JSON format.
// Loading validates strictly; a bad profile throws profile_error naming the JSON path.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "field/field_driver.hpp"
#include "field/read_plan.hpp"
#include "field/register_codec.hpp"

namespace wtc::field {

/// A profile that cannot be used. A failure::config field_error, so that a caller catching
/// field errors also sees a bad profile named by an RTU.
class profile_error : public field_error {
 public:
  explicit profile_error(const std::string& what) : field_error(failure::config, what) {}
};

/// Where an actuator's ON/OFF goes: a coil (ON writes 1), or a holding register that takes a
/// code per command. A register without a `pwm` code is sent `on` for PWM.
struct command_target {
  register_field where;
  std::uint16_t off_code = 0;
  std::uint16_t on_code = 1;
  std::optional<std::uint16_t> pwm_code;
};

/// One channel of a slot and the registers that carry it. In a module template the fields'
/// addresses are the slot-1 addresses and `stride` moves them per slot.
struct point_map {
  std::int32_t channel = 0;
  bool is_sensor = true;

  // Sensors: what the value is. In a module template sensor_type, unit and the engineering
  // range come from the slot's signal code instead.
  std::string sensor_type;
  std::string unit;
  double scale_min = 0.0;
  double scale_max = 100.0;
  double eng_min = 0.0;
  double eng_max = 100.0;

  // Actuators: discrete (ON/OFF) or analog (a setpoint in percent). In a module template the
  // equipment type comes from the slot's signal code.
  std::string control_type;
  std::string equipment_type;

  /// Sensors: the measured value. Actuators: the applied output in percent (optional; without
  /// it the output is derived from the command read back).
  std::optional<register_field> value;
  /// The RTU's quality code (low 8 bits); without it a value is good (0x00).
  std::optional<register_field> quality;
  std::optional<register_field> interlocked;
  std::optional<register_field> forced;
  std::optional<register_field> running;
  /// Actuators: ON/OFF target, and the PWM duty / analog setpoint register (percent, scaled).
  std::optional<command_target> command;
  std::optional<register_field> duty;
};

/// A slot of a static slot list.
struct slot_map {
  std::int32_t slot = 0;
  std::uint16_t module_code = 0;
  std::string module_type;
  std::vector<point_map> points;
};

/// What a module code in a module directory means. No points: an empty slot.
struct module_template {
  std::uint16_t code = 0;
  std::string module_type;
  std::vector<point_map> points;
};

struct sensor_signal {
  std::string sensor_type;
  std::string unit;
  double eng_min = 0.0;
  double eng_max = 100.0;
};

/// Slots found at discovery: the device says which module and which signal each slot holds.
struct module_directory {
  std::int32_t max_slots = 1;
  /// Tables with one uint16 per slot: slot s at address + (s − 1). Without a signal table every
  /// slot has signal code 0.
  register_field module_codes;
  std::optional<register_field> signal_codes;
  std::map<std::uint16_t, module_template> modules;
  std::map<std::uint16_t, sensor_signal> sensor_signals;
  std::map<std::uint16_t, std::string> actuator_signals;  // equipment_type
};

/// Identification registers, all uint16 in one register area.
struct identification_map {
  field::area area = area::input_register;
  std::optional<std::uint16_t> vendor_id;
  std::optional<std::uint16_t> device_id;
  std::vector<std::uint16_t> firmware;  // 0 to 3 registers, shown joined by '.'
  std::optional<std::uint16_t> slot_count;
  std::optional<std::uint16_t> heartbeat;
};

struct profile {
  std::string name;
  std::string description;
  std::string protocol = "modbus_tcp";
  /// The unit id an RTU using this profile gets when its configuration names none; the driver
  /// talks to endpoint::unit_id.
  int unit_id = 1;
  word_order default_word_order = word_order::high_first;
  std::string expected_firmware;  // empty: no expectation
  read_limits reads;
  identification_map identification;
  /// Exactly one of the two: a module directory, or a static slot list.
  std::optional<module_directory> directory;
  std::vector<slot_map> slots;
};

/// Parses and validates a profile. `source` names it in errors (a file path, "built-in wtc-rtu").
profile parse_profile(std::string_view json_text, const std::string& source);

/// Reads and parses a profile file.
profile load_profile_file(const std::string& path);

/// Whether `name` may name a profile: 1–64 of [a-z0-9._-], starting with a letter or digit.
bool valid_profile_name(std::string_view name);

}  // namespace wtc::field
