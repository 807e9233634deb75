// wtcd against real Modbus TCP peers on loopback: the wtc-rtu-sim process (the WTC RTU
// profile) and a third-party pymodbus device described by a profile file of its own.

#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "field/peer_servers.hpp"
#include "field_fixture.hpp"

namespace wtc::test {
namespace {

using namespace std::chrono_literals;
using sim::test::sim_process;
using sim::test::wait_for;

using WtcdAgainstTheSimulator = field_fixture;

TEST_F(WtcdAgainstTheSimulator, DiscoversReadsScaledValuesAndCommandsActuators) {
  sim_process plant(WTC_RTU_SIM_PATH, {"--port", "0", "--control-port", "auto"});
  ASSERT_TRUE(plant.started()) << plant.log();
  connect("plant-1", plant.ports().front());

  auto rtu = client().get("/api/v1/rtus/plant-1", admin_).json();
  EXPECT_EQ(rtu["rtu_version"], "1.2.0");
  EXPECT_EQ(rtu["vendor_id"], "0x002A");
  EXPECT_EQ(rtu["slot_count"], 16);

  // Discovery made the sensor rows; the first cycles filled them with scaled, good values.
  ASSERT_TRUE(wait_for(
      [&] {
        auto list = sensors("plant-1");
        return list.size() == 10 && list[0]["quality"] == "GOOD";
      },
      10s));
  for (const auto& s : sensors("plant-1")) {
    EXPECT_EQ(s["quality"], "GOOD") << s.dump();
    EXPECT_GE(s["value"].get<double>(), s["eng_min"].get<double>()) << s.dump();
    EXPECT_LE(s["value"].get<double>(), s["eng_max"].get<double>()) << s.dump();
    if (s["sensor_type"] == "pH") {
      EXPECT_GT(s["value"].get<double>(), 5.0);
      EXPECT_LT(s["value"].get<double>(), 9.0);
      auto by_tag = client().get("/api/v1/sensors/" + s["tag"].get<std::string>(), admin_);
      EXPECT_EQ(by_tag.status, 200);
      EXPECT_EQ(by_tag.json()["tag"], s["tag"]);
    }
  }
  EXPECT_EQ(client().get("/api/v1/sensors/NO_SUCH_TAG", admin_).status, 404);

  // An engineer's configuration: a deadband for live updates, kept by the RTU's actor.
  const auto ph_tag = sensors("plant-1")[4]["tag"].get<std::string>();
  auto tuned = client().request("PUT", "/api/v1/sensors/" + ph_tag, R"({"deadband":0.05})", admin_);
  ASSERT_EQ(tuned.status, 200) << tuned.body;
  EXPECT_EQ(tuned.json()["deadband"], 0.05);
  EXPECT_EQ(client().get("/api/v1/sensors/" + ph_tag, admin_).json()["deadband"], 0.05);
  EXPECT_EQ(
      client().request("PUT", "/api/v1/sensors/" + ph_tag, R"({"deadband":-1})", admin_).status,
      400);
  EXPECT_EQ(
      client()
          .request("PUT", "/api/v1/sensors/" + ph_tag, R"({"scale_min":20,"scale_max":20})", admin_)
          .status,
      400);

  // A PWM command reaches the RTU and is read back in the next cycles.
  auto sent = client().post("/api/v1/rtus/plant-1/actuators/11",
                            {{"command", "PWM"}, {"pwm_duty", 40}}, admin_);
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_TRUE(wait_for(
      [&] {
        auto a = actuator("plant-1", 11);
        return a.is_object() && a["command"] == "PWM" && a["pwm_duty"] == 40.0;
      },
      5s));
  EXPECT_EQ(
      client()
          .post("/api/v1/rtus/plant-1/actuators/9", {{"command", "PWM"}, {"pwm_duty", 10}}, admin_)
          .status,
      400);  // a discrete pump takes ON or OFF
  EXPECT_EQ(client().post("/api/v1/rtus/plant-1/actuators/5", {{"command", "ON"}}, admin_).status,
            404);  // slot 5 is the pH sensor

  // The RTU's own interlock: the transfer pump (slot 10) will not run on a low-low raw tank,
  // and the controller refuses the command with 403, audited.
  sim::test::control_client control(*plant.control_port());
  ASSERT_EQ(control.command("set 0 level 1 0.05").rfind("ok", 0), 0u);
  ASSERT_TRUE(wait_for(
      [&] {
        auto a = actuator("plant-1", 10);
        return a.is_object() && a["interlocked"] == true;
      },
      10s));
  auto refused = client().post("/api/v1/rtus/plant-1/actuators/10", {{"command", "ON"}}, admin_);
  EXPECT_EQ(refused.status, 403) << refused.body;
  auto audit = client().get("/api/v1/audit?resource_type=actuator", admin_).json();
  bool seen_command = false;
  bool seen_refusal = false;
  for (const auto& row : audit["entries"]) {
    seen_command |= row["action"] == "actuator_command";
    seen_refusal |= row["action"] == "actuator_command_refused";
  }
  EXPECT_TRUE(seen_command) << audit.dump();
  EXPECT_TRUE(seen_refusal) << audit.dump() << wtcd_.log();

  // RTU rules of the contract: no delete while RUNNING, no duplicates.
  EXPECT_EQ(client().request("DELETE", "/api/v1/rtus/plant-1", "", admin_).status, 409);
  EXPECT_EQ(client().post("/api/v1/rtus", rtu_body("plant-1", 1), admin_).status, 409);
  EXPECT_EQ(
      client().post("/api/v1/rtus", rtu_body("plant-2", plant.ports().front()), admin_).status,
      409);  // same endpoint

  auto diagnostics = client().get("/api/v1/rtus/plant-1/diagnostics?limit=50", admin_).json();
  EXPECT_GE(diagnostics["total"].get<int>(), 3) << diagnostics.dump();  // transitions, discovery
  auto health = client().get("/api/v1/rtus/plant-1/health", admin_).json();
  EXPECT_EQ(health["state"], "RUNNING");
  EXPECT_EQ(health["total_slots"], 16);
  EXPECT_EQ(health["connected_slots"], 15);

  auto off = client().post("/api/v1/rtus/plant-1/disconnect", nlohmann::json::object(), admin_);
  EXPECT_EQ(off.status, 200);
  EXPECT_EQ(state_of("plant-1"), "OFFLINE");
  for (const auto& s : sensors("plant-1"))
    EXPECT_EQ(s["quality"], "BAD") << s.dump();
  EXPECT_EQ(client().request("DELETE", "/api/v1/rtus/plant-1", "", admin_).status, 200);
  EXPECT_EQ(client().get("/api/v1/rtus/plant-1", admin_).status, 404);
}

TEST_F(WtcdAgainstTheSimulator, AKilledRtuGoesToErrorWithBadValuesAndComesBackByItself) {
  auto plant =
      std::make_unique<sim_process>(WTC_RTU_SIM_PATH, std::vector<std::string>{"--port", "0"});
  ASSERT_TRUE(plant->started()) << plant->log();
  const auto port = plant->ports().front();
  connect("plant-1", port);
  ASSERT_TRUE(wait_for([&] { return sensors("plant-1")[0]["quality"] == "GOOD"; }, 10s));

  plant->stop(SIGKILL);
  ASSERT_TRUE(reaches("plant-1", "ERROR", 10s)) << state_of("plant-1");
  for (const auto& s : sensors("plant-1"))
    EXPECT_EQ(s["quality"], "BAD") << s.dump();
  auto rtu = client().get("/api/v1/rtus/plant-1", admin_).json();
  EXPECT_FALSE(rtu["last_error"].is_null()) << rtu.dump();
  // The link was declared lost within three cycles: at most two failed cycles were diagnosed
  // before the transition to ERROR.
  EXPECT_LE(failed_cycles_before_error("plant-1"), 2);

  // Back on the same port: RUNNING again with nobody calling connect.
  plant = std::make_unique<sim_process>(WTC_RTU_SIM_PATH,
                                        std::vector<std::string>{"--port", std::to_string(port)});
  ASSERT_TRUE(plant->started()) << plant->log();
  EXPECT_TRUE(reaches("plant-1", "RUNNING", 30s)) << state_of("plant-1");
  EXPECT_TRUE(wait_for([&] { return sensors("plant-1")[0]["quality"] == "GOOD"; }, 10s));
}

TEST_F(WtcdAgainstTheSimulator, MisbehavingRepliesGiveAnErrorStateAndADiagnosticNeverACrash) {
  sim_process plant(WTC_RTU_SIM_PATH, {"--port", "0", "--control-port", "auto"});
  ASSERT_TRUE(plant.started()) << plant.log();
  connect("plant-1", plant.ports().front());
  sim::test::control_client control(*plant.control_port());
  for (const std::string fault : {"garbage", "short", "wrong_unit", "exception", "freeze"}) {
    SCOPED_TRACE(fault);
    ASSERT_EQ(control.command("fault 0 " + fault).rfind("ok", 0), 0u);
    ASSERT_TRUE(reaches("plant-1", "ERROR", 10s)) << state_of("plant-1");
    EXPECT_LE(failed_cycles_before_error("plant-1"), 2);
    auto rtu = client().get("/api/v1/rtus/plant-1", admin_).json();
    EXPECT_FALSE(rtu["last_error"].is_null()) << rtu.dump();
    ASSERT_EQ(control.command("fault 0 none").rfind("ok", 0), 0u);
    ASSERT_TRUE(reaches("plant-1", "RUNNING", 30s)) << state_of("plant-1");
  }
  auto diagnostics = client().get("/api/v1/rtus/plant-1/diagnostics?limit=200", admin_).json();
  int errors = 0;
  for (const auto& d : diagnostics["diagnostics"])
    errors += d["level"] == "ERROR";
  EXPECT_GE(errors, 5) << diagnostics.dump();
  EXPECT_EQ(client().get("/health").status, 200);
}

TEST_F(WtcdAgainstTheSimulator, ValuesOutOfTheRawRangeAreUncertain) {
  sim_process plant(WTC_RTU_SIM_PATH, {"--port", "0", "--control-port", "auto"});
  ASSERT_TRUE(plant.started()) << plant.log();
  connect("plant-1", plant.ports().front());
  sim::test::control_client control(*plant.control_port());
  ASSERT_EQ(control.command("fault 0 out_of_range").rfind("ok", 0), 0u);
  EXPECT_TRUE(wait_for([&] { return sensors("plant-1")[0]["quality"] == "UNCERTAIN"; }, 10s));
  ASSERT_EQ(control.command("fault 0 bad_quality").rfind("ok", 0), 0u);
  EXPECT_TRUE(wait_for([&] { return sensors("plant-1")[0]["quality"] == "BAD"; }, 10s));
  EXPECT_EQ(state_of("plant-1"), "RUNNING");  // the link is fine; the values are not
}

using WtcdAgainstAThirdPartyDevice = field_fixture;

TEST_F(WtcdAgainstAThirdPartyDevice, ReadsAndCommandsItThroughItsProfileFile) {
  field::test::child_process device(
      {"/usr/bin/python3", std::string(WTC_PEERS_DIR) + "/pymodbus_device.py", "--port", "0"});
  const auto ready = device.read_line(20000);
  ASSERT_EQ(ready.rfind("READY port=", 0), 0u) << ready;
  const auto port = static_cast<std::uint16_t>(std::stoi(ready.substr(11)));
  connect("tank-1", port, "pymodbus-device");

  ASSERT_TRUE(wait_for([&] { return sensors("tank-1").size() >= 3; }, 10s));
  ASSERT_TRUE(wait_for([&] { return sensors("tank-1")[0]["quality"] != "BAD"; }, 10s));
  bool saw_flow = false;
  for (const auto& s : sensors("tank-1")) {
    if (s["sensor_type"] == "flow") {
      saw_flow = true;
      EXPECT_NEAR(s["value"].get<double>(), 12.5, 0.01) << s.dump();  // float32, low word first
    }
  }
  EXPECT_TRUE(saw_flow);

  auto actuators = client().get("/api/v1/rtus/tank-1/actuators", admin_).json();
  ASSERT_FALSE(actuators.empty()) << actuators.dump();
  int pump_slot = 0;
  for (const auto& a : actuators)
    if (a["control_type"] == "discrete")
      pump_slot = a["slot"];
  ASSERT_NE(pump_slot, 0) << actuators.dump();
  auto sent = client().post("/api/v1/rtus/tank-1/actuators/" + std::to_string(pump_slot),
                            {{"command", "ON"}}, admin_);
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_TRUE(wait_for(
      [&] {
        auto a = actuator("tank-1", pump_slot);
        return a.is_object() && a["command"] == "ON";
      },
      5s));
}

TEST_F(WtcdAgainstAThirdPartyDevice, AnUnknownProfileIsRefusedAtCreation) {
  auto created = client().post("/api/v1/rtus", rtu_body("x-1", 1502, "no-such-profile"), admin_);
  EXPECT_EQ(created.status, 400) << created.body;
  EXPECT_NE(created.body.find("no-such-profile"), std::string::npos);
}

}  // namespace
}  // namespace wtc::test
