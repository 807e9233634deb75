#include "messages/field_types.hpp"

#include <array>
#include <utility>

#include <nlohmann/json.hpp>

namespace wtc {
namespace {

template <class Enum, std::size_t N>
bool parse_enum(const std::array<std::pair<std::string_view, Enum>, N>& names,
                std::string_view text, Enum& out) {
  for (const auto& [name, value] : names)
    if (name == text) {
      out = value;
      return true;
    }
  return false;
}

constexpr std::array<std::pair<std::string_view, rtu_state>, 5> rtu_state_names{{
    {"OFFLINE", rtu_state::offline},
    {"CONNECTING", rtu_state::connecting},
    {"DISCOVERY", rtu_state::discovery},
    {"RUNNING", rtu_state::running},
    {"ERROR", rtu_state::error},
}};

constexpr std::array<std::pair<std::string_view, command_kind>, 3> command_names{{
    {"OFF", command_kind::off},
    {"ON", command_kind::on},
    {"PWM", command_kind::pwm},
}};

}  // namespace

std::string_view to_string(rtu_state s) {
  return rtu_state_names[static_cast<std::size_t>(s)].first;
}

bool parse_rtu_state(std::string_view text, rtu_state& out) {
  return parse_enum(rtu_state_names, text, out);
}

std::string_view to_string(quality q) {
  switch (q) {
    case quality::good:
      return "GOOD";
    case quality::uncertain:
      return "UNCERTAIN";
    case quality::bad:
      break;
  }
  return "BAD";
}

std::string_view to_string(command_kind c) {
  return command_names[static_cast<std::size_t>(c)].first;
}

bool parse_command_kind(std::string_view text, command_kind& out) {
  return parse_enum(command_names, text, out);
}

std::string describe(const sensor_settings& s) {
  nlohmann::json changed = nlohmann::json::object();
  if (s.set_sensor_type)
    changed["sensor_type"] = s.sensor_type;
  if (s.set_unit)
    changed["unit"] = s.unit;
  if (s.set_scale_min)
    changed["scale_min"] = s.scale_min;
  if (s.set_scale_max)
    changed["scale_max"] = s.scale_max;
  if (s.set_eng_min)
    changed["eng_min"] = s.eng_min;
  if (s.set_eng_max)
    changed["eng_max"] = s.eng_max;
  if (s.set_deadband)
    changed["deadband"] = s.deadband;
  return changed.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace wtc
