#include "field/profile.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

namespace wtc::field {
namespace {

using json = nlohmann::json;

constexpr std::int64_t max_address = 65535;

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw profile_error((path.empty() ? std::string("top level") : path) + ": " + problem);
}

std::string member_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string element_path(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::string join(const std::vector<std::string_view>& names) {
  std::string out;
  for (auto name : names)
    out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

/// One JSON object of the profile: only the keys it allows, each of the type it should be.
class object_reader {
 public:
  object_reader(const json& j, std::string path, std::vector<std::string_view> allowed)
      : j_(j), path_(std::move(path)) {
    if (!j.is_object())
      fail(path_, "must be an object");
    for (const auto& item : j.items())
      if (std::find(allowed.begin(), allowed.end(), item.key()) == allowed.end())
        fail(member_path(path_, item.key()), "unknown key; allowed here: " + join(allowed));
  }

  const std::string& path() const { return path_; }
  std::string path_of(std::string_view key) const { return member_path(path_, key); }
  bool has(std::string_view key) const { return j_.contains(std::string(key)); }

  const json& required(std::string_view key) const {
    auto it = j_.find(std::string(key));
    if (it == j_.end())
      fail(path_, "missing required key '" + std::string(key) + "'");
    return *it;
  }

  std::string string(std::string_view key) const {
    const auto& v = required(key);
    if (!v.is_string())
      fail(path_of(key), "must be a string");
    auto text = v.get<std::string>();
    if (text.empty())
      fail(path_of(key), "must not be empty");
    return text;
  }

  std::string string_or(std::string_view key, std::string fallback) const {
    return has(key) ? string(key) : std::move(fallback);
  }

  std::int64_t integer(std::string_view key, std::int64_t min, std::int64_t max) const {
    const auto& v = required(key);
    if (!v.is_number_integer())
      fail(path_of(key), "must be an integer");
    // An unsigned JSON number above INT64_MAX would wrap in get<int64_t>.
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(max))
      fail(path_of(key), range_text(min, max) + ", not " + std::to_string(v.get<std::uint64_t>()));
    const auto value = v.get<std::int64_t>();
    if (value < min || value > max)
      fail(path_of(key), range_text(min, max) + ", not " + std::to_string(value));
    return value;
  }

  std::int64_t integer_or(std::string_view key, std::int64_t fallback, std::int64_t min,
                          std::int64_t max) const {
    return has(key) ? integer(key, min, max) : fallback;
  }

  double number(std::string_view key) const {
    const auto& v = required(key);
    if (!v.is_number())
      fail(path_of(key), "must be a number");
    return v.get<double>();
  }

  double number_or(std::string_view key, double fallback) const {
    return has(key) ? number(key) : fallback;
  }

  const json& array(std::string_view key) const {
    const auto& v = required(key);
    if (!v.is_array())
      fail(path_of(key), "must be an array");
    return v;
  }

 private:
  static std::string range_text(std::int64_t min, std::int64_t max) {
    return "must be between " + std::to_string(min) + " and " + std::to_string(max);
  }

  const json& j_;
  std::string path_;
};

/// Every address a profile uses, so that two fields claiming the same register are caught.
/// Flags may share a register as long as their bits differ.
class address_claims {
 public:
  void claim(area where, std::int64_t address, int bit, const std::string& path) {
    auto& holders = claims_[{where, address}];
    for (const auto& other : holders)
      if (other.bit < 0 || bit < 0 || other.bit == bit)
        fail(path, std::string(to_string(where)) + " " + std::to_string(address) +
                       (bit >= 0 ? " bit " + std::to_string(bit) : std::string()) +
                       " is also used by " + other.path);
    holders.push_back({bit, path});
  }

  void claim(const register_field& f, const std::string& path) {
    for (int i = 0; i < f.width(); ++i)
      claim(f.area, f.address + i, f.bit, path);
  }

 private:
  struct holder {
    int bit;
    std::string path;
  };
  std::map<std::pair<area, std::int64_t>, std::vector<holder>> claims_;
};

/// What a register field stands for; it decides which keys, areas and types it may have.
enum class field_role { number, duty, quality, flag, command };

/// The state shared while parsing one profile.
struct parse_context {
  word_order default_order = word_order::high_first;
  /// Module templates: fields take base + stride, and are claimed for slots 1..max_slots.
  bool templated = false;
  std::int32_t max_slots = 1;
};

bool role_allows(field_role role, area a) {
  switch (role) {
    case field_role::number:
    case field_role::flag:
      return true;
    case field_role::duty:
      return a == area::holding_register;
    case field_role::command:
      return a == area::holding_register || a == area::coil;
    case field_role::quality:
      return !is_bit_area(a);
  }
  return false;
}

std::string allowed_areas(field_role role) {
  std::vector<std::string_view> names;
  for (auto a : {area::coil, area::discrete_input, area::input_register, area::holding_register})
    if (role_allows(role, a))
      names.push_back(to_string(a));
  return join(names);
}

register_field parse_field(const json& j, const std::string& path, field_role role,
                           const parse_context& ctx, address_claims& claims) {
  std::vector<std::string_view> allowed{"area"};
  if (ctx.templated) {
    allowed.push_back("base");
    allowed.push_back("stride");
  } else {
    allowed.push_back("address");
  }
  if (role == field_role::number || role == field_role::duty) {
    for (auto key : {"type", "word_order", "scale", "offset"})
      allowed.push_back(key);
  } else if (role == field_role::flag) {
    allowed.push_back("bit");
  } else if (role == field_role::command) {
    allowed.push_back("codes");
  }
  object_reader r(j, path, allowed);

  register_field f;
  const auto area_text = r.string("area");
  if (!parse_area(area_text, f.area))
    fail(r.path_of("area"), "unknown area '" + area_text +
                                "'; known: coil, discrete_input, input_register, holding_register");
  if (!role_allows(role, f.area))
    fail(r.path_of("area"), "must be one of: " + allowed_areas(role));

  f.type = is_bit_area(f.area) ? value_type::boolean : value_type::uint16;
  if (r.has("type")) {
    const auto type_text = r.string("type");
    if (!parse_value_type(type_text, f.type))
      fail(r.path_of("type"),
           "unknown type '" + type_text + "'; known: bool, int16, uint16, int32, uint32, float32");
    if (is_bit_area(f.area) != (f.type == value_type::boolean))
      fail(r.path_of("type"), is_bit_area(f.area)
                                  ? "a " + area_text + " holds a bool"
                                  : "a register holds int16, uint16, int32, uint32 or float32");
  }
  f.order = ctx.default_order;
  if (r.has("word_order")) {
    if (f.width() != 2)
      fail(r.path_of("word_order"), "applies to 32-bit types only");
    const auto order_text = r.string("word_order");
    if (!parse_word_order(order_text, f.order))
      fail(r.path_of("word_order"),
           "unknown word order '" + order_text + "'; known: high_first, low_first");
  }
  f.scale = r.number_or("scale", 1.0);
  if (f.scale == 0.0 || !std::isfinite(f.scale))
    fail(r.path_of("scale"), "must be a finite number other than 0");
  f.offset = r.number_or("offset", 0.0);
  if (!std::isfinite(f.offset))
    fail(r.path_of("offset"), "must be finite");

  if (role == field_role::flag) {
    if (is_bit_area(f.area)) {
      if (r.has("bit"))
        fail(r.path_of("bit"), "a " + area_text + " is a bit already");
    } else {
      f.bit = static_cast<int>(r.integer("bit", 0, 15));
    }
  }

  if (ctx.templated) {
    f.address = static_cast<std::uint16_t>(r.integer("base", 0, max_address));
    f.stride = static_cast<std::uint16_t>(r.integer("stride", 0, max_address));
  } else {
    f.address = static_cast<std::uint16_t>(r.integer("address", 0, max_address));
  }
  const std::int64_t last =
      f.address + static_cast<std::int64_t>(f.stride) * (ctx.max_slots - 1) + f.width() - 1;
  if (last > max_address)
    fail(r.path_of(ctx.templated ? "base" : "address"),
         (ctx.templated ? "slot " + std::to_string(ctx.max_slots) + " reaches " : "reaches ") +
             std::string(to_string(f.area)) + " " + std::to_string(last) + ", beyond 65535");

  if (ctx.templated) {
    for (std::int32_t slot = 1; slot <= ctx.max_slots; ++slot)
      claims.claim(f.for_slot(slot), path + " (slot " + std::to_string(slot) + ")");
  } else {
    claims.claim(f, path);
  }
  return f;
}

std::optional<register_field> optional_field(const object_reader& r, std::string_view key,
                                             field_role role, const parse_context& ctx,
                                             address_claims& claims) {
  if (!r.has(key))
    return std::nullopt;
  return parse_field(r.required(key), r.path_of(key), role, ctx, claims);
}

command_target parse_command(const object_reader& parent, const parse_context& ctx,
                             address_claims& claims) {
  const auto path = parent.path_of("command");
  command_target target;
  // parse_field has checked the keys; this reader only takes the codes.
  target.where = parse_field(parent.required("command"), path, field_role::command, ctx, claims);
  object_reader r(parent.required("command"), path, {"area", "address", "base", "stride", "codes"});
  if (target.where.area == area::coil) {
    if (r.has("codes"))
      fail(r.path_of("codes"), "a coil takes ON as 1 and OFF as 0; codes are for registers");
    return target;
  }
  object_reader codes(r.required("codes"), r.path_of("codes"), {"off", "on", "pwm"});
  target.off_code = static_cast<std::uint16_t>(codes.integer("off", 0, max_address));
  target.on_code = static_cast<std::uint16_t>(codes.integer("on", 0, max_address));
  if (codes.has("pwm"))
    target.pwm_code = static_cast<std::uint16_t>(codes.integer("pwm", 0, max_address));
  if (target.off_code == target.on_code ||
      (target.pwm_code &&
       (*target.pwm_code == target.off_code || *target.pwm_code == target.on_code)))
    fail(codes.path(), "each command needs a code of its own");
  return target;
}

/// A raw range and an engineering range must not be empty: scaling divides by the raw span.
void check_range(const object_reader& r, std::string_view min_key, double min, double max) {
  if (!std::isfinite(min) || !std::isfinite(max) || min == max)
    fail(r.path_of(min_key), "the range must be finite and not empty, not " + std::to_string(min) +
                                 " to " + std::to_string(max));
}

point_map parse_point(const json& j, const std::string& path, const parse_context& ctx,
                      address_claims& claims) {
  if (!j.is_object() || !j.contains("kind"))
    fail(path, "must be an object with a 'kind' (sensor or actuator)");
  const auto& kind = j.at("kind");
  if (kind != "sensor" && kind != "actuator")
    fail(member_path(path, "kind"), "must be \"sensor\" or \"actuator\"");
  const bool sensor = kind == "sensor";

  std::vector<std::string_view> allowed{"channel",     "kind",   "quality",
                                        "interlocked", "forced", "running"};
  if (sensor) {
    for (auto key : {"value", "scale_min", "scale_max"})
      allowed.push_back(key);
    if (!ctx.templated)
      for (auto key : {"sensor_type", "unit", "eng_min", "eng_max"})
        allowed.push_back(key);
  } else {
    for (auto key : {"control_type", "output", "command", "duty"})
      allowed.push_back(key);
    if (!ctx.templated)
      allowed.push_back("equipment_type");
  }
  object_reader r(j, path, allowed);

  point_map p;
  p.is_sensor = sensor;
  p.channel = static_cast<std::int32_t>(r.integer_or("channel", 0, 0, 255));
  p.quality = optional_field(r, "quality", field_role::quality, ctx, claims);
  p.interlocked = optional_field(r, "interlocked", field_role::flag, ctx, claims);
  p.forced = optional_field(r, "forced", field_role::flag, ctx, claims);
  p.running = optional_field(r, "running", field_role::flag, ctx, claims);

  if (sensor) {
    p.value = parse_field(r.required("value"), r.path_of("value"), field_role::number, ctx, claims);
    p.scale_min = r.number_or("scale_min", 0.0);
    p.scale_max = r.number_or("scale_max", 100.0);
    check_range(r, "scale_min", p.scale_min, p.scale_max);
    if (!ctx.templated) {
      p.sensor_type = r.string("sensor_type");
      p.unit = r.string("unit");
      p.eng_min = r.number_or("eng_min", p.scale_min);
      p.eng_max = r.number_or("eng_max", p.scale_max);
      check_range(r, "eng_min", p.eng_min, p.eng_max);
    }
    return p;
  }

  p.control_type = r.string("control_type");
  if (p.control_type != "discrete" && p.control_type != "analog")
    fail(r.path_of("control_type"), "must be \"discrete\" or \"analog\"");
  if (!ctx.templated)
    p.equipment_type = r.string("equipment_type");
  p.value = optional_field(r, "output", field_role::number, ctx, claims);
  if (r.has("command"))
    p.command = parse_command(r, ctx, claims);
  p.duty = optional_field(r, "duty", field_role::duty, ctx, claims);
  if (p.control_type == "discrete" && !p.command)
    fail(path, "a discrete actuator needs a 'command' target");
  if (p.control_type == "analog" && !p.duty)
    fail(path, "an analog actuator needs a 'duty' target");
  return p;
}

std::vector<point_map> parse_points(const object_reader& parent, const parse_context& ctx,
                                    address_claims& claims) {
  const auto& points = parent.array("points");
  std::vector<point_map> out;
  std::set<std::int32_t> channels;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto path = element_path(parent.path_of("points"), i);
    out.push_back(parse_point(points[i], path, ctx, claims));
    if (!channels.insert(out.back().channel).second)
      fail(member_path(path, "channel"),
           "channel " + std::to_string(out.back().channel) + " appears twice in this slot");
  }
  return out;
}

identification_map parse_identification(const json& j, const std::string& path, bool has_directory,
                                        address_claims& claims) {
  object_reader r(j, path,
                  {"area", "vendor_id", "device_id", "firmware", "slot_count", "heartbeat"});
  identification_map id;
  if (r.has("area")) {
    const auto text = r.string("area");
    if (!parse_area(text, id.area) || is_bit_area(id.area))
      fail(r.path_of("area"), "must be input_register or holding_register");
  }
  auto address = [&](std::string_view key) -> std::optional<std::uint16_t> {
    if (!r.has(key))
      return std::nullopt;
    const auto a = static_cast<std::uint16_t>(r.integer(key, 0, max_address));
    claims.claim(id.area, a, -1, r.path_of(key));
    return a;
  };
  id.vendor_id = address("vendor_id");
  id.device_id = address("device_id");
  if (r.has("slot_count") && !has_directory)
    fail(r.path_of("slot_count"),
         "needs a module_directory: a static slot list fixes the slots itself");
  id.slot_count = address("slot_count");
  id.heartbeat = address("heartbeat");
  if (r.has("firmware")) {
    const auto& firmware = r.array("firmware");
    if (firmware.empty() || firmware.size() > 3)
      fail(r.path_of("firmware"), "must list 1 to 3 register addresses (major, minor, patch)");
    for (std::size_t i = 0; i < firmware.size(); ++i) {
      const auto item_path = element_path(r.path_of("firmware"), i);
      if (!firmware[i].is_number_integer() || firmware[i].get<std::int64_t>() < 0 ||
          firmware[i].get<std::int64_t>() > max_address)
        fail(item_path, "must be a register address between 0 and 65535");
      const auto a = firmware[i].get<std::uint16_t>();
      claims.claim(id.area, a, -1, item_path);
      id.firmware.push_back(a);
    }
  }
  return id;
}

read_limits parse_reads(const json& j, const std::string& path) {
  object_reader r(j, path, {"max_registers", "max_bits", "max_register_gap", "max_bit_gap"});
  read_limits limits;
  // At least 2 registers: a 32-bit value must fit one request.
  limits.max_registers = static_cast<int>(r.integer_or("max_registers", 125, 2, 125));
  limits.max_bits = static_cast<int>(r.integer_or("max_bits", 2000, 1, 2000));
  limits.max_register_gap = static_cast<int>(r.integer_or("max_register_gap", 16, 0, 125));
  limits.max_bit_gap = static_cast<int>(r.integer_or("max_bit_gap", 32, 0, 2000));
  return limits;
}

/// A table of one uint16 per slot.
register_field parse_table(const object_reader& parent, std::string_view key,
                           std::int32_t max_slots, address_claims& claims) {
  const auto path = parent.path_of(key);
  object_reader r(parent.required(key), path, {"area", "address"});
  register_field f;
  const auto text = r.string("area");
  if (!parse_area(text, f.area) || is_bit_area(f.area))
    fail(r.path_of("area"), "must be input_register or holding_register");
  f.address = static_cast<std::uint16_t>(r.integer("address", 0, max_address));
  if (f.address + max_slots - 1 > max_address)
    fail(r.path_of("address"),
         "a table of " + std::to_string(max_slots) + " slots does not fit below 65536");
  for (std::int32_t slot = 1; slot <= max_slots; ++slot)
    claims.claim(f.area, f.address + slot - 1, -1, path + " (slot " + std::to_string(slot) + ")");
  return f;
}

template <class Value, class Parse>
std::map<std::uint16_t, Value> parse_code_table(const object_reader& parent, std::string_view key,
                                                Parse parse_entry) {
  std::map<std::uint16_t, Value> table;
  if (!parent.has(key))
    return table;
  const auto& entries = parent.array(key);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto path = element_path(parent.path_of(key), i);
    auto [code, value] = parse_entry(entries[i], path);
    if (!table.emplace(code, std::move(value)).second)
      fail(member_path(path, "code"), "code " + std::to_string(code) + " appears twice");
  }
  return table;
}

