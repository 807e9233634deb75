#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace wtc::gateway {

/// Percent-decodes `text` ('+' stays '+' unless `plus_is_space`); nothing on a malformed escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space = false);

/// Parses "a=1&b=two" into decoded pairs. Throws bad_input on malformed escapes, on a repeated
/// key (which value would win is a guess the server should not make) and on control characters.
std::unordered_map<std::string, std::string> parse_query(std::string_view query);

}  // namespace wtc::gateway
