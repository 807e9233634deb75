#include "messages/node_types.hpp"

namespace wtc {

std::string_view to_string(node_state s) {
  return s == node_state::online ? "ONLINE" : "OFFLINE";
}

}  // namespace wtc
