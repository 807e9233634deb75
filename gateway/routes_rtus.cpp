// RTUs, their live sensors and actuators, and their field diagnostics: the contract's RTU,
// sensor and actuator endpoints, answered by the RTU fleet and each RTU's own actor.

#include <cctype>
#include <cmath>

#include "gateway/actor_bridge.hpp"
#include "gateway/api.hpp"
#include "gateway/json_body.hpp"
#include "gateway/json_mapping.hpp"
#include "messages/interfaces.hpp"

namespace wtc::gateway {
namespace {

rtus_api fleet(api_context& ctx) {
  return lookup<rtus_api>(ctx.sys, names::rtus);
}

/// A dotted-quad IPv4 address, as the contract's VARCHAR(15) column holds.
std::string checked_ipv4(const std::string& text) {
  int parts = 0;
  std::size_t i = 0;
  while (i <= text.size()) {
    std::size_t j = i;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j])))
      ++j;
    const auto digits = j - i;
    if (digits == 0 || digits > 3 || (digits > 1 && text[i] == '0') ||
        std::stoi(text.substr(i, digits)) > 255)
      throw bad_input("field 'ip_address' must be an IPv4 address such as 192.168.1.10");
    ++parts;
    if (j == text.size())
      break;
    if (text[j] != '.' || parts == 4)
      throw bad_input("field 'ip_address' must be an IPv4 address such as 192.168.1.10");
    i = j + 1;
  }
  if (parts != 4)
    throw bad_input("field 'ip_address' must be an IPv4 address such as 192.168.1.10");
  return text;
}

