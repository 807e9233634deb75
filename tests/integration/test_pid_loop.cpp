// A PID loop closed on the simulated plant over Modbus TCP: wtcd reads the pH of a wtc-rtu-sim
// RTU, computes the caustic dose and writes it back, and the plant answers. The plant runs ten
// times faster than the wall clock (--time-scale 10), so the loop's integral gain is the plant
// tuning's times ten: 60 %/pH with an integral time of 30 plant seconds, 3 wall-clock seconds.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "field_fixture.hpp"
#include "ws_client.hpp"

namespace wtc::test {
namespace {

using namespace std::chrono_literals;
using sim::test::sim_process;

class PidLoopOnTheSimulator : public field_fixture {
 protected:
  std::string loop_path(std::int64_t id) const {
    return "/api/v1/rtus/plant-1/pid/" + std::to_string(id);
  }

  http_result put(const std::string& target, const nlohmann::json& body,
                  const std::string& token) const {
    return client().request("PUT", target, body.dump(), token);
  }

  /// The next pid_update of the loop from the live stream, or nothing within `timeout`.
  std::optional<nlohmann::json> next_update(ws_client& ws, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto msg = ws.read_json(timeout);
      if (!msg)
        return std::nullopt;
      if ((*msg)["type"] == "pid_update")
        return (*msg)["data"];
    }
    return std::nullopt;
  }
};

TEST_F(PidLoopOnTheSimulator, SettlesASetpointStepSwitchesBumplesslyAndHoldsOnABadMeasurement) {
  sim_process plant(WTC_RTU_SIM_PATH,
                    {"--port", "0", "--control-port", "auto", "--time-scale", "10"});
  ASSERT_TRUE(plant.started()) << plant.log();
  connect("plant-1", plant.ports().front());
  auto operator_created = client().post(
      "/api/v1/users",
      {{"username", "oscar"}, {"password", "oscar-password"}, {"role", "operator"}}, admin_);
  ASSERT_EQ(operator_created.status, 201) << operator_created.body;
  const auto oscar = client().login("oscar", "oscar-password");

  // An admin creates the loop in MANUAL at the plant's working point, 32 % caustic.
  const nlohmann::json loop_body{{"name", "pH"},     {"input_slot", 5}, {"output_slot", 11},
                                 {"kp", 60.0},       {"ki", 20.0},      {"setpoint", 7.0},
                                 {"mode", "MANUAL"}, {"output", 32.0},  {"scan_period_ms", 100}};
  EXPECT_EQ(client().post("/api/v1/rtus/plant-1/pid", loop_body, oscar).status, 403)
      << "operators do not create loops";
  auto created = client().post("/api/v1/rtus/plant-1/pid", loop_body, admin_);
  ASSERT_EQ(created.status, 200) << created.body;
  const auto id = created.json()["id"].get<std::int64_t>();
  EXPECT_EQ(created.json()["mode"], "MANUAL");

  ws_client ws;
  ASSERT_EQ(ws.connect(wtcd_.port()).status, 101);
  ws.send_text(R"({"type":"subscribe","types":["pid_update"]})");

  // MANUAL to AUTO: the first output in AUTO is within 1 % of the span of the manual one.
  ASSERT_TRUE(wait_for(
      [&] {
        auto a = actuator("plant-1", 11);
        return a.is_object() && std::abs(a.value("pwm_duty", 0.0) - 32.0) < 1e-6;
      },
      10s));
  auto to_auto = put(loop_path(id) + "/mode", {{"mode", "AUTO"}}, oscar);
  ASSERT_EQ(to_auto.status, 200) << to_auto.body;
  std::optional<nlohmann::json> first_auto;
  for (int i = 0; i < 100 && !first_auto; ++i) {
    auto update = next_update(ws);
    ASSERT_TRUE(update) << ws.error();
    if ((*update)["mode"] == "AUTO")
      first_auto = update;
  }
  ASSERT_TRUE(first_auto);
  EXPECT_LT(std::abs((*first_auto)["cv"].get<double>() - 32.0), 1.0) << first_auto->dump();

  // To 7.0 and settled there, then the step to 7.5.
  ASSERT_EQ(put(loop_path(id) + "/setpoint", {{"setpoint", 7.0}}, oscar).status, 200);
  const auto settle = [&](double target, std::chrono::seconds timeout, double& peak) {
    const auto start = std::chrono::steady_clock::now();
    auto inside_since = start;
    bool inside = false;
    peak = 0.0;
    while (std::chrono::steady_clock::now() - start < timeout) {
      auto update = next_update(ws);
      if (!update || (*update)["pv"].is_null())
        return false;
      const double pv = (*update)["pv"].get<double>();
      peak = std::max(peak, pv - target);
      const bool now_inside = std::abs(pv - target) <= 0.05;
      if (now_inside && !inside)
        inside_since = std::chrono::steady_clock::now();
      inside = now_inside;
      // 3 s of wall clock: 30 s of plant time inside the band.
      if (inside && std::chrono::steady_clock::now() - inside_since >= 3s)
        return true;
    }
    return false;
  };
  double overshoot = 0.0;
  ASSERT_TRUE(settle(7.0, 60s, overshoot)) << "the loop did not settle at 7.0";
  const auto step_at = std::chrono::steady_clock::now();
  ASSERT_EQ(put(loop_path(id) + "/setpoint", {{"setpoint", 7.5}}, oscar).status, 200);
  ASSERT_TRUE(settle(7.5, 60s, overshoot)) << "the loop did not settle at 7.5";
  const auto settled_after = std::chrono::steady_clock::now() - step_at;
  EXPECT_LT(overshoot, 0.15) << "overshoot beyond 30 % of the step";
  std::cout << "pH 7.0 -> 7.5: settled within ±0.05 after "
            << std::chrono::duration<double>(settled_after).count() * 10.0
            << " s of plant time (including 30 s inside the band), overshoot " << overshoot << "\n";

  // The pH probe goes BAD: the loop holds its output and says so.
  auto before = next_update(ws);
  ASSERT_TRUE(before);
  sim::test::control_client control(*plant.control_port());
  ASSERT_EQ(control.command("fault 0 bad_quality").rfind("ok", 0), 0u);
  std::optional<nlohmann::json> held;
  double last_good_cv = (*before)["cv"].get<double>();
  for (int i = 0; i < 100 && !held; ++i) {
    auto update = next_update(ws);
    ASSERT_TRUE(update);
    if ((*update)["status"] == "BAD_HOLD")
      held = update;
    else
      last_good_cv = (*update)["cv"].get<double>();
  }
  ASSERT_TRUE(held) << "the loop reports that it holds";
  EXPECT_DOUBLE_EQ((*held)["cv"].get<double>(), last_good_cv);
  for (int i = 0; i < 10; ++i) {
    auto update = next_update(ws);
    ASSERT_TRUE(update);
    EXPECT_EQ((*update)["status"], "BAD_HOLD");
    EXPECT_DOUBLE_EQ((*update)["cv"].get<double>(), last_good_cv);
  }
  auto shown = client().get(loop_path(id), oscar).json();
  EXPECT_EQ(shown["status"], "BAD_HOLD");
  // The duty register holds hundredths of a percent.
  EXPECT_NEAR(actuator("plant-1", 11).value("pwm_duty", -1.0), last_good_cv, 0.005 + 1e-9);

  // Back to GOOD: the loop controls again, from the held output.
  ASSERT_EQ(control.command("fault 0 none").rfind("ok", 0), 0u);
  std::optional<nlohmann::json> again;
  for (int i = 0; i < 100 && !again; ++i) {
    auto update = next_update(ws);
    ASSERT_TRUE(update);
    if ((*update)["status"] == "NORMAL")
      again = update;
  }
  ASSERT_TRUE(again);
  EXPECT_NEAR((*again)["cv"].get<double>(), last_good_cv, 1.0);

  // Every change is in the audit log, with who made it.
  auto audit = client().get("/api/v1/audit?resource_type=pid_loop", admin_).json();
  std::map<std::string, std::string> who;
  for (const auto& row : audit["entries"])
    who[row["action"]] = row["user"];
  EXPECT_EQ(who["pid_create"], "admin");
  EXPECT_EQ(who["pid_mode"], "oscar");
  EXPECT_EQ(who["pid_setpoint"], "oscar");

  // With an RTU connected and a loop running, wtcd still stops cleanly: every actor ends.
  EXPECT_EQ(wtcd_.stop(), 0) << wtcd_.log();
}

TEST_F(PidLoopOnTheSimulator, RefusesBadLoopsAndBadChangesAndLeavesTheLoopAsItWas) {
  // Two RTUs on endpoints nobody serves: the loops are configured, not run.
  for (auto [station, port] : {std::pair{"plant-1", 1502}, std::pair{"plant-2", 1503}})
    ASSERT_EQ(client().post("/api/v1/rtus", rtu_body(station, port), admin_).status, 200);
  const nlohmann::json good{{"name", "pH"}, {"input_slot", 5}, {"output_slot", 11},
                            {"kp", 60.0},   {"ki", 2.0},       {"setpoint", 7.2}};
  const auto with = [&](const nlohmann::json& changes) {
    auto body = good;
    body.update(changes);
    return body;
  };
  const std::vector<std::pair<nlohmann::json, std::string>> bad_creates{
      {{{"ki", -1.0}}, "sign"},
      {{{"output_min", 50.0}, {"output_max", 10.0}}, "output_min"},
      {{{"input_rtu", "nowhere"}}, "input_rtu"},
      {{{"mode", "CASCADE"}}, "cascade_from"},
      {{{"mode", "FAST"}}, "mode"},
      {{{"derivative_filter", 10.0}}, "derivative_filter"},
      {{{"input_slot", 0}}, "input_slot"},
      {{{"scan_period_ms", 5}}, "scan_period_ms"},
      {{{"kp", "high"}}, "kp"},
      {{{"status", "NORMAL"}}, "status"},
      {{{"colour", "red"}}, "colour"},
      {{{"input_rtu", "plant-2"}, {"output_rtu", "plant-2"}}, "plant-1"},
  };
  for (const auto& [changes, named] : bad_creates) {
    auto res = client().post("/api/v1/rtus/plant-1/pid", with(changes), admin_);
    EXPECT_EQ(res.status, 400) << changes.dump() << ": " << res.body;
    EXPECT_NE(res.json().value("detail", "").find(named), std::string::npos) << res.body;
  }
  auto missing = good;
  missing.erase("name");
  EXPECT_EQ(client().post("/api/v1/rtus/plant-1/pid", missing, admin_).status, 400);
  EXPECT_TRUE(client().get("/api/v1/rtus/plant-1/pid", admin_).json()["data"].empty());

  auto created = client().post("/api/v1/rtus/plant-1/pid", good, admin_);
  ASSERT_EQ(created.status, 200) << created.body;
  const auto path = loop_path(created.json()["id"].get<std::int64_t>());
  const std::vector<std::pair<std::string, nlohmann::json>> bad_changes{
      {"/setpoint", {{"setpoint", "7"}}},
      {"/setpoint", nlohmann::json::object()},
      {"/mode", {{"mode", "AUTO"}, {"output", 50.0}}},
      {"/mode", {{"output", 50.0}}},
      {"/tuning", {{"kp", -1.0}}},
      {"/tuning", {{"setpoint", 8.0}}},
      {"", {{"id", 999}, {"kp", 2.0}}},
      {"", {{"cascade_from", created.json()["id"]}}},
  };
  for (const auto& [suffix, body] : bad_changes) {
    auto res = put(path + suffix, body, admin_);
    EXPECT_EQ(res.status, 400) << suffix << " " << body.dump() << ": " << res.body;
  }
  EXPECT_EQ(client().get("/api/v1/rtus/plant-2/pid/1", admin_).status, 404);
  EXPECT_EQ(put("/api/v1/rtus/plant-1/pid/999/setpoint", {{"setpoint", 7.0}}, admin_).status, 404);
  auto shown = client().get(path, admin_).json();
  for (const auto& field : {"kp", "ki", "setpoint", "mode", "output_min", "output_max"})
    EXPECT_EQ(shown[field], created.json()[field]) << field;

  // A PUT of the object as it came back is accepted.
  auto round_trip = put(path, shown, admin_);
  EXPECT_EQ(round_trip.status, 200) << round_trip.body;
  EXPECT_EQ(client().request("DELETE", path, "", admin_).status, 200);
  EXPECT_EQ(client().get(path, admin_).status, 404);
}

}  // namespace
}  // namespace wtc::test