module_directory parse_directory(const json& j, const std::string& path, const parse_context& top,
                                 const address_claims& top_claims) {
  object_reader r(j, path,
                  {"max_slots", "module_codes", "signal_codes", "modules", "sensor_signals",
                   "actuator_signals"});
  module_directory dir;
  dir.max_slots = static_cast<std::int32_t>(r.integer("max_slots", 1, 247));

  address_claims table_claims = top_claims;
  dir.module_codes = parse_table(r, "module_codes", dir.max_slots, table_claims);
  if (r.has("signal_codes"))
    dir.signal_codes = parse_table(r, "signal_codes", dir.max_slots, table_claims);

  dir.sensor_signals =
      parse_code_table<sensor_signal>(r, "sensor_signals", [](const json& e, const std::string& p) {
        object_reader s(e, p, {"code", "sensor_type", "unit", "eng_min", "eng_max"});
        sensor_signal signal;
        const auto code = static_cast<std::uint16_t>(s.integer("code", 0, max_address));
        signal.sensor_type = s.string("sensor_type");
        signal.unit = s.string("unit");
        signal.eng_min = s.number("eng_min");
        signal.eng_max = s.number("eng_max");
        check_range(s, "eng_min", signal.eng_min, signal.eng_max);
        return std::make_pair(code, signal);
      });
  dir.actuator_signals =
      parse_code_table<std::string>(r, "actuator_signals", [](const json& e, const std::string& p) {
        object_reader a(e, p, {"code", "equipment_type"});
        const auto code = static_cast<std::uint16_t>(a.integer("code", 0, max_address));
        return std::make_pair(code, a.string("equipment_type"));
      });

  parse_context ctx = top;
  ctx.templated = true;
  ctx.max_slots = dir.max_slots;
  const auto& modules = r.array("modules");
  if (modules.empty())
    fail(r.path_of("modules"), "must list at least one module");
  for (std::size_t i = 0; i < modules.size(); ++i) {
    const auto module_path = element_path(r.path_of("modules"), i);
    object_reader m(modules[i], module_path, {"code", "module_type", "points"});
    module_template t;
    t.code = static_cast<std::uint16_t>(m.integer("code", 0, max_address));
    t.module_type = m.string("module_type");
    // Templates of different modules may use the same addresses (a slot holds one module),
    // but each must keep clear of the identification registers and the tables.
    address_claims claims = table_claims;
    t.points = parse_points(m, ctx, claims);
    for (const auto& p : t.points) {
      const bool sensor = p.is_sensor;
      if (sensor && dir.sensor_signals.empty())
        fail(r.path_of("sensor_signals"),
             "required: " + module_path + " has sensor points, whose type comes from it");
      if (!sensor && dir.actuator_signals.empty())
        fail(r.path_of("actuator_signals"),
             "required: " + module_path + " has actuator points, whose type comes from it");
    }
    if (!dir.modules.emplace(t.code, std::move(t)).second)
      fail(m.path_of("code"), "module code appears twice");
  }
  return dir;
}

