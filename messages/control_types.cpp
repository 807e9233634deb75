#include "messages/control_types.hpp"

#include <utility>

#include <nlohmann/json.hpp>

namespace wtc {
namespace {

// Every patchable column once: its bit, its name, and how to copy it.
template <class F>
void for_each_field(F&& f) {
  using r = pid_loop_record;
  f(pid_field::name, "name", &r::name);
  f(pid_field::enabled, "enabled", &r::enabled);
  f(pid_field::input_rtu, "input_rtu", &r::input_rtu);
  f(pid_field::input_slot, "input_slot", &r::input_slot);
  f(pid_field::output_rtu, "output_rtu", &r::output_rtu);
  f(pid_field::output_slot, "output_slot", &r::output_slot);
  f(pid_field::kp, "kp", &r::kp);
  f(pid_field::ki, "ki", &r::ki);
  f(pid_field::kd, "kd", &r::kd);
  f(pid_field::setpoint, "setpoint", &r::setpoint);
  f(pid_field::output_min, "output_min", &r::output_min);
  f(pid_field::output_max, "output_max", &r::output_max);
  f(pid_field::deadband, "deadband", &r::deadband);
  f(pid_field::integral_limit, "integral_limit", &r::integral_limit);
  f(pid_field::derivative_filter, "derivative_filter", &r::derivative_filter);
  f(pid_field::mode, "mode", &r::mode);
  f(pid_field::scan_period_ms, "scan_period_ms", &r::scan_period_ms);
  f(pid_field::output, "output", &r::output);
  f(pid_field::on_bad_measurement, "on_bad_measurement", &r::on_bad_measurement);
  f(pid_field::safe_output, "safe_output", &r::safe_output);
  f(pid_field::cascade_from, "cascade_from", &r::cascade_from);
}

}  // namespace

pid_loop_record patched(pid_loop_record loop, const pid_loop_patch& patch) {
  for_each_field([&](std::uint32_t bit, const char*, auto member) {
    if (patch.sets(bit))
      loop.*member = patch.values.*member;
  });
  if (patch.sets(pid_field::output))
    loop.has_output = true;
  return loop;
}

pid_loop_patch changes_to(const pid_loop_record& running, const pid_loop_record& wanted) {
  pid_loop_patch patch;
  patch.values = wanted;
  for_each_field([&](std::uint32_t bit, const char*, auto member) {
    if (running.*member != wanted.*member)
      patch.fields |= bit;
  });
  if (wanted.mode == "CASCADE")
    patch.fields &= ~pid_field::setpoint;
  const bool manual_output = wanted.mode == "MANUAL" && wanted.has_output &&
                             (!running.has_output || running.output != wanted.output);
  if (!manual_output)
    patch.fields &= ~pid_field::output;
  return patch;
}

std::string describe(const pid_loop_patch& patch) {
  auto changes = nlohmann::json::object();
  for_each_field([&](std::uint32_t bit, const char* name, auto member) {
    if (patch.sets(bit))
      changes[name] = patch.values.*member;
  });
  return changes.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace wtc
