#pragma once

// What both backends share when they turn rows into values and back.

#include <string_view>

#include "messages/types.hpp"

namespace wtc::storage {

/// Parses a role column. The schema's CHECK admits only the contract's roles, so anything else
/// means a database changed behind our back: an internal error, never a silent downgrade.
role role_from_column(std::string_view text);

/// Rejects a window no query can serve: a negative skip or limit is a bad request.
void check_window(const page& window);

/// The wall clock in UTC milliseconds, for schema_version.applied_at.
timestamp_ms clock_now();

}  // namespace wtc::storage
