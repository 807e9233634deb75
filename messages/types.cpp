#include "messages/types.hpp"

namespace wtc {

std::string_view to_string(role r) {
  switch (r) {
    case role::viewer:
      return "viewer";
    case role::operator_:
      return "operator";
    case role::admin:
      return "admin";
  }
  return "viewer";
}

bool parse_role(std::string_view text, role& out) {
  for (role r : {role::viewer, role::operator_, role::admin}) {
    if (text == to_string(r)) {
      out = r;
      return true;
    }
  }
  return false;
}

}  // namespace wtc
