#pragma once

// The live hub's protocol: what it takes in (the field bus's batches, and live_message from any
// other source). What it puts out goes on the live board (messages/live_board.hpp), which the
// WebSocket sessions read.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/typed_actor.hpp>

#include "messages/interfaces.hpp"

namespace wtc {

/// A message for the live stream from a source other than the field bus (alarm manager, PID
/// loops). The hub sends `{"type": type, "data": data}` to the clients whose filter matches.
struct live_message {
  std::string type;  // "alarm_raised", "pid_update", ...
  std::string rtu;   // station, for filters; empty if none
  std::string tag;   // tag, for filters; empty if none
  std::string key;   // coalescing key (see live_frame); empty: never merged (alarms)
  std::string data;  // the "data" object as JSON text; the hub drops the message if it is not
  std::int64_t produced_at_us = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, live_message& x) {
  return f(x.type, x.rtu, x.tag, x.key, x.data, x.produced_at_us);
}

/// The hub's counters, for /metrics.
struct live_stats {
  std::uint64_t clients = 0;
  std::uint64_t frames_built = 0;       // messages serialised (once each, whatever the clients)
  std::uint64_t frames_delivered = 0;   // frames handed to clients, all clients
  std::uint64_t frames_missed = 0;      // frames superseded before a client read them
  std::uint64_t frames_rejected = 0;    // live_message with data that is not a JSON object
  bool bus_subscribed = false;          // subscribed to a running field bus
  std::uint64_t bus_subscriptions = 0;  // how often it subscribed (more than 1: bus restarts)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, live_stats& x) {
  return f(x.clients, x.frames_built, x.frames_delivered, x.frames_missed, x.frames_rejected,
           x.bus_subscribed, x.bus_subscriptions);
}

/// The live hub (actors/live_hub), registered as names::live_hub. It subscribes to the field bus
/// itself (and again when the bus restarts) and turns its batches into the WebSocket API's
/// messages, each serialised once onto the live board, where every client reads it.
using live_hub_api =
    caf::typed_actor<caf::reacts_to<sample_batch>, caf::reacts_to<actuator_batch>,
                     caf::reacts_to<rtu_event>, caf::reacts_to<live_message>,
                     // (Re)subscribe to the field bus: the hub sends this to itself while the bus
                     // is away.
                     caf::reacts_to<subscribe_atom>, caf::replies_to<stats_atom>::with<actor_stats>,
                     caf::replies_to<caf::get_atom, stats_atom>::with<live_stats>>;

}  // namespace wtc
