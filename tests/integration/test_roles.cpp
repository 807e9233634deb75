// Walks every route of the gateway's route table against a real wtcd, with no token, with an
// expired one, with an unknown one and with each role, and checks 401/403/allowed as the route
// declares. The table is built by the same function wtcd uses, so a new route is walked the day
// it is added.

#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "gateway/api.hpp"
#include "http_client.hpp"
#include "wtcd_process.hpp"

namespace wtc::test {
namespace {

using gateway::access;

std::vector<gateway::route> all_routes() {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  gateway::api_context ctx{sys, {}, nullptr, nullptr, nullptr, nullptr};
  gateway::router routes;
  gateway::add_api_routes(routes, ctx);
  return routes.routes();
}

/// A path for a pattern: every {parameter} becomes 1.
std::string concrete(const std::string& pattern) {
  return std::regex_replace(pattern, std::regex(R"(\{[^}]+\})"), "1");
}

http_result call(const http_client& client, const gateway::route& r, const std::string& token) {
  const bool has_body = r.method == "POST" || r.method == "PUT" || r.method == "PATCH";
  return client.request(r.method, concrete(r.pattern), has_body ? "{}" : "", token);
}

std::map<std::string, std::string> quick_env() {
  return {{"WTC_ADMIN_PASSWORD", "admin-password"},
          {"WTC_BCRYPT_COST", "10"},
          {"WTC_LOG_LEVEL", "warning"}};
}

TEST(Roles, TheRouteTableIsNotEmptyAndEveryRouteDeclaresItsAccess) {
  auto routes = all_routes();
  EXPECT_GE(routes.size(), 17U);
  for (const auto& r : routes)
    EXPECT_TRUE(r.fn) << r.label;
}

TEST(Roles, ExpiredTokensAreRefusedOnEveryProtectedRoute) {
  auto env = quick_env();
  wtcd_process wtcd({env, {"--session-ttl", "1"}, ""});
  wtcd.start();
  http_client client(wtcd.port());
  const auto token = client.login("admin", "admin-password");
  ASSERT_FALSE(token.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // the token's whole lifetime
  for (const auto& r : all_routes()) {
    if (r.required == access::anonymous)
      continue;
    auto res = call(client, r, token);
    EXPECT_EQ(res.status, 401) << r.label << ": " << res.body;
    EXPECT_EQ(res.header("www-authenticate"), "Bearer") << r.label;
  }
}

TEST(Roles, EveryRouteAnswersEachRoleAsItsTableSays) {
  wtcd_process wtcd({quick_env(), {}, ""});
  wtcd.start();
  http_client client(wtcd.port());
  const auto admin = client.login("admin", "admin-password");
  for (const auto& [name, r] : {std::pair{"oscar", "operator"}, std::pair{"vicky", "viewer"}}) {
    auto res = client.post(
        "/api/v1/users",
        {{"username", name}, {"password", std::string(name) + "-password"}, {"role", r}}, admin);
    ASSERT_EQ(res.status, 201) << res.body;
  }
  const std::vector<std::tuple<std::string, std::string, access>> users{
      {"vicky", "vicky-password", access::viewer},
      {"oscar", "oscar-password", access::operator_},
      {"admin", "admin-password", access::admin}};
  std::map<std::string, std::string> tokens;
  auto token_of = [&](const std::string& user, const std::string& password) {
    // Some routes end the session they are called with (logout, refresh): log in again then.
    auto& token = tokens[user];
    if (token.empty() || client.get("/api/v1/auth/session", token).status != 200)
      token = client.login(user, password);
    return token;
  };

  const auto unknown = std::string(64, 'a');
  for (const auto& r : all_routes()) {
    SCOPED_TRACE(r.label);
    auto anonymous = call(client, r, "");
    if (r.required == access::anonymous) {
      EXPECT_NE(anonymous.status, 401) << anonymous.body;
      EXPECT_NE(anonymous.status, 403) << anonymous.body;
      continue;
    }
    EXPECT_EQ(anonymous.status, 401) << anonymous.body;
    EXPECT_TRUE(anonymous.json().contains("detail"));
    EXPECT_EQ(call(client, r, unknown).status, 401);
    EXPECT_EQ(call(client, r, "not-a-token").status, 401);
    for (const auto& [user, password, level] : users) {
      auto res = call(client, r, token_of(user, password));
      if (level < r.required) {
        EXPECT_EQ(res.status, 403) << user << ": " << res.body;
        EXPECT_NE(res.json().value("detail", ""), "") << user;
      } else {
        EXPECT_NE(res.status, 401) << user << ": " << res.body;
        EXPECT_NE(res.status, 403) << user << ": " << res.body;
        EXPECT_LT(res.status, 500) << user << ": " << res.body;
      }
    }
  }
  EXPECT_EQ(wtcd.stop(), 0);
}

}  // namespace
}  // namespace wtc::test
