// Alarms on the simulated plant over Modbus TCP: the pH of a wtc-rtu-sim RTU is forced high, the
// alarm is raised on the WebSocket, acknowledged over REST, survives a restart of wtcd, and
// clears when the pH comes back.

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "field_fixture.hpp"
#include "ws_client.hpp"

namespace wtc::test {
namespace {

using namespace std::chrono_literals;
using sim::test::sim_process;

class AlarmsOnTheSimulator : public field_fixture {
 protected:
  /// The `data` of the next message of `type` on the live stream, or nothing within `timeout`.
  static std::optional<nlohmann::json> next(ws_client& ws, const std::string& type,
                                            std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto msg = ws.read_json(timeout);
      if (!msg)
        return std::nullopt;
      if ((*msg)["type"] == type)
        return (*msg)["data"];
    }
    return std::nullopt;
  }

  static void subscribe(ws_client& ws) {
    ws.send_text(
        R"({"type":"subscribe","types":["alarm_raised","alarm_acknowledged","alarm_cleared"]})");
  }

  nlohmann::json listed(const std::string& query = "") const {
    return client().get("/api/v1/alarms" + query, admin_).json();
  }

  static nlohmann::json ph_high() {
    return nlohmann::json::parse(R"({"name": "pH high", "rtu_station": "plant-1", "slot": 5,
        "condition": ">", "threshold": 8.5, "severity": "HIGH", "delay_ms": 1000,
        "message": "pH {value} above {threshold}"})");
  }
};

