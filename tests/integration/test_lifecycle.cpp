// wtcd as an operator meets it: first start, configuration errors, clean shutdown, restarts,
// PostgreSQL, the audit trail and the health endpoints.

#include <gtest/gtest.h>

#include <memory>
#include <regex>
#include <sstream>

#include "http_client.hpp"
#include "pg_cluster.hpp"
#include "wtcd_process.hpp"

namespace wtc::test {
namespace {

std::map<std::string, std::string> quick_env() {
  return {{"WTC_ADMIN_PASSWORD", "admin-password"}, {"WTC_BCRYPT_COST", "10"}};
}

TEST(Lifecycle, FirstStartPrintsARandomAdminPasswordOnce) {
  wtcd_process wtcd({{{"WTC_BCRYPT_COST", "10"}}, {}, ""});
  wtcd.start();
  std::smatch m;
  const auto log = wtcd.log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("created user 'admin' with password '([^']+)'")))
      << log;
  const std::string password = m[1];
  EXPECT_GE(password.size(), 16U);
  http_client client(wtcd.port());
  EXPECT_EQ(client.post("/api/v1/auth/login", {{"username", "admin"}, {"password", "wtc_password"}})
                .status,
            401)
      << "there is no default password";
  EXPECT_FALSE(client.login("admin", password).empty());
  EXPECT_EQ(wtcd.stop(), 0);

  wtcd_process again({{{"WTC_BCRYPT_COST", "10"}}, {}, wtcd.data_dir()});
  again.start();
  EXPECT_EQ(again.log().find("created user 'admin'"), std::string::npos)
      << "only on the first start";
  EXPECT_EQ(again.stop(), 0);
}

TEST(Lifecycle, BadConfigurationStopsStartUpNamingTheSetting) {
  struct bad_case {
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    std::string named;
  };
  const std::vector<bad_case> cases{
      {{}, {{"WTC_API_PORT", "eighty"}}, "WTC_API_PORT"},
      {{"--port", "70000"}, {}, "--port"},
      {{}, {{"WTC_LOG_LEVEL", "loud"}}, "WTC_LOG_LEVEL"},
      {{}, {{"WTC_LOG_STRUCTURED", "maybe"}}, "WTC_LOG_STRUCTURED"},
      {{"--db", "mysql://x"}, {}, "--db"},
      {{}, {{"DATABASE_URL", "oracle://x"}}, "DATABASE_URL"},
      {{}, {{"WTC_BCRYPT_COST", "4"}}, "WTC_BCRYPT_COST"},
      {{"--no-such-flag"}, {}, "--no-such-flag"},
  };
  for (const auto& c : cases) {
    std::string output;
    EXPECT_EQ(run_wtcd_to_exit(c.args, c.env, &output), 2) << output;
    EXPECT_NE(output.find(c.named), std::string::npos) << output;
  }
}

TEST(Lifecycle, AnUnreachableDatabaseStopsStartUpWithAClearMessage) {
  std::string output;
  const auto url = "postgresql://wtc:pw@127.0.0.1:" + std::to_string(free_port()) + "/nothing";
  EXPECT_EQ(run_wtcd_to_exit({"--db", url}, {}, &output), 1);
  EXPECT_NE(output.find("cannot prepare the database"), std::string::npos) << output;
}

TEST(Lifecycle, SigtermStopsCleanlyAndSessionsSurviveARestart) {
  wtcd_process wtcd({quick_env(), {}, ""});
  wtcd.start();
  const auto token = http_client(wtcd.port()).login("admin", "admin-password");
  EXPECT_EQ(wtcd.stop(), 0);
  EXPECT_NE(wtcd.log().find("wtcd stopped"), std::string::npos);

  wtcd_process again({quick_env(), {}, wtcd.data_dir()});
  again.start();
  http_client client(again.port());
  auto session = client.get("/api/v1/auth/session", token);
  EXPECT_EQ(session.status, 200) << session.body;
  EXPECT_EQ(session.json().value("username", ""), "admin");
  EXPECT_EQ(client.post("/api/v1/auth/logout", nlohmann::json::object(), token).status, 200);
  EXPECT_EQ(client.get("/api/v1/auth/session", token).status, 401);
  EXPECT_EQ(again.stop(), 0);
}

