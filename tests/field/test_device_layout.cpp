#include <gtest/gtest.h>

#include <cmath>

#include "field/builtin_profiles.hpp"
#include "field/device_layout.hpp"
#include "field/profile.hpp"
#include "field/register_codec.hpp"

namespace wtc::field {
namespace {

constexpr auto ir = area::input_register;
constexpr auto hr = area::holding_register;

profile wtc_rtu() {
  for (const auto& b : builtin_profiles())
    if (b.file_stem == "wtc-rtu")
      return parse_profile(b.json_text, "built-in");
  throw std::logic_error("no built-in wtc-rtu");
}

std::vector<std::uint16_t> float_words(float value) {
  return *encode_raw(value, value_type::float32, word_order::high_first);
}

/// Registers 0–79 of a WTC RTU with slots AI (pH), DO (pump), PWM (dosing pump), EMPTY.
register_image wtc_identification(std::uint16_t slot_count = 4) {
  std::vector<std::uint16_t> words(80, 0);
  words[0] = 0x002A;
  words[1] = 0x0405;
  words[2] = 1;
  words[3] = 2;
  words[4] = 0;
  words[5] = slot_count;
  words[6] = 77;
  const std::uint16_t modules[] = {1, 2, 3, 0};
  const std::uint16_t signals[] = {3, 1, 3, 0};
  for (int s = 0; s < 4; ++s) {
    words[16 + s] = modules[s];
    words[48 + s] = signals[s];
  }
  register_image image;
  image.store(ir, 0, words);
  return image;
}

TEST(DeviceLayout, DiscoveryReadsIdentificationAndBothTables) {
  const auto spans = plan_reads(discovery_spans(wtc_rtu()), read_limits{});
  EXPECT_EQ(spans, (std::vector<address_span>{{ir, 0, 80}}));
}

TEST(DeviceLayout, WtcRtuSlotsFromTheDirectory) {
  const auto layout = resolve_layout(wtc_rtu(), wtc_identification());
  const auto& d = layout.description;
  EXPECT_EQ(d.vendor_id, 0x002A);
  EXPECT_EQ(d.device_id, 0x0405);
  EXPECT_EQ(d.firmware_version, "1.2.0");
  EXPECT_EQ(d.slot_count, 4);
  ASSERT_EQ(d.slots.size(), 4U);

  EXPECT_EQ(d.slots[0].module_type, "AI");
  ASSERT_EQ(d.slots[0].points.size(), 1U);
  const auto& ph = d.slots[0].points[0];
  EXPECT_TRUE(ph.is_sensor);
  EXPECT_EQ(ph.sensor_type, "pH");
  EXPECT_EQ(ph.unit, "pH");
  EXPECT_EQ(ph.scale_min, 4.0);
  EXPECT_EQ(ph.scale_max, 20.0);
  EXPECT_EQ(ph.eng_max, 14.0);

  EXPECT_EQ(d.slots[1].module_type, "DO");
  EXPECT_EQ(d.slots[1].module_code, 2);
  const auto& pump = d.slots[1].points.at(0);
  EXPECT_FALSE(pump.is_sensor);
  EXPECT_EQ(pump.control_type, "discrete");
  EXPECT_EQ(pump.equipment_type, "pump");

  const auto& dosing = d.slots[2].points.at(0);
  EXPECT_EQ(dosing.control_type, "analog");
  EXPECT_EQ(dosing.equipment_type, "dosing_pump");
  EXPECT_EQ(dosing.unit, "%");

  EXPECT_EQ(d.slots[3].module_type, "EMPTY");
  EXPECT_TRUE(d.slots[3].points.empty());

  // The template's addresses moved to each slot's own.
  ASSERT_EQ(layout.points.size(), 3U);
  EXPECT_EQ(layout.points[1].slot, 2);
  EXPECT_EQ(layout.points[1].map.value->address, 104);
  EXPECT_EQ(layout.points[1].map.command->where.address, 102);
  EXPECT_EQ(layout.points[2].map.duty->address, 105);
}

TEST(DeviceLayout, ACycleReadsSlotDataCommandsAndTheHeartbeat) {
  const auto layout = resolve_layout(wtc_rtu(), wtc_identification());
  EXPECT_EQ(plan_reads(cycle_spans(layout), read_limits{}),
            (std::vector<address_span>{{ir, 6, 1}, {ir, 100, 12}, {hr, 102, 4}}));
}

TEST(DeviceLayout, MoreSlotsThanTheProfileMapsIsAConfigFailure) {
  try {
    resolve_layout(wtc_rtu(), wtc_identification(33));
    FAIL() << "accepted";
  } catch (const field_error& e) {
    EXPECT_EQ(e.kind(), failure::config);
    EXPECT_STREQ(e.what(), "the device reports 33 slots; profile 'wtc-rtu' maps at most 32");
  }
}

TEST(DeviceLayout, UnknownModuleOrSignalCodesAreConfigFailures) {
  auto image = wtc_identification();
  image.store(ir, 17, {9});
  try {
    resolve_layout(wtc_rtu(), image);
    FAIL() << "accepted";
  } catch (const field_error& e) {
    EXPECT_EQ(e.kind(), failure::config);
    EXPECT_STREQ(e.what(),
                 "slot 2 holds module code 9, which profile 'wtc-rtu' does not know (it knows "
                 "0 EMPTY, 1 AI, 2 DO, 3 PWM)");
  }
  image = wtc_identification();
  image.store(ir, 48, {8});
  try {
    resolve_layout(wtc_rtu(), image);
    FAIL() << "accepted";
  } catch (const field_error& e) {
    EXPECT_EQ(e.kind(), failure::config);
    EXPECT_STREQ(e.what(),
                 "slot 1 (AI) has signal code 8, which profile 'wtc-rtu' does not list among its "
                 "sensor_signals");
  }
}

register_image wtc_cycle() {
  auto image = wtc_identification();
  std::vector<std::uint16_t> slots;
  auto add_slot = [&](float value, std::uint16_t quality, std::uint16_t flags) {
    for (auto w : float_words(value))
      slots.push_back(w);
    slots.push_back(quality);
    slots.push_back(flags);
  };
  add_slot(12.0F, 0x40, 0b010);   // pH: 12 mA, uncertain, forced
  add_slot(100.0F, 0x00, 0b101);  // pump: running, interlocked
  add_slot(37.5F, 0xC0, 0b100);   // dosing pump: running, not connected
  image.store(ir, 100, slots);
  image.store(hr, 102, {1, 0, 2, 3750});
  return image;
}

TEST(DeviceLayout, DecodesACycle) {
  const auto layout = resolve_layout(wtc_rtu(), wtc_identification());
  const auto reading = decode_cycle(layout, wtc_cycle());
  EXPECT_TRUE(reading.heartbeat_valid);
  EXPECT_EQ(reading.heartbeat, 77);
  ASSERT_EQ(reading.points.size(), 3U);

  const auto& ph = reading.points[0];
  EXPECT_EQ(ph.slot, 1);
  EXPECT_TRUE(ph.is_sensor);
  EXPECT_EQ(ph.raw, 12.0);
  EXPECT_EQ(ph.quality_code, 0x40);
  EXPECT_TRUE(ph.forced);
  EXPECT_FALSE(ph.interlocked);

  const auto& pump = reading.points[1];
  EXPECT_FALSE(pump.is_sensor);
  EXPECT_EQ(pump.raw, 100.0);
  EXPECT_TRUE(pump.running);
  EXPECT_TRUE(pump.interlocked);
  EXPECT_FALSE(pump.forced);
  EXPECT_EQ(pump.command, command_kind::on);

  const auto& dosing = reading.points[2];
  EXPECT_EQ(dosing.raw, 37.5);
  EXPECT_EQ(dosing.quality_code, 0xC0);
  EXPECT_EQ(dosing.command, command_kind::pwm);
  EXPECT_DOUBLE_EQ(dosing.pwm_duty, 37.5);
}

TEST(DeviceLayout, AQualityRegisterBeyondAByteReadsBad) {
  const auto layout = resolve_layout(wtc_rtu(), wtc_identification());
  auto image = wtc_cycle();
  image.store(ir, 102, {0x0100});
  EXPECT_EQ(decode_cycle(layout, image).points[0].quality_code, 0x80);
}

TEST(DeviceLayout, WtcCommands) {
  const auto layout = resolve_layout(wtc_rtu(), wtc_identification());
  auto plan = [&](std::int32_t slot, command_kind kind, double duty = 0.0) {
    return plan_command(layout, actuator_command{slot, kind, duty});
  };
  auto one = [](area a, std::uint16_t address, std::vector<std::uint16_t> values) {
    return std::vector<register_write>{{a, address, std::move(values)}};
  };
  auto same = [](const std::vector<register_write>& a, const std::vector<register_write>& b) {
    if (a.size() != b.size())
      return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (a[i].area != b[i].area || a[i].address != b[i].address || a[i].values != b[i].values)
        return false;
    return true;
  };
  EXPECT_TRUE(same(plan(2, command_kind::on), one(hr, 102, {1})));
  EXPECT_TRUE(same(plan(2, command_kind::off), one(hr, 102, {0})));
  EXPECT_TRUE(same(plan(3, command_kind::on), one(hr, 104, {1})));
  // Command and duty are neighbours: one write of both, command first.
  EXPECT_TRUE(same(plan(3, command_kind::pwm, 42.5), one(hr, 104, {2, 4250})));
  EXPECT_TRUE(same(plan(3, command_kind::pwm, 100.0), one(hr, 104, {2, 10000})));
}

TEST(DeviceLayout, CommandsTheProfileCannotExpressAreConfigFailures) {
  const auto layout = resolve_layout(wtc_rtu(), wtc_identification());
  auto failure_text = [&](actuator_command c) -> std::string {
    try {
      plan_command(layout, c);
    } catch (const field_error& e) {
      EXPECT_EQ(e.kind(), failure::config);
      return e.what();
    }
    return "accepted";
  };
  EXPECT_EQ(failure_text({2, command_kind::pwm, 50.0}),
            "slot 2 is a discrete actuator: it takes ON and OFF, not PWM (its profile maps no "
            "duty register)");
  EXPECT_EQ(failure_text({1, command_kind::on, 0.0}), "slot 1 has no actuator on channel 0");
  EXPECT_EQ(failure_text({4, command_kind::on, 0.0}), "slot 4 has no actuator on channel 0");
  EXPECT_EQ(failure_text({9, command_kind::on, 0.0}), "the device has no slot 9");
  EXPECT_NE(failure_text({3, command_kind::pwm, 100.5}).find("must lie within 0–100 %"),
            std::string::npos);
  EXPECT_NE(failure_text({3, command_kind::pwm, std::nan("")}).find("must lie within"),
            std::string::npos);
}

profile third_party() {
  return parse_profile(R"({
    "name": "acme",
    "slots": [
      { "slot": 1, "module_type": "AI", "points": [
        { "kind": "sensor", "sensor_type": "flow", "unit": "m3/h",
          "value": { "area": "holding_register", "address": 2, "type": "float32",
                     "word_order": "low_first" } } ] },
      { "slot": 2, "module_type": "DO", "points": [
        { "kind": "actuator", "control_type": "discrete", "equipment_type": "pump",
          "command": { "area": "coil", "address": 0 },
          "running": { "area": "discrete_input", "address": 1 } } ] },
      { "slot": 3, "module_type": "AO", "points": [
        { "kind": "actuator", "control_type": "analog", "equipment_type": "valve",
          "duty": { "area": "holding_register", "address": 20, "scale": 0.1 } } ] },
      { "slot": 4, "module_type": "VFD", "points": [
        { "kind": "actuator", "control_type": "analog", "equipment_type": "vfd",
          "command": { "area": "coil", "address": 1 },
          "duty": { "area": "holding_register", "address": 30, "type": "int32", "scale": 0.01 } } ] }
    ]
  })",
                       "acme.json");
}

