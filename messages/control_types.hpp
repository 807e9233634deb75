#pragma once

// Value types of the control side: PID loops. Each has an `inspect` overload and is registered in
// register_types(), so a loop's configuration can travel to the actor that runs it, on this node
// or an edge node.

#include <cstdint>
#include <string>

#include "messages/types.hpp"

namespace wtc {

/// A pid_loops row: the contract's columns and those of migration 0003 (docs/storage.md). The
/// enumerated columns hold their column values, which the schema's CHECKs enforce; core/pid.hpp
/// parses them (parse_pid_mode). Nullable columns follow the program's conventions: 0 for an id or
/// a period that is not set (the CHECKs exclude 0 as a value), a flag beside a nullable number.
struct pid_loop_record {
  std::int64_t id = 0;
  std::string name;
  bool enabled = true;
  std::string
      input_rtu;  // station name of the measurement's RTU (no foreign key, as in the contract)
  std::int32_t input_slot = 0;
  std::string output_rtu;  // station name of the actuator's RTU
  std::int32_t output_slot = 0;
  double kp = 1.0;
  double ki = 0.0;
  double kd = 0.0;
  double setpoint = 0.0;  // in MANUAL and CASCADE the one the loop last tracked
  double output_min = 0.0;
  double output_max = 100.0;
  double deadband = 0.0;
  double integral_limit = 100.0;
  double derivative_filter = 0.1;
  std::string mode = "AUTO";  // MANUAL, AUTO, CASCADE
  // 0 (NULL): the input RTU's cycle time; else at least 10.
  std::int64_t scan_period_ms = 0;
  // The last output, in MANUAL the operator's; has_output false (NULL) until the loop has one.
  bool has_output = false;
  double output = 0.0;
  std::string on_bad_measurement = "HOLD";  // HOLD, SAFE_OUTPUT
  double safe_output = 0.0;
  // The outer loop whose output is this loop's setpoint in CASCADE; 0 (NULL): none.
  std::int64_t cascade_from = 0;
  timestamp_ms created_at = 0;
  timestamp_ms updated_at = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pid_loop_record& x) {
  return f(x.id, x.name, x.enabled, x.input_rtu, x.input_slot, x.output_rtu, x.output_slot, x.kp,
           x.ki, x.kd, x.setpoint, x.output_min, x.output_max, x.deadband, x.integral_limit,
           x.derivative_filter, x.mode, x.scan_period_ms, x.has_output, x.output,
           x.on_bad_measurement, x.safe_output, x.cascade_from, x.created_at, x.updated_at);
}

}  // namespace wtc
