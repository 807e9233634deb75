#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "field/make_driver.hpp"
#include "field/modbus_tcp_driver.hpp"
#include "field/profile_library.hpp"
#include "peer_servers.hpp"

namespace wtc::field {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

endpoint loopback(std::uint16_t port, std::chrono::milliseconds response_timeout = 1000ms) {
  endpoint e;
  e.host = "127.0.0.1";
  e.port = port;
  e.unit_id = 1;
  e.connect_timeout = 1000ms;
  e.response_timeout = response_timeout;
  return e;
}

/// A float32 as the WTC RTU puts it on the wire: high word first. (Not libmodbus's
/// modbus_set_float_abcd: in 3.1.6 its word order depends on the host's byte order.)
void put_float(modbus_mapping_t& m, int address, float value) {
  std::uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  m.tab_input_registers[address] = static_cast<std::uint16_t>(bits >> 16);
  m.tab_input_registers[address + 1] = static_cast<std::uint16_t>(bits & 0xFFFF);
}

/// A WTC RTU as docs/register-map.md describes it: four slots, an AI measuring level, an AI
/// measuring pH, a DO driving a pump and a PWM output driving a dosing pump.
class WtcRtu : public testing::Test {
 protected:
  void SetUp() override {
    server_.with_mapping([](modbus_mapping_t& m) {
      auto* ir = m.tab_input_registers;
      ir[0] = 0x002A;
      ir[1] = 0x0405;
      ir[2] = 1;
      ir[3] = 2;
      ir[4] = 0;
      ir[5] = 4;
      ir[6] = 500;
      const std::uint16_t modules[] = {1, 1, 2, 3};
      const std::uint16_t signals[] = {1, 3, 1, 3};
      for (int s = 0; s < 4; ++s) {
        ir[16 + s] = modules[s];
        ir[48 + s] = signals[s];
      }
      put_float(m, 100, 12.0F);  // level: 12 mA
      ir[102] = 0x00;
      ir[103] = 0;
      put_float(m, 104, 3.2F);  // pH: 3.2 mA, a broken loop
      ir[106] = 0x80;
      ir[107] = 0b010;          // forced
      put_float(m, 108, 0.0F);  // pump: off, interlocked
      ir[110] = 0x00;
      ir[111] = 0b001;
      put_float(m, 112, 25.0F);  // dosing pump at 25 %, running, uncertain
      ir[114] = 0x40;
      ir[115] = 0b100;
      auto* hr = m.tab_registers;
      hr[104] = 0;  // pump OFF
      hr[106] = 2;  // dosing pump PWM 25 %
      hr[107] = 2500;
    });
  }

  std::uint16_t holding(int address) {
    std::uint16_t value = 0;
    server_.with_mapping([&](modbus_mapping_t& m) { value = m.tab_registers[address]; });
    return value;
  }

  std::unique_ptr<field_driver> connected_driver() {
    auto driver = make_driver(*profile_library().get("wtc-rtu"));
    driver->connect(loopback(server_.port()));
    return driver;
  }

