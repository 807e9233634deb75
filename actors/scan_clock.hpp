#pragma once

// One timer for every PID loop that scans on its own clock. A CAF delayed message per scan costs
// a wake-up of CAF's clock thread and of a worker; a thousand loops at 100 ms made that a third
// of a core. The scan clock keeps the loops' deadlines on a 1 ms grid and wakes once per grid
// step that has loops due, sending each of them a scan_atom.

#include <chrono>
#include <cstdint>
#include <map>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "messages/atoms.hpp"

namespace wtc {

struct scan_clock_state {
  static inline const char* name = "scan_clock";
  struct entry {
    caf::actor loop;
    std::int64_t period_us = 0;
  };
  std::multimap<std::int64_t, entry> due;  // by deadline, steady clock microseconds
  std::int64_t armed_for_us = 0;           // the deadline of the tick in flight; 0: none
};

/// Takes (subscribe_atom, actor loop, int64 period_us): the loop gets a scan_atom every period,
/// against absolute deadlines (a late tick does not shift later ones; deadlines already passed
/// are skipped), from one period after it subscribed. (unsubscribe_atom, actor) and the loop's
/// end stop it. Deadlines lie on a grid of `grid_us` (scan_grid_us).
caf::behavior scan_clock(caf::stateful_actor<scan_clock_state>* self, std::int64_t grid_us);

/// The grid of the deadlines: 1 ms.
constexpr std::int64_t scan_grid_us = 1000;

}  // namespace wtc
