#include "field/make_driver.hpp"

#include "field/modbus_tcp_driver.hpp"

namespace wtc::field {

std::unique_ptr<field_driver> make_driver(const profile& p) {
  if (p.protocol == "modbus_tcp")
    return std::make_unique<modbus_tcp_driver>(p);
  // parse_profile admits only known protocols; this guards a profile built in code.
  throw profile_error("profile " + p.name + ": no driver for protocol '" + p.protocol + "'");
}

}  // namespace wtc::field
