#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "messages/alarm_types.hpp"
#include "messages/control_types.hpp"
#include "messages/field_types.hpp"
#include "messages/types.hpp"

namespace wtc::gateway {

/// An ISO 8601 string, or null for an unset (zero) time.
nlohmann::json time_json(timestamp_ms ms);

nlohmann::json to_json(const user_record& user);
nlohmann::json to_json(const audit_entry& entry);
/// The login and refresh answer: the contract's token, username, role and expires_at.
nlohmann::json to_json(const issued_token& issued);

/// The contract's RTU object, plus what a Modbus RTU needs (port, unit_id, profile,
/// cycle_time_ms) and the rest of its row.
nlohmann::json to_json(const rtu_record& rtu);
nlohmann::json to_json(const rtu_health& health);
/// The contract's sensor object: tag, slot, channel, sensor_type, value, unit, quality,
/// timestamp (value null and quality BAD before the first read).
nlohmann::json to_json(const sensor_reading& reading);
/// The contract's actuator object: tag, slot, channel, control_type, equipment_type, command,
/// forced, plus pwm_duty, interlocked, running, output and quality.
nlohmann::json to_json(const actuator_state& actuator);
nlohmann::json to_json(const diagnostic_record& diagnostic);
/// The contract's PIDLoop object, plus the columns of migration 0003 and what the loop is doing:
/// pv, output, status and last_scan. setpoint and mode are the running loop's.
nlohmann::json to_json(const pid_loop_view& view);

// Alarms (docs/alarms.md).
nlohmann::json to_json(const alarm_event_record& event);
nlohmann::json to_json(const alarm_rule_record& rule);
nlohmann::json to_json(const alarm_shelf_record& shelf);
nlohmann::json to_json(const maintenance_record& window);

}  // namespace wtc::gateway
