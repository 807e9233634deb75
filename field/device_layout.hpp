#pragma once

// A profile applied to one device: which registers discovery reads, what they say about the
// slots, which registers a cycle reads, what a cycle's registers mean, and which writes carry a
// command. Pure: the driver does the I/O in between.

#include <cstdint>
#include <optional>
#include <vector>

#include "field/field_driver.hpp"
#include "field/profile.hpp"
#include "field/read_plan.hpp"
#include "field/register_image.hpp"

namespace wtc::field {

/// A point of a discovered slot, its fields at the slot's own addresses.
struct mapped_point {
  std::int32_t slot = 0;
  point_map map;
};

/// The device as discovery found it.
struct device_layout {
  device_description description;
  std::vector<mapped_point> points;
  std::optional<register_field> heartbeat;
};

/// One write a command needs. A coil write has one value, 0 or 1.
struct register_write {
  field::area area = area::holding_register;
  std::uint16_t address = 0;
  std::vector<std::uint16_t> values;
};

/// What discovery reads: the identification registers and the slot directory's tables (for
/// max_slots slots, so that discovery is one round of requests).
std::vector<address_span> discovery_spans(const profile& p);

/// The device described by its profile and what discovery read. Throws field_error
/// (failure::config) when the device and the profile disagree: more slots than the profile
/// maps, or a module or signal code the profile does not know.
device_layout resolve_layout(const profile& p, const register_image& discovered);

/// What one cycle reads: every field of every point, and the heartbeat.
std::vector<address_span> cycle_spans(const device_layout& layout);

/// Every point's reading from a cycle's registers.
cycle_reading decode_cycle(const device_layout& layout, const register_image& image);

/// The writes that carry `command`, in order: a duty before the switch that starts the output,
/// and adjacent registers merged into one request (the WTC RTU's command and duty registers then
/// change in one write). Throws field_error (failure::config) for a slot without an actuator, a
/// PWM command to an actuator without a duty register, or a duty outside 0–100 %.
std::vector<register_write> plan_command(const device_layout& layout,
                                         const actuator_command& command);

}  // namespace wtc::field