/// "0x2A" or "0x002A" → "0x002A": PROFINET ids are 16-bit, shown as four hex digits.
std::string checked_hex_id(const std::string& text, const std::string& field) {
  const auto fail = [&] {
    return bad_input("field '" + field + "' must be a 16-bit hex id such as 0x002A");
  };
  if (text.size() < 3 || text.size() > 6 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
    throw fail();
  std::string digits;
  for (std::size_t i = 2; i < text.size(); ++i) {
    if (!std::isxdigit(static_cast<unsigned char>(text[i])))
      throw fail();
    digits += static_cast<char>(std::toupper(static_cast<unsigned char>(text[i])));
  }
  return "0x" + std::string(4 - digits.size(), '0') + digits;
}

std::string checked_profile(const std::string& name) {
  if (name.empty())
    throw bad_input("field 'profile' must not be empty");
  for (char c : name)
    if (!std::islower(static_cast<unsigned char>(c)) &&
        !std::isdigit(static_cast<unsigned char>(c)) && c != '-' && c != '_')
      throw bad_input("field 'profile' may hold only lower-case letters, digits, '-' and '_'");
  return name;
}

constexpr std::int64_t max_slots = 64;
constexpr std::int64_t min_cycle_ms = 10;
constexpr std::int64_t max_cycle_ms = 3'600'000;

const std::initializer_list<std::string_view> rtu_fields = {
    "station_name", "ip_address", "vendor_id", "device_id",     "slot_count",
    "port",         "unit_id",    "profile",   "cycle_time_ms", "node"};

rtu_record rtu_from(const json_body& body) {
  rtu_record rtu;
  rtu.station_name =
      checked_station(body.required_string("station_name", 32), "field 'station_name'");
  rtu.ip_address = checked_ipv4(body.required_string("ip_address", 15));
  rtu.vendor_id =
      checked_hex_id(body.optional_string("vendor_id", 6).value_or("0x0000"), "vendor_id");
  rtu.device_id =
      checked_hex_id(body.optional_string("device_id", 6).value_or("0x0000"), "device_id");
  rtu.slot_count =
      static_cast<std::int32_t>(body.optional_integer("slot_count", 0, max_slots).value_or(0));
  rtu.port = static_cast<std::int32_t>(body.optional_integer("port", 1, 65535).value_or(502));
  rtu.unit_id = static_cast<std::int32_t>(body.optional_integer("unit_id", 0, 255).value_or(1));
  if (auto profile = body.optional_string("profile", 64))
    rtu.profile = checked_profile(*profile);
  rtu.cycle_time_ms =
      body.optional_integer("cycle_time_ms", min_cycle_ms, max_cycle_ms).value_or(1000);
  if (auto node = body.optional_string("node", 32))
    rtu.node = checked_station(*node, "field 'node'");
  return rtu;
}

rtu_update update_from(const json_body& body) {
  rtu_update u;
  if (auto ip = body.optional_string("ip_address", 15)) {
    u.set_ip_address = true;
    u.ip_address = checked_ipv4(*ip);
  }
  if (auto port = body.optional_integer("port", 1, 65535)) {
    u.set_port = true;
    u.port = static_cast<std::int32_t>(*port);
  }
  if (auto unit = body.optional_integer("unit_id", 0, 255)) {
    u.set_unit_id = true;
    u.unit_id = static_cast<std::int32_t>(*unit);
  }
  if (auto profile = body.optional_string("profile", 64)) {
    u.set_profile = true;
    u.profile = checked_profile(*profile);
  }
  if (auto vendor = body.optional_string("vendor_id", 6)) {
    u.set_vendor_id = true;
    u.vendor_id = checked_hex_id(*vendor, "vendor_id");
  }
  if (auto device = body.optional_string("device_id", 6)) {
    u.set_device_id = true;
    u.device_id = checked_hex_id(*device, "device_id");
  }
  if (auto slots = body.optional_integer("slot_count", 0, max_slots)) {
    u.set_slot_count = true;
    u.slot_count = static_cast<std::int32_t>(*slots);
  }
  if (auto cycle = body.optional_integer("cycle_time_ms", min_cycle_ms, max_cycle_ms)) {
    u.set_cycle_time_ms = true;
    u.cycle_time_ms = *cycle;
  }
  if (auto node = body.optional_string("node", 32)) {
    u.set_node = true;
    u.node = checked_station(*node, "field 'node'");
  }
  if (body.has("station_name"))
    throw bad_input("field 'station_name' cannot be changed: delete and create the RTU");
  if (!(u.set_ip_address || u.set_port || u.set_unit_id || u.set_profile || u.set_vendor_id ||
        u.set_device_id || u.set_slot_count || u.set_cycle_time_ms || u.set_node))
    throw bad_input(
        "nothing to update: give ip_address, port, unit_id, profile, vendor_id, device_id, "
        "slot_count, cycle_time_ms or node");
  return u;
}

actuator_command command_from(const json_body& body, std::int32_t slot) {
  actuator_command cmd;
  cmd.slot = slot;
  const auto text = body.required_string("command", 8);
  if (!parse_command_kind(text, cmd.command))
    throw bad_input("field 'command' must be ON, OFF or PWM");
  auto duty = body.optional_number("pwm_duty");
  if (cmd.command == command_kind::pwm) {
    if (!duty)
      throw bad_input("command PWM needs field 'pwm_duty' (0 to 100)");
    if (!(*duty >= 0.0 && *duty <= 100.0))
      throw bad_input("field 'pwm_duty' must be between 0 and 100");
    cmd.pwm_duty = *duty;
  } else if (duty) {
    throw bad_input("field 'pwm_duty' belongs to command PWM only");
  }
  return cmd;
}

sensor_settings sensor_settings_from(const json_body& body) {
  sensor_settings s;
  if (auto type = body.optional_string("sensor_type", 32)) {
    if (type->empty())
      throw bad_input("field 'sensor_type' must not be empty");
    s.set_sensor_type = true;
    s.sensor_type = *type;
  }
  if (auto unit = body.optional_string("unit", 16)) {
    s.set_unit = true;
    s.unit = *unit;
  }
  const auto number = [&](const char* field, bool& set, double& value) {
    if (auto v = body.optional_number(field)) {
      if (!std::isfinite(*v))
        throw bad_input(std::string("field '") + field + "' must be a finite number");
      set = true;
      value = *v;
    }
  };
  number("scale_min", s.set_scale_min, s.scale_min);
  number("scale_max", s.set_scale_max, s.scale_max);
  number("eng_min", s.set_eng_min, s.eng_min);
  number("eng_max", s.set_eng_max, s.eng_max);
  number("deadband", s.set_deadband, s.deadband);
  if (s.set_deadband && s.deadband < 0)
    throw bad_input("field 'deadband' must not be negative");
  if (!(s.set_sensor_type || s.set_unit || s.set_scale_min || s.set_scale_max || s.set_eng_min ||
        s.set_eng_max || s.set_deadband))
    throw bad_input(
        "nothing to update: give sensor_type, unit, scale_min, scale_max, eng_min, eng_max or "
        "deadband");
  return s;
}

template <class T>
nlohmann::json json_list(const std::vector<T>& items) {
  auto list = nlohmann::json::array();
  for (const auto& item : items)
    list.push_back(to_json(item));
  return list;
}

}  // namespace

