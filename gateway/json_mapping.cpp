#include "gateway/json_mapping.hpp"

#include <cmath>
#include <utility>

#include "core/time.hpp"

namespace wtc::gateway {

nlohmann::json time_json(timestamp_ms ms) {
  if (ms == 0)
    return nullptr;
  return core::format_iso8601(ms);
}

nlohmann::json to_json(const user_record& user) {
  return {{"id", user.id},
          {"username", user.username},
          {"role", to_string(user.user_role)},
          {"active", user.active},
          {"sync_to_rtus", user.sync_to_rtus},
          {"created_at", time_json(user.created_at)},
          {"updated_at", time_json(user.updated_at)},
          {"last_login", time_json(user.last_login)}};
}

nlohmann::json to_json(const audit_entry& entry) {
  auto nullable = [](const std::string& s) -> nlohmann::json {
    if (s.empty())
      return nullptr;
    return s;
  };
  nlohmann::json details = nullable(entry.details);
  // Details are stored as JSON text where the server wrote them: hand them back as JSON.
  if (!entry.details.empty() && (entry.details.front() == '{' || entry.details.front() == '[')) {
    auto parsed = nlohmann::json::parse(entry.details, nullptr, false);
    if (!parsed.is_discarded())
      details = std::move(parsed);
  }
  return {{"id", entry.id},
          {"timestamp", time_json(entry.timestamp)},
          {"user", nullable(entry.user)},
          {"action", entry.action},
          {"resource_type", nullable(entry.resource_type)},
          {"resource_id", nullable(entry.resource_id)},
          {"details", details},
          {"ip_address", nullable(entry.ip_address)}};
}

nlohmann::json to_json(const session_record& s) {
  // Field by field rather than from an initializer list, which builds a temporary array per
  // field first: this runs on every session check, the API's most frequent authenticated call.
  nlohmann::json out;
  out["username"] = s.username;
  out["role"] = to_string(s.user_role);
  out["created_at"] = time_json(s.created_at);
  out["expires_at"] = time_json(s.expires_at);
  out["last_activity"] = time_json(s.last_activity);
  out["ip_address"] = s.ip_address;
  return out;
}

nlohmann::json to_json(const issued_token& issued) {
  const auto& s = issued.session;
  return {{"token", issued.token},
          {"token_type", "bearer"},
          {"username", s.username},
          {"role", to_string(s.user_role)},
          {"created_at", time_json(s.created_at)},
          {"expires_at", time_json(s.expires_at)},
          {"expires_in", (s.expires_at - s.created_at) / 1000}};
}

}  // namespace wtc::gateway

