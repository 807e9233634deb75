#include "sim/fault.hpp"

#include <array>
#include <utility>

namespace wtc::sim {
namespace {

constexpr std::array<std::pair<fault_mode, std::string_view>, 9> names{{
    {fault_mode::none, "none"},
    {fault_mode::drop, "drop"},
    {fault_mode::freeze, "freeze"},
    {fault_mode::out_of_range, "out_of_range"},
    {fault_mode::bad_quality, "bad_quality"},
    {fault_mode::garbage, "garbage"},
    {fault_mode::short_reply, "short"},
    {fault_mode::wrong_unit, "wrong_unit"},
    {fault_mode::exception, "exception"},
}};

}  // namespace

std::string_view to_string(fault_mode mode) {
  for (const auto& [m, name] : names)
    if (m == mode)
      return name;
  return "unknown";
}

std::optional<fault_mode> parse_fault_mode(std::string_view text) {
  for (const auto& [m, name] : names)
    if (name == text)
      return m;
  return std::nullopt;
}

std::string_view fault_mode_names() {
  return "none drop freeze out_of_range bad_quality garbage short wrong_unit exception";
}

}  // namespace wtc::sim
