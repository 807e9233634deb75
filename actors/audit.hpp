#pragma once

#include <string>

#include "messages/types.hpp"

namespace wtc {

/// The audit row of a change made on behalf of `origin`, stamped now.
audit_entry audit_of(const request_origin& origin, std::string action, std::string resource_type,
                     std::string resource_id, std::string details = {});

}  // namespace wtc
