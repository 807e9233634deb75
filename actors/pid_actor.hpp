#pragma once

// One PID loop (issue 4): the pure algorithm of core/pid.hpp, fed by the field bus and writing
// its output to the output RTU as an actuator command. The pid_manager owns the loops.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/bus_subscription.hpp"
#include "core/pid.hpp"
#include "messages/control_types.hpp"
#include "messages/interfaces.hpp"
#include "messages/live.hpp"
#include "messages/loop_timing.hpp"

namespace wtc {

using cascade_atom = caf::atom_constant<caf::atom("cascade")>;
using track_atom = caf::atom_constant<caf::atom("pidtrack")>;

struct pid_actor_config {
  pid_loop_record loop;
  /// The scan period: the loop's scan_period_ms, or its input RTU's cycle time.
  std::chrono::milliseconds scan_period{1000};
  /// A measurement older than this is treated as BAD: the RTU stopped publishing.
  std::chrono::milliseconds stale_after{3000};
  /// An unchanged output is written again this often, so an RTU that restarted gets it back.
  std::chrono::milliseconds refresh_output{std::chrono::seconds(10)};
  /// The owner hears what the loop is doing this often, and at once on a change of mode or
  /// status: it keeps the read model and persists the output.
  std::chrono::milliseconds report_interval{std::chrono::seconds(1)};
  /// `pid_update` goes to the live stream at most this often, and at once on a change of mode or
  /// status: an operator's screen gains nothing from ten updates a second of a thousand loops.
  std::chrono::milliseconds publish_interval{250};
  /// How soon to look for the field bus again while it is not registered.
  std::chrono::milliseconds resubscribe_delay{250};
  /// Receives (pid_atom, pid_snapshot) reports; may be invalid (nobody listens).
  caf::actor owner;
  /// Scan when each measurement arrives instead of on a clock of its own: for a loop that scans
  /// at its input RTU's cycle this removes up to a period of dead time, and the scans keep the
  /// RTU's cycle (which runs on absolute deadlines). Without measurements the loop still scans,
  /// every max(3 periods, stale_after / 2), and sees its measurement go stale.
  bool follow_input = false;
  /// Sends the scans of a loop on its own clock (actors/scan_clock); required unless
  /// follow_input.
  caf::actor scan_clock;
  /// False for the outer loop of a cascade: its output is its inner loops' setpoint.
  bool drives_actuator = true;
  /// Where the loop records its punctuality; may be null.
  std::shared_ptr<loop_timing> timing;
};

struct pid_actor_state {
  static inline const char* name = "pid_loop";
  pid_actor_config config;
  core::pid_controller controller;
  bus_subscription bus;
  // The latest measurement: its value, quality and when it came (steady clock, microseconds).
  double pv = 0.0;
  quality pv_quality = quality::bad;
  std::int64_t pv_at_us = 0;
  bool has_pv = false;
  double external_setpoint = 0.0;
  bool has_external_setpoint = false;
  // The loops whose setpoint this one's output is (CASCADE).
  std::vector<caf::actor> inner_loops;
  std::int64_t period_us = 0;
  std::int64_t last_step_us = 0;
  double written_output = 0.0;
  std::int64_t written_at_us = 0;
  bool has_written = false;
  std::string output_error;           // why the last write failed; empty: it did not
  std::uint64_t write_seq = 0;        // the last write's number: older answers are ignored
  std::int64_t write_sent_at_us = 0;  // the write in flight; 0: none
  std::int64_t reported_at_us = 0;
  std::int64_t published_at_us = 0;
  pid_snapshot last;
};

/// The loop `config.loop`: subscribes to its input RTU's samples, steps the algorithm every scan
/// period against absolute deadlines, and writes the output (a PWM duty) to the output slot when
/// it changes, or every `refresh_output`; an outer loop of a cascade passes it to its inner loops
/// instead. Answers (caf::update_atom, pid_loop_patch) with the snapshot after the change
/// (setpoint, mode, manual output and tuning; a patch the loop refuses is an error and changes
/// nothing), and caf::get_atom with the last snapshot. Takes (cascade_atom, bool drives_actuator,
/// vector<actor> inner loops) from its owner; (cascade_atom, double): the outer loop's output,
/// answered with (track_atom, setpoint) while this loop is not in CASCADE, so that the outer loop
/// follows it.
caf::behavior pid_actor(caf::stateful_actor<pid_actor_state>* self, pid_actor_config config);

/// The `pid_update` message of the live stream for what `loop` is doing.
live_message pid_update_message(const pid_loop_record& loop, const pid_snapshot& snap);

/// The algorithm's settings for a pid_loops row; throws std::invalid_argument on a mode or an
/// action the row cannot hold (the schema's CHECKs exclude them).
core::pid_settings settings_of(const pid_loop_record& loop, std::chrono::milliseconds scan_period);

}  // namespace wtc