std::vector<slot_map> parse_slots(const json& j, const std::string& path, const parse_context& ctx,
                                  address_claims& claims) {
  if (!j.is_array() || j.empty())
    fail(path, "must be a non-empty array of slots");
  std::vector<slot_map> slots;
  std::set<std::int32_t> numbers;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const auto slot_path = element_path(path, i);
    object_reader r(j[i], slot_path, {"slot", "module_type", "module_code", "points"});
    slot_map s;
    s.slot = static_cast<std::int32_t>(r.integer("slot", 1, 65535));
    if (!numbers.insert(s.slot).second)
      fail(r.path_of("slot"), "slot " + std::to_string(s.slot) + " appears twice");
    s.module_type = r.string("module_type");
    s.module_code = static_cast<std::uint16_t>(r.integer_or("module_code", 0, 0, max_address));
    s.points = parse_points(r, ctx, claims);
    if (s.points.empty())
      fail(r.path_of("points"), "a slot of a static list needs at least one point");
    slots.push_back(std::move(s));
  }
  return slots;
}

/// nlohmann keeps the last of two equal keys silently; in a configuration file that hides a
/// mistake, so the parser callback refuses them.
json parse_json_strict(std::string_view text) {
  std::vector<std::set<std::string>> open_objects;
  auto on_event = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.back().insert(parsed.get<std::string>()).second)
          throw profile_error("duplicate key '" + parsed.get<std::string>() + "'");
        break;
      default:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), on_event);
  } catch (const json::parse_error& e) {
    throw profile_error(std::string("malformed JSON: ") + e.what());
  }
}

