#include "sim/control_protocol.hpp"

#include <gtest/gtest.h>

#include <string>

#include "sim/simulator_config.hpp"

namespace wtc::sim {
namespace {

using verb = control_request::verb;

control_request parse_ok(const std::string& line) {
  const auto parsed = parse_control_line(line);
  EXPECT_TRUE(parsed.request) << line << ": " << parsed.error;
  return parsed.request.value_or(control_request{});
}

std::string parse_error(const std::string& line) {
  const auto parsed = parse_control_line(line);
  EXPECT_FALSE(parsed.request) << line;
  return parsed.error;
}

TEST(ControlProtocol, ParsesFaultForOneOrAllRtus) {
  auto req = parse_ok("fault 3 freeze");
  EXPECT_EQ(req.action, verb::fault);
  EXPECT_EQ(req.rtu, 3);
  EXPECT_EQ(req.fault, fault_mode::freeze);

  req = parse_ok("  fault   all   short \t");
  EXPECT_FALSE(req.rtu);
  EXPECT_EQ(req.fault, fault_mode::short_reply);

  EXPECT_NE(parse_error("fault 0 melt").find("unknown fault mode 'melt'"), std::string::npos);
  EXPECT_NE(parse_error("fault x none").find("usage"), std::string::npos);
  EXPECT_NE(parse_error("fault 0").find("usage"), std::string::npos);
}

TEST(ControlProtocol, ParsesForceUnforceAndSetLevel) {
  auto req = parse_ok("force 1 5 7.25");
  EXPECT_EQ(req.action, verb::force);
  EXPECT_EQ(req.rtu, 1);
  EXPECT_EQ(req.slot, 5);
  EXPECT_DOUBLE_EQ(req.value, 7.25);
  EXPECT_DOUBLE_EQ(parse_ok("force 0 9 on").value, 1.0);
  EXPECT_DOUBLE_EQ(parse_ok("force 0 9 off").value, 0.0);

  req = parse_ok("unforce 0 9");
  EXPECT_EQ(req.action, verb::unforce);
  EXPECT_EQ(req.slot, 9);

  req = parse_ok("set 2 level 1 0.1");
  EXPECT_EQ(req.action, verb::set_level);
  EXPECT_EQ(req.rtu, 2);
  EXPECT_EQ(req.slot, 1);
  EXPECT_DOUBLE_EQ(req.value, 0.1);

  for (const char* bad : {"force 0 5", "force 0 5 nan", "force 0 5 1x", "force a 5 1", "unforce 0",
                          "set 0 flow 1 2", "set 0 level 1 on", "set 0 level 1"})
    EXPECT_NE(parse_error(bad).find("usage"), std::string::npos) << bad;
}

TEST(ControlProtocol, ParsesStatusHelpAndQuit) {
  EXPECT_EQ(parse_ok("status").action, verb::status);
  EXPECT_FALSE(parse_ok("status").rtu);
  EXPECT_EQ(parse_ok("status 4").rtu, 4);
  EXPECT_EQ(parse_ok("help").action, verb::help);
  EXPECT_EQ(parse_ok("quit").action, verb::quit);
  EXPECT_NE(parse_error("help me").find("usage"), std::string::npos);
  EXPECT_NE(parse_error("status 1 2").find("usage"), std::string::npos);
}

TEST(ControlProtocol, RefusesEmptyUnknownAndOverlongLines) {
  EXPECT_NE(parse_error("").find("empty"), std::string::npos);
  EXPECT_NE(parse_error("   ").find("empty"), std::string::npos);
  EXPECT_NE(parse_error("reboot").find("unknown command 'reboot'"), std::string::npos);
  EXPECT_EQ(parse_error("status " + std::string(300, ' ')), "line too long");
}

TEST(ControlProtocol, HelpNamesEveryCommandAndMode) {
  const auto help = control_help();
  for (const char* word : {"status", "fault", "force", "unforce", "set", "quit", "out_of_range",
                           "wrong_unit", "exception"})
    EXPECT_NE(help.find(word), std::string::npos) << word;
}

TEST(FaultMode, NamesRoundTrip) {
  for (auto mode : {fault_mode::none, fault_mode::drop, fault_mode::freeze,
                    fault_mode::out_of_range, fault_mode::bad_quality, fault_mode::garbage,
                    fault_mode::short_reply, fault_mode::wrong_unit, fault_mode::exception}) {
    const auto parsed = parse_fault_mode(to_string(mode));
    ASSERT_TRUE(parsed) << to_string(mode);
    EXPECT_EQ(*parsed, mode);
  }
  EXPECT_EQ(to_string(fault_mode::short_reply), "short");
  EXPECT_FALSE(parse_fault_mode("FREEZE"));
  EXPECT_FALSE(parse_fault_mode(""));
}

TEST(SimulatorConfig, ValidatesEveryField) {
  simulator_config cfg;
  EXPECT_EQ(validate(cfg), "");
  auto broken = [&](auto change) {
    simulator_config c = cfg;
    change(c);
    return validate(c);
  };
  EXPECT_NE(broken([](auto& c) { c.bind_address = "localhost"; }), "");
  EXPECT_NE(broken([](auto& c) { c.bind_address = "300.1.1.1"; }), "");
  EXPECT_EQ(broken([](auto& c) { c.bind_address = "0.0.0.0"; }), "");
  EXPECT_NE(broken([](auto& c) { c.rtu_count = 0; }), "");
  EXPECT_NE(broken([](auto& c) { c.rtu_count = max_rtu_count + 1; }), "");
  EXPECT_NE(broken([](auto& c) {
              c.base_port = 65535;
              c.rtu_count = 2;
            }),
            "");
  EXPECT_EQ(broken([](auto& c) {
              c.base_port = 0;
              c.rtu_count = 500;
            }),
            "");
  EXPECT_NE(broken([](auto& c) { c.scan_period = std::chrono::milliseconds(5); }), "");
  EXPECT_NE(broken([](auto& c) { c.scan_period = std::chrono::milliseconds(60'001); }), "");
  EXPECT_NE(broken([](auto& c) { c.unit_id = 0; }), "");
}

}  // namespace
}  // namespace wtc::sim
