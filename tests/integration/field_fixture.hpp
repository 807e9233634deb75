#pragma once

// wtcd against real Modbus TCP peers on loopback: a running wtcd with an admin token, and what
// the field tests ask of it.

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http_client.hpp"
#include "sim/sim_support.hpp"
#include "wtcd_process.hpp"

namespace wtc::test {

using namespace std::chrono_literals;
using sim::test::wait_for;

/// A site profile directory holding the pymodbus device's profile under its profile name.
inline std::string profile_dir() {
  static const std::string dir = [] {
    auto path =
        std::filesystem::temp_directory_path() / ("wtc-profiles-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
    std::filesystem::copy_file(std::string(WTC_PEERS_DIR) + "/pymodbus_device.json",
                               path / "pymodbus-device.json",
                               std::filesystem::copy_options::overwrite_existing);
    return path.string();
  }();
  return dir;
}

inline std::map<std::string, std::string> field_env() {
  return {{"WTC_ADMIN_PASSWORD", "admin-password"},
          {"WTC_BCRYPT_COST", "10"},
          {"WTC_LOG_LEVEL", "warning"},
          {"WTC_PROFILE_DIR", profile_dir()}};
}

inline nlohmann::json rtu_body(const std::string& station, std::uint16_t port,
                               const std::string& profile = "wtc-rtu") {
  return {{"station_name", station}, {"ip_address", "127.0.0.1"}, {"port", port},
          {"profile", profile},      {"cycle_time_ms", 100},      {"vendor_id", "0x002A"},
          {"device_id", "0x0405"},   {"slot_count", 16}};
}

/// A running wtcd with an admin token, and helpers for what the field tests ask of it.
class field_fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    wtcd_.start();
    admin_ = client().login("admin", "admin-password");
  }

  http_client client() const { return http_client(wtcd_.port()); }

  /// Creates a user of `role` whose password is "<name>-password", and logs them in.
  std::string make_user(const std::string& name, const std::string& role) {
    auto created = client().post(
        "/api/v1/users", {{"username", name}, {"password", name + "-password"}, {"role", role}},
        admin_);
    EXPECT_EQ(created.status, 201) << created.body;
    return client().login(name, name + "-password");
  }

  std::string state_of(const std::string& station) const {
    auto rtu = client().get("/api/v1/rtus/" + station, admin_);
    return rtu.status == 200 ? rtu.json().value("state", "") : "";
  }

  /// RTU state is visible only by asking; asks until it is `state` or the deadline passes.
  bool reaches(const std::string& station, const std::string& state,
               std::chrono::milliseconds timeout = 20s) const {
    return wait_for([&] { return state_of(station) == state; }, timeout, 50ms);
  }

  nlohmann::json sensors(const std::string& station) const {
    return client().get("/api/v1/rtus/" + station + "/sensors", admin_).json();
  }

  nlohmann::json actuator(const std::string& station, int slot) const {
    for (const auto& a : client().get("/api/v1/rtus/" + station + "/actuators", admin_).json())
      if (a.value("slot", 0) == slot)
        return a;
    return nullptr;
  }

  /// Failed cycles diagnosed since the RTU last entered RUNNING, up to its first ERROR.
  int failed_cycles_before_error(const std::string& station) const {
    auto list = client().get("/api/v1/rtus/" + station + "/diagnostics?limit=200", admin_).json();
    int failed = 0;
    bool after_error = false;
    // Newest first: walk back from now to the last RUNNING transition.
    for (const auto& d : list["diagnostics"]) {
      const auto message = d.value("message", "");
      if (d["source"] == "AR" && message.find("-> RUNNING") != std::string::npos)
        break;
      if (d["source"] == "AR" && message.find("-> ERROR") != std::string::npos)
        after_error = true;
      else if (after_error && d["source"] == "CYCLE")
        ++failed;
    }
    return failed;
  }

  void connect(const std::string& station, std::uint16_t port,
               const std::string& profile = "wtc-rtu") {
    auto created = client().post("/api/v1/rtus", rtu_body(station, port, profile), admin_);
    ASSERT_EQ(created.status, 200) << created.body;
    auto connected =
        client().post("/api/v1/rtus/" + station + "/connect", nlohmann::json::object(), admin_);
    ASSERT_EQ(connected.status, 200) << connected.body;
    ASSERT_TRUE(reaches(station, "RUNNING")) << state_of(station) << "\n" << wtcd_.log();
  }

  wtcd_process wtcd_{{field_env(), {}, ""}};
  std::string admin_;
};

}  // namespace wtc::test