  test::libmodbus_server server_;
};

TEST_F(WtcRtu, DiscoverFindsTheSlotsAndIdentification) {
  auto driver = connected_driver();
  EXPECT_TRUE(driver->health().connected);
  const auto d = driver->discover();
  EXPECT_EQ(d.vendor_id, 0x002A);
  EXPECT_EQ(d.device_id, 0x0405);
  EXPECT_EQ(d.firmware_version, "1.2.0");
  EXPECT_EQ(d.slot_count, 4);
  ASSERT_EQ(d.slots.size(), 4U);
  EXPECT_EQ(d.slots[0].module_type, "AI");
  EXPECT_EQ(d.slots[0].points.at(0).sensor_type, "level");
  EXPECT_EQ(d.slots[0].points.at(0).unit, "m");
  EXPECT_EQ(d.slots[0].points.at(0).eng_max, 5.0);
  EXPECT_EQ(d.slots[1].points.at(0).sensor_type, "pH");
  EXPECT_EQ(d.slots[2].module_type, "DO");
  EXPECT_EQ(d.slots[2].points.at(0).equipment_type, "pump");
  EXPECT_EQ(d.slots[2].points.at(0).control_type, "discrete");
  EXPECT_EQ(d.slots[3].module_type, "PWM");
  EXPECT_EQ(d.slots[3].points.at(0).equipment_type, "dosing_pump");
  EXPECT_EQ(d.slots[3].points.at(0).control_type, "analog");
}

TEST_F(WtcRtu, ReadCycleDecodesValuesQualityAndFlags) {
  auto driver = connected_driver();
  driver->discover();
  const auto cycle = driver->read_cycle();
  EXPECT_TRUE(cycle.heartbeat_valid);
  EXPECT_EQ(cycle.heartbeat, 500);
  ASSERT_EQ(cycle.points.size(), 4U);

  EXPECT_EQ(cycle.points[0].raw, 12.0);
  EXPECT_EQ(cycle.points[0].quality_code, 0x00);

  EXPECT_FLOAT_EQ(static_cast<float>(cycle.points[1].raw), 3.2F);
  EXPECT_EQ(cycle.points[1].quality_code, 0x80);
  EXPECT_TRUE(cycle.points[1].forced);

  const auto& pump = cycle.points[2];
  EXPECT_FALSE(pump.is_sensor);
  EXPECT_TRUE(pump.interlocked);
  EXPECT_FALSE(pump.running);
  EXPECT_EQ(pump.command, command_kind::off);

  const auto& dosing = cycle.points[3];
  EXPECT_EQ(dosing.raw, 25.0);
  EXPECT_EQ(dosing.quality_code, 0x40);
  EXPECT_TRUE(dosing.running);
  EXPECT_EQ(dosing.command, command_kind::pwm);
  EXPECT_DOUBLE_EQ(dosing.pwm_duty, 25.0);

  // The heartbeat moves with the RTU's scans.
  server_.with_mapping([](modbus_mapping_t& m) { m.tab_input_registers[6] = 501; });
  EXPECT_EQ(driver->read_cycle().heartbeat, 501);

  const auto health = driver->health();
  EXPECT_EQ(health.failures, 0U);
  EXPECT_GE(health.requests, 6U);  // discovery 1 + trial cycle 3 + two cycles of 3
  EXPECT_GT(health.last_round_trip_ms, 0.0);
}

TEST_F(WtcRtu, WriteCommandWritesCommandAndDutyRegisters) {
  auto driver = connected_driver();
  driver->discover();
  driver->write_command({3, command_kind::on, 0.0});
  EXPECT_EQ(holding(104), 1);
  driver->write_command({4, command_kind::pwm, 42.5});
  EXPECT_EQ(holding(106), 2);
  EXPECT_EQ(holding(107), 4250);
  driver->write_command({4, command_kind::off, 0.0});
  EXPECT_EQ(holding(106), 0);
  EXPECT_EQ(holding(107), 4250);  // OFF leaves the duty for the next ON

  const auto cycle = driver->read_cycle();
  EXPECT_EQ(cycle.points[2].command, command_kind::on);
  EXPECT_EQ(cycle.points[3].command, command_kind::off);
  EXPECT_DOUBLE_EQ(cycle.points[3].pwm_duty, 42.5);
}

TEST_F(WtcRtu, ACommandTheSlotCannotTakeTouchesNothing) {
  auto driver = connected_driver();
  driver->discover();
  const auto requests = driver->health().requests;
  try {
    driver->write_command({3, command_kind::pwm, 50.0});
    FAIL() << "accepted";
  } catch (const field_error& e) {
    EXPECT_EQ(e.kind(), failure::config);
  }
  EXPECT_EQ(driver->health().requests, requests);
  EXPECT_TRUE(driver->health().connected);
  EXPECT_EQ(holding(104), 0);
}

TEST_F(WtcRtu, MoreSlotsThanTheProfileMapsIsAConfigFailure) {
  server_.with_mapping([](modbus_mapping_t& m) { m.tab_input_registers[5] = 40; });
  auto driver = connected_driver();
  try {
    driver->discover();
    FAIL() << "accepted";
  } catch (const field_error& e) {
    EXPECT_EQ(e.kind(), failure::config);
    EXPECT_NE(std::string(e.what()).find("reports 40 slots; profile 'wtc-rtu' maps at most 32"),
              std::string::npos)
        << e.what();
  }
  // The link is fine; the device and the profile disagree.
  EXPECT_TRUE(driver->health().connected);
  EXPECT_THROW(driver->read_cycle(), field_error);
}

TEST_F(WtcRtu, AnExceptionKeepsTheConnection) {
  // A profile mapping a register beyond the server's 300.
  const auto p = parse_profile(R"({
    "name": "too-far",
    "slots": [ { "slot": 1, "module_type": "AI", "points": [
      { "kind": "sensor", "sensor_type": "level", "unit": "m",
        "value": { "area": "input_register", "address": 400 } } ] } ]
  })",
                               "test");
  auto driver = make_driver(p);
  driver->connect(loopback(server_.port()));
  try {
    driver->discover();
    FAIL() << "accepted";
  } catch (const field_error& e) {
    EXPECT_EQ(e.kind(), failure::exception);
    EXPECT_NE(std::string(e.what()).find("exception 0x02 (illegal data address)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(driver->health().connected);
  EXPECT_EQ(driver->health().failures, 1U);
  EXPECT_NE(driver->health().last_error.find("read input registers 400"), std::string::npos);
}

TEST_F(WtcRtu, ADroppedConnectionIsClosedAndAReconnectWorks) {
  auto driver = connected_driver();
  driver->discover();
  server_.drop_client();
  try {
    driver->read_cycle();
    FAIL() << "accepted";
  } catch (const field_error& e) {
    EXPECT_EQ(e.kind(), failure::closed) << e.what();
  }
  EXPECT_FALSE(driver->health().connected);
  driver->connect(loopback(server_.port()));
  driver->discover();
  EXPECT_EQ(driver->read_cycle().points.size(), 4U);
}

TEST(ModbusTcpDriver, CallsBeforeConnectOrDiscoverFailCleanly) {
  auto driver = make_driver(*profile_library().get("wtc-rtu"));
  EXPECT_FALSE(driver->health().connected);
  try {
    driver->discover();
    FAIL() << "accepted";
  } catch (const field_error& e) {
    EXPECT_EQ(e.kind(), failure::closed);
  }
  EXPECT_THROW(driver->read_cycle(), field_error);
  EXPECT_THROW(driver->write_command({1, command_kind::on, 0.0}), field_error);
}

TEST(ModbusTcpDriver, RefusedConnectionIsAConnectFailure) {
  auto driver = make_driver(*profile_library().get("wtc-rtu"));
  try {
    driver->connect(loopback(test::closed_port()));
    FAIL() << "connected";
  } catch (const field_error& e) {
    EXPECT_EQ(e.kind(), failure::connect);
    EXPECT_NE(std::string(e.what()).find("cannot connect to 127.0.0.1:"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(driver->health().connected);
  EXPECT_EQ(driver->health().failures, 1U);
}

TEST(ModbusTcpDriver, AnUnansweredConnectGivesUpAfterTheConnectTimeout) {
  test::unanswered_listener listener;
  auto driver = make_driver(*profile_library().get("wtc-rtu"));
  auto e = loopback(listener.port(), 10'000ms);
  e.connect_timeout = 200ms;
  const auto started = clock_type::now();
  try {
    driver->connect(e);
    FAIL() << "connected";
  } catch (const field_error& error) {
    EXPECT_EQ(error.kind(), failure::connect);
    EXPECT_NE(std::string(error.what()).find("no answer within 200 ms"), std::string::npos)
        << error.what();
  }
  // The connect timeout, not the (much longer) response timeout.
  const auto elapsed = clock_type::now() - started;
  EXPECT_GE(elapsed, 190ms);
  EXPECT_LT(elapsed, 900ms);
  EXPECT_FALSE(driver->health().connected);
}

TEST(ModbusTcpDriver, BadEndpointsAreConfigFailures) {
  auto driver = make_driver(*profile_library().get("wtc-rtu"));
  auto e = loopback(502);
  e.unit_id = 256;
  EXPECT_THROW(driver->connect(e), field_error);
  e.unit_id = 1;
  e.host.clear();
  EXPECT_THROW(driver->connect(e), field_error);
}

TEST(ModbusTcpDriver, ErrnoClassification) {
  EXPECT_EQ(classify_errno(ETIMEDOUT), failure::timeout);
  EXPECT_EQ(classify_errno(EMBXILADD), failure::exception);
  EXPECT_EQ(classify_errno(EMBXGTAR), failure::exception);
  EXPECT_EQ(classify_errno(EMBBADDATA), failure::protocol);
  EXPECT_EQ(classify_errno(EMBBADSLAVE), failure::protocol);
  EXPECT_EQ(classify_errno(EMBMDATA), failure::protocol);
  EXPECT_EQ(classify_errno(ECONNRESET), failure::closed);
  EXPECT_EQ(classify_errno(EPIPE), failure::closed);
  EXPECT_EQ(classify_errno(ECONNREFUSED), failure::connect);
}

/// A static profile reading one holding register: the scripted peer answers those.
profile one_register() {
  return parse_profile(R"({
    "name": "one-register",
    "slots": [ { "slot": 1, "module_type": "AI", "points": [
      { "kind": "sensor", "sensor_type": "level", "unit": "m",
        "value": { "area": "holding_register", "address": 0 } } ] } ]
  })",
                       "test");
}

struct misbehaviour_case {
  const char* name;
  test::misbehaviour how;
  failure expected;
  const char* expected_text;
};

class MisbehavingPeer : public testing::TestWithParam<misbehaviour_case> {};

TEST_P(MisbehavingPeer, FailsWithTheRightKindWithinTheTimeout) {
  constexpr auto response_timeout = 300ms;
  test::scripted_peer peer(GetParam().how, 1);  // the trial cycle of discover() goes well
  auto driver = make_driver(one_register());
  driver->connect(loopback(peer.port(), response_timeout));
  driver->discover();

  const auto started = clock_type::now();
  try {
    driver->read_cycle();
    FAIL() << "the cycle succeeded";
  } catch (const field_error& e) {
    EXPECT_EQ(e.kind(), GetParam().expected) << e.what();
    EXPECT_NE(std::string(e.what()).find(GetParam().expected_text), std::string::npos) << e.what();
  }
  const auto elapsed = clock_type::now() - started;
  // Within the response timeout, and a margin for a loaded machine under the sanitizers.
  EXPECT_LT(elapsed, response_timeout + 700ms);

  const auto health = driver->health();
  EXPECT_EQ(health.failures, 1U);
  EXPECT_FALSE(health.last_error.empty());
  // Only an exception leaves the link trusted; anything else drops it for a reconnect.
  EXPECT_EQ(health.connected, GetParam().expected == failure::exception);
  if (!health.connected) {
    try {
      driver->read_cycle();
      FAIL() << "read on a dropped connection";
    } catch (const field_error& e) {
      EXPECT_EQ(e.kind(), failure::closed);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Peers, MisbehavingPeer,
    testing::Values(misbehaviour_case{"Garbage", test::misbehaviour::garbage, failure::protocol,
                                      "transaction id 43690"},
                    misbehaviour_case{"ShortData", test::misbehaviour::short_data,
                                      failure::protocol, "0 data bytes, expected 2"},
                    misbehaviour_case{"Truncated", test::misbehaviour::truncated, failure::timeout,
                                      "no complete reply to read holding registers 0 of unit 1"},
                    misbehaviour_case{"WrongUnit", test::misbehaviour::wrong_unit,
                                      failure::protocol, "it comes from unit 2"},
                    misbehaviour_case{"WrongTransaction", test::misbehaviour::wrong_transaction,
                                      failure::protocol, "transaction id 1, expected 0"},
                    misbehaviour_case{"Exception", test::misbehaviour::exception_reply,
                                      failure::exception, "exception 0x02 (illegal data address)"},
                    misbehaviour_case{"Oversized", test::misbehaviour::oversized, failure::protocol,
                                      "read holding registers 0 of unit 1"},
                    misbehaviour_case{"Silent", test::misbehaviour::silent, failure::timeout,
                                      "within 300 ms"},
                    misbehaviour_case{"Close", test::misbehaviour::close, failure::closed,
                                      "no reply to read holding registers 0 of unit 1"}),
    [](const testing::TestParamInfo<misbehaviour_case>& param) { return param.param.name; });

}  // namespace
}  // namespace wtc::field
