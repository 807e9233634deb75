#pragma once

#include <memory>

#include "field/field_driver.hpp"
#include "field/profile.hpp"

namespace wtc::field {

/// A driver for the profile's protocol (today modbus_tcp), holding its own copy of the profile.
std::unique_ptr<field_driver> make_driver(const profile& p);

}  // namespace wtc::field
