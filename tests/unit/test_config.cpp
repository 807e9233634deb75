#include <gtest/gtest.h>

#include "apps/config.hpp"

namespace wtc::app {
namespace {

wtcd_config load(const environment& env, std::vector<std::string> args = {}) {
  args.insert(args.begin(), "wtcd");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  return load_config(env, static_cast<int>(argv.size()), argv.data());
}

TEST(Config, DefaultsToEmbeddedSqliteOnPort8000) {
  auto cfg = load({});
  EXPECT_TRUE(cfg.db.url.empty());
  EXPECT_EQ(cfg.db.data_dir, "./wtc-data");
  EXPECT_EQ(cfg.port, 8000);
  EXPECT_EQ(cfg.log_level, "info");
  EXPECT_FALSE(cfg.log_structured);
  EXPECT_EQ(cfg.session_ttl.count(), 8 * 3600);
  EXPECT_GE(cfg.bcrypt_cost, 10);
}

TEST(Config, AnyDbVariableSelectsPostgresqlWithTheContractsDefaults) {
  auto cfg = load({{"WTC_DB_HOST", "db.plant"}});
  EXPECT_EQ(cfg.db.url, "postgresql://wtc:wtc_password@db.plant:5432/water_treatment");
}

TEST(Config, DatabaseUrlOverridesTheDbVariablesAndTheFlagOverridesBoth) {
  environment env{{"WTC_DB_HOST", "db.plant"}, {"DATABASE_URL", "postgresql://a@b/c"}};
  EXPECT_EQ(load(env).db.url, "postgresql://a@b/c");
  EXPECT_EQ(load(env, {"--db", "sqlite:///tmp/x.db"}).db.url, "sqlite:///tmp/x.db");
}

TEST(Config, PasswordsAreEscapedInTheUrl) {
  auto url = postgres_url_from({{"WTC_DB_PASSWORD", "p@ss:w/rd"}});
  EXPECT_EQ(url, "postgresql://wtc:p%40ss%3Aw%2Frd@localhost:5432/water_treatment");
}

TEST(Config, FlagsWinOverVariables) {
  auto cfg = load({{"WTC_API_PORT", "9000"}, {"WTC_LOG_LEVEL", "ERROR"}},
                  {"--port", "9100", "--log-level", "debug"});
  EXPECT_EQ(cfg.port, 9100);
  EXPECT_EQ(cfg.log_level, "debug");
}

TEST(Config, ReadsTheContractsVariables) {
  auto cfg = load({{"WTC_API_PORT", "8080"},
                   {"WTC_LOG_LEVEL", "WARNING"},
                   {"WTC_LOG_STRUCTURED", "true"},
                   {"WTC_CORS_ORIGINS", "http://a, http://b"}});
  EXPECT_EQ(cfg.port, 8080);
  EXPECT_EQ(cfg.log_level, "warn");
  EXPECT_TRUE(cfg.log_structured);
  EXPECT_EQ(cfg.cors_origins, (std::vector<std::string>{"http://a", "http://b"}));
  EXPECT_EQ(load({}).http_idle_timeout.count(), 60);
  EXPECT_EQ(load({{"WTC_HTTP_IDLE_TIMEOUT", "5"}}).http_idle_timeout.count(), 5);
}

TEST(Config, WebSocketAuthIsOffByDefaultAndSetByVariableOrFlag) {
  EXPECT_FALSE(load({}).ws_require_auth);
  EXPECT_TRUE(load({{"WTC_WS_REQUIRE_AUTH", "true"}}).ws_require_auth);
  EXPECT_FALSE(load({{"WTC_WS_REQUIRE_AUTH", "0"}}).ws_require_auth);
  EXPECT_TRUE(load({}, {"--ws-require-auth"}).ws_require_auth);
  EXPECT_FALSE(
      load({{"WTC_WS_REQUIRE_AUTH", "true"}}, {"--ws-require-auth=false"}).ws_require_auth);
  EXPECT_THROW(load({{"WTC_WS_REQUIRE_AUTH", "maybe"}}), config_error);
}

TEST(Config, BadValuesNameTheSetting) {
  auto message_of = [](const environment& env, std::vector<std::string> args = {}) {
    try {
      load(env, std::move(args));
    } catch (const config_error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message_of({{"WTC_API_PORT", "80a"}}).find("WTC_API_PORT"), std::string::npos);
  EXPECT_NE(message_of({{"WTC_DB_PORT", "-1"}}).find("WTC_DB_PORT"), std::string::npos);
  EXPECT_NE(message_of({{"WTC_SESSION_TTL", "0"}}).find("WTC_SESSION_TTL"), std::string::npos);
  EXPECT_NE(message_of({{"WTC_IO_THREADS", "many"}}).find("WTC_IO_THREADS"), std::string::npos);
  EXPECT_NE(message_of({{"WTC_HTTP_IDLE_TIMEOUT", "0"}}).find("WTC_HTTP_IDLE_TIMEOUT"),
            std::string::npos);
  EXPECT_NE(message_of({}, {"--port", "99999"}).find("--port"), std::string::npos);
  EXPECT_NE(message_of({}, {"--bogus"}).find("--bogus"), std::string::npos);
}

edge_config load_edge(const environment& env, std::vector<std::string> args = {}) {
  args.insert(args.begin(), "wtc-edge");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  return load_edge_config(env, static_cast<int>(argv.size()), argv.data());
}

TEST(Config, WtcdListensForNodesOnlyWithTlsOrThePlainFlag) {
  auto cfg = load({});
  EXPECT_EQ(cfg.nodes.port, 4300);
  EXPECT_FALSE(cfg.nodes.configured());
  EXPECT_TRUE(load({}, {"--node-insecure-plain-tcp"}).nodes.configured());
  EXPECT_FALSE(load({}, {"--node-insecure-plain-tcp"}).nodes.tls());
  // Half a TLS set-up is a mistake, named.
  try {
    load({{"WTC_NODE_CERT", "/nonexistent/central.pem"}});
    FAIL() << "a certificate without key and CA was accepted";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("--node-key"), std::string::npos) << e.what();
  }
  try {
    load({}, {"--node-cert", "/nonexistent/c.pem", "--node-key", "/nonexistent/k.pem", "--node-ca",
              "/nonexistent/ca.pem"});
    FAIL() << "unreadable certificate files were accepted";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot read"), std::string::npos) << e.what();
  }
}

TEST(Config, AnEdgeNeedsANameTheCentralNodeAndTls) {
  const environment plain{{"WTC_NODE_NAME", "site-a"},
                          {"WTC_CENTRAL", "central.plant:4300"},
                          {"WTC_NODE_INSECURE_PLAIN_TCP", "true"}};
  auto cfg = load_edge(plain);
  EXPECT_EQ(cfg.name, "site-a");
  EXPECT_EQ(cfg.central_host, "central.plant");
  EXPECT_EQ(cfg.link.port, 4300);
  EXPECT_EQ(cfg.data_dir, "./wtc-edge-data");
  EXPECT_EQ(cfg.buffer_max_mb, 256u);
  EXPECT_EQ(load_edge(plain, {"--name", "site-b", "--buffer-max-mb", "16"}).name, "site-b");
  auto refused = [&](environment env, std::vector<std::string> args, const std::string& naming) {
    try {
      load_edge(env, args);
      ADD_FAILURE() << "accepted: " << naming;
    } catch (const config_error& e) {
      EXPECT_NE(std::string(e.what()).find(naming), std::string::npos) << e.what();
    }
  };
  refused({{"WTC_CENTRAL", "c:4300"}, {"WTC_NODE_INSECURE_PLAIN_TCP", "true"}}, {}, "--name");
  refused(plain, {"--name", "central"}, "--name");
  refused(plain, {"--name", "site/a"}, "--name");
  refused(plain, {"--central", "no-port"}, "--central");
  refused(plain, {"--central", "c:99999"}, "--central");
  refused(plain, {"--buffer-max-mb", "0"}, "--buffer-max-mb");
  refused({{"WTC_NODE_NAME", "site-a"}, {"WTC_CENTRAL", "c:4300"}}, {}, "--node-cert");
}

}  // namespace
}  // namespace wtc::app
