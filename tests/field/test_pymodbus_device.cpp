#include <gtest/gtest.h>

#include <modbus/modbus.h>

#include <chrono>
#include <memory>
#include <string>

#include "field/make_driver.hpp"
#include "field/profile.hpp"
#include "peer_servers.hpp"

namespace wtc::field {
namespace {

using namespace std::chrono_literals;

/// The third-party device of tests/peers, a pymodbus server with a register map of its own,
/// driven through the profile file that describes it.
class PymodbusDevice : public testing::Test {
 protected:
  void SetUp() override {
    device_ = std::make_unique<test::child_process>(std::vector<std::string>{
        "/usr/bin/python3", WTC_PEERS_DIR "/pymodbus_device.py", "--port", "0"});
    const auto ready = device_->read_line(20'000);
    const std::string prefix = "READY port=";
    ASSERT_EQ(ready.rfind(prefix, 0), 0U) << "the device did not start: '" << ready << "'";
    port_ = static_cast<std::uint16_t>(std::stoi(ready.substr(prefix.size())));
    driver_ = make_driver(load_profile_file(WTC_PEERS_DIR "/pymodbus_device.json"));
  }

  endpoint where(int unit = 1) const {
    endpoint e;
    e.host = "127.0.0.1";
    e.port = port_;
    e.unit_id = unit;
    e.response_timeout = 2000ms;
    return e;
  }

  /// Reads the device directly with libmodbus, independently of the driver's decoding.
  std::uint16_t holding_register(int address) const {
    auto* ctx = modbus_new_tcp("127.0.0.1", port_);
    modbus_set_slave(ctx, 1);
    std::uint16_t value = 0;
    const bool ok = modbus_connect(ctx) == 0 && modbus_read_registers(ctx, address, 1, &value) == 1;
    modbus_close(ctx);
    modbus_free(ctx);
    EXPECT_TRUE(ok) << "direct read of holding register " << address;
    return value;
  }

  bool coil(int address) const {
    auto* ctx = modbus_new_tcp("127.0.0.1", port_);
    modbus_set_slave(ctx, 1);
    std::uint8_t value = 0;
    const bool ok = modbus_connect(ctx) == 0 && modbus_read_bits(ctx, address, 1, &value) == 1;
    modbus_close(ctx);
    modbus_free(ctx);
    EXPECT_TRUE(ok) << "direct read of coil " << address;
    return value != 0;
  }

  std::unique_ptr<test::child_process> device_;
  std::uint16_t port_ = 0;
  std::unique_ptr<field_driver> driver_;
};

TEST_F(PymodbusDevice, DiscoverDescribesTheSlotsOfTheProfile) {
  driver_->connect(where());
  const auto d = driver_->discover();
  EXPECT_EQ(d.vendor_id, 0x1234);
  EXPECT_EQ(d.device_id, 0x0042);
  EXPECT_EQ(d.firmware_version, "2.7");
  EXPECT_EQ(d.slot_count, 5);
  ASSERT_EQ(d.slots.size(), 5U);
  EXPECT_EQ(d.slots[0].points.at(0).sensor_type, "level");
  EXPECT_EQ(d.slots[1].points.at(0).unit, "m3/h");
  EXPECT_EQ(d.slots[2].points.at(0).scale_min, -20.0);
  EXPECT_EQ(d.slots[3].module_type, "DO");
  EXPECT_EQ(d.slots[3].module_code, 2);
  EXPECT_EQ(d.slots[3].points.at(0).equipment_type, "pump");
  EXPECT_EQ(d.slots[4].points.at(0).control_type, "analog");
  EXPECT_EQ(d.slots[4].points.at(0).equipment_type, "valve");
}

TEST_F(PymodbusDevice, ReadCycleDecodesTheDevicesOwnFormats) {
  driver_->connect(where());
  driver_->discover();
  const auto cycle = driver_->read_cycle();
  EXPECT_FALSE(cycle.heartbeat_valid);
  ASSERT_EQ(cycle.points.size(), 5U);
  EXPECT_DOUBLE_EQ(cycle.points[0].raw, 73.4);  // int16 × 0.1
  EXPECT_EQ(cycle.points[0].quality_code, 0x00);
  EXPECT_EQ(cycle.points[1].raw, 12.5);  // float32, low word first
  EXPECT_EQ(cycle.points[1].quality_code, 0x40);
  EXPECT_DOUBLE_EQ(cycle.points[2].raw, -2.5);  // negative int16 tenths
  EXPECT_TRUE(cycle.points[2].forced);          // status bit 3
  EXPECT_EQ(cycle.points[3].command, command_kind::off);
  EXPECT_FALSE(cycle.points[3].running);
  EXPECT_FALSE(cycle.points[3].interlocked);
  EXPECT_DOUBLE_EQ(cycle.points[4].pwm_duty, 25.0);  // 250 ‰
  EXPECT_DOUBLE_EQ(cycle.points[4].raw, 25.0);
}

TEST_F(PymodbusDevice, WritesReachTheDevice) {
  driver_->connect(where());
  driver_->discover();

  driver_->write_command({4, command_kind::on, 0.0});
  EXPECT_TRUE(coil(0));
  driver_->write_command({5, command_kind::pwm, 62.5});
  EXPECT_EQ(holding_register(20), 625);

  auto cycle = driver_->read_cycle();
  EXPECT_EQ(cycle.points[3].command, command_kind::on);
  EXPECT_TRUE(cycle.points[3].running);  // the device started the pump
  EXPECT_EQ(cycle.points[4].command, command_kind::pwm);
  EXPECT_DOUBLE_EQ(cycle.points[4].raw, 62.5);  // the valve moved

  driver_->write_command({5, command_kind::on, 0.0});
  EXPECT_EQ(holding_register(20), 1000);
  driver_->write_command({4, command_kind::off, 0.0});
  EXPECT_FALSE(coil(0));
  cycle = driver_->read_cycle();
  EXPECT_FALSE(cycle.points[3].running);
  EXPECT_DOUBLE_EQ(cycle.points[4].raw, 100.0);

  try {
    driver_->write_command({4, command_kind::pwm, 10.0});
    FAIL() << "a pump took PWM";
  } catch (const field_error& e) {
    EXPECT_EQ(e.kind(), failure::config);
  }
  EXPECT_EQ(driver_->health().failures, 0U);
}

TEST_F(PymodbusDevice, AUnitTheDeviceDoesNotServeGetsNoAnswer) {
  // pymodbus drops requests for units it does not serve; a gateway would answer 0x0B instead.
  auto e = where(9);
  e.response_timeout = 300ms;
  driver_->connect(e);
  try {
    driver_->discover();
    FAIL() << "unit 9 answered";
  } catch (const field_error& error) {
    EXPECT_EQ(error.kind(), failure::timeout) << error.what();
  }
  EXPECT_FALSE(driver_->health().connected);
}

}  // namespace
}  // namespace wtc::field
