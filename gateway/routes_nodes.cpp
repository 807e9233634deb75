// The edge nodes as the central node's registry sees them (docs/nodes.md): GET /api/v1/nodes
// and GET /api/v1/nodes/{name}. Nodes are not created through the API: a node appears when an
// RTU is placed on it and is ONLINE while its wtc-edge is joined.

#include <string>

#include "gateway/actor_bridge.hpp"
#include "gateway/api.hpp"
#include "gateway/json_body.hpp"
#include "gateway/json_mapping.hpp"
#include "messages/interfaces.hpp"

namespace wtc::gateway {

void add_node_routes(router& routes, api_context& ctx) {
  const auto timeout = ctx.settings.actor_timeout;
  auto registry = [&ctx] { return lookup<node_registry_api>(ctx.sys, names::nodes); };

  routes.add("GET", "/api/v1/nodes", access::viewer, [registry, timeout](const exchange_ptr& ex) {
    allow_query(ex->req, {});
    ask(ex, registry(), timeout, reply_list<node_info>(ex), caf::get_atom::value,
        nodes_atom::value);
  });

  routes.add("GET", "/api/v1/nodes/{name}", access::viewer,
             [registry, timeout](const exchange_ptr& ex) {
               allow_query(ex->req, {});
               ask(ex, registry(), timeout, reply_one<node_info>(ex), caf::get_atom::value,
                   node_atom::value, checked_station(ex->req.params.at("name"), "node name"));
             });
}

}  // namespace wtc::gateway
