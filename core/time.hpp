#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wtc::core {

/// Wall-clock time in UTC milliseconds since the UNIX epoch.
std::int64_t now_ms();

/// The monotonic clock in microseconds (an arbitrary origin): for deadlines and latencies.
std::int64_t steady_us();

/// "2026-01-17T12:00:00Z", with ".mmm" before the Z when the milliseconds are not zero.
std::string format_iso8601(std::int64_t ms);

/// Parses ISO 8601 as clients send it: "2026-01-17", "2026-01-17T12:00:00", with optional
/// fractional seconds and a "Z" or "+hh:mm" offset (no offset means UTC). Returns nothing on
/// anything malformed or out of range.
std::optional<std::int64_t> parse_iso8601(std::string_view text);

}  // namespace wtc::core
