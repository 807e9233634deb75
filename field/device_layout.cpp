#include "field/device_layout.hpp"

#include <cmath>
#include <string>

namespace wtc::field {
namespace {

[[noreturn]] void disagree(const std::string& what) {
  throw field_error(failure::config, what);
}

std::optional<register_field> at_slot(const std::optional<register_field>& f, std::int32_t slot) {
  if (!f)
    return std::nullopt;
  return f->for_slot(slot);
}

/// A module template's point with its fields at the addresses of `slot`.
point_map point_at_slot(const point_map& t, std::int32_t slot) {
  point_map p = t;
  p.value = at_slot(t.value, slot);
  p.quality = at_slot(t.quality, slot);
  p.interlocked = at_slot(t.interlocked, slot);
  p.forced = at_slot(t.forced, slot);
  p.running = at_slot(t.running, slot);
  p.duty = at_slot(t.duty, slot);
  if (t.command)
    p.command->where = t.command->where.for_slot(slot);
  return p;
}

point_info info_of(const point_map& p) {
  point_info info;
  info.channel = p.channel;
  info.is_sensor = p.is_sensor;
  if (p.is_sensor) {
    info.sensor_type = p.sensor_type;
    info.unit = p.unit;
    info.scale_min = p.scale_min;
    info.scale_max = p.scale_max;
    info.eng_min = p.eng_min;
    info.eng_max = p.eng_max;
  } else {
    // Actuators take percent: a duty, a setpoint, or 0/100 for OFF/ON.
    info.control_type = p.control_type;
    info.equipment_type = p.equipment_type;
    info.unit = p.control_type == "analog" ? "%" : "";
  }
  return info;
}

std::string known_codes(const std::map<std::uint16_t, module_template>& modules) {
  std::string out;
  for (const auto& [code, m] : modules)
    out += (out.empty() ? "" : ", ") + std::to_string(code) + " " + m.module_type;
  return out;
}

void add_slot(device_layout& layout, std::int32_t slot, std::uint16_t module_code,
              const std::string& module_type, const std::vector<point_map>& points) {
  slot_info info;
  info.slot = slot;
  info.module_code = module_code;
  info.module_type = module_type;
  for (const auto& p : points) {
    info.points.push_back(info_of(p));
    layout.points.push_back({slot, p});
  }
  layout.description.slots.push_back(std::move(info));
}

void resolve_directory(const profile& p, const register_image& image, device_layout& layout) {
  const auto& dir = *p.directory;
  std::int32_t count = dir.max_slots;
  if (p.identification.slot_count) {
    count = image.word(p.identification.area, *p.identification.slot_count);
    if (count > dir.max_slots)
      disagree("the device reports " + std::to_string(count) + " slots; profile '" + p.name +
               "' maps at most " + std::to_string(dir.max_slots));
  }
  layout.description.slot_count = count;

  for (std::int32_t slot = 1; slot <= count; ++slot) {
    const auto offset = static_cast<std::uint16_t>(slot - 1);
    const std::uint16_t code = image.word(
        dir.module_codes.area, static_cast<std::uint16_t>(dir.module_codes.address + offset));
    auto module = dir.modules.find(code);
    if (module == dir.modules.end())
      disagree("slot " + std::to_string(slot) + " holds module code " + std::to_string(code) +
               ", which profile '" + p.name + "' does not know (it knows " +
               known_codes(dir.modules) + ")");
    const std::uint16_t signal =
        dir.signal_codes
            ? image.word(dir.signal_codes->area,
                         static_cast<std::uint16_t>(dir.signal_codes->address + offset))
            : 0;
    const std::string where = "slot " + std::to_string(slot) + " (" + module->second.module_type +
                              ") has signal code " + std::to_string(signal) + ", which profile '" +
                              p.name + "'";

    std::vector<point_map> points;
    for (const auto& t : module->second.points) {
      auto point = point_at_slot(t, slot);
      if (point.is_sensor) {
        auto s = dir.sensor_signals.find(signal);
        if (s == dir.sensor_signals.end())
          disagree(where + " does not list among its sensor_signals");
        point.sensor_type = s->second.sensor_type;
        point.unit = s->second.unit;
        point.eng_min = s->second.eng_min;
        point.eng_max = s->second.eng_max;
      } else {
        auto a = dir.actuator_signals.find(signal);
        if (a == dir.actuator_signals.end())
          disagree(where + " does not list among its actuator_signals");
        point.equipment_type = a->second;
      }
      points.push_back(std::move(point));
    }
    add_slot(layout, slot, code, module->second.module_type, points);
  }
}

void add_span(std::vector<address_span>& spans, const std::optional<register_field>& f) {
  if (f)
    spans.push_back(span_of(*f));
}

command_kind command_from_code(const command_target& target, std::uint16_t code) {
  if (target.where.area == area::coil)
    return code != 0 ? command_kind::on : command_kind::off;
  if (code == target.on_code)
    return command_kind::on;
  if (target.pwm_code && code == *target.pwm_code)
    return command_kind::pwm;
  // The off code, or one the profile does not know: the RTU runs no output on a command it
  // does not understand.
  return command_kind::off;
}

const mapped_point& actuator_of(const device_layout& layout, std::int32_t slot) {
  bool slot_exists = false;
  for (const auto& p : layout.points) {
    if (p.slot != slot)
      continue;
    slot_exists = true;
    if (!p.map.is_sensor && p.map.channel == 0)
      return p;
  }
  for (const auto& s : layout.description.slots)
    if (s.slot == slot)
      slot_exists = true;
  disagree(slot_exists ? "slot " + std::to_string(slot) + " has no actuator on channel 0"
                       : "the device has no slot " + std::to_string(slot));
}

register_write duty_write(std::int32_t slot, const register_field& duty, double percent) {
  auto words = encode_raw((percent - duty.offset) / duty.scale, duty.type, duty.order);
  if (!words)
    disagree("slot " + std::to_string(slot) + ": a duty of " + std::to_string(percent) +
             " % does not fit its " + std::string(to_string(duty.type)) + " register");
  return {duty.area, duty.address, std::move(*words)};
}

register_write switch_write(const command_target& target, command_kind kind) {
  if (target.where.area == area::coil)
    return {area::coil,
            target.where.address,
            {static_cast<std::uint16_t>(kind == command_kind::off ? 0 : 1)}};
  std::uint16_t code = target.on_code;
  if (kind == command_kind::off)
    code = target.off_code;
  else if (kind == command_kind::pwm && target.pwm_code)
    code = *target.pwm_code;
  return {area::holding_register, target.where.address, {code}};
}

/// Joins writes to neighbouring holding registers into one request, keeping the first write's
/// position in the sequence.
std::vector<register_write> merge_adjacent(std::vector<register_write> writes) {
  std::vector<register_write> merged;
  for (auto& w : writes) {
    if (!merged.empty() && merged.back().area == area::holding_register &&
        w.area == area::holding_register) {
      auto& last = merged.back();
      if (last.address + last.values.size() == w.address) {
        last.values.insert(last.values.end(), w.values.begin(), w.values.end());
        continue;
      }
      if (w.address + w.values.size() == last.address) {
        w.values.insert(w.values.end(), last.values.begin(), last.values.end());
        last = std::move(w);
        continue;
      }
    }
    merged.push_back(std::move(w));
  }
  return merged;
}

}  // namespace

std::vector<address_span> discovery_spans(const profile& p) {
  std::vector<address_span> spans;
  const auto& id = p.identification;
  for (const auto& a : {id.vendor_id, id.device_id, id.slot_count, id.heartbeat})
    if (a)
      spans.push_back({id.area, *a, 1});
  for (auto a : id.firmware)
    spans.push_back({id.area, a, 1});
  if (p.directory) {
    const auto slots = static_cast<std::uint16_t>(p.directory->max_slots);
    spans.push_back({p.directory->module_codes.area, p.directory->module_codes.address, slots});
    if (p.directory->signal_codes)
      spans.push_back({p.directory->signal_codes->area, p.directory->signal_codes->address, slots});
  }
  return spans;
}

device_layout resolve_layout(const profile& p, const register_image& discovered) {
  device_layout layout;
  auto& d = layout.description;
  const auto& id = p.identification;
  if (id.vendor_id)
    d.vendor_id = discovered.word(id.area, *id.vendor_id);
  if (id.device_id)
    d.device_id = discovered.word(id.area, *id.device_id);
  for (auto a : id.firmware)
    d.firmware_version +=
        (d.firmware_version.empty() ? "" : ".") + std::to_string(discovered.word(id.area, a));
  d.expected_firmware = p.expected_firmware;
  if (id.heartbeat) {
    register_field heartbeat;
    heartbeat.area = id.area;
    heartbeat.address = *id.heartbeat;
    layout.heartbeat = heartbeat;
  }

  if (p.directory) {
    resolve_directory(p, discovered, layout);
  } else {
    d.slot_count = static_cast<std::int32_t>(p.slots.size());
    for (const auto& s : p.slots)
      add_slot(layout, s.slot, s.module_code, s.module_type, s.points);
  }
  return layout;
}

std::vector<address_span> cycle_spans(const device_layout& layout) {
  std::vector<address_span> spans;
  for (const auto& point : layout.points) {
    const auto& m = point.map;
    for (const auto* f : {&m.value, &m.quality, &m.interlocked, &m.forced, &m.running, &m.duty})
      add_span(spans, *f);
    if (m.command)
      spans.push_back(span_of(m.command->where));
  }
  add_span(spans, layout.heartbeat);
  return spans;
}

cycle_reading decode_cycle(const device_layout& layout, const register_image& image) {
  cycle_reading reading;
  for (const auto& point : layout.points) {
    const auto& m = point.map;
    point_reading r;
    r.slot = point.slot;
    r.channel = m.channel;
    r.is_sensor = m.is_sensor;
    if (m.quality) {
      // A code above 0xFF is no code of the wire format: treat the value as bad.
      const std::uint16_t code = image.word(m.quality->area, m.quality->address);
      r.quality_code = code > 0xFF ? 0x80 : static_cast<std::uint8_t>(code);
    }
    r.interlocked = m.interlocked && image.flag(*m.interlocked);
    r.forced = m.forced && image.flag(*m.forced);
    r.running = m.running && image.flag(*m.running);

    if (m.is_sensor) {
      r.raw = image.value(*m.value);
    } else {
      if (m.duty)
        r.pwm_duty = image.value(*m.duty);
      if (m.command)
        r.command = command_from_code(*m.command,
                                      image.word(m.command->where.area, m.command->where.address));
      else
        r.command = r.pwm_duty > 0.0 ? command_kind::pwm : command_kind::off;
      if (m.value)
        r.raw = image.value(*m.value);
      else
        r.raw = r.command == command_kind::off  ? 0.0
                : r.command == command_kind::on ? 100.0
                                                : r.pwm_duty;
    }
    reading.points.push_back(r);
  }
  if (layout.heartbeat) {
    reading.heartbeat = image.word(layout.heartbeat->area, layout.heartbeat->address);
    reading.heartbeat_valid = true;
  }
  return reading;
}

std::vector<register_write> plan_command(const device_layout& layout,
                                         const actuator_command& command) {
  const auto& point = actuator_of(layout, command.slot);
  const auto& m = point.map;
  std::vector<register_write> writes;
  switch (command.command) {
    case command_kind::off:
    case command_kind::on:
      // Without a switch an analog actuator goes to 0 % or 100 %.
      if (m.command)
        writes.push_back(switch_write(*m.command, command.command));
      else
        writes.push_back(
            duty_write(command.slot, *m.duty, command.command == command_kind::on ? 100.0 : 0.0));
      break;
    case command_kind::pwm:
      if (!m.duty)
        disagree("slot " + std::to_string(command.slot) + " is a discrete actuator: it takes ON " +
                 "and OFF, not PWM (its profile maps no duty register)");
      if (!std::isfinite(command.pwm_duty) || command.pwm_duty < 0.0 || command.pwm_duty > 100.0)
        disagree("slot " + std::to_string(command.slot) +
                 ": a PWM duty must lie within 0–100 %, not " + std::to_string(command.pwm_duty));
      writes.push_back(duty_write(command.slot, *m.duty, command.pwm_duty));
      if (m.command)
        writes.push_back(switch_write(*m.command, command_kind::pwm));
      break;
  }
  return merge_adjacent(std::move(writes));
}

}  // namespace wtc::field
