#pragma once

// What crosses between an edge node (wtc-edge) and the central node (wtcd) besides the field
// types themselves: the join handshake, the edge's forwarded data in sequence, and the central
// node's view of each node for the API. Each has an `inspect` overload and is registered in
// register_types() on both sides.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "messages/field_types.hpp"
#include "messages/types.hpp"

namespace wtc {

/// What an edge says when it joins: who it is, and how far the central node has acknowledged
/// its data (the edge resends everything after that).
struct node_hello {
  std::string name;
  std::string version;
  std::uint64_t acked_seq = 0;
  std::uint64_t backlog = 0;  // entries waiting in the edge's buffer
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_hello& x) {
  return f(x.name, x.version, x.acked_seq, x.backlog);
}

/// One entry of an edge's store-and-forward buffer: what its field bus carried during one
/// forwarding interval. `live` is false for data that waited in the buffer (the link was down or
/// a backlog was ahead of it): the central node hands that to the historian only, as a backfill,
/// and does not replay it to the live stream or the alarms.
struct node_packet {
  std::uint64_t seq = 0;
  timestamp_ms produced_at = 0;
  bool live = true;
  std::vector<sample_batch> samples;
  std::vector<rtu_event> events;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_packet& x) {
  return f(x.seq, x.produced_at, x.live, x.samples, x.events);
}

/// The central node's answer to a forward: every seq up to and including this one is stored
/// there (the edge may drop them from its buffer).
struct node_ack {
  std::uint64_t seq = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_ack& x) {
  return f(x.seq);
}

enum class node_state : std::uint8_t { online, offline };

std::string_view to_string(node_state s);

/// The central node's view of one node (GET /api/v1/nodes).
struct node_info {
  std::string name;
  std::string address;  // host the edge connected from, as the central node saw it
  node_state state = node_state::offline;
  std::string version;
  std::vector<std::string> rtus;  // stations placed on it
  timestamp_ms joined_at = 0;
  timestamp_ms last_seen = 0;  // last message or heartbeat answer from it
  double latency_ms = -1;      // last heartbeat round trip; -1 before the first
  std::uint64_t backlog = 0;   // buffered entries the edge reported still to forward
  std::uint64_t received = 0;  // packets received since wtcd started
  std::uint64_t samples = 0;   // sample values in them (live and backfilled)
  std::uint64_t dropped = 0;   // entries the edge dropped from a full buffer, as it reported
  std::string reason;          // why it is offline
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_info& x) {
  return f(x.name, x.address, x.state, x.version, x.rtus, x.joined_at, x.last_seen, x.latency_ms,
           x.backlog, x.received, x.samples, x.dropped, x.reason);
}

/// What an edge reports with each heartbeat answer.
struct edge_status {
  std::uint64_t backlog = 0;
  std::uint64_t dropped = 0;
  std::uint64_t buffered_bytes = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, edge_status& x) {
  return f(x.backlog, x.dropped, x.buffered_bytes);
}

/// Who an edge node's own audit rows name for what it does on the central node's behalf
/// (placing RTUs, storing its PID loops).
request_origin central_node_origin();

}  // namespace wtc