void add_rtu_routes(router& routes, api_context& ctx) {
  const auto timeout = ctx.settings.actor_timeout;
  auto reply_rtu = [](const exchange_ptr& ex) {
    return [ex](rtu_record& rtu) { ex->reply(json_reply(200, to_json(rtu))); };
  };

  routes.add("GET", "/api/v1/rtus", access::viewer, [&ctx, timeout](const exchange_ptr& ex) {
    allow_query(ex->req, {});
    ask(
        ex, fleet(ctx), timeout,
        [ex](std::vector<rtu_record>& rtus) { ex->reply(json_reply(200, json_list(rtus))); },
        caf::get_atom::value, rtus_atom::value);
  });

  routes.add("POST", "/api/v1/rtus", access::admin,
             [&ctx, timeout, reply_rtu](const exchange_ptr& ex) {
               json_body body(ex->req, rtu_fields);
               ask(ex, fleet(ctx), timeout, reply_rtu(ex), create_atom::value, rtu_from(body),
                   ex->req.origin);
             });

  routes.add("GET", "/api/v1/rtus/{station_name}", access::viewer,
             [&ctx, timeout, reply_rtu](const exchange_ptr& ex) {
               ask(ex, fleet(ctx), timeout, reply_rtu(ex), caf::get_atom::value, rtu_atom::value,
                   station_param(ex->req));
             });

  routes.add("PUT", "/api/v1/rtus/{station_name}", access::admin,
             [&ctx, timeout, reply_rtu](const exchange_ptr& ex) {
               const auto station = station_param(ex->req);
               json_body body(ex->req, rtu_fields);
               ask(ex, fleet(ctx), timeout, reply_rtu(ex), caf::update_atom::value, station,
                   update_from(body), ex->req.origin);
             });

  routes.add("DELETE", "/api/v1/rtus/{station_name}", access::admin,
             [&ctx, timeout](const exchange_ptr& ex) {
               const auto station = station_param(ex->req);
               ask(
                   ex, fleet(ctx), timeout,
                   [ex, station](caf::ok_atom) {
                     ex->reply(json_reply(
                         200, {{"status", "ok"}, {"detail", "RTU '" + station + "' deleted"}}));
                   },
                   caf::delete_atom::value, station, ex->req.origin);
             });

  routes.add("POST", "/api/v1/rtus/{station_name}/connect", access::operator_,
             [&ctx, timeout, reply_rtu](const exchange_ptr& ex) {
               ask(ex, fleet(ctx), timeout, reply_rtu(ex), caf::connect_atom::value,
                   station_param(ex->req), ex->req.origin);
             });

  routes.add("POST", "/api/v1/rtus/{station_name}/disconnect", access::operator_,
             [&ctx, timeout, reply_rtu](const exchange_ptr& ex) {
               ask(ex, fleet(ctx), timeout, reply_rtu(ex), disconnect_atom::value,
                   station_param(ex->req), ex->req.origin);
             });

  routes.add("GET", "/api/v1/rtus/{station_name}/health", access::viewer,
             [&ctx, timeout](const exchange_ptr& ex) {
               ask(
                   ex, fleet(ctx), timeout,
                   [ex](rtu_health& health) { ex->reply(json_reply(200, to_json(health))); },
                   health_atom::value, station_param(ex->req));
             });

  routes.add("GET", "/api/v1/rtus/{station_name}/diagnostics", access::viewer,
             [&ctx, timeout](const exchange_ptr& ex) {
               allow_query(ex->req, {"skip", "limit"});
               const auto window = query_page(ex->req);
               ask(
                   ex, fleet(ctx), timeout,
                   [ex, window](paged<diagnostic_record>& found) {
                     ex->reply(json_reply(200, {{"diagnostics", json_list(found.items)},
                                                {"total", found.total},
                                                {"skip", window.skip},
                                                {"limit", window.limit}}));
                   },
                   caf::get_atom::value, diag_atom::value, station_param(ex->req), window);
             });

  routes.add("GET", "/api/v1/rtus/{station_name}/sensors", access::viewer,
             [&ctx, timeout](const exchange_ptr& ex) {
               ask(
                   ex, fleet(ctx), timeout,
                   [ex](std::vector<sensor_reading>& sensors) {
                     ex->reply(json_reply(200, json_list(sensors)));
                   },
                   caf::get_atom::value, sensors_atom::value, station_param(ex->req));
             });

  routes.add("GET", "/api/v1/sensors/{tag}", access::viewer,
             [&ctx, timeout](const exchange_ptr& ex) {
               const auto& tag = ex->req.params.at("tag");
               if (tag.empty() || tag.size() > 32)
                 throw bad_input("a tag is 1 to 32 characters");
               ask(
                   ex, fleet(ctx), timeout,
                   [ex](sensor_reading& sensor) { ex->reply(json_reply(200, to_json(sensor))); },
                   caf::get_atom::value, sensor_atom::value, tag);
             });

  routes.add("PUT", "/api/v1/sensors/{tag}", access::admin,
             [&ctx, timeout](const exchange_ptr& ex) {
               const auto& tag = ex->req.params.at("tag");
               if (tag.empty() || tag.size() > 32)
                 throw bad_input("a tag is 1 to 32 characters");
               json_body body(ex->req, {"sensor_type", "unit", "scale_min", "scale_max", "eng_min",
                                        "eng_max", "deadband"});
               ask(
                   ex, fleet(ctx), timeout,
                   [ex](sensor_reading& sensor) { ex->reply(json_reply(200, to_json(sensor))); },
                   caf::update_atom::value, sensor_atom::value, tag, sensor_settings_from(body),
                   ex->req.origin);
             });

  routes.add("GET", "/api/v1/rtus/{station_name}/actuators", access::viewer,
             [&ctx, timeout](const exchange_ptr& ex) {
               ask(
                   ex, fleet(ctx), timeout,
                   [ex](std::vector<actuator_state>& actuators) {
                     ex->reply(json_reply(200, json_list(actuators)));
                   },
                   caf::get_atom::value, actuators_atom::value, station_param(ex->req));
             });

  routes.add("POST", "/api/v1/rtus/{station_name}/actuators/{slot}", access::operator_,
             [&ctx, timeout](const exchange_ptr& ex) {
               const auto station = station_param(ex->req);
               const auto slot = path_id(ex->req, "slot");
               if (slot > max_slots)
                 throw bad_input("'slot' must be between 1 and " + std::to_string(max_slots));
               json_body body(ex->req, {"command", "pwm_duty"});
               ask(
                   ex, fleet(ctx), timeout,
                   [ex](actuator_state& state) { ex->reply(json_reply(200, to_json(state))); },
                   command_atom::value, station,
                   command_from(body, static_cast<std::int32_t>(slot)), ex->req.origin);
             });
}

}  // namespace wtc::gateway