TEST_F(AlarmsOnTheSimulator, RaisedAcknowledgedAndClearedAcrossARestartOfWtcd) {
  sim_process plant(WTC_RTU_SIM_PATH, {"--port", "0", "--control-port", "auto"});
  ASSERT_TRUE(plant.started()) << plant.log();
  connect("plant-1", plant.ports().front());
  const auto oscar = make_user("oscar", "operator");
  const auto vera = make_user("vera", "viewer");

  EXPECT_EQ(client().post("/api/v1/alarms/rules", ph_high(), oscar).status, 403)
      << "operators do not write rules";
  auto rule = client().post("/api/v1/alarms/rules", ph_high(), admin_);
  ASSERT_EQ(rule.status, 200) << rule.body;
  const auto rule_id = rule.json()["id"].get<std::int64_t>();
  EXPECT_EQ(client().get("/api/v1/alarms/rules/" + std::to_string(rule_id), vera).json(),
            rule.json());

  ws_client ws;
  ASSERT_EQ(ws.connect(wtcd_.port()).status, 101);
  subscribe(ws);

  sim::test::control_client control(*plant.control_port());
  ASSERT_EQ(control.command("force 0 5 9.2").rfind("ok", 0), 0u);
  auto raised = next(ws, "alarm_raised");
  ASSERT_TRUE(raised) << ws.error() << "\n" << wtcd_.log();
  const auto id = (*raised)["alarm_id"].get<std::int64_t>();
  EXPECT_EQ((*raised)["rtu_station"], "plant-1");
  EXPECT_EQ((*raised)["slot"], 5);
  EXPECT_EQ((*raised)["severity"], "HIGH");
  EXPECT_EQ((*raised)["message"], "pH 9.2 above 8.5");

  auto active = listed("?severity=HIGH&rtu_station=plant-1&state=ACTIVE");
  ASSERT_EQ(active.size(), 1u) << active.dump();
  EXPECT_EQ(active[0]["id"], id);
  EXPECT_EQ(active[0]["alarm_rule_id"], rule_id);
  EXPECT_NEAR(active[0]["value_at_activation"].get<double>(), 9.2, 1e-6);
  EXPECT_TRUE(active[0]["acknowledged_at"].is_null());
  EXPECT_TRUE(listed("?severity=LOW").empty());

  const auto ack_path = "/api/v1/alarms/" + std::to_string(id) + "/acknowledge";
  EXPECT_EQ(client().post(ack_path, {{"note", "x"}}, vera).status, 403);
  auto acked = client().post(ack_path, {{"note", "dosing pump checked"}}, oscar);
  ASSERT_EQ(acked.status, 200) << acked.body;
  EXPECT_EQ(acked.json()["state"], "ACKNOWLEDGED");
  EXPECT_EQ(acked.json()["acknowledged_by"], "oscar");
  auto ack_msg = next(ws, "alarm_acknowledged");
  ASSERT_TRUE(ack_msg);
  EXPECT_EQ((*ack_msg)["alarm_id"], id);
  EXPECT_EQ((*ack_msg)["acknowledged_by"], "oscar");
  EXPECT_EQ(client().post(ack_path, nlohmann::json::object(), oscar).status, 400)
      << "already acknowledged";
  EXPECT_EQ(
      client().post("/api/v1/alarms/999999/acknowledge", nlohmann::json::object(), oscar).status,
      404);

  // A restart loses nothing and raises nothing twice.
  ASSERT_EQ(wtcd_.stop(), 0) << wtcd_.log();
  wtcd_.start();
  admin_ = client().login("admin", "admin-password");
  ws_client ws2;
  ASSERT_EQ(ws2.connect(wtcd_.port()).status, 101);
  subscribe(ws2);
  ASSERT_TRUE(reaches("plant-1", "RUNNING"));
  auto restored = listed();
  ASSERT_EQ(restored.size(), 1u) << restored.dump();
  EXPECT_EQ(restored[0]["id"], id);
  EXPECT_EQ(restored[0]["state"], "ACKNOWLEDGED");
  EXPECT_EQ(restored[0]["note"], "dosing pump checked");
  // Still high: not raised a second time (a timed-out read ends that connection).
  EXPECT_FALSE(next(ws2, "alarm_raised", 2s)) << "raised a second time after the restart";

  // Back to normal: cleared, and out of the list.
  ws_client ws3;
  ASSERT_EQ(ws3.connect(wtcd_.port()).status, 101);
  subscribe(ws3);
  ASSERT_EQ(control.command("unforce 0 5").rfind("ok", 0), 0u);
  auto cleared = next(ws3, "alarm_cleared");
  ASSERT_TRUE(cleared) << wtcd_.log();
  EXPECT_EQ((*cleared)["alarm_id"], id);
  EXPECT_TRUE(wait_for([&] { return listed().empty(); }, 5s)) << listed().dump();
  // Written with the alarm manager's next batch (every 100 ms).
  nlohmann::json history;
  EXPECT_TRUE(wait_for(
      [&] {
        history = client().get("/api/v1/alarms/history?rtu_station=plant-1", admin_).json();
        return history.size() == 1 && history[0]["state"] == "CLEARED";
      },
      5s));
  ASSERT_EQ(history.size(), 1u) << history.dump();
  EXPECT_EQ(history[0]["id"], id);
  EXPECT_EQ(history[0]["state"], "CLEARED");
  EXPECT_EQ(history[0]["acknowledged_by"], "oscar");
  EXPECT_FALSE(history[0]["cleared_at"].is_null());

  auto audit = client().get("/api/v1/audit?action=alarm_acknowledge", admin_).json();
  ASSERT_EQ(audit["entries"].size(), 1u) << audit.dump();
  EXPECT_EQ(audit["entries"][0]["user"], "oscar");
  EXPECT_EQ(audit["entries"][0]["resource_id"], std::to_string(id));

  auto stats = client().get("/api/v1/alarms/statistics", vera);
  ASSERT_EQ(stats.status, 200) << stats.body;
  EXPECT_EQ(stats.json()["rate"]["last_24_h"], 1);
  EXPECT_EQ(stats.json()["active"], 0);
  EXPECT_EQ(stats.json()["flood"]["active"], false);
  EXPECT_EQ(wtcd_.stop(), 0) << wtcd_.log();
}

