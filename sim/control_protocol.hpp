#pragma once

// The simulator's control channel: one command per line, one reply line per command, "ok ..." or
// "error <reason>". Parsing is pure; the server executes what it parses.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "sim/fault.hpp"

namespace wtc::sim {

/// Longer lines are refused and the connection closed: the channel is for short commands.
constexpr std::size_t max_control_line = 256;

struct control_request {
  enum class verb { help, status, fault, force, unforce, set_level, quit };
  verb action = verb::help;
  std::optional<int> rtu;  // RTU index from 0; nullopt means every RTU ("all", or status alone)
  int slot = 0;
  double value = 0.0;
  fault_mode fault = fault_mode::none;
};

/// A parsed line, or why it is not a command.
struct parsed_control_line {
  std::optional<control_request> request;
  std::string error;
};

parsed_control_line parse_control_line(std::string_view line);

/// The reply to `help`: every command on one line.
std::string control_help();

}  // namespace wtc::sim