profile parse_document(const json& doc) {
  object_reader r(doc, "",
                  {"name", "description", "protocol", "unit_id", "word_order", "expected_firmware",
                   "identification", "reads", "module_directory", "slots"});
  profile p;
  p.name = r.string("name");
  if (!valid_profile_name(p.name))
    fail("name",
         "'" + p.name + "' must be 1 to 64 of a-z 0-9 . _ - and start with a letter or digit");
  p.description = r.string_or("description", "");
  p.protocol = r.string_or("protocol", "modbus_tcp");
  if (p.protocol != "modbus_tcp")
    fail("protocol", "unknown protocol '" + p.protocol + "'; known: modbus_tcp");
  p.unit_id = static_cast<int>(r.integer_or("unit_id", 1, 0, 255));
  if (r.has("word_order")) {
    const auto text = r.string("word_order");
    if (!parse_word_order(text, p.default_word_order))
      fail("word_order", "unknown word order '" + text + "'; known: high_first, low_first");
  }
  p.expected_firmware = r.string_or("expected_firmware", "");
  if (r.has("reads"))
    p.reads = parse_reads(r.required("reads"), "reads");

  const bool has_directory = r.has("module_directory");
  if (has_directory == r.has("slots"))
    fail("",
         "a profile needs exactly one of 'module_directory' (slots found at discovery) and "
         "'slots' (a static slot list)");

  address_claims claims;
  if (r.has("identification"))
    p.identification =
        parse_identification(r.required("identification"), "identification", has_directory, claims);

  parse_context ctx;
  ctx.default_order = p.default_word_order;
  if (has_directory)
    p.directory = parse_directory(r.required("module_directory"), "module_directory", ctx, claims);
  else
    p.slots = parse_slots(r.required("slots"), "slots", ctx, claims);
  return p;
}

}  // namespace

bool valid_profile_name(std::string_view name) {
  if (name.empty() || name.size() > 64)
    return false;
  auto plain = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!plain(name.front()))
    return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return plain(c) || c == '.' || c == '_' || c == '-'; });
}

profile parse_profile(std::string_view json_text, const std::string& source) {
  try {
    return parse_document(parse_json_strict(json_text));
  } catch (const profile_error& e) {
    throw profile_error("profile " + source + ": " + e.what());
  }
}

profile load_profile_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw profile_error("profile " + path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_profile(text.str(), path);
}

}  // namespace wtc::field
