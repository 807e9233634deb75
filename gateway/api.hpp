#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/duration.hpp>

#include "gateway/dispatcher.hpp"
#include "gateway/metrics.hpp"
#include "gateway/router.hpp"
#include "messages/health_board.hpp"
#include "messages/loop_timing.hpp"

namespace wtc::gateway {

struct api_settings {
  /// For requests whose answer waits on the database or on bcrypt. An actor that crashes while
  /// such an answer is pending never sends it: the timeout turns that into a 503.
  caf::duration actor_timeout{std::chrono::seconds(15)};
  std::int64_t started_at_ms = 0;
  std::int64_t cycle_time_ms = 1000;
  std::string version;
};

/// What the route handlers share: the actor system to reach the actors through, and settings.
struct api_context {
  caf::actor_system& sys;
  api_settings settings;
  std::shared_ptr<const health_board> board;
  std::shared_ptr<const loop_timing> pid_timing;  // the PID loops' punctuality, for /metrics
  const http_metrics* metrics = nullptr;          // set once the route table is complete
  /// From a sample's production to the alarm_raised it caused, for /metrics; may be null.
  std::shared_ptr<const latency_histogram> alarm_raise_latency;
};

/// Adds every route of the REST API to `routes`, each with the access it requires.
void add_api_routes(router& routes, api_context& ctx);

/// Resolves the bearer token through the session manager.
authenticator session_authenticator(api_context& ctx);

// One function per resource, in its own file.
void add_auth_routes(router& routes, api_context& ctx);
void add_user_routes(router& routes, api_context& ctx);
void add_audit_routes(router& routes, api_context& ctx);
void add_system_routes(router& routes, api_context& ctx);
void add_rtu_routes(router& routes, api_context& ctx);
void add_pid_routes(router& routes, api_context& ctx);
void add_alarm_routes(router& routes, api_context& ctx);
void add_trend_routes(router& routes, api_context& ctx);
void add_node_routes(router& routes, api_context& ctx);

}  // namespace wtc::gateway
