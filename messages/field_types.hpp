#pragma once

// Value types of the field side: RTU configuration and state, their slots, sensors and
// actuators, and the live data the rtu_actors publish. Each has an `inspect` overload and is
// registered in register_types(), so an rtu_actor can move to an edge node unchanged.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "messages/types.hpp"

namespace wtc {

/// The contract's RTU state machine (docs/api-decisions.md: DISCOVERY is a state of its own).
enum class rtu_state : std::uint8_t { offline, connecting, discovery, running, error };

std::string_view to_string(rtu_state s);
bool parse_rtu_state(std::string_view text, rtu_state& out);

/// The contract's data quality. The RTU wire codes 0x80 (bad) and 0xC0 (not connected) both
/// become BAD.
enum class quality : std::uint8_t { good, uncertain, bad };

std::string_view to_string(quality q);

/// What an actuator is told to do.
enum class command_kind : std::uint8_t { off, on, pwm };

std::string_view to_string(command_kind c);
bool parse_command_kind(std::string_view text, command_kind& out);

/// The name the central node goes by in an RTU's `node` attribute.
inline constexpr std::string_view central_node = "central";

/// An rtus row: configuration (set through the API) and state (owned by the rtu_actor).
struct rtu_record {
  std::int64_t id = 0;
  std::string station_name;
  std::string ip_address;
  std::int32_t port = 502;
  std::int32_t unit_id = 1;
  std::string profile = "wtc-rtu";  // register-map profile name (field/profiles)
  std::string vendor_id;            // "0x002A"
  std::string device_id;
  std::int32_t slot_count = 0;
  std::int64_t cycle_time_ms = 1000;
  bool auto_connect = false;       // connect at start-up: set by connect, cleared by disconnect
  std::string node{central_node};  // the node whose rtu_actor polls it (docs/nodes.md)
  rtu_state state = rtu_state::offline;
  timestamp_ms state_since = 0;
  std::string transition_reason;
  std::string last_error;
  std::string rtu_version;
  bool version_mismatch = false;
  timestamp_ms created_at = 0;
  timestamp_ms updated_at = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rtu_record& x) {
  return f(x.id, x.station_name, x.ip_address, x.port, x.unit_id, x.profile, x.vendor_id,
           x.device_id, x.slot_count, x.cycle_time_ms, x.auto_connect, x.node, x.state,
           x.state_since, x.transition_reason, x.last_error, x.rtu_version, x.version_mismatch,
           x.created_at, x.updated_at);
}

/// Changes to an RTU's configuration; unset fields keep their value.
struct rtu_update {
  bool set_ip_address = false;
  std::string ip_address;
  bool set_port = false;
  std::int32_t port = 502;
  bool set_unit_id = false;
  std::int32_t unit_id = 1;
  bool set_profile = false;
  std::string profile;
  bool set_vendor_id = false;
  std::string vendor_id;
  bool set_device_id = false;
  std::string device_id;
  bool set_slot_count = false;
  std::int32_t slot_count = 0;
  bool set_cycle_time_ms = false;
  std::int64_t cycle_time_ms = 1000;
  bool set_node = false;
  std::string node;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rtu_update& x) {
  return f(x.set_ip_address, x.ip_address, x.set_port, x.port, x.set_unit_id, x.unit_id,
           x.set_profile, x.profile, x.set_vendor_id, x.vendor_id, x.set_device_id, x.device_id,
           x.set_slot_count, x.slot_count, x.set_cycle_time_ms, x.cycle_time_ms, x.set_node,
           x.node);
}

/// A state transition of an RTU, persisted on its row (state, state_since, transition_reason,
/// last_error). An empty `last_error` keeps the stored one unless `clear_error` is set.
struct rtu_transition {
  std::int64_t rtu_id = 0;
  rtu_state state = rtu_state::offline;
  timestamp_ms since = 0;
  std::string reason;
  std::string last_error;
  bool clear_error = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rtu_transition& x) {
  return f(x.rtu_id, x.state, x.since, x.reason, x.last_error, x.clear_error);
}

/// A slots row.
struct slot_record {
  std::int64_t id = 0;
  std::int64_t rtu_id = 0;
  std::int32_t slot_number = 0;
  std::string module_id;         // "0x0001"
  std::string module_type;       // AI, DO, PWM, or a profile's own name
  std::string status = "EMPTY";  // OK, EMPTY, FAULT, PULLED
  timestamp_ms created_at = 0;
  timestamp_ms updated_at = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, slot_record& x) {
  return f(x.id, x.rtu_id, x.slot_number, x.module_id, x.module_type, x.status, x.created_at,
           x.updated_at);
}

/// A sensors row, with its slot number alongside for the API.
struct sensor_record {
  std::int64_t id = 0;
  std::int64_t rtu_id = 0;
  std::int64_t slot_id = 0;
  std::int32_t slot_number = 0;
  std::string tag;
  std::int32_t channel = 0;
  std::string sensor_type;
  std::string unit;
  double scale_min = 0.0;
  double scale_max = 100.0;
  double eng_min = 0.0;
  double eng_max = 100.0;
  double deadband = 0.0;  // live updates only on a change beyond this, in engineering units
  timestamp_ms created_at = 0;
  timestamp_ms updated_at = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sensor_record& x) {
  return f(x.id, x.rtu_id, x.slot_id, x.slot_number, x.tag, x.channel, x.sensor_type, x.unit,
           x.scale_min, x.scale_max, x.eng_min, x.eng_max, x.deadband, x.created_at, x.updated_at);
}

/// An engineer's changes to a sensor's configuration; unset fields keep their value.
struct sensor_settings {
  bool set_sensor_type = false;
  std::string sensor_type;
  bool set_unit = false;
  std::string unit;
  bool set_scale_min = false;
  double scale_min = 0.0;
  bool set_scale_max = false;
  double scale_max = 0.0;
  bool set_eng_min = false;
  double eng_min = 0.0;
  bool set_eng_max = false;
  double eng_max = 0.0;
  bool set_deadband = false;
  double deadband = 0.0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sensor_settings& x) {
  return f(x.set_sensor_type, x.sensor_type, x.set_unit, x.unit, x.set_scale_min, x.scale_min,
           x.set_scale_max, x.scale_max, x.set_eng_min, x.eng_min, x.set_eng_max, x.eng_max,
           x.set_deadband, x.deadband);
}

/// The fields a change sets and their values as a JSON object, for the audit log.
std::string describe(const sensor_settings& s);

/// A controls row, with its slot number alongside for the API.
struct control_record {
  std::int64_t id = 0;
  std::int64_t rtu_id = 0;
  std::int64_t slot_id = 0;
  std::int32_t slot_number = 0;
  std::string tag;
  std::int32_t channel = 0;
  std::string control_type;  // discrete, analog
  std::string equipment_type;
  bool has_range = false;  // min_value and max_value are NULL for discrete controls
  double min_value = 0.0;
  double max_value = 100.0;
  std::string unit;
  timestamp_ms created_at = 0;
  timestamp_ms updated_at = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, control_record& x) {
  return f(x.id, x.rtu_id, x.slot_id, x.slot_number, x.tag, x.channel, x.control_type,
           x.equipment_type, x.has_range, x.min_value, x.max_value, x.unit, x.created_at,
           x.updated_at);
}

/// What discovery found on an RTU. Storage merges it into the slots, sensors and controls
/// rows: new slots and points are created with these defaults, existing ones keep what an
/// engineer configured (tag, scaling, deadband) and only their module data is refreshed.
struct discovery_result {
  std::int64_t rtu_id = 0;
  std::string vendor_id;
  std::string device_id;
  std::string rtu_version;
  bool version_mismatch = false;
  std::int32_t slot_count = 0;
  std::vector<slot_record> slots;
  std::vector<sensor_record> sensors;    // slot_id unset: matched by slot_number and channel
  std::vector<control_record> controls;  // likewise
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, discovery_result& x) {
  return f(x.rtu_id, x.vendor_id, x.device_id, x.rtu_version, x.version_mismatch, x.slot_count,
           x.slots, x.sensors, x.controls);
}

/// A profinet_diagnostics row: the contract's table for every field event.
struct diagnostic_record {
  std::int64_t id = 0;
  std::int64_t rtu_id = 0;
  timestamp_ms timestamp = 0;
  std::string level = "INFO";  // INFO, WARNING, ERROR
  std::string source;          // AR (connection), CYCLE, IO, DISCOVERY, COMMAND
  std::string message;
  std::string details;  // JSON text, or empty for NULL
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, diagnostic_record& x) {
  return f(x.id, x.rtu_id, x.timestamp, x.level, x.source, x.message, x.details);
}

// --- live data, published by the rtu_actors ---

/// One sensor value in engineering units, with quality. `changed` marks a change beyond the
/// sensor's deadband (or of quality) since the last sample so marked: what live clients see.
struct sample {
  std::string tag;
  std::int32_t slot = 0;
  std::int32_t channel = 0;
  double value = 0.0;
  double raw = 0.0;
  quality q = quality::bad;
  bool forced = false;
  bool changed = false;
  timestamp_ms timestamp = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sample& x) {
  return f(x.tag, x.slot, x.channel, x.value, x.raw, x.q, x.forced, x.changed, x.timestamp);
}

/// Every sensor of one RTU after one cycle (or after a loss of connection, all BAD).
/// `produced_at` is the steady-clock time in microseconds at which the rtu_actor had the values,
/// for latency measurement within one host.
struct sample_batch {
  std::int64_t rtu_id = 0;
  std::string station;
  std::vector<sample> samples;
  std::int64_t produced_at_us = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sample_batch& x) {
  return f(x.rtu_id, x.station, x.samples, x.produced_at_us);
}

/// The state of one actuator as last read back from the RTU.
struct actuator_state {
  std::string tag;
  std::int32_t slot = 0;
  std::int32_t channel = 0;
  std::string control_type;
  std::string equipment_type;
  command_kind command = command_kind::off;
  double pwm_duty = 0.0;  // percent
  double output = 0.0;    // applied output, percent
  bool forced = false;
  bool interlocked = false;
  bool running = false;
  quality q = quality::bad;
  timestamp_ms timestamp = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actuator_state& x) {
  return f(x.tag, x.slot, x.channel, x.control_type, x.equipment_type, x.command, x.pwm_duty,
           x.output, x.forced, x.interlocked, x.running, x.q, x.timestamp);
}

/// Actuators of one RTU whose state changed in a cycle.
struct actuator_batch {
  std::int64_t rtu_id = 0;
  std::string station;
  std::vector<actuator_state> actuators;
  std::int64_t produced_at_us = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actuator_batch& x) {
  return f(x.rtu_id, x.station, x.actuators, x.produced_at_us);
}

/// A connection event of an RTU: the WebSocket's rtu_connected, rtu_disconnected and
/// rtu_state_change messages come from these.
struct rtu_event {
  std::int64_t rtu_id = 0;
  std::string station;
  std::string ip_address;
  rtu_state old_state = rtu_state::offline;
  rtu_state new_state = rtu_state::offline;
  std::string reason;
  timestamp_ms timestamp = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rtu_event& x) {
  return f(x.rtu_id, x.station, x.ip_address, x.old_state, x.new_state, x.reason, x.timestamp);
}

/// An operator's command to an actuator slot.
struct actuator_command {
  std::int32_t slot = 0;
  command_kind command = command_kind::off;
  double pwm_duty = 0.0;  // percent, 0 to 100, PWM only
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actuator_command& x) {
  return f(x.slot, x.command, x.pwm_duty);
}

/// A sensor's configuration with its latest value, as the REST API shows it.
struct sensor_reading {
  sensor_record sensor;
  bool has_value = false;  // false until the first cycle after start-up
  sample latest;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sensor_reading& x) {
  return f(x.sensor, x.has_value, x.latest);
}

/// GET /api/v1/rtus/{station}/health.
struct rtu_health {
  rtu_state state = rtu_state::offline;
  std::int64_t uptime_seconds = 0;  // time in RUNNING since the last connection
  std::int64_t cycle_time_ms = 0;   // configured
  double last_cycle_ms = 0;         // duration of the last read cycle
  std::int32_t connected_slots = 0;
  std::int32_t total_slots = 0;
  std::uint64_t cycles_ok = 0;
  std::uint64_t cycles_missed = 0;  // scheduled cycles that could not run or failed
  std::uint64_t reconnects = 0;
  std::vector<std::string> errors;  // recent, newest last
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rtu_health& x) {
  return f(x.state, x.uptime_seconds, x.cycle_time_ms, x.last_cycle_ms, x.connected_slots,
           x.total_slots, x.cycles_ok, x.cycles_missed, x.reconnects, x.errors);
}

}  // namespace wtc
