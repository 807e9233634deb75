#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "field/builtin_profiles.hpp"
#include "field/profile.hpp"
#include "field/profile_library.hpp"

namespace wtc::field {
namespace {

using json = nlohmann::json;

/// A small static profile using every kind of field; each error test breaks one thing in it.
json static_profile() {
  return json::parse(R"({
    "name": "test-device",
    "unit_id": 3,
    "word_order": "low_first",
    "identification": { "area": "input_register", "vendor_id": 10, "firmware": [12, 13] },
    "slots": [
      { "slot": 1, "module_type": "AI", "points": [
        { "kind": "sensor", "sensor_type": "level", "unit": "%", "scale_min": 0, "scale_max": 100,
          "value": { "area": "holding_register", "address": 0, "type": "int16", "scale": 0.1 } } ] },
      { "slot": 2, "module_type": "AI", "points": [
        { "kind": "sensor", "sensor_type": "flow", "unit": "m3/h", "scale_min": 0, "scale_max": 200,
          "eng_min": 0, "eng_max": 100,
          "value": { "area": "holding_register", "address": 2, "type": "float32" },
          "quality": { "area": "holding_register", "address": 6 },
          "forced": { "area": "holding_register", "address": 5, "bit": 3 } } ] },
      { "slot": 3, "module_type": "DO", "module_code": 2, "points": [
        { "kind": "actuator", "control_type": "discrete", "equipment_type": "pump",
          "command": { "area": "coil", "address": 0 },
          "interlocked": { "area": "discrete_input", "address": 0 },
          "running": { "area": "discrete_input", "address": 1 } } ] },
      { "slot": 4, "module_type": "AO", "points": [
        { "kind": "actuator", "control_type": "analog", "equipment_type": "valve",
          "duty": { "area": "holding_register", "address": 20, "scale": 0.1 },
          "output": { "area": "input_register", "address": 0, "scale": 0.1 } } ] }
    ]
  })");
}

json wtc_profile() {
  for (const auto& b : builtin_profiles())
    if (b.file_stem == "wtc-rtu")
      return json::parse(b.json_text);
  ADD_FAILURE() << "no built-in wtc-rtu";
  return {};
}

/// The message of the profile_error that parsing `doc` throws, or "" if it parses.
std::string error_of(const json& doc) {
  try {
    parse_profile(doc.dump(), "test.json");
  } catch (const profile_error& e) {
    EXPECT_EQ(e.kind(), failure::config);
    return e.what();
  }
  return "";
}

TEST(Profile, StaticProfileParses) {
  const auto p = parse_profile(static_profile().dump(), "test.json");
  EXPECT_EQ(p.name, "test-device");
  EXPECT_EQ(p.protocol, "modbus_tcp");
  EXPECT_EQ(p.unit_id, 3);
  EXPECT_FALSE(p.directory);
  ASSERT_EQ(p.slots.size(), 4U);
  ASSERT_TRUE(p.identification.vendor_id);
  EXPECT_EQ(*p.identification.vendor_id, 10);
  EXPECT_FALSE(p.identification.device_id);
  EXPECT_EQ(p.identification.firmware, (std::vector<std::uint16_t>{12, 13}));

  const auto& level = p.slots[0].points[0];
  EXPECT_TRUE(level.is_sensor);
  EXPECT_EQ(level.value->type, value_type::int16);
  EXPECT_DOUBLE_EQ(level.value->scale, 0.1);
  EXPECT_EQ(level.eng_min, 0.0);  // the engineering range defaults to the raw range
  EXPECT_EQ(level.eng_max, 100.0);
  EXPECT_FALSE(level.quality);

  const auto& flow = p.slots[1].points[0];
  EXPECT_EQ(flow.value->order, word_order::low_first);  // the profile's default
  EXPECT_EQ(flow.eng_max, 100.0);
  EXPECT_EQ(flow.forced->bit, 3);

  const auto& pump = p.slots[2];
  EXPECT_EQ(pump.module_code, 2);
  EXPECT_FALSE(pump.points[0].is_sensor);
  EXPECT_EQ(pump.points[0].command->where.area, area::coil);
  EXPECT_EQ(pump.points[0].interlocked->area, area::discrete_input);
  EXPECT_EQ(pump.points[0].interlocked->bit, -1);

  const auto& valve = p.slots[3].points[0];
  EXPECT_EQ(valve.control_type, "analog");
  EXPECT_EQ(valve.duty->address, 20);
  EXPECT_EQ(valve.value->area, area::input_register);
}

TEST(Profile, BuiltInWtcRtuLoads) {
  const auto p = parse_profile(wtc_profile().dump(), "built-in");
  EXPECT_EQ(p.name, "wtc-rtu");
  ASSERT_TRUE(p.directory);
  const auto& dir = *p.directory;
  EXPECT_EQ(dir.max_slots, 32);
  EXPECT_EQ(dir.module_codes.address, 16);
  EXPECT_EQ(dir.signal_codes->address, 48);
  EXPECT_EQ(dir.modules.size(), 4U);
  EXPECT_EQ(dir.modules.at(0).module_type, "EMPTY");
  EXPECT_TRUE(dir.modules.at(0).points.empty());
  EXPECT_EQ(dir.modules.at(3).module_type, "PWM");
  const auto& pwm = dir.modules.at(3).points.at(0);
  EXPECT_EQ(pwm.command->where.stride, 2);
  EXPECT_EQ(*pwm.command->pwm_code, 2);
  EXPECT_DOUBLE_EQ(pwm.duty->scale, 0.01);
  EXPECT_EQ(dir.sensor_signals.at(3).sensor_type, "pH");
  EXPECT_EQ(dir.sensor_signals.at(2).eng_max, 200.0);
  EXPECT_EQ(dir.actuator_signals.at(3), "dosing_pump");
  EXPECT_EQ(*p.identification.slot_count, 5);
  EXPECT_EQ(*p.identification.heartbeat, 6);
}

TEST(Profile, ErrorsNameTheSource) {
  auto doc = static_profile();
  doc["colour"] = "blue";
  EXPECT_EQ(error_of(doc).rfind("profile test.json: colour: unknown key", 0), 0U) << error_of(doc);
}

struct error_case {
  const char* name;
  std::function<void(json&)> breakage;
  const char* expected;  // a part of the message: the JSON path and the problem
};

class ProfileErrors : public testing::TestWithParam<error_case> {};

TEST_P(ProfileErrors, NameThePathAndTheProblem) {
  auto doc = static_profile();
  GetParam().breakage(doc);
  const auto message = error_of(doc);
  EXPECT_NE(message.find(GetParam().expected), std::string::npos)
      << "message: " << message << "\nexpected: " << GetParam().expected;
}

json& point(json& doc, int slot_index) {
  return doc["slots"][slot_index]["points"][0];
}

INSTANTIATE_TEST_SUITE_P(
    Static, ProfileErrors,
    testing::Values(
        error_case{"UnknownPointKey", [](json& d) { point(d, 0)["colour"] = 1; },
                   "slots[0].points[0].colour: unknown key; allowed here: channel, kind"},
        error_case{"TemplateKeyInStaticSlot", [](json& d) { point(d, 0)["value"]["base"] = 1; },
                   "slots[0].points[0].value.base: unknown key; allowed here: area, address"},
        error_case{"WrongType", [](json& d) { d["unit_id"] = "3"; }, "unit_id: must be an integer"},
        error_case{"OutOfRangeUnit", [](json& d) { d["unit_id"] = 300; },
                   "unit_id: must be between 0 and 255, not 300"},
        error_case{"UnknownArea", [](json& d) { point(d, 0)["value"]["area"] = "register"; },
                   "slots[0].points[0].value.area: unknown area 'register'"},
        error_case{"UnknownType", [](json& d) { point(d, 0)["value"]["type"] = "double"; },
                   "slots[0].points[0].value.type: unknown type 'double'"},
        error_case{"BoolRegister", [](json& d) { point(d, 0)["value"]["type"] = "bool"; },
                   "slots[0].points[0].value.type: a register holds int16"},
        error_case{"NumberInACoil",
                   [](json& d) {
                     point(d, 0)["value"] = {{"area", "coil"}, {"address", 9}, {"type", "int16"}};
                   },
                   "slots[0].points[0].value.type: a coil holds a bool"},
        error_case{"WordOrderOn16Bits",
                   [](json& d) { point(d, 0)["value"]["word_order"] = "high_first"; },
                   "slots[0].points[0].value.word_order: applies to 32-bit types only"},
        error_case{"UnknownWordOrder",
                   [](json& d) { point(d, 1)["value"]["word_order"] = "middle"; },
                   "slots[1].points[0].value.word_order: unknown word order 'middle'"},
        error_case{"AddressOutOfRange", [](json& d) { point(d, 0)["value"]["address"] = 70000; },
                   "slots[0].points[0].value.address: must be between 0 and 65535, not 70000"},
        error_case{"NegativeAddress", [](json& d) { point(d, 0)["value"]["address"] = -1; },
                   "slots[0].points[0].value.address: must be between 0 and 65535, not -1"},
        error_case{"FloatPastTheEnd", [](json& d) { point(d, 1)["value"]["address"] = 65535; },
                   "slots[1].points[0].value.address: reaches holding_register 65536"},
        error_case{"OverlappingValues", [](json& d) { point(d, 0)["value"]["address"] = 3; },
                   "slots[1].points[0].value: holding_register 3 is also used by "
                   "slots[0].points[0].value"},
        error_case{"SameFlagBitTwice",
                   [](json& d) {
                     point(d, 1)["interlocked"] = {
                         {"area", "holding_register"}, {"address", 5}, {"bit", 3}};
                   },
                   "slots[1].points[0].forced: holding_register 5 bit 3 is also used by "
                   "slots[1].points[0].interlocked"},
        error_case{"FlagInAValueRegister",
                   [](json& d) {
                     point(d, 1)["interlocked"] = {
                         {"area", "holding_register"}, {"address", 6}, {"bit", 0}};
                   },
                   "holding_register 6 bit 0 is also used by slots[1].points[0].quality"},
        error_case{"IdentificationOverlapsASlot",
                   [](json& d) {
                     d["identification"]["area"] = "holding_register";
                     d["identification"]["vendor_id"] = 0;
                   },
                   "slots[0].points[0].value: holding_register 0 is also used by "
                   "identification.vendor_id"},
        error_case{"DuplicateSlot", [](json& d) { d["slots"][1]["slot"] = 1; },
                   "slots[1].slot: slot 1 appears twice"},
        error_case{"DuplicateChannel",
                   [](json& d) {
                     auto second = point(d, 0);
                     second["value"]["address"] = 30;
                     d["slots"][0]["points"].push_back(second);
                   },
                   "slots[0].points[1].channel: channel 0 appears twice in this slot"},
        error_case{"MissingValue", [](json& d) { point(d, 0).erase("value"); },
                   "slots[0].points[0]: missing required key 'value'"},
        error_case{"MissingKind", [](json& d) { point(d, 0).erase("kind"); },
                   "slots[0].points[0]: must be an object with a 'kind'"},
        error_case{"UnknownKind", [](json& d) { point(d, 0)["kind"] = "meter"; },
                   "slots[0].points[0].kind: must be \"sensor\" or \"actuator\""},
        error_case{"MissingEquipmentType", [](json& d) { point(d, 2).erase("equipment_type"); },
                   "slots[2].points[0]: missing required key 'equipment_type'"},
        error_case{"UnknownControlType", [](json& d) { point(d, 2)["control_type"] = "pwm"; },
                   "slots[2].points[0].control_type: must be \"discrete\" or \"analog\""},
        error_case{"BitOnADiscreteInput", [](json& d) { point(d, 2)["interlocked"]["bit"] = 1; },
                   "slots[2].points[0].interlocked.bit: a discrete_input is a bit already"},
        error_case{"RegisterFlagWithoutBit", [](json& d) { point(d, 1)["forced"].erase("bit"); },
                   "slots[1].points[0].forced: missing required key 'bit'"},
        error_case{"BitBeyond15", [](json& d) { point(d, 1)["forced"]["bit"] = 16; },
                   "slots[1].points[0].forced.bit: must be between 0 and 15"},
        error_case{"DutyInAnInputRegister",
                   [](json& d) { point(d, 3)["duty"]["area"] = "input_register"; },
                   "slots[3].points[0].duty.area: must be one of: holding_register"},
        error_case{"QualityInACoil", [](json& d) { point(d, 1)["quality"]["area"] = "coil"; },
                   "slots[1].points[0].quality.area: must be one of: input_register, "
                   "holding_register"},
        error_case{"DiscreteWithoutCommand", [](json& d) { point(d, 2).erase("command"); },
                   "slots[2].points[0]: a discrete actuator needs a 'command' target"},
        error_case{"AnalogWithoutDuty", [](json& d) { point(d, 3).erase("duty"); },
                   "slots[3].points[0]: an analog actuator needs a 'duty' target"},
        error_case{"CodesOnACoil",
                   [](json& d) {
                     point(d, 2)["command"]["codes"] = {{"off", 0}, {"on", 1}};
                   },
                   "slots[2].points[0].command.codes: a coil takes ON as 1"},
        error_case{"RegisterCommandWithoutCodes",
                   [](json& d) {
                     point(d, 2)["command"] = {{"area", "holding_register"}, {"address", 30}};
                   },
                   "slots[2].points[0].command: missing required key 'codes'"},
        error_case{"SharedCodes",
                   [](json& d) {
                     point(d, 2)["command"] = {{"area", "holding_register"},
                                               {"address", 30},
                                               {"codes", {{"off", 0}, {"on", 0}}}};
                   },
                   "slots[2].points[0].command.codes: each command needs a code of its own"},
        error_case{"ZeroScale", [](json& d) { point(d, 0)["value"]["scale"] = 0; },
                   "slots[0].points[0].value.scale: must be a finite number other than 0"},
        error_case{"EmptyRawRange", [](json& d) { point(d, 0)["scale_max"] = 0; },
                   "slots[0].points[0].scale_min: the range must be finite and not empty"},
        error_case{"SlotCountWithoutDirectory",
                   [](json& d) { d["identification"]["slot_count"] = 5; },
                   "identification.slot_count: needs a module_directory"},
        error_case{"TooManyFirmwareRegisters",
                   [](json& d) {
                     d["identification"]["firmware"] = {12, 13, 14, 15};
                   },
                   "identification.firmware: must list 1 to 3 register addresses"},
        error_case{"FirmwareNotAnAddress",
                   [](json& d) {
                     d["identification"]["firmware"] = {12, "x"};
                   },
                   "identification.firmware[1]: must be a register address"},
        error_case{"BadName", [](json& d) { d["name"] = "Bad Name"; },
                   "name: 'Bad Name' must be 1 to 64 of"},
        error_case{"MissingName", [](json& d) { d.erase("name"); },
                   "top level: missing required key 'name'"},
        error_case{"UnknownProtocol", [](json& d) { d["protocol"] = "profinet"; },
                   "protocol: unknown protocol 'profinet'"},
        error_case{"TooLargeReads",
                   [](json& d) {
                     d["reads"] = {{"max_registers", 200}};
                   },
                   "reads.max_registers: must be between 2 and 125"},
        error_case{"UnknownReadsKey",
                   [](json& d) {
                     d["reads"] = {{"max_gap", 2}};
                   },
                   "reads.max_gap: unknown key"},
        error_case{"NoSlots", [](json& d) { d["slots"] = json::array(); },
                   "slots: must be a non-empty array of slots"},
        error_case{"SlotWithoutPoints", [](json& d) { d["slots"][0]["points"] = json::array(); },
                   "slots[0].points: a slot of a static list needs at least one point"},
        error_case{"BothLayouts",
                   [](json& d) { d["module_directory"] = wtc_profile()["module_directory"]; },
                   "top level: a profile needs exactly one of 'module_directory'"},
        error_case{"NeitherLayout", [](json& d) { d.erase("slots"); },
                   "top level: a profile needs exactly one of 'module_directory'"},
        error_case{"NotAnObject", [](json& d) { d["slots"][0] = 5; },
                   "slots[0]: must be an object"}),
    [](const testing::TestParamInfo<error_case>& param) { return param.param.name; });

class DirectoryProfileErrors : public testing::TestWithParam<error_case> {};

TEST_P(DirectoryProfileErrors, NameThePathAndTheProblem) {
  auto doc = wtc_profile();
  GetParam().breakage(doc);
  const auto message = error_of(doc);
  EXPECT_NE(message.find(GetParam().expected), std::string::npos)
      << "message: " << message << "\nexpected: " << GetParam().expected;
}

json& ai_point(json& doc) {
  return doc["module_directory"]["modules"][1]["points"][0];
}

INSTANTIATE_TEST_SUITE_P(
    Directory, DirectoryProfileErrors,
    testing::Values(
        error_case{"TemplatePastTheEnd", [](json& d) { ai_point(d)["value"]["base"] = 65500; },
                   "module_directory.modules[1].points[0].value.base: slot 32 reaches "
                   "input_register 65625, beyond 65535"},
        error_case{"TemplateOverTheTable", [](json& d) { ai_point(d)["quality"]["base"] = 16; },
                   "module_directory.modules[1].points[0].quality (slot 1): input_register 16 is "
                   "also used by module_directory.module_codes (slot 1)"},
        error_case{"TemplateOverIdentification",
                   [](json& d) { ai_point(d)["quality"]["base"] = 6; },
                   "input_register 6 is also used by identification.heartbeat"},
        error_case{"StrideTooSmall", [](json& d) { ai_point(d)["value"]["stride"] = 1; },
                   "module_directory.modules[1].points[0].value (slot 2): input_register 101 is "
                   "also used by module_directory.modules[1].points[0].value (slot 1)"},
        error_case{"StaticKeyInTemplate", [](json& d) { ai_point(d)["sensor_type"] = "level"; },
                   "module_directory.modules[1].points[0].sensor_type: unknown key"},
        error_case{"AddressInTemplate", [](json& d) { ai_point(d)["value"]["address"] = 100; },
                   "module_directory.modules[1].points[0].value.address: unknown key"},
        error_case{"MissingStride", [](json& d) { ai_point(d)["value"].erase("stride"); },
                   "module_directory.modules[1].points[0].value: missing required key 'stride'"},
        error_case{"NoSensorSignals",
                   [](json& d) { d["module_directory"].erase("sensor_signals"); },
                   "module_directory.sensor_signals: required: module_directory.modules[1] has "
                   "sensor points"},
        error_case{"DuplicateModuleCode",
                   [](json& d) { d["module_directory"]["modules"][2]["code"] = 1; },
                   "module_directory.modules[2].code: module code appears twice"},
        error_case{"DuplicateSignalCode",
                   [](json& d) { d["module_directory"]["sensor_signals"][2]["code"] = 1; },
                   "module_directory.sensor_signals[2].code: code 1 appears twice"},
        error_case{"TooManySlots", [](json& d) { d["module_directory"]["max_slots"] = 300; },
                   "module_directory.max_slots: must be between 1 and 247, not 300"},
        error_case{"TableIntoBits",
                   [](json& d) { d["module_directory"]["module_codes"]["area"] = "coil"; },
                   "module_directory.module_codes.area: must be input_register or "
                   "holding_register"},
        error_case{"NoModules", [](json& d) { d["module_directory"]["modules"] = json::array(); },
                   "module_directory.modules: must list at least one module"}),
    [](const testing::TestParamInfo<error_case>& param) { return param.param.name; });

TEST(Profile, DuplicateKeysAreRefused) {
  try {
    parse_profile(R"({"name": "a", "name": "b", "slots": []})", "dup.json");
    FAIL() << "accepted";
  } catch (const profile_error& e) {
    EXPECT_STREQ(e.what(), "profile dup.json: duplicate key 'name'");
  }
}

TEST(Profile, MalformedJsonIsAProfileError) {
  try {
    parse_profile(R"({"name": "a",)", "broken.json");
    FAIL() << "accepted";
  } catch (const profile_error& e) {
    EXPECT_NE(std::string(e.what()).find("profile broken.json: malformed JSON"), std::string::npos)
        << e.what();
  }
}

TEST(Profile, ValidNames) {
  EXPECT_TRUE(valid_profile_name("wtc-rtu"));
  EXPECT_TRUE(valid_profile_name("acme.pump_2"));
  EXPECT_FALSE(valid_profile_name(""));
  EXPECT_FALSE(valid_profile_name("-rtu"));
  EXPECT_FALSE(valid_profile_name("../etc"));
  EXPECT_FALSE(valid_profile_name("Big"));
  EXPECT_FALSE(valid_profile_name(std::string(65, 'a')));
}

TEST(Profile, ThePymodbusPeerProfileLoads) {
  const auto p = load_profile_file(WTC_PEERS_DIR "/pymodbus_device.json");
  EXPECT_EQ(p.name, "pymodbus-device");
  EXPECT_EQ(p.slots.size(), 5U);
}

TEST(Profile, AMissingFileIsAProfileError) {
  EXPECT_THROW(load_profile_file("/nonexistent/x.json"), profile_error);
}

/// A fresh directory for profile files, removed afterwards.
class ProfileLibrary : public testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/wtc-profiles-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write(const std::string& file, const std::string& text) {
    std::ofstream(dir_ + "/" + file) << text;
  }

