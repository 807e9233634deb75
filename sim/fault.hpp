#pragma once

#include <optional>
#include <string_view>

namespace wtc::sim {

/// A misbehaviour a simulated RTU can be told to show, at start-up or through the control
/// channel. One mode at a time per RTU; `none` is a healthy RTU.
enum class fault_mode {
  none,
  drop,          // close every client connection and refuse new ones (listener closed)
  freeze,        // accept and read requests, never answer
  out_of_range,  // AI raw values at 25 mA with quality 0x40
  bad_quality,   // AI quality 0x80, values unchanged
  garbage,       // every reply byte scrambled (wrong transaction and protocol id)
  short_reply,   // only the first half of every reply is sent
  wrong_unit,    // replies carry a unit id other than the request's
  exception,     // Modbus exception 0x04 (server device failure) to every request
};

std::string_view to_string(fault_mode mode);

/// The mode named `text` exactly as to_string() spells it ("short" for short_reply).
std::optional<fault_mode> parse_fault_mode(std::string_view text);

/// Every mode's name, space-separated, for help texts and error messages.
std::string_view fault_mode_names();

}  // namespace wtc::sim
