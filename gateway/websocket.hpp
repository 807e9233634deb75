#pragma once

// The /ws/live endpoint as the rest of the program sees it: settings, and the service object the
// HTTP server hands upgrade requests to. Neither Beast nor CAF here: wtcd.cpp includes it, and
// http_server.hpp does.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "gateway/dispatcher.hpp"
#include "messages/live_board.hpp"

namespace wtc::gateway {

struct websocket_config {
  std::string path = "/ws/live";
  /// WTC_WS_REQUIRE_AUTH: a valid token (query `token` or `Authorization: Bearer`) is needed to
  /// upgrade. Otherwise the stream is anonymous and read-only, as the contract says.
  bool require_auth = false;
  /// Flow control: each batch of messages ends with a ping, and the next batch waits for the
  /// client's pong. The batch size adapts so that a round trip takes at most `flow_target`:
  /// a client that reads slowly gets smaller batches of the freshest values, not a backlog.
  /// `batch_bytes` is the largest batch (at least one message goes in any case).
  std::size_t batch_bytes = 32 * 1024;
  std::chrono::milliseconds flow_target{20};
  /// The `overflow` notice (what a slow client missed) goes at most this often.
  std::chrono::milliseconds overflow_interval{1000};
  /// Largest message a client may send; a bigger one closes the connection with 1009.
  std::size_t max_message = 4096;
  /// Nothing received for half of this: the server pings; for all of it: the connection closes.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  /// Limit on the opening and the closing handshake.
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};
  /// Open WebSocket connections at most; more are answered 503.
  std::size_t max_clients = 4096;
  /// SO_SNDBUF of each connection; 0 keeps the OS default. The kernel buffers a slow client's
  /// data before the board starts coalescing for it (up to 4 MiB with Linux autotuning): a
  /// smaller buffer makes coalescing start sooner, so that a slow client sees fresher values.
  std::size_t socket_send_buffer = 0;
};

/// Counters of the WebSocket side, for /metrics.
struct websocket_stats {
  std::uint64_t open = 0;      // connections now
  std::uint64_t accepted = 0;  // upgrades accepted since start
  std::uint64_t rejected = 0;  // upgrades refused (401, 503)
  std::uint64_t missed = 0;    // frames superseded before a client read them, since start
};

/// The /ws/live endpoint: the HTTP server hands it upgrade requests for `config().path`
/// (websocket_session.hpp). Shared by every session; thread-safe.
class websocket_service {
 public:
  /// Sessions read `board`, which the live hub writes. `authenticate` resolves a token
  /// (gateway::session_authenticator); it is only called when `config.require_auth` is set.
  websocket_service(websocket_config config, std::shared_ptr<live_board> board,
                    authenticator authenticate);
  ~websocket_service();
  websocket_service(const websocket_service&) = delete;
  websocket_service& operator=(const websocket_service&) = delete;

  const websocket_config& config() const;
  websocket_stats stats() const;

  /// Closes the board: after it returns, no hub thread touches a session's io_context again.
  /// http_server::stop() calls it once its io threads have ended, so the io contexts may then go
  /// before the hub does.
  void detach_all();

  struct impl;
  std::shared_ptr<impl> impl_;  // shared with the sessions, which may outlive the service
};

}  // namespace wtc::gateway
