#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "messages/interfaces.hpp"

namespace wtc {

/// One supervised subsystem: its registry name and how to spawn it anew.
struct child_spec {
  caf::atom_value name;
  std::function<caf::actor(caf::actor_system&)> spawn;
};

/// Restart policy: each crash restarts the child after a backoff that doubles with every recent
/// crash; more than `max_restarts` crashes of one child within `window` means the fault will not
/// go away by itself, and the supervisor stops everything so that the process exits (and systemd,
/// or an operator, sees it).
struct restart_policy {
  int max_restarts = 5;
  std::chrono::milliseconds window{60'000};
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{5'000};
};

struct supervised_child {
  child_spec spec;
  caf::actor handle;
  std::deque<std::chrono::steady_clock::time_point> recent_crashes;
  std::uint64_t restarts = 0;
};

struct supervisor_state {
  static inline const char* name = "supervisor";
  restart_policy policy;
  std::vector<supervised_child> children;
  bool stopping = false;
  caf::error stop_reason;
  std::size_t stop_index = 0;  // the child being stopped; those after it have ended
};

/// Spawns the children in order, registers each under its name, and restarts crashed ones.
/// An exit message (shutdown) stops the children one at a time in reverse order, then the
/// supervisor.
supervisor_api::behavior_type root_supervisor(
    supervisor_api::stateful_pointer<supervisor_state> self, std::vector<child_spec> children,
    restart_policy policy);

/// Delay before the restart that follows `recent_crashes` crashes (pure, for tests).
std::chrono::milliseconds restart_backoff(const restart_policy& policy, std::size_t recent_crashes);

}  // namespace wtc
