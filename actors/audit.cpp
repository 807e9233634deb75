#include "actors/audit.hpp"

#include "core/time.hpp"

namespace wtc {

audit_entry audit_of(const request_origin& origin, std::string action, std::string resource_type,
                     std::string resource_id, std::string details) {
  audit_entry entry;
  entry.timestamp = core::now_ms();
  entry.user = origin.username;
  entry.action = std::move(action);
  entry.resource_type = std::move(resource_type);
  entry.resource_id = std::move(resource_id);
  entry.details = std::move(details);
  entry.ip_address = origin.ip_address;
  return entry;
}

}  // namespace wtc
