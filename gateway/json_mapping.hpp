#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/replies.hpp"
#include "messages/alarm_types.hpp"
#include "messages/control_types.hpp"
#include "messages/field_types.hpp"
#include "messages/historian_types.hpp"
#include "messages/node_types.hpp"
#include "messages/types.hpp"

namespace wtc::gateway {

/// An ISO 8601 string, or null for an unset (zero) time.
nlohmann::json time_json(timestamp_ms ms);

nlohmann::json to_json(const user_record& user);
nlohmann::json to_json(const audit_entry& entry);
/// The login and refresh answer: the contract's token, username, role and expires_at.
nlohmann::json to_json(const issued_token& issued);
/// The caller's own session, as GET /api/v1/auth/session shows it (no token, no hash).
nlohmann::json to_json(const session_record& session);

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

// Historian (docs/historian.md).
/// The contract's HistorianTag object (id, rtu_station, slot, tag_name, unit, sample_rate_ms,
/// deadband, compression), plus max_interval_ms, enabled, created_at and updated_at.
nlohmann::json to_json(const historian_tag_record& tag);
/// The contract's trend answer: tag_id, tag_name, start_time, end_time and data (time, value,
/// quality; value null when it is not finite, as for a bucket of BAD samples only), plus unit,
/// aggregation, interval (of an aggregation, else null) and source.
nlohmann::json to_json(const trend_series& series);
/// The contract's storage statistics (total_samples, oldest_sample, newest_sample, total_tags,
/// database_size_mb) and the rest of historian_status.
nlohmann::json to_json(const historian_status& status);
nlohmann::json to_json(const node_info& node);
/// GOOD, UNCERTAIN, BAD or NOT_CONNECTED for a historian_quality_code (BAD for anything else).
std::string_view historian_quality_name(std::uint8_t code);
/// A bucket width in the largest unit that divides it: 60000 is "1m", 90000 "90s".
std::string interval_text(std::int64_t ms);

// Answers made of the mappings above, for ask(): each replies 200 with to_json of the value.

template <class Row>
auto reply_list(const exchange_ptr& ex) {
  return [ex](std::vector<Row>& rows) {
    auto out = nlohmann::json::array();
    for (const auto& row : rows)
      out.push_back(to_json(row));
    ex->reply(json_reply(200, std::move(out)));
  };
}

template <class Row>
auto reply_one(const exchange_ptr& ex) {
  return [ex](Row& row) { ex->reply(json_reply(200, to_json(row))); };
}

}  // namespace wtc::gateway
