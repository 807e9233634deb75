#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/rtu_actor.hpp"
#include "messages/interfaces.hpp"

namespace wtc {

struct rtu_manager_state {
  static inline const char* name = "rtus";
  struct member {
    caf::actor handle;
    rtu_record record;  // read model: configuration from storage, state from the rtu_actor
    std::vector<std::string> tags;
  };
  rtu_actor_config actor_config;
  std::map<std::string, member> rtus;  // by station name
  std::unordered_map<std::string, std::string> station_of_tag;
  // The RTU fleets of the edge nodes that are online, by node name (from the node registry).
  std::map<std::string, rtus_api> node_fleets;
  std::uint64_t restarts = 0;
};

/// The RTU fleet (messages/interfaces.hpp, rtus_api): spawns one rtu_actor per configured RTU,
/// persists configuration changes, forwards live reads and commands to the RTU's own actor, and
/// restarts an rtu_actor that crashed. It keeps a read model of every RTU's row, refreshed by the
/// rtu_actors on each transition, so that listing RTUs asks nobody. An RTU placed on an edge node
/// has its rtu_actor there: reads and commands go to that node's fleet while it is online, and
/// its state comes from the events the node forwards (through the node registry).
caf::behavior rtu_manager(caf::stateful_actor<rtu_manager_state>* self, rtu_actor_config config);

}  // namespace wtc
