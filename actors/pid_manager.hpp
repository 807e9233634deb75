#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/pid_actor.hpp"
#include "messages/interfaces.hpp"
#include "messages/loop_timing.hpp"

namespace wtc {

struct pid_manager_config {
  /// Shared with /metrics; may be null.
  std::shared_ptr<loop_timing> timing;
  /// The runtime state of every loop (output, setpoint, mode) is written at most this often, in
  /// one transaction: what a restart of wtcd resumes from.
  std::chrono::milliseconds persist_interval{std::chrono::seconds(1)};
  /// A loop that crashed is started again after this long, from its last output.
  std::chrono::milliseconds respawn_delay{std::chrono::seconds(1)};
  /// Passed to each loop (tests shorten them).
  std::chrono::milliseconds report_interval{std::chrono::seconds(1)};
};

struct pid_manager_state {
  static inline const char* name = "pidloops";
  struct member {
    pid_loop_view view;  // configuration from storage, live part from the loop's reports
    caf::actor handle;   // invalid while the loop is disabled or restarting
    pid_runtime saved;   // what storage holds of the runtime state
  };
  pid_manager_config config;
  caf::actor clock;                      // the scan clock of the loops on their own clock; linked
  std::map<std::int64_t, member> loops;  // by id
  std::unordered_map<std::string, std::int64_t> cycle_ms;  // RTU station -> cycle time
  std::uint64_t restarts = 0;
};

/// The PID loops (messages/interfaces.hpp, pid_api): loads the loops from storage, runs one
/// pid_actor per enabled loop (linked: a loop does not outlive its manager), wires cascades,
/// persists configuration changes with their audit row and the loops' runtime state in batches,
/// and restarts a loop that crashed from the output it had.
caf::behavior pid_manager(caf::stateful_actor<pid_manager_state>* self, pid_manager_config config);

}  // namespace wtc
