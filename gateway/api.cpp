#include "gateway/api.hpp"

namespace wtc::gateway {

void add_api_routes(router& routes, api_context& ctx) {
  add_system_routes(routes, ctx);
  add_auth_routes(routes, ctx);
  add_user_routes(routes, ctx);
  add_audit_routes(routes, ctx);
  add_rtu_routes(routes, ctx);
  add_pid_routes(routes, ctx);
  add_alarm_routes(routes, ctx);
  add_trend_routes(routes, ctx);
  add_node_routes(routes, ctx);
}

}  // namespace wtc::gateway