namespace wtc::gateway {
namespace {

nlohmann::json nullable(const std::string& s) {
  if (s.empty())
    return nullptr;
  return s;
}

/// Values are rounded for display: a float32 from the field carries no more than 7 digits.
double rounded(double value) {
  return std::round(value * 1e6) / 1e6;
}

}  // namespace

nlohmann::json to_json(const node_info& node) {
  return {{"name", node.name},
          {"address", nullable(node.address)},
          {"state", to_string(node.state)},
          {"version", nullable(node.version)},
          {"rtus", node.rtus},
          {"joined_at", time_json(node.joined_at)},
          {"last_seen", time_json(node.last_seen)},
          {"latency_ms", node.latency_ms < 0 ? nlohmann::json() : nlohmann::json(node.latency_ms)},
          {"backlog", node.backlog},
          {"received", node.received},
          {"samples", node.samples},
          {"dropped", node.dropped},
          {"reason", nullable(node.reason)}};
}

nlohmann::json to_json(const rtu_record& rtu) {
  return {{"id", rtu.id},
          {"station_name", rtu.station_name},
          {"ip_address", rtu.ip_address},
          {"port", rtu.port},
          {"unit_id", rtu.unit_id},
          {"profile", rtu.profile},
          {"vendor_id", rtu.vendor_id},
          {"device_id", rtu.device_id},
          {"slot_count", rtu.slot_count},
          {"cycle_time_ms", rtu.cycle_time_ms},
          {"state", to_string(rtu.state)},
          {"state_since", time_json(rtu.state_since)},
          {"transition_reason", nullable(rtu.transition_reason)},
          {"last_error", nullable(rtu.last_error)},
          {"rtu_version", nullable(rtu.rtu_version)},
          {"version_mismatch", rtu.version_mismatch},
          {"auto_connect", rtu.auto_connect},
          {"node", rtu.node},
          {"created_at", time_json(rtu.created_at)},
          {"updated_at", time_json(rtu.updated_at)}};
}

nlohmann::json to_json(const rtu_health& health) {
  return {{"state", to_string(health.state)},
          {"uptime_seconds", health.uptime_seconds},
          {"cycle_time_ms", health.cycle_time_ms},
          {"last_cycle_ms", rounded(health.last_cycle_ms)},
          {"connected_slots", health.connected_slots},
          {"total_slots", health.total_slots},
          {"cycles_ok", health.cycles_ok},
          {"cycles_missed", health.cycles_missed},
          {"reconnects", health.reconnects},
          {"errors", health.errors}};
}

nlohmann::json to_json(const sensor_reading& reading) {
  const auto& s = reading.sensor;
  nlohmann::json value = nullptr;
  if (reading.has_value && std::isfinite(reading.latest.value))
    value = rounded(reading.latest.value);
  return {{"tag", s.tag},
          {"slot", s.slot_number},
          {"channel", s.channel},
          {"sensor_type", s.sensor_type},
          {"value", value},
          {"unit", nullable(s.unit)},
          {"quality", to_string(reading.has_value ? reading.latest.q : quality::bad)},
          {"timestamp", time_json(reading.has_value ? reading.latest.timestamp : 0)},
          {"forced", reading.has_value && reading.latest.forced},
          {"scale_min", s.scale_min},
          {"scale_max", s.scale_max},
          {"eng_min", s.eng_min},
          {"eng_max", s.eng_max},
          {"deadband", s.deadband}};
}

nlohmann::json to_json(const actuator_state& a) {
  return {{"tag", a.tag},
          {"slot", a.slot},
          {"channel", a.channel},
          {"control_type", a.control_type},
          {"equipment_type", nullable(a.equipment_type)},
          {"command", to_string(a.command)},
          {"pwm_duty", rounded(a.pwm_duty)},
          {"forced", a.forced},
          {"interlocked", a.interlocked},
          {"running", a.running},
          {"output", rounded(a.output)},
          {"quality", to_string(a.q)},
          {"timestamp", time_json(a.timestamp)}};
}

nlohmann::json to_json(const diagnostic_record& d) {
  nlohmann::json details = nullptr;
  if (!d.details.empty())
    details = nlohmann::json::parse(d.details, nullptr, false);
  return {{"id", d.id},
          {"rtu_id", d.rtu_id},
          {"timestamp", time_json(d.timestamp)},
          {"level", d.level},
          {"source", d.source},
          {"message", d.message},
          {"details", details.is_discarded() ? nlohmann::json(d.details) : details}};
}

nlohmann::json to_json(const pid_loop_view& view) {
  const auto& loop = view.loop;
  const auto& live = view.live;
  const auto optional_id = [](std::int64_t id) {
    return id == 0 ? nlohmann::json() : nlohmann::json(id);
  };
  return {{"id", loop.id},
          {"name", loop.name},
          {"enabled", loop.enabled},
          {"input_rtu", loop.input_rtu},
          {"input_slot", loop.input_slot},
          {"output_rtu", loop.output_rtu},
          {"output_slot", loop.output_slot},
          {"kp", loop.kp},
          {"ki", loop.ki},
          {"kd", loop.kd},
          {"setpoint", live.has_cv ? live.sp : loop.setpoint},
          {"output_min", loop.output_min},
          {"output_max", loop.output_max},
          {"deadband", loop.deadband},
          {"integral_limit", loop.integral_limit},
          {"derivative_filter", loop.derivative_filter},
          {"mode", live.mode.empty() ? loop.mode : live.mode},
          {"scan_period_ms", optional_id(loop.scan_period_ms)},
          {"on_bad_measurement", loop.on_bad_measurement},
          {"safe_output", loop.safe_output},
          {"cascade_from", optional_id(loop.cascade_from)},
          {"pv", live.has_pv ? nlohmann::json(live.pv) : nlohmann::json()},
          {"output", live.has_cv       ? nlohmann::json(live.cv)
                     : loop.has_output ? nlohmann::json(loop.output)
                                       : nlohmann::json()},
          {"status", live.status},
          {"last_scan", time_json(live.at)},
          {"node", view.node.empty() ? std::string(central_node) : view.node},
          {"created_at", time_json(loop.created_at)},
          {"updated_at", time_json(loop.updated_at)}};
}

namespace {

nlohmann::json text_or_null(const std::string& s) {
  return s.empty() ? nlohmann::json() : nlohmann::json(s);
}

}  // namespace

nlohmann::json to_json(const alarm_event_record& event) {
  // An edge node's communication alarm names the node in rtu_station too; "node" says that it is
  // a node's name (null for every other alarm).
  nlohmann::json node =
      event.origin == "node_comm" ? nlohmann::json(event.rtu_station) : nlohmann::json();
  return {{"id", event.id},
          {"alarm_rule_id",
           event.alarm_rule_id > 0 ? nlohmann::json(event.alarm_rule_id) : nlohmann::json()},
          {"rtu_station", event.rtu_station},
          {"slot", event.slot},
          {"state", event.state},
          {"severity", event.severity},
          {"message", text_or_null(event.message)},
          {"value_at_activation",
           event.has_value ? nlohmann::json(event.value_at_activation) : nlohmann::json()},
          {"activated_at", time_json(event.activated_at)},
          {"acknowledged_at", time_json(event.acknowledged_at)},
          {"acknowledged_by", text_or_null(event.acknowledged_by)},
          {"cleared_at", time_json(event.cleared_at)},
          {"note", text_or_null(event.note)},
          {"origin", event.origin},
          {"node", std::move(node)},
          {"suppressed_by", text_or_null(event.suppressed_by)}};
}

nlohmann::json to_json(const alarm_rule_record& rule) {
  return {{"id", rule.id},
          {"name", rule.name},
          {"rtu_station", rule.rtu_station},
          {"slot", rule.slot},
          {"condition", rule.condition},
          {"threshold", rule.threshold},
          {"severity", rule.severity},
          {"delay_ms", rule.delay_ms},
          {"message", text_or_null(rule.message)},
          {"enabled", rule.enabled},
          {"deadband", rule.has_deadband ? nlohmann::json(rule.deadband) : nlohmann::json()},
          {"created_at", time_json(rule.created_at)},
          {"updated_at", time_json(rule.updated_at)}};
}

nlohmann::json to_json(const alarm_shelf_record& shelf) {
  return {{"id", shelf.id},
          {"rtu_station", shelf.rtu_station},
          {"slot", shelf.slot},
          {"alarm_rule_id",
           shelf.alarm_rule_id != 0 ? nlohmann::json(shelf.alarm_rule_id) : nlohmann::json()},
          {"shelved_by", shelf.shelved_by},
          {"shelved_at", time_json(shelf.shelved_at)},
          {"shelf_duration_minutes", shelf.shelf_duration_minutes},
          {"expires_at", time_json(shelf.expires_at)},
          {"reason", text_or_null(shelf.reason)},
          {"active", shelf.active}};
}

nlohmann::json to_json(const maintenance_record& window) {
  return {{"id", window.id},
          {"rtu_station", window.rtu_station},
          {"slot", window.slot},
          {"scheduled_by", window.scheduled_by},
          {"scheduled_at", time_json(window.scheduled_at)},
          {"start_time", time_json(window.start_time)},
          {"end_time", time_json(window.end_time)},
          {"reason", window.reason},
          {"work_order", text_or_null(window.work_order)},
          {"status", window.status},
          {"activated_at", time_json(window.activated_at)},
          {"completed_at", time_json(window.completed_at)},
          {"cancelled_by", text_or_null(window.cancelled_by)},
          {"cancelled_at", time_json(window.cancelled_at)}};
}

std::string_view historian_quality_name(std::uint8_t code) {
  switch (code) {
    case historian_good:
      return "GOOD";
    case historian_uncertain:
      return "UNCERTAIN";
    case historian_not_connected:
      return "NOT_CONNECTED";
    default:
      return "BAD";
  }
}

std::string interval_text(std::int64_t ms) {
  constexpr std::pair<std::int64_t, const char*> units[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}};
  for (const auto& [width, unit] : units)
    if (ms > 0 && ms % width == 0)
      return std::to_string(ms / width) + unit;
  return std::to_string(ms) + "ms";
}

