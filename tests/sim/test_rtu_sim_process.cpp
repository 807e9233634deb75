// The wtc-rtu-sim binary as a user runs it: flags, the ports it prints, Debian's mbpoll as a
// third-party Modbus master, the control channel over TCP, and a clean stop on a signal.

#include <modbus/modbus.h>
#include <signal.h>

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>

#include "sim/plant_model.hpp"
#include "sim/register_layout.hpp"
#include "sim_support.hpp"

#ifndef WTC_RTU_SIM_PATH
#error "WTC_RTU_SIM_PATH must name the wtc-rtu-sim binary"
#endif

namespace wtc::sim {
namespace {

using namespace test;

std::unique_ptr<sim_process> start_sim(std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--port", "0", "--scan-ms", "20"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto process = std::make_unique<sim_process>(WTC_RTU_SIM_PATH, args);
  EXPECT_TRUE(process->started());
  return process;
}

/// mbpoll against one port, once, with zero-based addresses; writes `values` when given.
program_result mbpoll(std::uint16_t port, const std::vector<std::string>& options,
                      const std::vector<std::string>& values = {}, int unit_id = 1) {
  std::vector<std::string> argv{
      "mbpoll", "-m", "tcp", "-p", std::to_string(port), "-a", std::to_string(unit_id),
      "-0",     "-1", "-o",  "2"};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back("127.0.0.1");
  argv.insert(argv.end(), values.begin(), values.end());
  return run_program(argv);
}

/// mbpoll's "[address]: value" lines.
std::map<int, std::string> mbpoll_values(const std::string& output) {
  std::map<int, std::string> values;
  const std::regex line(R"(\[(\d+)\]:\s+(\S+))");
  for (std::sregex_iterator it(output.begin(), output.end(), line), end; it != end; ++it)
    values[std::stoi((*it)[1].str())] = (*it)[2].str();
  return values;
}

TEST(RtuSimProcess, MbpollReadsTheIdentification) {
  auto sim = start_sim();
  ASSERT_EQ(sim->ports().size(), 1U);
  const auto result = mbpoll(sim->ports()[0], {"-t", "3:hex", "-r", "0", "-c", "8"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto values = mbpoll_values(result.output);
  EXPECT_EQ(values.at(0), "0x002A");
  EXPECT_EQ(values.at(1), "0x0405");
  EXPECT_EQ(values.at(2), "0x0001");
  EXPECT_EQ(values.at(3), "0x0002");
  EXPECT_EQ(values.at(4), "0x0000");
  EXPECT_EQ(values.at(5), "0x0010");
}

TEST(RtuSimProcess, MbpollReadsAFloatHighWordFirst) {
  auto sim = start_sim();
  // Slot 1, the raw-water tank at about 2.5 m of 5: about 12 mA.
  const auto result = mbpoll(sim->ports()[0], {"-t", "3:float", "-B", "-r", "100", "-c", "1"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const double ma = std::stod(mbpoll_values(result.output).at(100));
  EXPECT_NEAR(ma, 12.0, 0.5);
}

TEST(RtuSimProcess, MbpollWritesACommandAndReadsItBack) {
  auto sim = start_sim();
  const auto port = sim->ports()[0];
  // Slot 11, the pH dosing pump: PWM at 50.00 %.
  auto result = mbpoll(port, {"-t", "4", "-r", "120"}, {"2", "5000"});
  ASSERT_EQ(result.exit_code, 0) << result.output;

  result = mbpoll(port, {"-t", "4", "-r", "120", "-c", "2"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  auto values = mbpoll_values(result.output);
  EXPECT_EQ(values.at(120), "2");
  EXPECT_EQ(values.at(121), "5000");

  result = mbpoll(port, {"-t", "3:float", "-B", "-r", "140", "-c", "1"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_DOUBLE_EQ(std::stod(mbpoll_values(result.output).at(140)), 50.0);

  result = mbpoll(port, {"-t", "4", "-r", "116"}, {"7"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("Illegal data value"), std::string::npos) << result.output;
}

TEST(RtuSimProcess, UnitIdFlagAndTheGatewayExceptionForOthers) {
  auto sim = start_sim({"--unit-id", "7"});
  const auto port = sim->ports()[0];
  auto result = mbpoll(port, {"-t", "3", "-r", "5", "-c", "1"}, {}, 7);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(mbpoll_values(result.output).at(5), "16");
  result = mbpoll(port, {"-t", "3", "-r", "5", "-c", "1"}, {}, 1);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("Target device failed to respond"), std::string::npos)
      << result.output;
}

TEST(RtuSimProcess, FaultModesThroughTheControlChannel) {
  auto sim = start_sim({"--control-port", "auto"});
  ASSERT_TRUE(sim->control_port());
  const auto port = sim->ports()[0];
  control_client control(*sim->control_port());
  ASSERT_TRUE(control.connected());

  EXPECT_EQ(control.command("fault 0 freeze"), "ok fault 0 freeze");
  {
    modbus_client client(port, 1, 300ms);
    ASSERT_TRUE(client.connect());
    EXPECT_FALSE(client.read_input(0, 8));
    EXPECT_EQ(client.last_error(), ETIMEDOUT);
  }

  EXPECT_EQ(control.command("fault 0 drop"), "ok fault 0 drop");
  {
    modbus_client client(port);
    EXPECT_FALSE(client.connect());
    EXPECT_EQ(client.last_error(), ECONNREFUSED);
  }

  EXPECT_EQ(control.command("fault 0 exception"), "ok fault 0 exception");
  {
    modbus_client client(port);
    ASSERT_TRUE(client.connect()) << modbus_strerror(client.last_error());
    EXPECT_FALSE(client.read_input(0, 8));
    EXPECT_EQ(client.last_error(), EMBXSFAIL);
  }

  EXPECT_EQ(control.command("fault 0 out_of_range"), "ok fault 0 out_of_range");
  {
    modbus_client client(port);
    ASSERT_TRUE(client.connect());
    const auto ma = client.read_input_float(reg::slot_data_address(slot::ph));
    ASSERT_TRUE(ma);
    EXPECT_GT(*ma, 20.5F);
  }

  EXPECT_EQ(control.command("fault 0 none"), "ok fault 0 none");
  modbus_client client(port);
  ASSERT_TRUE(client.connect());
  const auto ma = client.read_input_float(reg::slot_data_address(slot::ph));
  ASSERT_TRUE(ma);
  EXPECT_LE(*ma, 20.0F);
  EXPECT_EQ(control.command("fault 0 melt").rfind("error unknown fault mode", 0), 0U);
}

TEST(RtuSimProcess, InitialFaultFlag) {
  auto sim = start_sim({"--fault", "exception"});
  modbus_client client(sim->ports()[0]);
  ASSERT_TRUE(client.connect());
  EXPECT_FALSE(client.read_input(0, 8));
  EXPECT_EQ(client.last_error(), EMBXSFAIL);
}

TEST(RtuSimProcess, TwentyRtusInOneProcessEachAnswerOnTheirPort) {
  auto sim = start_sim({"--count", "20", "--seed", "42"});
  ASSERT_EQ(sim->ports().size(), 20U);
  std::set<std::uint32_t> ph_readings;
  for (auto port : sim->ports()) {
    SCOPED_TRACE(port);
    modbus_client client(port);
    ASSERT_TRUE(client.connect()) << modbus_strerror(client.last_error());
    const auto id = client.read_input(0, 8);
    ASSERT_TRUE(id);
    EXPECT_EQ((*id)[0], 0x002A);
    EXPECT_EQ((*id)[5], 16);
    const auto ph = client.read_input(reg::slot_data_address(slot::ph), 2);
    ASSERT_TRUE(ph);
    ph_readings.insert((static_cast<std::uint32_t>((*ph)[0]) << 16) | (*ph)[1]);
  }
  EXPECT_GT(ph_readings.size(), 15U) << "each RTU has its own seed, so its own noise";
}

TEST(RtuSimProcess, FirmwareFlagShowsInTheIdentification) {
  auto sim = start_sim({"--firmware", "2.10.3"});
  modbus_client client(sim->ports()[0]);
  ASSERT_TRUE(client.connect());
  EXPECT_EQ(client.read_input(reg::firmware_major, 3), (std::vector<std::uint16_t>{2, 10, 3}));
}

TEST(RtuSimProcess, StopsCleanlyOnSigtermAndSigint) {
  for (int signal : {SIGTERM, SIGINT}) {
    SCOPED_TRACE(signal);
    auto sim = start_sim({"--count", "3", "--control-port", "auto"});
    modbus_client client(sim->ports()[0]);
    ASSERT_TRUE(client.connect());
    control_client control(*sim->control_port());
    EXPECT_EQ(sim->stop(signal), 0);
    EXPECT_NE(sim->log().find("stopped"), std::string::npos);
  }
}

TEST(RtuSimProcess, RefusesBadFlags) {
  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{{"--firmware", "1.2"},
                                             {"--count", "0"},
                                             {"--fault", "melt"},
                                             {"--bind", "localhost"},
                                             {"--control-port", "abc"},
                                             {"--scan-ms", "1"},
                                             {"--unit-id", "0"},
                                             {"--log-level", "loud"},
                                             {"--no-such-flag"}}) {
    std::vector<std::string> argv{WTC_RTU_SIM_PATH, "--port", "0"};
    argv.insert(argv.end(), bad.begin(), bad.end());
    const auto result = run_program(argv);
    EXPECT_FALSE(result.timed_out) << bad[0];
    EXPECT_NE(result.exit_code, 0) << bad[0] << ": " << result.output;
    EXPECT_EQ(result.output.find("listening"), std::string::npos) << bad[0];
  }
}

}  // namespace
}  // namespace wtc::sim
