#include "messages/node_types.hpp"

namespace wtc {

std::string_view to_string(node_state s) {
  return s == node_state::online ? "ONLINE" : "OFFLINE";
}

request_origin central_node_origin() {
  request_origin origin;
  origin.username = std::string(central_node);
  origin.user_role = role::admin;
  origin.request_id = "node-assignment";
  return origin;
}

}  // namespace wtc
