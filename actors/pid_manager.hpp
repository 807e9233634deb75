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
  /// On an edge node: the loops are the central node's, assigned through the uplink (and kept in
  /// this node's store, so that they run through a link loss and a restart); they are not
  /// created, changed or deleted here, and what they do is reported to the uplink.
  bool follower = false;
  /// The central node: a loop whose RTUs are both on a silent edge node is shown NODE_OFFLINE
  /// after this long without a report from it.
  std::chrono::milliseconds node_silence{std::chrono::seconds(3)};
};

struct pid_manager_state {
  static inline const char* name = "pidloops";
  struct member {
    pid_loop_view view;         // configuration from storage, live part from the loop's reports
    caf::actor handle;          // invalid while the loop is disabled or restarting
    pid_runtime saved;          // what storage holds of the runtime state
    timestamp_ms heard_at = 0;  // a loop on an edge node: its last report (or its placement)
  };
  pid_manager_config config;
  caf::actor clock;                      // the scan clock of the loops on their own clock; linked
  std::map<std::int64_t, member> loops;  // by id
  std::unordered_map<std::string, std::int64_t> cycle_ms;  // RTU station -> cycle time
  std::unordered_map<std::string, std::string> rtu_nodes;  // RTU station -> its node
  std::uint64_t restarts = 0;
};

/// The PID loops (messages/interfaces.hpp, pid_api): loads the loops from storage, runs one
/// pid_actor per enabled loop (linked: a loop does not outlive its manager), wires cascades,
/// persists configuration changes with their audit row and the loops' runtime state in batches,
/// and restarts a loop that crashed from the output it had. On the central node, a loop whose
/// RTUs are on an edge node (core/pid_placement.hpp) runs there instead: the manager keeps its
/// configuration, hands it to the node registry for the node, and shows what the node reports.
/// As a follower (an edge node) it runs the loops the central node assigns.
caf::behavior pid_manager(caf::stateful_actor<pid_manager_state>* self, pid_manager_config config);

}  // namespace wtc
