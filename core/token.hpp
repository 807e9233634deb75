#pragma once

#include <string>
#include <string_view>

namespace wtc::core {

/// A new bearer token: 256 random bits from the OS CSPRNG, hex-encoded (64 characters).
std::string new_token();

/// A random password for the first admin account: 24 characters of an unambiguous alphabet.
std::string new_random_password();

/// Lower-case hex SHA-256 of `text`: how tokens are keyed in memory and in user_sessions.
std::string sha256_hex(std::string_view text);

}  // namespace wtc::core