TEST_F(AlarmsOnTheSimulator, RefusesBadRulesShelvesAndWindowsAndLeavesThemAsTheyWere) {
  const auto oscar = make_user("oscar", "operator");
  const auto post_rule = [&](const std::string& change) {
    auto body = ph_high();
    body.update(nlohmann::json::parse(change));
    return client().post("/api/v1/alarms/rules", body, admin_);
  };
  EXPECT_EQ(post_rule(R"({"condition": "=>"})").status, 400);
  EXPECT_EQ(post_rule(R"({"severity": "high"})").status, 400);
  EXPECT_EQ(post_rule(R"({"delay_ms": -1})").status, 400);
  EXPECT_EQ(post_rule(R"({"threshold": "8.5"})").status, 400);
  EXPECT_EQ(post_rule(R"({"deadband": -0.1})").status, 400);
  EXPECT_EQ(post_rule(R"({"id": 7})").status, 400);
  EXPECT_EQ(post_rule(R"({"colour": "red"})").status, 400);
  EXPECT_EQ(client().request("POST", "/api/v1/alarms/rules", "{\"name\":", admin_).status, 400);
  EXPECT_TRUE(client().get("/api/v1/alarms/rules", admin_).json().empty());

  auto rule = post_rule("{}");
  ASSERT_EQ(rule.status, 200) << rule.body;
  const auto path = "/api/v1/alarms/rules/" + rule.json()["id"].dump();
  EXPECT_EQ(client().request("PUT", path, R"({"threshold": null})", admin_).status, 400);
  auto changed = client().request("PUT", path, R"({"threshold": 9.0})", admin_);
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(changed.json()["threshold"], 9.0);
  EXPECT_EQ(changed.json()["name"], "pH high");
  EXPECT_EQ(client().get("/api/v1/alarms/rules/999", admin_).status, 404);

  const nlohmann::json shelf{{"rtu_station", "plant-1"},
                             {"slot", 5},
                             {"shelf_duration_minutes", 30},
                             {"reason", "probe swap"}};
  auto too_long = shelf;
  too_long["shelf_duration_minutes"] = 481;
  EXPECT_EQ(client().post("/api/v1/alarms/shelved", too_long, oscar).status, 400)
      << "longer than the configured maximum (8 h)";
  auto no_reason = shelf;
  no_reason["reason"] = "";
  EXPECT_EQ(client().post("/api/v1/alarms/shelved", no_reason, oscar).status, 400);
  EXPECT_TRUE(client().get("/api/v1/alarms/shelved", oscar).json().empty());
  auto shelved = client().post("/api/v1/alarms/shelved", shelf, oscar);
  ASSERT_EQ(shelved.status, 200) << shelved.body;
  EXPECT_EQ(client().get("/api/v1/alarms/shelved", oscar).json().size(), 1u);
  const auto shelf_path = "/api/v1/alarms/shelved/" + shelved.json()["id"].dump();
  EXPECT_EQ(client().request("DELETE", shelf_path, "", oscar).status, 200);
  EXPECT_EQ(client().request("DELETE", shelf_path, "", oscar).status, 404);

  const nlohmann::json window{{"rtu_station", "plant-1"},
                              {"start_time", "2030-01-01T08:00:00Z"},
                              {"end_time", "2030-01-01T12:00:00Z"},
                              {"reason", "replace the pH probe"},
                              {"work_order", "WO-42"}};
  auto backwards = window;
  backwards["end_time"] = "2030-01-01T07:00:00Z";
  EXPECT_EQ(client().post("/api/v1/alarms/maintenance", backwards, oscar).status, 400);
  auto past = window;
  past["start_time"] = "2020-01-01T08:00:00Z";
  past["end_time"] = "2020-01-01T12:00:00Z";
  EXPECT_EQ(client().post("/api/v1/alarms/maintenance", past, oscar).status, 400);
  EXPECT_TRUE(client().get("/api/v1/alarms/maintenance", oscar).json().empty());
  auto scheduled = client().post("/api/v1/alarms/maintenance", window, oscar);
  ASSERT_EQ(scheduled.status, 200) << scheduled.body;
  EXPECT_EQ(scheduled.json()["status"], "SCHEDULED");
  EXPECT_EQ(scheduled.json()["scheduled_by"], "oscar");
  const auto cancel_path =
      "/api/v1/alarms/maintenance/" + scheduled.json()["id"].dump() + "/cancel";
  auto cancelled = client().post(cancel_path, nlohmann::json::object(), oscar);
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(cancelled.json()["status"], "CANCELLED");
  EXPECT_EQ(cancelled.json()["cancelled_by"], "oscar");
  EXPECT_EQ(client().post(cancel_path, nlohmann::json::object(), oscar).status, 404);
  auto listed_windows = client().get("/api/v1/alarms/maintenance?status=CANCELLED", oscar).json();
  ASSERT_EQ(listed_windows.size(), 1u) << listed_windows.dump();

  EXPECT_EQ(client().get("/api/v1/alarms?colour=red", oscar).status, 400);
  EXPECT_EQ(client().get("/api/v1/alarms?severity=SEVERE", oscar).status, 400);
  EXPECT_EQ(client().get("/api/v1/alarms/history?limit=0", oscar).status, 400);
  EXPECT_EQ(client().get("/api/v1/alarms/history?start=yesterday", oscar).status, 400);
}

