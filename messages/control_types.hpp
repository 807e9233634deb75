#pragma once

// Value types of the control side: PID loops. Each has an `inspect` overload and is registered in
// register_types(), so a loop's configuration can travel to the actor that runs it, on this node
// or an edge node.

#include <cstdint>
#include <string>
#include <vector>

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

/// What a running loop is doing: the `pid_update` message, the read model of the REST API, and
/// what the loop's owner persists so that a restart resumes it.
struct pid_snapshot {
  std::int64_t loop_id = 0;
  double pv = 0.0;
  bool has_pv = false;  // false: no measurement yet (pv is then meaningless)
  double sp = 0.0;      // the setpoint the last scan worked with
  double cv = 0.0;      // the output
  bool has_cv = false;  // false: the loop has not scanned yet
  std::string mode;     // MANUAL, AUTO, CASCADE
  std::string status;   // NORMAL, BAD_HOLD, BAD_SAFE; DISABLED for a loop that is not enabled
  timestamp_ms at = 0;  // the scan's wall-clock time; 0: never scanned
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pid_snapshot& x) {
  return f(x.loop_id, x.pv, x.has_pv, x.sp, x.cv, x.has_cv, x.mode, x.status, x.at);
}

/// A loop as the REST API shows it: its configuration and what it is doing now.
struct pid_loop_view {
  pid_loop_record loop;
  pid_snapshot live;
  std::string node;  // where it runs: the central node, or the edge node of its RTUs
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pid_loop_view& x) {
  return f(x.loop, x.live, x.node);
}

/// The columns a change of a loop may set, as bits of pid_loop_patch::fields.
namespace pid_field {
constexpr std::uint32_t name = 1u << 0;
constexpr std::uint32_t enabled = 1u << 1;
constexpr std::uint32_t input_rtu = 1u << 2;
constexpr std::uint32_t input_slot = 1u << 3;
constexpr std::uint32_t output_rtu = 1u << 4;
constexpr std::uint32_t output_slot = 1u << 5;
constexpr std::uint32_t kp = 1u << 6;
constexpr std::uint32_t ki = 1u << 7;
constexpr std::uint32_t kd = 1u << 8;
constexpr std::uint32_t setpoint = 1u << 9;
constexpr std::uint32_t output_min = 1u << 10;
constexpr std::uint32_t output_max = 1u << 11;
constexpr std::uint32_t deadband = 1u << 12;
constexpr std::uint32_t integral_limit = 1u << 13;
constexpr std::uint32_t derivative_filter = 1u << 14;
constexpr std::uint32_t mode = 1u << 15;
constexpr std::uint32_t scan_period_ms = 1u << 16;
constexpr std::uint32_t output = 1u << 17;  // the operator's output, in MANUAL
constexpr std::uint32_t on_bad_measurement = 1u << 18;
constexpr std::uint32_t safe_output = 1u << 19;
constexpr std::uint32_t cascade_from = 1u << 20;
/// Changes that need the loop restarted: another measurement, actuator or scan period.
constexpr std::uint32_t wiring =
    input_rtu | input_slot | output_rtu | output_slot | scan_period_ms | enabled;
}  // namespace pid_field

/// A change of a loop: the fields whose bit is set in `fields` take their value from `values`.
struct pid_loop_patch {
  std::uint32_t fields = 0;
  pid_loop_record values;
  bool sets(std::uint32_t field) const { return (fields & field) != 0; }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pid_loop_patch& x) {
  return f(x.fields, x.values);
}

/// `loop` with the patch's fields set; an output sets has_output too.
pid_loop_record patched(pid_loop_record loop, const pid_loop_patch& patch);

/// The change that makes a running loop (`running`: its configuration with its live setpoint,
/// mode and output) run as `wanted` says: every configuration field that differs; the setpoint
/// unless the wanted mode is CASCADE (an outer loop sets it then); the output only in MANUAL (in
/// AUTO it is the loop's own). An edge node applies the central node's assignment this way.
pid_loop_patch changes_to(const pid_loop_record& running, const pid_loop_record& wanted);

/// The fields a patch sets and their values as a JSON object, for the audit log.
std::string describe(const pid_loop_patch& patch);

/// A loop's runtime state as its owner persists it (pid_loops.output, setpoint, mode).
struct pid_runtime {
  std::int64_t loop_id = 0;
  double output = 0.0;
  double setpoint = 0.0;
  std::string mode;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pid_runtime& x) {
  return f(x.loop_id, x.output, x.setpoint, x.mode);
}

}  // namespace wtc