TEST(Lifecycle, EveryChangeIsAuditedWithUserActionResourceAndAddress) {
  wtcd_process wtcd({quick_env(), {}, ""});
  wtcd.start();
  http_client client(wtcd.port());
  const auto admin = client.login("admin", "admin-password");
  auto created = client.post(
      "/api/v1/users",
      {{"username", "paula"}, {"password", "paula-password"}, {"role", "operator"}}, admin);
  ASSERT_EQ(created.status, 201) << created.body;
  const auto id = std::to_string(created.json()["id"].get<std::int64_t>());
  EXPECT_TRUE(created.json()["created_at"].is_string()) << created.body;
  ASSERT_EQ(client.request("PUT", "/api/v1/users/" + id, R"({"role":"viewer"})", admin).status,
            200);
  ASSERT_EQ(client.request("DELETE", "/api/v1/users/" + id, "", admin).status, 200);

  auto audit = client.get("/api/v1/audit?user=admin&resource_type=user", admin);
  ASSERT_EQ(audit.status, 200) << audit.body;
  auto entries = audit.json()["entries"];
  ASSERT_EQ(entries.size(), 3U) << audit.body;
  EXPECT_EQ(entries[0]["action"], "user_delete");
  EXPECT_EQ(entries[1]["action"], "user_update");
  EXPECT_EQ(entries[2]["action"], "user_create");
  for (const auto& e : entries) {
    EXPECT_EQ(e["ip_address"], "127.0.0.1");
    EXPECT_EQ(e["resource_type"], "user");
  }
  EXPECT_EQ(entries[1]["resource_id"], id);
  EXPECT_EQ(entries[1]["details"]["role"], "viewer");

  auto logins = client.get("/api/v1/audit?action=login&limit=1", admin);
  EXPECT_EQ(logins.json()["total"], 1);
  EXPECT_EQ(wtcd.stop(), 0);
}

