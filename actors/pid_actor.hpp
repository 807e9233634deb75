#pragma once

// One PID loop (issue 4): the pure algorithm of core/pid.hpp, fed by the field bus and writing
// its output to the output RTU as an actuator command. Work in progress: the manager, the
// endpoints and the demo loops are not there yet.

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "core/pid.hpp"
#include "core/rtu_link.hpp"
#include "messages/control_types.hpp"
#include "messages/interfaces.hpp"

namespace wtc {

using scan_atom = caf::atom_constant<caf::atom("pidscan")>;
using setpoint_atom = caf::atom_constant<caf::atom("setpoint")>;
using mode_atom = caf::atom_constant<caf::atom("pidmode")>;
using cascade_atom = caf::atom_constant<caf::atom("cascade")>;

struct pid_actor_config {
  pid_loop_record loop;
  /// The scan period: the loop's scan_period_ms, or its input RTU's cycle time.
  std::chrono::milliseconds scan_period{1000};
  /// A measurement older than this is treated as BAD: the RTU stopped publishing.
  std::chrono::milliseconds stale_after{3000};
  /// An unchanged output is written again this often, so an RTU that restarted gets it back.
  std::chrono::milliseconds refresh_output{std::chrono::seconds(10)};
  /// The runtime state (output, setpoint, mode) is saved when it changes, at most this often, so
  /// that a restarted loop continues from where it was.
  std::chrono::milliseconds save_interval{std::chrono::seconds(1)};
  /// How soon to look for the field bus again while it is not registered.
  std::chrono::milliseconds resubscribe_delay{250};
};

/// What a loop is doing, for the read model, the `pid_update` message and cascades.
struct pid_snapshot {
  std::int64_t loop_id = 0;
  double pv = 0.0;
  bool has_pv = false;
  double sp = 0.0;
  double cv = 0.0;
  std::string mode;
  std::string status;  // NORMAL, BAD_HOLD, BAD_SAFE
  timestamp_ms at = 0;
};

struct pid_actor_state {
  static inline const char* name = "pid_loop";
  pid_actor_config config;
  core::pid_controller controller;
  caf::actor bus;
  bool resubscribe_pending = false;
  // The latest measurement: its value, quality and when it came (steady clock, microseconds).
  double pv = 0.0;
  quality pv_quality = quality::bad;
  std::int64_t pv_at_us = 0;
  bool has_pv = false;
  double external_setpoint = 0.0;
  bool has_external_setpoint = false;
  core::cycle_schedule schedule;
  std::int64_t last_step_us = 0;
  double written_output = 0.0;
  std::int64_t written_at_us = 0;
  bool has_written = false;
  // What storage holds of the runtime state (output, setpoint, mode), and since when.
  double saved_output = 0.0;
  double saved_setpoint = 0.0;
  std::string saved_mode;
  std::int64_t saved_at_us = 0;
  pid_snapshot last;
};

/// The loop `config.loop`: subscribes to its input RTU's samples, steps the algorithm every scan
/// period against absolute deadlines, and writes the output (a PWM duty) to the output slot when
/// it changes, or every `refresh_output`. Reacts to (setpoint_atom, double), (mode_atom, string
/// mode, double manual output or NaN) and (cascade_atom, double: the outer loop's output).
caf::behavior pid_actor(caf::stateful_actor<pid_actor_state>* self, pid_actor_config config);

/// The algorithm's settings for a pid_loops row; throws std::invalid_argument on a mode or an
/// action the row cannot hold (the schema's CHECKs exclude them).
core::pid_settings settings_of(const pid_loop_record& loop, std::chrono::milliseconds scan_period);

}  // namespace wtc