  std::string library_error() {
    try {
      profile_library library(dir_);
    } catch (const profile_error& e) {
      return e.what();
    }
    return "";
  }

  std::string dir_;
};

TEST_F(ProfileLibrary, BuiltInsWithoutADirectory) {
  profile_library library;
  EXPECT_TRUE(library.contains("wtc-rtu"));
  EXPECT_EQ(library.get("wtc-rtu")->name, "wtc-rtu");
  EXPECT_EQ(library.names(), std::vector<std::string>{"wtc-rtu"});
}

TEST_F(ProfileLibrary, AnUnknownNameListsTheKnownOnes) {
  profile_library library;
  try {
    library.get("acme");
    FAIL() << "found";
  } catch (const profile_error& e) {
    EXPECT_STREQ(e.what(), "unknown profile 'acme'; known: wtc-rtu");
  }
}

TEST_F(ProfileLibrary, LoadsTheDirectorysFiles) {
  auto doc = static_profile();
  write("test-device.json", doc.dump());
  write("notes.txt", "not a profile");
  profile_library library(dir_);
  EXPECT_EQ(library.names(), (std::vector<std::string>{"test-device", "wtc-rtu"}));
  EXPECT_EQ(library.get("test-device")->slots.size(), 4U);
}

TEST_F(ProfileLibrary, AFileMustBeNamedAfterItsProfile) {
  write("other.json", static_profile().dump());
  EXPECT_NE(library_error().find("declares the name 'test-device'; the file must be called "
                                 "test-device.json"),
            std::string::npos)
      << library_error();
}

TEST_F(ProfileLibrary, ABuiltInNameCannotBeTaken) {
  auto doc = static_profile();
  doc["name"] = "wtc-rtu";
  write("wtc-rtu.json", doc.dump());
  EXPECT_NE(library_error().find("the name 'wtc-rtu' belongs to a built-in profile"),
            std::string::npos)
      << library_error();
}

TEST_F(ProfileLibrary, ABadFileStopsLoadingAndIsNamed) {
  auto doc = static_profile();
  point(doc, 0)["value"]["area"] = "register";
  write("test-device.json", doc.dump());
  EXPECT_EQ(library_error(), "profile " + dir_ +
                                 "/test-device.json: slots[0].points[0].value.area: unknown area "
                                 "'register'; known: coil, discrete_input, input_register, "
                                 "holding_register");
}

TEST_F(ProfileLibrary, AMissingDirectoryIsAnError) {
  EXPECT_THROW(profile_library(dir_ + "/nope"), profile_error);
}

}  // namespace
}  // namespace wtc::field
