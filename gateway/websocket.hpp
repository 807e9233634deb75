#pragma once

// The /ws/live endpoint as the rest of the program sees it: settings, the hub behind a plain
// interface, and the service object the HTTP server hands upgrade requests to. Neither Beast nor
// CAF here: wtcd.cpp includes it, and http_server.hpp does.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "gateway/dispatcher.hpp"
#include "messages/live_client.hpp"

namespace wtc::gateway {

struct websocket_config {
  std::string path = "/ws/live";
  /// WTC_WS_REQUIRE_AUTH: a valid token (query `token` or `Authorization: Bearer`) is needed to
  /// upgrade. Otherwise the stream is anonymous and read-only, as the contract says.
  bool require_auth = false;
  /// Frames queued per client before its queue is coalesced (see websocket_session.cpp).
  std::size_t queue_limit = 256;
  /// Largest message a client may send; a bigger one closes the connection with 1009.
  std::size_t max_message = 4096;
  /// Nothing received for half of this: the server pings; for all of it: the connection closes.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  /// Limit on the opening and the closing handshake.
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};
  /// Open WebSocket connections at most; more are answered 503.
  std::size_t max_clients = 4096;
  /// SO_SNDBUF of each connection; 0 keeps the OS default. The kernel buffers a slow client's
  /// data before the queue above fills (up to 4 MiB with Linux autotuning): a smaller buffer
  /// makes coalescing start sooner, so that a slow client sees fresher values.
  std::size_t socket_send_buffer = 0;
};

/// The live hub as the WebSocket sessions see it. Implemented over CAF in gateway/live_link.cpp;
/// tests may implement it without.
class live_endpoint {
 public:
  virtual ~live_endpoint() = default;
  /// Whether the hub is running (an upgrade is answered 503 otherwise).
  virtual bool available() const = 0;
  /// Adds `client` with `filter`, or replaces its filter; the hub confirms with "subscribed".
  /// Returns false if the hub is not running.
  virtual bool join(live_client_ptr client, live_filter filter) = 0;
  virtual void leave(live_client_ptr client) = 0;
};

/// Counters of the WebSocket side, for /metrics.
struct websocket_stats {
  std::uint64_t open = 0;      // connections now
  std::uint64_t accepted = 0;  // upgrades accepted since start
  std::uint64_t rejected = 0;  // upgrades refused (401, 503)
  std::uint64_t missed = 0;    // frames lost to coalescing and overflow, all clients, since start
};

/// The /ws/live endpoint: the HTTP server hands it upgrade requests for `config().path`
/// (websocket_session.hpp). Shared by every session; thread-safe.
class websocket_service {
 public:
  /// `authenticate` resolves a token (gateway::session_authenticator); it is only called when
  /// `config.require_auth` is set.
  websocket_service(websocket_config config, std::shared_ptr<live_endpoint> hub,
                    authenticator authenticate);
  ~websocket_service();
  websocket_service(const websocket_service&) = delete;
  websocket_service& operator=(const websocket_service&) = delete;

  const websocket_config& config() const;
  websocket_stats stats() const;

  /// Cuts every open session off from the hub: after it returns, no hub thread touches a
  /// session's io_context again. http_server::stop() calls it once its io threads have ended, so
  /// the io contexts may then go before the hub does.
  void detach_all();

  struct impl;
  std::shared_ptr<impl> impl_;  // shared with the sessions, which may outlive the service
};

}  // namespace wtc::gateway
