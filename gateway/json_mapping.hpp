#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "messages/types.hpp"

namespace wtc::gateway {

/// An ISO 8601 string, or null for an unset (zero) time.
nlohmann::json time_json(timestamp_ms ms);

nlohmann::json to_json(const user_record& user);
nlohmann::json to_json(const audit_entry& entry);
/// The login and refresh answer: the contract's token, username, role and expires_at.
nlohmann::json to_json(const issued_token& issued);

}  // namespace wtc::gateway
