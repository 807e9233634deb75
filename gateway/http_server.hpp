#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gateway/exchange.hpp"
#include "gateway/metrics.hpp"
#include "gateway/websocket.hpp"

namespace wtc::gateway {

struct server_config {
  std::string bind_address = "0.0.0.0";
  std::uint16_t port = 8000;  // 0 picks a free port (tests)
  int io_threads = 2;
  std::size_t body_limit = 1024 * 1024;
  std::size_t header_limit = 16 * 1024;
  std::chrono::seconds idle_timeout{60};
  std::vector<std::string> cors_origins;  // exact origins, or "*"
  /// When set, upgrade requests for its path become WebSocket sessions (/ws/live).
  std::shared_ptr<websocket_service> websocket;
};

/// The Beast HTTP/1.1 server: accepts connections on its own io threads, turns each request into
/// an exchange for `dispatch`, and writes the reply whenever and from wherever it comes. It never
/// blocks an io thread: dispatch must hand slow work elsewhere.
class http_server {
 public:
  using dispatcher = std::function<void(const exchange_ptr&)>;
  /// Runs on each io thread before it serves, with a function that queues work on that thread.
  using thread_start = std::function<void(std::function<void(std::function<void()>)> post)>;

  http_server(server_config config, dispatcher dispatch, http_metrics& metrics,
              thread_start on_thread_start);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Binds and starts the io threads. Throws std::runtime_error when the port cannot be bound.
  void start();
  /// Stops accepting, closes connections and joins the io threads. Idempotent.
  void stop();
  /// Calls `on_signal` (on an io thread) when SIGINT or SIGTERM arrives.
  void on_termination_signal(std::function<void(int)> on_signal);

  std::uint16_t port() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace wtc::gateway