nlohmann::json to_json(const historian_tag_record& tag) {
  return {{"id", tag.id},
          {"rtu_station", tag.rtu_station},
          {"slot", tag.slot},
          {"tag_name", tag.tag_name},
          {"unit", text_or_null(tag.unit)},
          {"sample_rate_ms", tag.sample_rate_ms},
          {"deadband", tag.deadband},
          {"compression", tag.compression},
          {"max_interval_ms", tag.max_interval_ms},
          {"enabled", tag.enabled},
          {"created_at", time_json(tag.created_at)},
          {"updated_at", time_json(tag.updated_at)}};
}

nlohmann::json to_json(const trend_series& series) {
  const auto point = [](const historian_point& p) {
    return nlohmann::json{
        {"time", core::format_iso8601(p.timestamp)},
        {"value", std::isfinite(p.value) ? nlohmann::json(p.value) : nlohmann::json()},
        {"quality", historian_quality_name(p.quality)}};
  };
  auto data = nlohmann::json::array();
  for (const auto& p : series.points)
    data.push_back(point(p));
  const auto& q = series.query;
  const bool aggregated = q.aggregation != "none";
  return {
      {"tag_id", series.tag.id},
      {"tag_name", series.tag.tag_name},
      {"unit", text_or_null(series.tag.unit)},
      {"start_time", core::format_iso8601(q.start)},
      {"end_time", core::format_iso8601(q.end)},
      {"aggregation", q.aggregation},
      {"interval", aggregated ? nlohmann::json(interval_text(q.interval_ms)) : nlohmann::json()},
      {"source", series.source},
      {"data", std::move(data)},
      {"current_value", series.current.empty() ? nlohmann::json() : point(series.current.front())}};
}

