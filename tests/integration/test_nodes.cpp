// Edge nodes with real processes (docs/nodes.md): a central wtcd, two wtc-edge nodes each with
// its own wtc-rtu-sim, joined over TLS with certificates made by deploy/multisite/make-certs.sh.
// One edge's link runs through a relay that freezes it for 30 s, as a cut cable would: the
// central node notices, shows the RTU failed and raises its communication alarm, the edge keeps
// polling, buffering and controlling (its pH loop runs on the edge), and after the link returns
// the historian holds every sample of the gap and the alarm clears. An edge whose certificate
// another CA signed is refused, and the refusal is logged.

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "child_process.hpp"
#include "core/time.hpp"
#include "field_fixture.hpp"
#include "ws_client.hpp"

namespace wtc::test {
namespace {

using namespace std::chrono_literals;
using sim::test::sim_process;
namespace fs = std::filesystem;

/// A CA and certificates for `nodes` in a fresh directory, made as an operator makes them.
std::string make_certificates(const std::string& name, const std::vector<std::string>& nodes) {
  const auto dir =
      fs::temp_directory_path() / ("wtc-pki-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  std::string command =
      std::string(WTC_SOURCE_DIR) + "/deploy/multisite/make-certs.sh " + dir.string();
  for (const auto& node : nodes)
    command += " " + node;
  command += " > /dev/null 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return dir.string();
}

std::map<std::string, std::string> tls_env(const std::string& pki, const std::string& node) {
  return {{"WTC_NODE_CERT", pki + "/" + node + ".pem"},
          {"WTC_NODE_KEY", pki + "/" + node + ".key"},
          {"WTC_NODE_CA", pki + "/ca.pem"}};
}

std::map<std::string, std::string> central_env(const std::string& pki, std::uint16_t node_port) {
  auto env = field_env();
  for (auto& [k, v] : tls_env(pki, "central"))
    env[k] = v;
  env["WTC_NODE_PORT"] = std::to_string(node_port);
  env["WTC_LOG_LEVEL"] = "info";
  return env;
}

std::unique_ptr<child_process> start_edge(const std::string& name, const std::string& pki,
                                          const std::string& ca_dir, std::uint16_t central_port,
                                          const std::string& data_dir) {
  auto env = tls_env(pki, name);
  env["WTC_NODE_CA"] = ca_dir + "/ca.pem";
  return std::make_unique<child_process>(
      WTC_EDGE_PATH,
      std::vector<std::string>{"--name", name, "--central",
                               "127.0.0.1:" + std::to_string(central_port), "--data-dir", data_dir},
      env);
}

std::int64_t ms_of(const nlohmann::json& iso) {
  return core::parse_iso8601(iso.get<std::string>()).value_or(0);
}

class EdgeNodes : public ::testing::Test {
 protected:
  EdgeNodes() : pki_(make_certificates("nodes", {"central", "site-a", "site-b"})) {}

  void SetUp() override {
    node_port_ = free_port();
    wtcd_ = std::make_unique<wtcd_process>(
        wtcd_process::options{central_env(pki_, node_port_), {}, ""});
    wtcd_->start();
    admin_ = http_client(wtcd_->port()).login("admin", "admin-password");
    data_root_ = fs::temp_directory_path() / ("wtc-edges-" + std::to_string(::getpid()));
    fs::remove_all(data_root_);
  }

  void TearDown() override { fs::remove_all(data_root_); }

  http_client api() const { return http_client(wtcd_->port()); }

  nlohmann::json node(const std::string& name) const {
    return api().get("/api/v1/nodes/" + name, admin_).json();
  }

  bool node_reaches(const std::string& name, const std::string& state,
                    std::chrono::milliseconds timeout = 30s) const {
    return wait_for([&] { return node(name).value("state", "") == state; }, timeout, 50ms);
  }

  std::string rtu_state(const std::string& station) const {
    return api().get("/api/v1/rtus/" + station, admin_).json().value("state", "");
  }

  void place_and_connect(const std::string& station, const std::string& node_name,
                         std::uint16_t port) {
    auto body = rtu_body(station, port);
    body["node"] = node_name;
    body["cycle_time_ms"] = cycle_ms;
    auto created = api().post("/api/v1/rtus", body, admin_);
    ASSERT_EQ(created.status, 200) << created.body;
    ASSERT_EQ(created.json()["node"], node_name);
    ASSERT_TRUE(node_reaches(node_name, "ONLINE")) << node(node_name) << wtcd_->log();
    auto connected =
        api().post("/api/v1/rtus/" + station + "/connect", nlohmann::json::object(), admin_);
    ASSERT_EQ(connected.status, 200) << connected.body;
    ASSERT_TRUE(wait_for([&] { return rtu_state(station) == "RUNNING"; }, 30s, 50ms))
        << rtu_state(station) << "\n"
        << wtcd_->log();
  }

  // Slow enough that a late cycle's successor is never closer than the tag's sample rate (100 ms)
  // to it: the historian would thin that sample by policy, which is not what this test counts.
  static constexpr int cycle_ms = 500;

  std::string data_dir(const std::string& name) const { return (data_root_ / name).string(); }

  std::string pki_;
  std::string admin_;
  std::uint16_t node_port_ = 0;
  std::unique_ptr<wtcd_process> wtcd_;
  fs::path data_root_;
};

TEST_F(EdgeNodes, ALinkCutForThirtySecondsIsNoticedBufferedAndBackfilledExactly) {
  // Site A's plant runs ten times faster than the wall clock, so that its pH loop moves the
  // process to a new setpoint well within the cut (test_pid_loop.cpp has the tuning).
  sim_process plant_a(WTC_RTU_SIM_PATH, {"--port", "0", "--seed", "3", "--time-scale", "10"});
  sim_process plant_b(WTC_RTU_SIM_PATH, {"--port", "0", "--seed", "4"});
  ASSERT_TRUE(plant_a.started() && plant_b.started()) << plant_a.log() << plant_b.log();
  child_process relay("/usr/bin/python3", {std::string(WTC_PEERS_DIR) + "/link_relay.py",
                                           "127.0.0.1", std::to_string(node_port_)});
  const auto relay_port = relay.wait_for_line("listening on ", 10s);
  ASSERT_FALSE(relay_port.empty()) << relay.log();
  auto edge_a = start_edge("site-a", pki_, pki_, static_cast<std::uint16_t>(std::stoi(relay_port)),
                           data_dir("site-a"));
  auto edge_b = start_edge("site-b", pki_, pki_, node_port_, data_dir("site-b"));

  place_and_connect("rtu-a", "site-a", plant_a.ports().front());
  place_and_connect("rtu-b", "site-b", plant_b.ports().front());
  auto nodes = api().get("/api/v1/nodes", admin_).json();
  ASSERT_EQ(nodes.size(), 2u) << nodes;
  EXPECT_EQ(node("site-a")["rtus"], nlohmann::json::array({"rtu-a"}));
  EXPECT_FALSE(node("site-a")["address"].is_null());

  // A sensor of an edge RTU by its tag, read and tuned through the central node (audited there).
  auto sensors = api().get("/api/v1/rtus/rtu-b/sensors", admin_);
  ASSERT_EQ(sensors.status, 200) << sensors.body;
  ASSERT_FALSE(sensors.json().empty()) << sensors.body;
  const auto tag_b = sensors.json()[0]["tag"].get<std::string>();
  auto by_tag = api().get("/api/v1/sensors/" + tag_b, admin_);
  ASSERT_EQ(by_tag.status, 200) << by_tag.body;
  EXPECT_EQ(by_tag.json()["tag"], tag_b);
  auto tuned = api().request("PUT", "/api/v1/sensors/" + tag_b, R"({"deadband":0.5})", admin_);
  ASSERT_EQ(tuned.status, 200) << tuned.body;
  EXPECT_EQ(api().get("/api/v1/sensors/" + tag_b, admin_).json()["deadband"], 0.5);
  EXPECT_EQ(api().get("/api/v1/sensors/NO_SUCH_TAG", admin_).status, 404);
  EXPECT_NE(api().get("/api/v1/audit?action=sensor_update", admin_).body.find(tag_b),
            std::string::npos);
  // Its field diagnostics (the connection and discovery it went through) from the edge's store.
  auto diagnostics = api().get("/api/v1/rtus/rtu-b/diagnostics", admin_);
  ASSERT_EQ(diagnostics.status, 200) << diagnostics.body;
  EXPECT_GT(diagnostics.json()["total"].get<int>(), 0) << diagnostics.body;

  // Every cycle of rtu-a's pH recorded (a sample rate under the cycle keeps each one), and a
  // rule on it, so that the RTU's communication alarm is armed.
  auto tag = api().post("/api/v1/trends/tags",
                        {{"rtu_station", "rtu-a"},
                         {"slot", 5},
                         {"tag_name", "site_a.ph"},
                         {"sample_rate_ms", 100},
                         {"compression", "none"}},
                        admin_);
  ASSERT_EQ(tag.status, 200) << tag.body;
  const auto tag_id = tag.json()["id"].get<std::int64_t>();
  auto rule = api().post("/api/v1/alarms/rules",
                         {{"name", "rtu-a pH impossible"},
                          {"rtu_station", "rtu-a"},
                          {"slot", 5},
                          {"condition", ">"},
                          {"threshold", 14.5},
                          {"severity", "HIGH"},
                          {"message", "pH {value}"}},
                         admin_);
  ASSERT_EQ(rule.status, 200) << rule.body;

  // The pH loop reads and doses on rtu-a, so it runs on site-a, and the central node shows what
  // site-a reports of it.
  auto created = api().post("/api/v1/rtus/rtu-a/pid",
                            {{"name", "pH"},
                             {"input_slot", 5},
                             {"output_slot", 11},
                             {"kp", 60.0},
                             {"ki", 20.0},
                             {"setpoint", 7.0},
                             {"mode", "AUTO"}},
                            admin_);
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(created.json()["node"], "site-a");
  const auto loop_path =
      "/api/v1/rtus/rtu-a/pid/" + std::to_string(created.json()["id"].get<std::int64_t>());
  auto loop = [&] { return api().get(loop_path, admin_).json(); };
  auto near = [](const nlohmann::json& pv, double target, double band) {
    return pv.is_number() && std::abs(pv.get<double>() - target) <= band;
  };
  ASSERT_TRUE(wait_for(
      [&] {
        auto l = loop();
        return l.value("status", "") == "NORMAL" && near(l["pv"], 7.0, 0.05);
      },
      60s, 200ms))
      << loop() << "\n"
      << edge_a->log();
  // A new setpoint, taken by site-a just before its link is cut: what moves the process to it
  // during the cut is the loop on site-a alone.
  ASSERT_EQ(api().request("PUT", loop_path + "/setpoint", R"({"setpoint":7.4})", admin_).status,
            200);
  ASSERT_TRUE(wait_for(
      [&] { return edge_a->log().find("changed by the central node") != std::string::npos; }, 10s,
      50ms))
      << edge_a->log();
  std::this_thread::sleep_for(2s);

  auto live = std::make_unique<ws_client>();
  ASSERT_EQ(live->connect(wtcd_->port()).status, 101);
  live->send_text(R"({"type":"subscribe","types":["sensor_update"],"rtus":["rtu-a"]})");

  const auto before_at = core::now_ms();
  const auto health_before = api().get("/api/v1/rtus/rtu-a/health", admin_).json();
  const auto cut_at = core::now_ms();
  relay.signal(SIGUSR1);
  ASSERT_TRUE(node_reaches("site-a", "OFFLINE", 10s)) << node("site-a");
  const auto noticed_ms = core::now_ms() - cut_at;
  EXPECT_LE(noticed_ms, 3000) << "the central node noticed the frozen link after " << noticed_ms;
  auto node_alarm = [&] {
    for (const auto& a : api().get("/api/v1/alarms", admin_).json())
      if (a.value("node", nlohmann::json()) == "site-a")
        return a;
    return nlohmann::json();
  };
  EXPECT_TRUE(wait_for([&] { return node_alarm().value("state", "") == "ACTIVE"; }, 3s, 100ms))
      << "the node's alarm is raised with the loss: " << api().get("/api/v1/alarms", admin_).body;

  // The node's last values go UNCERTAIN on the live stream at once, and BAD as they age.
  std::vector<std::string> qualities;
  const auto values_until = std::chrono::steady_clock::now() + 10s;
  while (qualities.empty() || qualities.back() != "BAD") {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        values_until - std::chrono::steady_clock::now());
    auto msg = left.count() > 0 ? live->read_json(left) : std::nullopt;
    if (!msg)
      break;  // a timeout leaves the client unusable
    if ((*msg)["type"] == "sensor_update" && (*msg)["data"]["rtu"] == "rtu-a" &&
        (qualities.empty() || qualities.back() != (*msg)["data"]["quality"]))
      qualities.push_back((*msg)["data"]["quality"].get<std::string>());
  }
  live.reset();
  ASSERT_FALSE(qualities.empty());
  EXPECT_EQ(qualities.back(), "BAD") << nlohmann::json(qualities);
  EXPECT_NE(std::find(qualities.begin(), qualities.end(), "UNCERTAIN"), qualities.end())
      << nlohmann::json(qualities);
  EXPECT_EQ(rtu_state("rtu-a"), "ERROR");
  EXPECT_EQ(api().get("/api/v1/rtus/rtu-a/sensors", admin_).status, 503);
  EXPECT_EQ(node("site-b").value("state", ""), "ONLINE");  // the other site is untouched
  auto comm_alarm_of = [&](const std::string& station) {
    for (const auto& a : api().get("/api/v1/alarms?rtu_station=" + station, admin_).json())
      if (a.value("slot", 0) == -1)
        return a;
    return nlohmann::json();
  };
  EXPECT_TRUE(wait_for([&] { return !comm_alarm_of("rtu-a").is_null(); }, 20s, 200ms))
      << api().get("/api/v1/alarms", admin_).body;
  EXPECT_TRUE(wait_for([&] { return loop().value("status", "") == "NODE_OFFLINE"; }, 10s, 200ms))
      << loop();
  EXPECT_EQ(api().request("PUT", loop_path + "/setpoint", R"({"setpoint":7.1})", admin_).status,
            503)
      << "a loop on an unreachable node cannot be changed";

  while (core::now_ms() - cut_at < 30'000)
    std::this_thread::sleep_for(200ms);
  relay.signal(SIGUSR2);
  ASSERT_TRUE(node_reaches("site-a", "ONLINE", 30s)) << node("site-a") << edge_a->log();
  std::this_thread::sleep_for(1s);
  const auto after_at = core::now_ms();
  const auto health_after = api().get("/api/v1/rtus/rtu-a/health", admin_).json();
  EXPECT_EQ(health_after.value("reconnects", -1), health_before.value("reconnects", -2))
      << "the edge kept its RTU link through the cut";
  EXPECT_TRUE(wait_for([&] { return rtu_state("rtu-a") == "RUNNING"; }, 10s, 100ms));
  EXPECT_TRUE(
      wait_for([&] { return comm_alarm_of("rtu-a").value("state", "") == "CLEARED"; }, 20s, 200ms))
      << comm_alarm_of("rtu-a");
  EXPECT_TRUE(wait_for([&] { return node_alarm().value("state", "") == "CLEARED"; }, 10s, 200ms))
      << node_alarm();
  ASSERT_TRUE(wait_for([&] { return node("site-a").value("backlog", 1) == 0; }, 30s, 200ms))
      << node("site-a");

  // The gap, counted against what the edge's rtu_actor did: each successful cycle is one pH
  // sample, so between the two health readings (before the cut, after the link returned) the
  // historian holds as many samples as the edge counted cycles, give or take the cycle under way
  // at each reading.
  const auto cycles = health_after["cycles_ok"].get<std::int64_t>() -
                      health_before["cycles_ok"].get<std::int64_t>();
  const auto start = core::format_iso8601(before_at - 10'000);
  const auto end = core::format_iso8601(after_at + 10'000);
  auto trend = api().get(
      "/api/v1/trends/" + std::to_string(tag_id) + "?start=" + start + "&end=" + end, admin_);
  ASSERT_EQ(trend.status, 200) << trend.body;
  std::int64_t stored = 0;
  std::int64_t widest_gap = 0;
  std::int64_t previous = 0;
  std::string gaps;
  const auto series = trend.json();
  for (const auto& p : series["data"]) {
    const auto t = ms_of(p["time"]);
    if (t < before_at || t > after_at)
      continue;
    ++stored;
    if (previous != 0 && t - previous > 300)
      gaps += core::format_iso8601(previous) + " +" + std::to_string(t - previous) + " ms; ";
    if (previous != 0)
      widest_gap = std::max(widest_gap, t - previous);
    previous = t;
  }
  EXPECT_GE(cycles, 30'000 / cycle_ms) << "the edge kept polling through the 30 s";
  EXPECT_NEAR(static_cast<double>(stored), static_cast<double>(cycles), 2.0)
      << "stored " << stored << " of " << cycles << " cycles, " << core::format_iso8601(before_at)
      << " to " << core::format_iso8601(after_at) << "; gaps: " << gaps;
  EXPECT_LT(widest_gap, cycle_ms * 3) << "no stretch of the gap is missing";

  // Site-a kept controlling: over the last 10 s of the cut (100 s of plant time), the pH it
  // recorded is at the setpoint it took just before the cut.
  std::int64_t held = 0;
  double worst = 0.0;
  for (const auto& p : series["data"]) {
    const auto t = ms_of(p["time"]);
    if (t < cut_at + 20'000 || t > cut_at + 30'000)
      continue;
    ++held;
    worst = std::max(worst, std::abs(p["value"].get<double>() - 7.4));
  }
  EXPECT_GE(held, 10'000 / cycle_ms - 2);
  EXPECT_LE(worst, 0.1) << "pH off its setpoint by up to " << worst << " during the cut";
  EXPECT_TRUE(wait_for(
      [&] {
        auto l = loop();
        return l.value("status", "") == "NORMAL" && l.value("setpoint", 0.0) == 7.4;
      },
      10s, 200ms))
      << loop();

  EXPECT_EQ(edge_a->stop(SIGTERM), 0) << edge_a->log();
  EXPECT_EQ(edge_b->stop(SIGTERM), 0) << edge_b->log();
}

TEST_F(EdgeNodes, AnEdgeWhoseCertificateTheCentralNodeDoesNotTrustIsRefusedAndLogged) {
  const auto rogue = make_certificates("rogue", {"site-a"});
  // The rogue edge trusts the real CA (it would accept the central node), but its own
  // certificate is signed by a CA the central node does not know.
  auto edge = start_edge("site-a", rogue, pki_, node_port_, data_dir("rogue"));
  EXPECT_TRUE(wait_for(
      [&] { return wtcd_->log().find("refused a peer's certificate") != std::string::npos; }, 20s,
      100ms))
      << wtcd_->log();
  EXPECT_NE(wtcd_->log().find("CN=site-a"), std::string::npos);
  EXPECT_EQ(api().get("/api/v1/nodes/site-a", admin_).status, 404);
  EXPECT_NE(edge->log().find("cannot reach the central node"), std::string::npos) << edge->log();
  fs::remove_all(rogue);
}

}  // namespace
}  // namespace wtc::test
