#pragma once

#include <string>
#include <string_view>

namespace wtc::core {

/// bcrypt cost used for new password hashes (2^12 rounds, ~0.25 s on this hardware class).
constexpr int default_bcrypt_cost = 12;

/// Hashes `password` with bcrypt ($2b$) and a fresh random salt. Throws std::runtime_error when
/// the system's crypt library cannot produce a bcrypt hash.
std::string hash_password(std::string_view password, int cost = default_bcrypt_cost);

/// Checks `password` against a bcrypt hash in constant time. A malformed hash never matches.
bool verify_password(std::string_view password, const std::string& hash);

/// Why a new password is refused, or an empty string when it is acceptable.
std::string password_policy_violation(std::string_view password);

}  // namespace wtc::core