TEST(DeviceLayout, StaticSlotsNeedNoDiscoveryReads) {
  const auto p = third_party();
  EXPECT_TRUE(discovery_spans(p).empty());
  const auto layout = resolve_layout(p, register_image{});
  EXPECT_EQ(layout.description.slot_count, 4);
  EXPECT_EQ(layout.description.firmware_version, "");
  EXPECT_FALSE(layout.heartbeat);
  EXPECT_EQ(layout.description.slots[1].points[0].equipment_type, "pump");
}

TEST(DeviceLayout, AThirdPartyCycle) {
  const auto layout = resolve_layout(third_party(), register_image{});
  EXPECT_EQ(
      plan_reads(cycle_spans(layout), read_limits{}),
      (std::vector<address_span>{{area::coil, 0, 2}, {area::discrete_input, 1, 1}, {hr, 2, 30}}));
  register_image image;
  image.store(hr, 2, *encode_raw(12.5, value_type::float32, word_order::low_first));
  image.store(area::coil, 0, {1, 0});
  image.store(area::discrete_input, 1, {1});
  image.store(hr, 20, {625});
  image.store(hr, 30, {0, 4250});
  const auto reading = decode_cycle(layout, image);
  EXPECT_FALSE(reading.heartbeat_valid);
  ASSERT_EQ(reading.points.size(), 4U);

  const auto& flow = reading.points[0];
  EXPECT_EQ(flow.raw, 12.5);
  EXPECT_EQ(flow.quality_code, 0x00);  // no quality register: good

  const auto& pump = reading.points[1];
  EXPECT_EQ(pump.command, command_kind::on);
  EXPECT_TRUE(pump.running);
  EXPECT_EQ(pump.raw, 100.0);  // no output register: ON is 100 %

  const auto& valve = reading.points[2];
  EXPECT_EQ(valve.command, command_kind::pwm);  // no switch: a setpoint above 0 is PWM
  EXPECT_DOUBLE_EQ(valve.pwm_duty, 62.5);
  EXPECT_DOUBLE_EQ(valve.raw, 62.5);

  const auto& vfd = reading.points[3];
  EXPECT_EQ(vfd.command, command_kind::off);
  EXPECT_DOUBLE_EQ(vfd.pwm_duty, 42.5);
  EXPECT_EQ(vfd.raw, 0.0);
}