nlohmann::json to_json(const historian_status& status) {
  // Mebibytes with two decimals, as the contract's database_size_mb.
  const auto mb = [](std::int64_t bytes) {
    return std::round(static_cast<double>(bytes) / (1024.0 * 1024.0) * 100.0) / 100.0;
  };
  const auto& stored = status.stored;
  auto per_tag = nlohmann::json::array();
  for (const auto& t : stored.per_tag)
    per_tag.push_back({{"tag_id", t.tag_id},
                       {"samples", t.rows},
                       {"oldest_sample", time_json(t.oldest)},
                       {"newest_sample", time_json(t.newest)}});
  return {{"total_samples", stored.sample_rows},
          {"oldest_sample", time_json(stored.oldest)},
          {"newest_sample", time_json(stored.newest)},
          {"total_tags", status.tags},
          {"database_size_mb", mb(stored.bytes)},
          {"enabled_tags", status.tags_enabled},
          {"rollup_rows", stored.rollup_rows},
          {"database_size_bytes", stored.bytes},
          {"stored_as_of", time_json(status.stored_as_of)},
          {"per_tag", std::move(per_tag)},
          {"retention_days", status.retention_days},
          {"max_size_mb",
           status.max_bytes > 0 ? nlohmann::json(mb(status.max_bytes)) : nlohmann::json()},
          {"ingest",
           {{"samples_received", status.samples_received},
            {"samples_rejected", status.samples_rejected},
            {"late_samples", status.late_samples},
            {"points_written", status.points_written},
            {"points_pending", status.points_pending},
            {"points_dropped", status.points_dropped},
            {"write_failures", status.write_failures},
            {"rows_purged", status.rows_purged}}}};
}

}  // namespace wtc::gateway