TEST(Lifecycle, HealthStatusMetricsAndRequestIds) {
  wtcd_process wtcd({quick_env(), {}, ""});
  wtcd.start();
  http_client client(wtcd.port());
  auto health = client.get("/health");
  ASSERT_EQ(health.status, 200) << health.body;
  auto doc = health.json();
  EXPECT_EQ(doc["status"], "ok");
  EXPECT_EQ(doc["subsystems"]["database"]["status"], "ok");
  EXPECT_TRUE(doc["subsystems"]["database"]["latency_ms"].is_number());
  EXPECT_EQ(doc["subsystems"]["ipc"]["controller_connected"], true);
  EXPECT_EQ(client.get("/health/ready").status, 200);

  const auto token = client.login("admin", "admin-password");
  auto status = client.get("/api/v1/system/status", token);
  ASSERT_EQ(status.status, 200) << status.body;
  for (const char* field : {"status", "uptime_seconds", "cycle_time_ms", "connected_rtus",
                            "total_rtus", "active_alarms", "cpu_usage", "memory_usage"})
    EXPECT_TRUE(status.json().contains(field)) << field;

  auto metrics = client.get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("wtc_http_requests_total{route=\"GET /health\",code=\"200\"}"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("wtc_http_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(metrics.body.find("wtc_actor_mailbox_depth{actor=\"sessions\"}"), std::string::npos);
  EXPECT_NE(metrics.body.find("wtc_db_latency_milliseconds"), std::string::npos);

  auto echoed = client.request("GET", "/health/live", "", "", {{"X-Request-Id", "trace-me-42"}});
  EXPECT_EQ(echoed.header("x-request-id"), "trace-me-42");
  EXPECT_FALSE(client.get("/health/live").header("x-request-id").empty());
  EXPECT_EQ(wtcd.stop(), 0);
}

TEST(Lifecycle, FailedLoginsAreThrottledWithRetryAfter) {
  wtcd_process wtcd({quick_env(), {}, ""});
  wtcd.start();
  http_client client(wtcd.port());
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(client
                  .post("/api/v1/auth/login",
                        {{"username", "admin"}, {"password", "guess-" + std::to_string(i)}})
                  .status,
              401);
  auto locked =
      client.post("/api/v1/auth/login", {{"username", "admin"}, {"password", "admin-password"}});
  EXPECT_EQ(locked.status, 429) << locked.body;
  EXPECT_GT(std::stoi(locked.header("retry-after").empty() ? "0" : locked.header("retry-after")),
            0);
  EXPECT_NE(locked.json().value("detail", "").find("try again"), std::string::npos);
  auto failures = client.get("/api/v1/audit?action=login_failed", "");
  EXPECT_EQ(failures.status, 401) << "the audit log needs a token";
  EXPECT_EQ(wtcd.stop(), 0);
}

TEST(Lifecycle, StructuredLogsAreOneJsonObjectPerLine) {
  auto env = quick_env();
  env["WTC_LOG_STRUCTURED"] = "true";
  env["WTC_LOG_LEVEL"] = "debug";
  wtcd_process wtcd({env, {}, ""});
  wtcd.start();
  http_client client(wtcd.port());
  client.request("GET", "/health", "", "", {{"X-Request-Id", "json-\"quoted\"-id"}});
  client.request("GET", "/health", "", "", {{"X-Request-Id", "json-log-check"}});
  EXPECT_EQ(wtcd.stop(), 0);
  std::istringstream lines(wtcd.log());
  std::string line;
  int parsed = 0;
  bool saw_request_id = false;
  while (std::getline(lines, line)) {
    auto doc = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(doc.is_object()) << line;
    EXPECT_TRUE(doc.contains("time") && doc.contains("level") && doc.contains("message")) << line;
    saw_request_id |= doc["message"].get<std::string>().find("json-log-check") != std::string::npos;
    ++parsed;
  }
  EXPECT_GT(parsed, 3);
  EXPECT_TRUE(saw_request_id) << "request ids are echoed into the log lines";
}

TEST(Lifecycle, CorsOriginsAreHonoured) {
  auto env = quick_env();
  env["WTC_CORS_ORIGINS"] = "http://hmi.plant.local";
  wtcd_process wtcd({env, {}, ""});
  wtcd.start();
  http_client client(wtcd.port());
  auto allowed = client.request("GET", "/health", "", "", {{"Origin", "http://hmi.plant.local"}});
  EXPECT_EQ(allowed.header("access-control-allow-origin"), "http://hmi.plant.local");
  auto other = client.request("GET", "/health", "", "", {{"Origin", "http://evil.example"}});
  EXPECT_EQ(other.header("access-control-allow-origin"), "");
  auto preflight = client.request(
      "OPTIONS", "/api/v1/users", "", "",
      {{"Origin", "http://hmi.plant.local"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(preflight.status, 204);
  EXPECT_NE(preflight.header("access-control-allow-methods").find("POST"), std::string::npos);
  EXPECT_EQ(wtcd.stop(), 0);
}

TEST(Lifecycle, RunsOnPostgresqlAndReportsItsLoss) {
  auto cluster = std::make_unique<pg_cluster>();
  const auto url = cluster->create_database();
  wtcd_process wtcd({quick_env(), {"--db", url}, ""});
  wtcd.start();
  http_client client(wtcd.port());
  const auto admin = client.login("admin", "admin-password");
  ASSERT_EQ(
      client
          .post("/api/v1/users",
                {{"username", "pgu"}, {"password", "pgu-password"}, {"role", "viewer"}}, admin)
          .status,
      201);
  EXPECT_NE(wtcd.log().find("postgresql"), std::string::npos);
  EXPECT_EQ(client.get("/health/ready").status, 200);
  EXPECT_EQ(wtcd.stop(), 0);

  wtcd_process again({quick_env(), {"--db", url}, ""});
  again.start();
  http_client client2(again.port());
  EXPECT_EQ(client2.get("/api/v1/auth/session", admin).status, 200)
      << "sessions survive on PostgreSQL";
  EXPECT_FALSE(client2.login("pgu", "pgu-password").empty());

  cluster.reset();  // the database goes away under a running wtcd
  auto ready = client2.get("/health/ready");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_EQ(client2.get("/health/live").status, 200) << "the process itself still serves";
  again.kill();
}

}  // namespace
}  // namespace wtc::test