TEST(DeviceLayout, ThirdPartyCommands) {
  const auto layout = resolve_layout(third_party(), register_image{});
  auto plan = [&](std::int32_t slot, command_kind kind, double duty = 0.0) {
    return plan_command(layout, actuator_command{slot, kind, duty});
  };
  auto written = [](const std::vector<register_write>& writes) {
    std::string out;
    for (const auto& w : writes) {
      out += std::string(to_string(w.area)) + "@" + std::to_string(w.address) + "=";
      for (auto v : w.values)
        out += std::to_string(v) + ",";
      out += " ";
    }
    return out;
  };
  EXPECT_EQ(written(plan(2, command_kind::on)), "coil@0=1, ");
  EXPECT_EQ(written(plan(2, command_kind::off)), "coil@0=0, ");
  EXPECT_EQ(written(plan(3, command_kind::pwm, 62.5)), "holding_register@20=625, ");
  EXPECT_EQ(written(plan(3, command_kind::on)), "holding_register@20=1000, ");
  EXPECT_EQ(written(plan(3, command_kind::off)), "holding_register@20=0, ");
  // The speed first, then the run coil: the drive never starts at a stale speed.
  EXPECT_EQ(written(plan(4, command_kind::pwm, 42.5)), "holding_register@30=0,4250, coil@1=1, ");
  EXPECT_EQ(written(plan(4, command_kind::on)), "coil@1=1, ");
  EXPECT_THROW(plan(2, command_kind::pwm, 10.0), field_error);
}

}  // namespace
}  // namespace wtc::field
