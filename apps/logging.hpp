#pragma once

#include <string>

namespace wtc::app {

/// Sets up the default spdlog logger on stderr: human-readable lines, or one JSON object per line
/// when `structured` (for log shippers).
void setup_logging(const std::string& level, bool structured);

}  // namespace wtc::app
