#include "gateway/json_mapping.hpp"

#include "core/time.hpp"

namespace wtc::gateway {

nlohmann::json time_json(timestamp_ms ms) {
  if (ms == 0)
    return nullptr;
  return core::format_iso8601(ms);
}

nlohmann::json to_json(const user_record& user) {
  return {{"id", user.id},
          {"username", user.username},
          {"role", to_string(user.user_role)},
          {"active", user.active},
          {"sync_to_rtus", user.sync_to_rtus},
          {"created_at", time_json(user.created_at)},
          {"updated_at", time_json(user.updated_at)},
          {"last_login", time_json(user.last_login)}};
}

nlohmann::json to_json(const audit_entry& entry) {
  auto nullable = [](const std::string& s) -> nlohmann::json {
    if (s.empty())
      return nullptr;
    return s;
  };
  nlohmann::json details = nullable(entry.details);
  // Details are stored as JSON text where the server wrote them: hand them back as JSON.
  if (!entry.details.empty() && (entry.details.front() == '{' || entry.details.front() == '[')) {
    auto parsed = nlohmann::json::parse(entry.details, nullptr, false);
    if (!parsed.is_discarded())
      details = std::move(parsed);
  }
  return {{"id", entry.id},
          {"timestamp", time_json(entry.timestamp)},
          {"user", nullable(entry.user)},
          {"action", entry.action},
          {"resource_type", nullable(entry.resource_type)},
          {"resource_id", nullable(entry.resource_id)},
          {"details", details},
          {"ip_address", nullable(entry.ip_address)}};
}

nlohmann::json to_json(const issued_token& issued) {
  const auto& s = issued.session;
  return {{"token", issued.token},
          {"token_type", "bearer"},
          {"username", s.username},
          {"role", to_string(s.user_role)},
          {"created_at", time_json(s.created_at)},
          {"expires_at", time_json(s.expires_at)},
          {"expires_in", (s.expires_at - s.created_at) / 1000}};
}

}  // namespace wtc::gateway
