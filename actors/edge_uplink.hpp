#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <caf/io/middleman_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/bus_subscription.hpp"
#include "core/rtu_link.hpp"
#include "messages/interfaces.hpp"
#include "storage/forward_buffer.hpp"

namespace wtc {

struct edge_uplink_config {
  std::string node_name;
  std::string version;
  std::string central_host;
  std::uint16_t central_port = 4300;
  /// The middleman that reaches the central node (TLS or plain).
  caf::io::middleman_actor middleman;
  /// The store-and-forward buffer's file and bound.
  std::string buffer_path;
  std::uint64_t buffer_max_bytes = 256ull << 20;
  /// What the field bus carried in one interval becomes one buffered packet.
  std::chrono::milliseconds forward_interval{100};
  /// A backlog is sent in windows of this many packets, with at most `max_in_flight` unanswered.
  std::size_t window_packets = 64;
  std::uint64_t window_bytes = 1u << 20;
  std::size_t max_in_flight = 4;
  std::chrono::milliseconds request_timeout{10'000};
  /// A buffered packet younger than this still counts as live data at the central node.
  std::chrono::milliseconds live_window{2'000};
  core::reconnect_backoff::policy backoff{1'000, 15'000, 0.2};
};

using uplink_tick_atom = caf::atom_constant<caf::atom("uptick")>;
using uplink_connect_atom = caf::atom_constant<caf::atom("upconnect")>;

/// The uplink's own messages besides what the central node may send it.
using edge_uplink_actor = edge_agent_api::extend<
    caf::reacts_to<uplink_tick_atom>, caf::reacts_to<uplink_connect_atom, std::uint64_t>,
    caf::reacts_to<subscribe_atom>, caf::reacts_to<sample_batch>, caf::reacts_to<rtu_event>,
    caf::reacts_to<actuator_batch>, caf::reacts_to<pid_atom, std::vector<pid_loop_view>>>;

struct edge_uplink_state {
  static inline const char* name = "edge_uplink";
  edge_uplink_config config;
  std::unique_ptr<storage::forward_buffer> buffer;
  bus_subscription bus;
  node_packet pending;  // what the bus carried since the last tick
  node_registry_api central;
  std::uint64_t generation = 0;  // of the link: answers from an older link are stale
  bool connecting = false;
  std::uint64_t acked = 0;              // every seq up to this one is at the central node
  std::set<std::uint64_t> acked_ahead;  // acknowledged beyond `acked` (live packets)
  std::uint64_t backlog_sent = 0;       // the buffer is sent up to here, in order
  std::set<std::uint64_t> sent_live;    // beyond `backlog_sent`, sent on their tick
  std::size_t in_flight = 0;
  core::reconnect_backoff backoff;
  std::mt19937_64 rng{std::random_device{}()};
  bool placing = false;                                   // a placement of RTUs is under way
  std::optional<std::vector<rtu_record>> next_placement;  // the latest that came meanwhile
  // The PID loops the central node assigned, handed to the loop manager once the RTUs they use
  // are placed.
  std::optional<std::vector<pid_loop_record>> assigned_loops;
};

/// An edge node's link to the central node (docs/nodes.md). Everything the node's field bus
/// carries is gathered per interval into a packet, appended to the store-and-forward buffer (a
/// SQLite file: it survives a crash), and forwarded to the central node's registry: at once while
/// the link is up, and in order from the buffer after a link loss, beside the live packets. A
/// packet leaves the buffer when the central node acknowledges it. The uplink joins (and joins
/// again after any loss, with backoff) through CAF's middleman, carries out the RTU placement
/// the central node sends on the node's own RTU fleet, hands the node's PID loops to its loop
/// manager and their reports to the central node. Runs detached: the buffer blocks on disk.
edge_uplink_actor::behavior_type edge_uplink(
    edge_uplink_actor::stateful_pointer<edge_uplink_state> self, edge_uplink_config config);

}  // namespace wtc
