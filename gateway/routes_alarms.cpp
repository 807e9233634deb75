// Alarms: the contract's active list, history, acknowledgment and rules, and what ISA-18.2 adds
// in the contract's style: shelving, maintenance windows and the alarm-rate statistics. Viewers
// read; operators acknowledge, shelve and plan maintenance; admins write rules.
// docs/alarms.md describes the state model, docs/api-decisions.md the choices made here.

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/alarm_logic.hpp"
#include "core/time.hpp"
#include "gateway/actor_bridge.hpp"
#include "gateway/api.hpp"
#include "gateway/json_body.hpp"
#include "gateway/json_mapping.hpp"
#include "messages/interfaces.hpp"

namespace wtc::gateway {
namespace {

alarm_api alarms(api_context& ctx) {
  return lookup<alarm_api>(ctx.sys, names::alarms);
}

constexpr std::size_t max_note = 1000;
constexpr std::size_t max_message = 256;  // alarm_events.message is VARCHAR(256)
constexpr std::int64_t max_history = 10'000;
constexpr std::int64_t max_operators = 100;

const std::vector<std::string_view> rule_fields = {
    "name",    "rtu_station", "slot",     "condition", "threshold",  "severity",  "delay_ms",
    "message", "enabled",     "deadband", "id",        "created_at", "updated_at"};
const std::vector<std::string_view> rule_shown_only = {"id", "created_at", "updated_at"};

std::string severity_query(const request& req) {
  auto value = query_string(req, "severity", 16).value_or("");
  return value.empty() ? value : one_of(value, {"LOW", "MEDIUM", "HIGH", "CRITICAL"}, "'severity'");
}

std::string station_query(const request& req) {
  auto value = query_string(req, "rtu_station", 32).value_or("");
  return value.empty() ? value : checked_station(value, "'rtu_station'");
}

/// The fields of `body` written over `rule`; each checked on its own here, together (and the
/// rule as the evaluator takes it) by the alarm manager.
alarm_rule_record merged(alarm_rule_record rule, const json_body& body) {
  const auto& raw = body.raw();
  const auto given_null = [&raw](const char* field) {
    auto it = raw.find(field);
    return it != raw.end() && it->is_null();
  };
  for (auto field :
       {"name", "rtu_station", "slot", "condition", "threshold", "severity", "delay_ms", "enabled"})
    if (given_null(field))
      throw bad_input(std::string("field '") + field + "' must not be null");
  if (body.has("name")) {
    rule.name = *body.optional_string("name", 64);
    if (rule.name.empty())
      throw bad_input("field 'name' must not be empty");
  }
  if (body.has("rtu_station"))
    rule.rtu_station =
        checked_station(*body.optional_string("rtu_station", 32), "field 'rtu_station'");
  if (body.has("slot"))
    rule.slot = static_cast<std::int32_t>(*body.optional_integer("slot", 0, core::max_alarm_slot));
  if (body.has("condition"))
    rule.condition = one_of(*body.optional_string("condition", 2), {">", "<", ">=", "<=", "=="},
                            "field 'condition'");
  if (body.has("threshold")) {
    rule.threshold = *body.optional_number("threshold");
    if (!std::isfinite(rule.threshold))
      throw bad_input("field 'threshold' must be a finite number");
  }
  if (body.has("severity"))
    rule.severity = one_of(*body.optional_string("severity", 16),
                           {"LOW", "MEDIUM", "HIGH", "CRITICAL"}, "field 'severity'");
  if (body.has("delay_ms"))
    rule.delay_ms = *body.optional_integer("delay_ms", 0, core::max_alarm_delay_ms);
  if (given_null("message"))
    rule.message.clear();
  else if (body.has("message"))
    rule.message = *body.optional_string("message", max_message);
  if (body.has("enabled"))
    rule.enabled = *body.optional_bool("enabled");
  if (given_null("deadband")) {
    rule.has_deadband = false;
  } else if (body.has("deadband")) {
    rule.has_deadband = true;
    rule.deadband = *body.optional_number("deadband");
    if (!std::isfinite(rule.deadband) || rule.deadband < 0)
      throw bad_input("field 'deadband' must be a finite number, 0 or more, or null");
  }
  return rule;
}

/// A time field of the body: an ISO 8601 string, as UTC milliseconds.
std::int64_t parse_time_field(const json_body& body, const std::string& field) {
  auto ms = core::parse_iso8601(body.required_string(field, 40));
  if (!ms)
    throw bad_input("field '" + field + "' must be an ISO 8601 time such as 2026-01-17T12:00:00Z");
  return *ms;
}

nlohmann::json counts_json(const std::vector<std::pair<std::string, std::int64_t>>& counts) {
  auto out = nlohmann::json::object();
  for (const auto& [name, count] : counts)
    out[name] = count;
  return out;
}

nlohmann::json statistics_json(const alarm_statistics& s, int operators) {
  constexpr std::int64_t day_ms = 86'400'000;
  const auto rate =
      core::rate_per_10_min(static_cast<std::size_t>(s.annunciated_last_24_h), day_ms, operators);
  return {{"rules", s.rules},
          {"active", s.listed},
          {"by_severity", counts_json(s.by_severity)},
          {"by_state", counts_json(s.by_state)},
          {"by_rtu", counts_json(s.by_rtu)},
          {"isa_states",
           {{"unacknowledged", s.unacknowledged},
            {"acknowledged", s.acknowledged},
            {"returned_unacknowledged", s.returned_unacknowledged},
            {"shelved", s.shelved},
            {"out_of_service", s.out_of_service},
            {"suppressed_by_design", s.suppressed_by_design}}},
          {"rate",
           {{"last_10_min", s.annunciated_last_10_min},
            {"last_24_h", s.annunciated_last_24_h},
            {"operators", operators},
            {"per_10_min_per_operator", rate.per_10_min},
            {"benchmark_per_10_min", 1.0},
            {"rating", std::string(core::to_string(rate.rating))}}},
          {"flood",
           {{"active", s.flood},
            {"since", time_json(s.flood_since)},
            {"threshold_per_10_min", 10},
            {"floods_since_start", s.floods}}}};
}

nlohmann::json limit_json(bool has, double value) {
  return has ? nlohmann::json(value) : nlohmann::json();
}

nlohmann::json slot_config_json(const slot_config_record& c) {
  return {{"id", c.id},
          {"rtu_station", c.rtu_station},
          {"slot", c.slot},
          {"subslot", c.subslot},
          {"slot_type", c.slot_type},
          {"name", c.name.empty() ? nlohmann::json() : nlohmann::json(c.name)},
          {"unit", c.unit.empty() ? nlohmann::json() : nlohmann::json(c.unit)},
          {"measurement_type",
           c.measurement_type.empty() ? nlohmann::json() : nlohmann::json(c.measurement_type)},
          {"actuator_type",
           c.actuator_type.empty() ? nlohmann::json() : nlohmann::json(c.actuator_type)},
          {"scale_min", c.scale_min},
          {"scale_max", c.scale_max},
          {"alarm_low_low", limit_json(c.has_alarm_low_low, c.alarm_low_low)},
          {"alarm_low", limit_json(c.has_alarm_low, c.alarm_low)},
          {"warning_low", limit_json(c.has_warning_low, c.warning_low)},
          {"warning_high", limit_json(c.has_warning_high, c.warning_high)},
          {"alarm_high", limit_json(c.has_alarm_high, c.alarm_high)},
          {"alarm_high_high", limit_json(c.has_alarm_high_high, c.alarm_high_high)},
          {"deadband", c.deadband},
          {"enabled", c.enabled},
          {"created_at", time_json(c.created_at)}};
}

/// A slot config from a PUT body: the whole config (a limit left out is none).
slot_config_record slot_config_from(const json_body& body, const std::string& station,
                                    std::int32_t slot) {
  slot_config_record c;
  c.rtu_station = station;
  c.slot = slot;
  if (body.has("slot_type"))
    c.slot_type = one_of(*body.optional_string("slot_type", 2), {"AI", "AO", "DI", "DO"},
                         "field 'slot_type'");
  if (body.has("subslot"))
    c.subslot = static_cast<std::int32_t>(*body.optional_integer("subslot", 1, 0x7FFF));
  const auto text = [&](const char* field, std::size_t max, std::string& out) {
    if (body.has(field))
      out = *body.optional_string(field, max);
  };
  text("name", 64, c.name);
  text("unit", 16, c.unit);
  text("measurement_type", 32, c.measurement_type);
  text("actuator_type", 32, c.actuator_type);
  const auto number = [&](const char* field, double& out) {
    if (!body.has(field))
      return false;
    out = *body.optional_number(field);
    if (!std::isfinite(out))
      throw bad_input(std::string("field '") + field + "' must be a finite number");
    return true;
  };
  number("scale_min", c.scale_min);
  number("scale_max", c.scale_max);
  if (c.scale_max <= c.scale_min)
    throw bad_input("'scale_max' must be above 'scale_min'");
  c.has_alarm_low_low = number("alarm_low_low", c.alarm_low_low);
  c.has_alarm_low = number("alarm_low", c.alarm_low);
  c.has_warning_low = number("warning_low", c.warning_low);
  c.has_warning_high = number("warning_high", c.warning_high);
  c.has_alarm_high = number("alarm_high", c.alarm_high);
  c.has_alarm_high_high = number("alarm_high_high", c.alarm_high_high);
  if (number("deadband", c.deadband) && c.deadband < 0)
    throw bad_input("field 'deadband' must be 0 or more");
  if (body.has("enabled"))
    c.enabled = *body.optional_bool("enabled");
  return c;
}

}  // namespace

void add_alarm_routes(router& routes, api_context& ctx) {
  const auto timeout = ctx.settings.actor_timeout;

  // --- the contract's endpoints ---

  routes.add("GET", "/api/v1/alarms", access::viewer, [&ctx, timeout](const exchange_ptr& ex) {
    allow_query(ex->req, {"severity", "rtu_station", "state"});
    auto state = query_string(ex->req, "state", 16).value_or("");
    if (!state.empty())
      state = one_of(state, {"ACTIVE", "ACKNOWLEDGED", "CLEARED"}, "'state'");
    ask(ex, alarms(ctx), timeout, reply_list<alarm_event_record>(ex), caf::get_atom::value,
        alarms_atom::value, severity_query(ex->req), station_query(ex->req), state);
  });

  routes.add(
      "GET", "/api/v1/alarms/history", access::viewer, [&ctx, timeout](const exchange_ptr& ex) {
        allow_query(ex->req, {"start", "end", "severity", "rtu_station", "limit"});
        alarm_history_filter filter;
        filter.start = query_time(ex->req, "start").value_or(0);
        filter.end = query_time(ex->req, "end").value_or(0);
        if (filter.start != 0 && filter.end != 0 && filter.end <= filter.start)
          throw bad_input("'end' must be after 'start'");
        filter.severity = severity_query(ex->req);
        filter.rtu_station = station_query(ex->req);
        filter.limit = query_integer(ex->req, "limit", 100, 1, max_history);
        ask(ex, lookup<storage_api>(ctx.sys, names::storage), timeout,
            reply_list<alarm_event_record>(ex), caf::get_atom::value, history_atom::value, filter);
      });

  routes.add("POST", "/api/v1/alarms/{alarm_id}/acknowledge", access::operator_,
             [&ctx, timeout](const exchange_ptr& ex) {
               std::string note;
               if (!ex->req.body.empty()) {
                 json_body body(ex->req, {"note"});
                 if (body.has("note"))
                   note = *body.optional_string("note", max_note);
               }
               ask(ex, alarms(ctx), timeout, reply_one<alarm_event_record>(ex), ack_atom::value,
                   path_id(ex->req, "alarm_id"), note, ex->req.origin);
             });

  routes.add("GET", "/api/v1/alarms/rules", access::viewer,
             [&ctx, timeout](const exchange_ptr& ex) {
               allow_query(ex->req, {});
               ask(ex, alarms(ctx), timeout, reply_list<alarm_rule_record>(ex),
                   caf::get_atom::value, alarm_rule_atom::value);
             });

  routes.add("POST", "/api/v1/alarms/rules", access::admin,
             [&ctx, timeout](const exchange_ptr& ex) {
               json_body body(ex->req, rule_fields);
               for (auto field : rule_shown_only)
                 if (body.has(field))
                   throw bad_input("field '" + std::string(field) + "' is set by the controller");
               for (auto field : {"name", "rtu_station", "slot", "condition", "threshold"})
                 if (!body.has(field))
                   throw bad_input(std::string("missing required field '") + field + "'");
               ask(ex, alarms(ctx), timeout, reply_one<alarm_rule_record>(ex), create_atom::value,
                   merged(alarm_rule_record{}, body), ex->req.origin);
             });

  routes.add("GET", "/api/v1/alarms/rules/{rule_id}", access::viewer,
             [&ctx, timeout](const exchange_ptr& ex) {
               ask(ex, alarms(ctx), timeout, reply_one<alarm_rule_record>(ex), caf::get_atom::value,
                   alarm_rule_atom::value, path_id(ex->req, "rule_id"));
             });

  // A PUT may give any of the fields: the others keep their values.
  routes.add("PUT", "/api/v1/alarms/rules/{rule_id}", access::admin,
             [&ctx, timeout](const exchange_ptr& ex) {
               const auto id = path_id(ex->req, "rule_id");
               auto body = std::make_shared<json_body>(ex->req, rule_fields);
               if (body->has("id") && body->raw().at("id") != id)
                 throw bad_input("field 'id' does not match the rule in the path");
               // Checked here, where a bad_input becomes the 400: the merge below runs in the
               // answer's handler, which can no longer throw one.
               merged(alarm_rule_record{}, *body);
               ask(
                   ex, alarms(ctx), timeout,
                   [&ctx, timeout, ex, body](alarm_rule_record& current) {
                     auto rule = merged(current, *body);
                     ask(ex, alarms(ctx), timeout, reply_one<alarm_rule_record>(ex),
                         caf::update_atom::value, rule, ex->req.origin);
                   },
                   caf::get_atom::value, alarm_rule_atom::value, id);
             });

  routes.add("DELETE", "/api/v1/alarms/rules/{rule_id}", access::admin,
             [&ctx, timeout](const exchange_ptr& ex) {
               const auto id = path_id(ex->req, "rule_id");
               ask(
                   ex, alarms(ctx), timeout,
                   [ex, id](caf::ok_atom) {
                     ex->reply(json_reply(
                         200, {{"status", "ok"},
                               {"detail", "alarm rule " + std::to_string(id) + " deleted"}}));
                   },
                   caf::delete_atom::value, alarm_rule_atom::value, id, ex->req.origin);
             });

  // --- shelving ---

  routes.add("GET", "/api/v1/alarms/shelved", access::viewer,
             [&ctx, timeout](const exchange_ptr& ex) {
               allow_query(ex->req, {});
               ask(ex, alarms(ctx), timeout, reply_list<alarm_shelf_record>(ex),
                   caf::get_atom::value, shelf_atom::value);
             });

  routes.add(
      "POST", "/api/v1/alarms/shelved", access::operator_, [&ctx, timeout](const exchange_ptr& ex) {
        json_body body(
            ex->req, {"rtu_station", "slot", "alarm_rule_id", "shelf_duration_minutes", "reason"});
        for (auto field : {"rtu_station", "slot", "shelf_duration_minutes", "reason"})
          if (!body.has(field))
            throw bad_input(std::string("missing required field '") + field + "'");
        alarm_shelf_record shelf;
        shelf.rtu_station =
            checked_station(body.required_string("rtu_station", 32), "field 'rtu_station'");
        shelf.slot =
            static_cast<std::int32_t>(*body.optional_integer("slot", -1, core::max_alarm_slot));
        if (body.has("alarm_rule_id"))
          shelf.alarm_rule_id =
              *body.optional_integer("alarm_rule_id", std::numeric_limits<std::int64_t>::min(),
                                     std::numeric_limits<std::int64_t>::max());
        shelf.shelf_duration_minutes = static_cast<std::int32_t>(
            *body.optional_integer("shelf_duration_minutes", 1, 7 * 24 * 60));
        shelf.reason = body.required_string("reason", max_note);
        if (shelf.reason.empty())
          throw bad_input("field 'reason' must say why the alarm is shelved");
        ask(ex, alarms(ctx), timeout, reply_one<alarm_shelf_record>(ex), shelf_atom::value, shelf,
            ex->req.origin);
      });

  routes.add("DELETE", "/api/v1/alarms/shelved/{shelf_id}", access::operator_,
             [&ctx, timeout](const exchange_ptr& ex) {
               ask(ex, alarms(ctx), timeout, reply_one<alarm_shelf_record>(ex),
                   unshelve_atom::value, path_id(ex->req, "shelf_id"), ex->req.origin);
             });

  // --- maintenance windows ---

  routes.add(
      "GET", "/api/v1/alarms/maintenance", access::viewer, [&ctx, timeout](const exchange_ptr& ex) {
        allow_query(ex->req, {"status"});
        auto status = query_string(ex->req, "status", 16).value_or("");
        if (!status.empty())
          status = one_of(status, {"SCHEDULED", "ACTIVE", "COMPLETED", "CANCELLED"}, "'status'");
        const bool open_only = status == "SCHEDULED" || status == "ACTIVE";
        ask(
            ex, lookup<storage_api>(ctx.sys, names::storage), timeout,
            [ex, status](std::vector<maintenance_record>& windows) {
              auto out = nlohmann::json::array();
              for (const auto& w : windows)
                if (status.empty() || w.status == status)
                  out.push_back(to_json(w));
              ex->reply(json_reply(200, std::move(out)));
            },
            caf::get_atom::value, maintenance_atom::value, open_only);
      });

  routes.add(
      "POST", "/api/v1/alarms/maintenance", access::operator_,
      [&ctx, timeout](const exchange_ptr& ex) {
        json_body body(ex->req,
                       {"rtu_station", "slot", "start_time", "end_time", "reason", "work_order"});
        for (auto field : {"rtu_station", "start_time", "end_time", "reason"})
          if (!body.has(field))
            throw bad_input(std::string("missing required field '") + field + "'");
        maintenance_record window;
        window.rtu_station =
            checked_station(body.required_string("rtu_station", 32), "field 'rtu_station'");
        if (body.has("slot"))
          window.slot =
              static_cast<std::int32_t>(*body.optional_integer("slot", -1, core::max_alarm_slot));
        window.start_time = parse_time_field(body, "start_time");
        window.end_time = parse_time_field(body, "end_time");
        if (window.end_time <= window.start_time)
          throw bad_input("'end_time' must be after 'start_time'");
        window.reason = body.required_string("reason", max_note);
        if (window.reason.empty())
          throw bad_input("field 'reason' must describe the work");
        if (body.has("work_order"))
          window.work_order = *body.optional_string("work_order", 64);
        ask(ex, alarms(ctx), timeout, reply_one<maintenance_record>(ex), maintenance_atom::value,
            window, ex->req.origin);
      });

  routes.add("POST", "/api/v1/alarms/maintenance/{window_id}/cancel", access::operator_,
             [&ctx, timeout](const exchange_ptr& ex) {
               ask(ex, alarms(ctx), timeout, reply_one<maintenance_record>(ex), cancel_atom::value,
                   path_id(ex->req, "window_id"), ex->req.origin);
             });

  // --- statistics ---

  routes.add("GET", "/api/v1/alarms/statistics", access::viewer,
             [&ctx, timeout](const exchange_ptr& ex) {
               allow_query(ex->req, {"operators"});
               const auto operators =
                   static_cast<int>(query_integer(ex->req, "operators", 1, 1, max_operators));
               ask(
                   ex, alarms(ctx), timeout,
                   [ex, operators](alarm_statistics& s) {
                     ex->reply(json_reply(200, statistics_json(s, operators)));
                   },
                   caf::get_atom::value, stats_atom::value, alarm_atom::value);
             });

  // --- slot configs: a slot's limits, which imply its alarms (alarms.md) ---

  routes.add(
      "GET", "/api/v1/rtus/{station_name}/slots/{slot}/config", access::viewer,
      [&ctx, timeout](const exchange_ptr& ex) {
        const auto station = station_param(ex->req);
        const auto slot = path_id(ex->req, "slot");
        ask(
            ex, lookup<storage_api>(ctx.sys, names::storage), timeout,
            [ex, station, slot](std::vector<slot_config_record>& configs) {
              for (const auto& c : configs)
                if (c.rtu_station == station && c.slot == slot) {
                  ex->reply(json_reply(200, slot_config_json(c)));
                  return;
                }
              ex->reply(error_reply(errc::not_found, "no config for slot " + std::to_string(slot) +
                                                         " of RTU '" + station + "'"));
            },
            caf::get_atom::value, slot_config_atom::value);
      });

  routes.add(
      "PUT", "/api/v1/rtus/{station_name}/slots/{slot}/config", access::admin,
      [&ctx, timeout](const exchange_ptr& ex) {
        json_body body(ex->req, {"slot_type",
                                 "subslot",
                                 "name",
                                 "unit",
                                 "measurement_type",
                                 "actuator_type",
                                 "scale_min",
                                 "scale_max",
                                 "alarm_low_low",
                                 "alarm_low",
                                 "warning_low",
                                 "warning_high",
                                 "alarm_high",
                                 "alarm_high_high",
                                 "deadband",
                                 "enabled",
                                 "id",
                                 "rtu_station",
                                 "slot",
                                 "created_at"});
        const auto slot = path_id(ex->req, "slot");
        if (slot > core::max_alarm_slot)
          throw bad_input("slot must be at most " + std::to_string(core::max_alarm_slot));
        auto config =
            slot_config_from(body, station_param(ex->req), static_cast<std::int32_t>(slot));
        // What GET shows may come back as it was; the path says which slot this is.
        if ((body.has("rtu_station") && body.raw().at("rtu_station") != config.rtu_station) ||
            (body.has("slot") && body.raw().at("slot") != config.slot))
          throw bad_input("'rtu_station' and 'slot' must match the path");
        ask(
            ex, alarms(ctx), timeout,
            [ex](slot_config_record& stored) {
              ex->reply(json_reply(200, slot_config_json(stored)));
            },
            caf::put_atom::value, config, ex->req.origin);
      });
}

}  // namespace wtc::gateway
