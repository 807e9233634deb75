#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/io/middleman_actor.hpp>
#include <caf/node_id.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "messages/interfaces.hpp"

namespace wtc {

using node_tick_atom = caf::atom_constant<caf::atom("nodetick")>;
using node_age_atom = caf::atom_constant<caf::atom("nodeage")>;
using node_grace_atom = caf::atom_constant<caf::atom("nodegrace")>;

/// The registry's own timers besides its API: the heartbeat round, a node's values ageing, and
/// the end of the grace the nodes have to join after wtcd starts.
using node_registry_actor =
    node_registry_api::extend<caf::reacts_to<node_tick_atom>,
                              caf::reacts_to<node_age_atom, std::string, std::uint64_t>,
                              caf::reacts_to<node_grace_atom>>;

struct node_registry_config {
  /// The middleman that carries the edges' connections (TLS or plain): asked for a peer's
  /// address.
  caf::io::middleman_actor middleman;
  /// How often each online node is asked for its latency and backlog.
  std::chrono::milliseconds heartbeat_interval{1000};
  /// After a link loss, the node's last values are shown UNCERTAIN at once and BAD after this.
  std::chrono::milliseconds bad_after{5000};
  /// A node with RTUs placed on it that has not joined this long after wtcd started raises its
  /// communication alarm (an edge retries every 15 s at most).
  std::chrono::milliseconds join_grace{std::chrono::seconds(60)};
};

struct node_registry_state {
  static inline const char* name = "node_registry";
  struct entry {
    node_info info;
    edge_agent_api agent;  // null while offline
    rtus_api fleet;
    caf::node_id peer;
    std::uint64_t last_seq = 0;    // highest packet seq taken from it
    std::uint64_t generation = 0;  // of its link: an ageing timer of an older link is stale
    std::map<std::string, sample_batch> last_values;  // its RTUs' latest live batch, by station
    std::map<std::string, rtu_event> last_events;     // its RTUs' latest state, by station
  };
  node_registry_config config;
  std::map<std::string, entry> nodes;
};

/// The central node's registry of edge nodes (messages/interfaces.hpp, node_registry_api). An
/// edge joins with its agent and fleet; the registry hands the RTU fleet the edge's fleet, sends
/// the edge the RTUs placed on it, and passes what the edge forwards to the field bus (live data)
/// or the historian (backfill). When a node's link is lost (CAF's heartbeat notices a frozen peer
/// too) its RTUs count as failed: their values turn UNCERTAIN and then BAD on the live stream and
/// for the alarms, and each RTU's communication alarm is raised until the node is back.
node_registry_actor::behavior_type node_registry(
    node_registry_actor::stateful_pointer<node_registry_state> self, node_registry_config config);

}  // namespace wtc
