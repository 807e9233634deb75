#pragma once

// The live data stream between the live hub (actors/live_hub), which writes it, and the
// WebSocket sessions (gateway/websocket_session), which read it. No CAF and no Beast here: both
// sides include this header.
//
// One board serves every client. The hub appends each message once; each client takes what is
// due to it at its own pace, so the hub's work per message does not depend on the number of
// clients, and a slow client costs the others nothing. What is due is every event and the latest
// value of each point the client has not been sent (a sensor's newest value supersedes the older
// ones, which count as missed): coalescing happens when the client takes, so no backlog of stale
// values builds up, and a client that cannot take everything gets the freshest values first.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace wtc {

/// One message of the live stream, serialised and framed once by the hub and shared, read-only,
/// by every client that receives it.
struct live_frame {
  std::string type;  // the message's "type": "sensor_update", "rtu_connected", ...
  std::string rtu;   // the station it is about, for filters; empty when it is about no RTU
  std::string tag;   // the sensor or actuator tag, for filters; empty when it carries none
  /// Frames with the same non-empty key are values of one point: a later one supersedes an
  /// earlier one for a client that has seen neither. Frames without a key (events) are never
  /// superseded.
  std::string key;
  /// The bytes on the wire: an unmasked, final WebSocket text frame (RFC 6455 section 5.2) whose
  /// payload is the message, {"type": ..., "data": {...}}. Framed here, once, so that sending it
  /// to a client is a copy.
  std::string wire;
  std::int64_t produced_at_us = 0;  // steady clock, when the source had the data; 0 if unknown

  std::string_view text() const;  // the payload: the JSON message
};

using live_frame_ptr = std::shared_ptr<const live_frame>;

/// A frame for `text`, framed for the wire.
live_frame_ptr make_live_frame(std::string type, std::string rtu, std::string tag, std::string key,
                               std::string_view text, std::int64_t produced_at_us = 0);

/// Appends the WebSocket framing of an unmasked final frame (`opcode` 0x1 text, 0x8 close,
/// 0x9 ping, 0xA pong) with a payload of `size` bytes to `out`.
void append_frame_header(std::string& out, std::uint8_t opcode, std::size_t size);

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

struct live_board_config {
  /// Frames the board remembers in order, to find what is due to a client quickly; the latest
  /// value of every point is kept beyond it.
  std::size_t history = 8192;
  /// Events (frames without a key) remembered for clients that have not taken them yet; a
  /// client that falls further behind misses the oldest.
  std::size_t event_history = 1024;
};

struct live_board_stats {
  std::uint64_t readers = 0;           // clients reading now
  std::uint64_t frames_published = 0;  // frames the hub appended
  std::uint64_t frames_sent = 0;       // frames handed to clients, all clients
  std::uint64_t frames_missed = 0;     // superseded or dropped before a client read them
  std::uint64_t points = 0;            // distinct keys seen
};

/// The stream. Thread-safe: the hub publishes from its thread, each client reads from its own.
class live_board {
 public:
  class reader;
  using reader_ptr = std::shared_ptr<reader>;

  explicit live_board(live_board_config config = {});
  ~live_board();
  live_board(const live_board&) = delete;
  live_board& operator=(const live_board&) = delete;

  /// Appends `frames` in order, then wakes the readers waiting for data.
  void publish(const std::vector<live_frame_ptr>& frames);

  /// A reader that sees what is published from now on. `wake` is called, from the publishing
  /// thread and under the board's lock, when data arrives for a reader that found none: it must
  /// only post work to the reader's own thread.
  reader_ptr open_reader(std::function<void()> wake);

  /// Stops every reader's stream: their next take() reports `closing` with `reason`, and they
  /// are woken one last time. Later readers are closed from the start.
  void close(std::string reason);

  live_board_stats stats() const;

  /// Whether any client reads the board: without one the hub need not serialise anything.
  bool has_readers() const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;  // shared with the readers, which may outlive the board
};

/// One client's position in the stream.
class live_board::reader {
 public:
  struct take_result {
    std::size_t frames = 0;    // frames appended to `out`
    std::uint64_t missed = 0;  // superseded or dropped since the previous take
    bool closing = false;      // the board is closed; `reason` says why
    std::string reason;
  };

  /// Appends to `out` the wire bytes of what is due to this reader and its filter passes: every
  /// event, and the latest value of each point it has not been sent (earlier values of a point
  /// that were superseded before it took them count as missed). At most about `max_bytes` of
  /// values (at least one frame): those that have waited longest (half the history or more)
  /// first, then the freshest; what does not fit stays due. The frames go out in the order they
  /// were published. When nothing is due, the reader waits: the next publish wakes it.
  take_result take(std::string& out, std::size_t max_bytes);

  /// Replaces the filter for what is taken from now on.
  void set_filter(live_filter filter);

  /// Detaches the reader: it is never woken again. Idempotent; the destructor does it too.
  void close();

  /// Frames this reader missed so far.
  std::uint64_t missed() const;

  ~reader();
  reader(const reader&) = delete;
  reader& operator=(const reader&) = delete;

  struct state;

 private:
  friend class live_board;
  reader(std::shared_ptr<impl> board, std::unique_ptr<state> s);

  std::shared_ptr<impl> board_;
  std::unique_ptr<state> state_;
};

}  // namespace wtc