TEST_F(AlarmsOnTheSimulator, ASlotConfigsLimitsRaiseTheirOwnAlarms) {
  sim_process plant(WTC_RTU_SIM_PATH, {"--port", "0", "--control-port", "auto"});
  ASSERT_TRUE(plant.started()) << plant.log();
  connect("plant-1", plant.ports().front());
  const auto vera = make_user("vera", "viewer");
  const auto path = std::string("/api/v1/rtus/plant-1/slots/2/config");
  EXPECT_EQ(client().get(path, vera).status, 404);
  const auto limits = nlohmann::json::parse(R"({"name": "Clear well", "unit": "m",
      "measurement_type": "level", "scale_min": 0, "scale_max": 5, "alarm_low_low": 0.5,
      "alarm_low": 1.0, "alarm_high": 4.5})");
  EXPECT_EQ(client().request("PUT", path, limits.dump(), vera).status, 403);
  auto disordered = limits;
  disordered["alarm_low"] = 0.2;
  EXPECT_EQ(client().request("PUT", path, disordered.dump(), admin_).status, 400)
      << "low below low-low";
  auto stored = client().request("PUT", path, limits.dump(), admin_);
  ASSERT_EQ(stored.status, 200) << stored.body;
  EXPECT_EQ(client().get(path, vera).json(), stored.json());
  EXPECT_EQ(client().request("PUT", path, stored.json().dump(), admin_).status, 200)
      << "what GET shows can be PUT back";

  ws_client ws;
  ASSERT_EQ(ws.connect(wtcd_.port()).status, 101);
  subscribe(ws);
  sim::test::control_client control(*plant.control_port());
  ASSERT_EQ(control.command("force 0 2 0.3").rfind("ok", 0), 0u);
  // Low and low-low: two alarms, the low-low CRITICAL; neither has an alarm_rules row.
  std::vector<nlohmann::json> raised;
  for (int i = 0; i < 2; ++i) {
    auto msg = next(ws, "alarm_raised");
    ASSERT_TRUE(msg) << wtcd_.log();
    raised.push_back(*msg);
  }
  std::vector<std::string> severities;
  for (const auto& r : raised) {
    severities.push_back(r["severity"]);
    EXPECT_TRUE(r["alarm_rule_id"].is_null());
    EXPECT_EQ(r["slot"], 2);
  }
  std::sort(severities.begin(), severities.end());
  EXPECT_EQ(severities, (std::vector<std::string>{"CRITICAL", "HIGH"}));
  ASSERT_EQ(control.command("unforce 0 2").rfind("ok", 0), 0u);
  EXPECT_TRUE(next(ws, "alarm_cleared"));
}

}  // namespace
}  // namespace wtc::test
