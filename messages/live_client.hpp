#pragma once

// The live data stream between the live hub (actors/live_hub) and whoever shows it to people
// (the gateway's WebSocket sessions). No CAF and no Beast here: the gateway's Beast translation
// units include this header; messages/live.hpp adds the hub's actor interface.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace wtc {

/// One message of the live stream, serialised once by the hub and shared, read-only, by every
/// client that receives it.
struct live_frame {
  std::string type;  // the message's "type": "sensor_update", "rtu_connected", ...
  std::string rtu;   // the station it is about, for filters; empty when it is about no RTU
  std::string tag;   // the sensor or actuator tag, for filters; empty when it carries none
  /// Frames with the same non-empty key supersede each other when a client's queue is full (the
  /// latest value of a sensor replaces the older ones); frames without a key are never merged.
  std::string key;
  std::string text;                 // what is sent: {"type": ..., "data": {...}}
  std::int64_t produced_at_us = 0;  // steady clock, when the source had the data; 0 if unknown
};

using live_frame_ptr = std::shared_ptr<const live_frame>;

/// What a client wants to see. Each non-empty list narrows the messages that carry that field;
/// a message without the field (an rtu_state_change has no tag) is not narrowed by it. Empty
/// lists: everything.
struct live_filter {
  std::vector<std::string> rtus;   // station names
  std::vector<std::string> tags;   // sensor and actuator tags
  std::vector<std::string> types;  // message types

  bool all() const { return rtus.empty() && tags.empty() && types.empty(); }

  bool matches(const live_frame& f) const {
    return passes(rtus, f.rtu) && passes(tags, f.tag) && passes(types, f.type);
  }

 private:
  static bool passes(const std::vector<std::string>& wanted, const std::string& value) {
    return wanted.empty() || value.empty() ||
           std::find(wanted.begin(), wanted.end(), value) != wanted.end();
  }
};

/// A receiver of the live stream, implemented by the gateway's WebSocket session. The hub holds
/// it by shared_ptr and calls it from its own (CAF scheduler) thread.
class live_client {
 public:
  virtual ~live_client() = default;

  /// Queues `count` frames for sending. Thread-safe, and never blocks on the network: a client
  /// that cannot keep up has its queue coalesced (it sees the latest values and a count of what
  /// it missed), so a slow client never delays the hub or the other clients. Returns false once
  /// the client has gone; the hub then forgets it.
  virtual bool deliver(const live_frame_ptr* frames, std::size_t count) = 0;

  /// Frames this client lost so far because its queue was full (coalesced or dropped).
  virtual std::uint64_t missed() const = 0;

  /// Ends the client's stream: the hub is stopping or restarting, and the client should
  /// reconnect. Thread-safe.
  virtual void close(std::string_view reason) = 0;
};

using live_client_ptr = std::shared_ptr<live_client>;

}  // namespace wtc
