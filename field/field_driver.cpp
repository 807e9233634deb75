#include "field/field_driver.hpp"

namespace wtc::field {

const char* to_string(failure f) {
  switch (f) {
    case failure::connect:
      return "connect";
    case failure::timeout:
      return "timeout";
    case failure::closed:
      return "closed";
    case failure::protocol:
      return "protocol";
    case failure::exception:
      return "exception";
    case failure::config:
      break;
  }
  return "config";
}

}  // namespace wtc::field
