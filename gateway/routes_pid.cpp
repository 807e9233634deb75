// PID loops under their RTU: the contract's list, create, get, update and delete, and the
// setpoint, mode and tuning changes. Operators change setpoint, mode and the manual output;
// admins create, delete, reconfigure and tune. docs/pid.md describes the loops.

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "gateway/actor_bridge.hpp"
#include "gateway/api.hpp"
#include "gateway/json_body.hpp"
#include "gateway/json_mapping.hpp"
#include "messages/interfaces.hpp"

namespace wtc::gateway {
namespace {

pid_api loops(api_context& ctx) {
  return lookup<pid_api>(ctx.sys, names::pid);
}

constexpr std::int64_t max_slot = 64;
constexpr std::int64_t min_scan_ms = 10;
constexpr std::int64_t max_scan_ms = 3'600'000;

// What the API shows of a loop but never takes: a client may PUT back what it got. Where a loop
// runs ("node") follows its RTUs.
const std::vector<std::string_view> shown_only = {"id",         "pv",         "status", "last_scan",
                                                  "created_at", "updated_at", "node"};

const std::vector<std::string_view> loop_fields = {"name",
                                                   "enabled",
                                                   "input_rtu",
                                                   "input_slot",
                                                   "output_rtu",
                                                   "output_slot",
                                                   "kp",
                                                   "ki",
                                                   "kd",
                                                   "setpoint",
                                                   "output_min",
                                                   "output_max",
                                                   "deadband",
                                                   "integral_limit",
                                                   "derivative_filter",
                                                   "mode",
                                                   "scan_period_ms",
                                                   "output",
                                                   "on_bad_measurement",
                                                   "safe_output",
                                                   "cascade_from",
                                                   "id",
                                                   "pv",
                                                   "status",
                                                   "last_scan",
                                                   "created_at",
                                                   "updated_at",
                                                   "node"};

const std::vector<std::string_view> tuning_fields = {
    "kp", "ki", "kd", "deadband", "integral_limit", "derivative_filter"};

/// Reads the fields of `body` that a loop takes into a patch, checking each on its own; the
/// loop's manager checks them together (limits, signs, cascades).
pid_loop_patch patch_from(const json_body& body, const std::vector<std::string_view>& fields) {
  pid_loop_patch patch;
  auto& v = patch.values;
  const auto wanted = [&](std::string_view field) {
    return std::find(fields.begin(), fields.end(), field) != fields.end() && body.has(field);
  };
  const auto number = [&](std::string_view field, std::uint32_t bit, double& out) {
    if (!wanted(field))
      return;
    auto value = body.optional_number(field);
    if (!value || !std::isfinite(*value))
      throw bad_input("field '" + std::string(field) + "' must be a finite number");
    out = *value;
    patch.fields |= bit;
  };
  const auto slot = [&](std::string_view field, std::uint32_t bit, std::int32_t& out) {
    if (!wanted(field))
      return;
    out = static_cast<std::int32_t>(*body.optional_integer(field, 1, max_slot));
    patch.fields |= bit;
  };
  const auto choice = [&](std::string_view field, std::uint32_t bit, std::string& out,
                          std::initializer_list<std::string_view> allowed, const char* names) {
    if (!wanted(field))
      return;
    out = *body.optional_string(field, 16);
    if (std::find(allowed.begin(), allowed.end(), out) == allowed.end())
      throw bad_input("field '" + std::string(field) + "' must be " + names);
    patch.fields |= bit;
  };
  // null clears the optional ids: no cascade source, the input RTU's cycle.
  const auto optional_id = [&](std::string_view field, std::uint32_t bit, std::int64_t& out,
                               std::int64_t min, std::int64_t max) {
    if (std::find(fields.begin(), fields.end(), field) == fields.end())
      return;
    const auto& raw = body.raw();
    auto it = raw.find(std::string(field));
    if (it == raw.end())
      return;
    out = it->is_null() ? 0 : *body.optional_integer(field, min, max);
    patch.fields |= bit;
  };

  if (wanted("name")) {
    v.name = *body.optional_string("name", 64);
    if (v.name.empty())
      throw bad_input("field 'name' must not be empty");
    patch.fields |= pid_field::name;
  }
  if (wanted("enabled")) {
    v.enabled = *body.optional_bool("enabled");
    patch.fields |= pid_field::enabled;
  }
  if (wanted("input_rtu")) {
    v.input_rtu = checked_station(*body.optional_string("input_rtu", 32), "field 'input_rtu'");
    patch.fields |= pid_field::input_rtu;
  }
  if (wanted("output_rtu")) {
    v.output_rtu = checked_station(*body.optional_string("output_rtu", 32), "field 'output_rtu'");
    patch.fields |= pid_field::output_rtu;
  }
  slot("input_slot", pid_field::input_slot, v.input_slot);
  slot("output_slot", pid_field::output_slot, v.output_slot);
  number("kp", pid_field::kp, v.kp);
  number("ki", pid_field::ki, v.ki);
  number("kd", pid_field::kd, v.kd);
  number("setpoint", pid_field::setpoint, v.setpoint);
  number("output_min", pid_field::output_min, v.output_min);
  number("output_max", pid_field::output_max, v.output_max);
  number("deadband", pid_field::deadband, v.deadband);
  number("integral_limit", pid_field::integral_limit, v.integral_limit);
  number("derivative_filter", pid_field::derivative_filter, v.derivative_filter);
  number("output", pid_field::output, v.output);
  number("safe_output", pid_field::safe_output, v.safe_output);
  choice("mode", pid_field::mode, v.mode, {"MANUAL", "AUTO", "CASCADE"}, "MANUAL, AUTO or CASCADE");
  choice("on_bad_measurement", pid_field::on_bad_measurement, v.on_bad_measurement,
         {"HOLD", "SAFE_OUTPUT"}, "HOLD or SAFE_OUTPUT");
  optional_id("scan_period_ms", pid_field::scan_period_ms, v.scan_period_ms, min_scan_ms,
              max_scan_ms);
  optional_id("cascade_from", pid_field::cascade_from, v.cascade_from, 1,
              std::numeric_limits<std::int64_t>::max());
  return patch;
}

std::int64_t loop_id(const request& req) {
  return path_id(req, "loop_id");
}

}  // namespace

void add_pid_routes(router& routes, api_context& ctx) {
  const auto timeout = ctx.settings.actor_timeout;
  auto reply_loop = [](const exchange_ptr& ex) {
    return [ex](pid_loop_view& view) { ex->reply(json_reply(200, to_json(view))); };
  };
  // One change of a running loop: the fields `fields` of the body, audited as `action`;
  // `required` (if not empty) must be among them, else `nothing` is the answer.
  auto change = [&ctx, timeout, reply_loop](std::vector<std::string_view> fields,
                                            std::string required, std::string action,
                                            std::string nothing) {
    return [&ctx, timeout, reply_loop, fields, required, action, nothing](const exchange_ptr& ex) {
      json_body body(ex->req, fields);
      auto patch = patch_from(body, fields);
      if (patch.fields == 0 || (!required.empty() && !body.has(required)))
        throw bad_input(nothing);
      if (body.has("id") && body.raw()["id"] != loop_id(ex->req))
        throw bad_input("field 'id' does not match the loop in the path");
      ask(ex, loops(ctx), timeout, reply_loop(ex), caf::update_atom::value, station_param(ex->req),
          loop_id(ex->req), patch, action, ex->req.origin);
    };
  };

  routes.add("GET", "/api/v1/rtus/{station_name}/pid", access::viewer,
             [&ctx, timeout](const exchange_ptr& ex) {
               allow_query(ex->req, {});
               ask(
                   ex, loops(ctx), timeout,
                   [ex](std::vector<pid_loop_view>& views) {
                     auto data = nlohmann::json::array();
                     for (const auto& view : views)
                       data.push_back(to_json(view));
                     ex->reply(json_reply(200, {{"data", std::move(data)}}));
                   },
                   caf::get_atom::value, pid_atom::value, station_param(ex->req));
             });

  routes.add("POST", "/api/v1/rtus/{station_name}/pid", access::admin,
             [&ctx, timeout, reply_loop](const exchange_ptr& ex) {
               const auto station = station_param(ex->req);
               json_body body(ex->req, loop_fields);
               for (auto field : shown_only)
                 if (body.has(field))
                   throw bad_input("field '" + std::string(field) + "' is set by the controller");
               for (auto field : {"name", "input_slot", "output_slot"})
                 if (!body.has(field))
                   throw bad_input(std::string("missing required field '") + field + "'");
               pid_loop_record loop;
               loop.input_rtu = station;
               loop.output_rtu = station;
               loop = patched(loop, patch_from(body, loop_fields));
               if (loop.input_rtu != station && loop.output_rtu != station)
                 throw bad_input("a loop created under RTU '" + station +
                                 "' must read from it or write to it (input_rtu or output_rtu)");
               ask(ex, loops(ctx), timeout, reply_loop(ex), create_atom::value, loop,
                   ex->req.origin);
             });

  routes.add("GET", "/api/v1/rtus/{station_name}/pid/{loop_id}", access::viewer,
             [&ctx, timeout, reply_loop](const exchange_ptr& ex) {
               ask(ex, loops(ctx), timeout, reply_loop(ex), caf::get_atom::value, pid_atom::value,
                   station_param(ex->req), loop_id(ex->req));
             });

  routes.add("PUT", "/api/v1/rtus/{station_name}/pid/{loop_id}", access::admin,
             change(loop_fields, "", "pid_update",
                    "nothing to update: give any field of the loop, such as setpoint or kp"));

  routes.add("DELETE", "/api/v1/rtus/{station_name}/pid/{loop_id}", access::admin,
             [&ctx, timeout](const exchange_ptr& ex) {
               const auto id = loop_id(ex->req);
               ask(
                   ex, loops(ctx), timeout,
                   [ex, id](caf::ok_atom) {
                     ex->reply(json_reply(
                         200, {{"status", "ok"},
                               {"detail", "PID loop " + std::to_string(id) + " deleted"}}));
                   },
                   caf::delete_atom::value, station_param(ex->req), id, ex->req.origin);
             });

  routes.add("PUT", "/api/v1/rtus/{station_name}/pid/{loop_id}/setpoint", access::operator_,
             change({"setpoint"}, "setpoint", "pid_setpoint", "missing required field 'setpoint'"));

  routes.add("PUT", "/api/v1/rtus/{station_name}/pid/{loop_id}/mode", access::operator_,
             change({"mode", "output"}, "mode", "pid_mode",
                    "missing required field 'mode' (MANUAL, AUTO or CASCADE)"));

  routes.add("PUT", "/api/v1/rtus/{station_name}/pid/{loop_id}/tuning", access::admin,
             change(tuning_fields, "", "pid_tuning",
                    "nothing to tune: give kp, ki, kd, deadband, integral_limit or "
                    "derivative_filter"));
}

}  // namespace wtc::gateway
