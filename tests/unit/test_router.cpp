#include <gtest/gtest.h>

#include "gateway/replies.hpp"
#include "gateway/router.hpp"
#include "gateway/uri.hpp"

namespace wtc::gateway {
namespace {

handler noop() {
  return [](const exchange_ptr&) {};
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    routes.add("GET", "/api/v1/users", access::admin, noop());
    routes.add("GET", "/api/v1/users/{user_id}", access::admin, noop());
    routes.add("DELETE", "/api/v1/users/{user_id}", access::admin, noop());
    routes.add("GET", "/api/v1/alarms/{alarm_id}", access::viewer, noop());
    routes.add("GET", "/api/v1/alarms/rules", access::viewer, noop());
  }
  router routes;
};

TEST_F(RouterTest, MatchesLiteralPaths) {
  auto m = routes.find("GET", "/api/v1/users");
  ASSERT_NE(m.found, nullptr);
  EXPECT_EQ(m.found->label, "GET /api/v1/users");
}

TEST_F(RouterTest, ExtractsDecodedParameters) {
  auto m = routes.find("GET", "/api/v1/users/4%32");
  ASSERT_NE(m.found, nullptr);
  EXPECT_EQ(m.params.at("user_id"), "42");
}

TEST_F(RouterTest, LiteralSegmentsWinOverParameters) {
  auto m = routes.find("GET", "/api/v1/alarms/rules");
  ASSERT_NE(m.found, nullptr);
  EXPECT_EQ(m.found->pattern, "/api/v1/alarms/rules");
  EXPECT_EQ(routes.find("GET", "/api/v1/alarms/7").found->pattern, "/api/v1/alarms/{alarm_id}");
}

TEST_F(RouterTest, ReportsAllowedMethodsForAKnownPath) {
  auto m = routes.find("POST", "/api/v1/users/3");
  EXPECT_EQ(m.found, nullptr);
  EXPECT_EQ(m.allowed_methods, "GET, DELETE");
}

TEST_F(RouterTest, UnknownPathsMatchNothing) {
  auto m = routes.find("GET", "/api/v1/nothing");
  EXPECT_EQ(m.found, nullptr);
  EXPECT_TRUE(m.allowed_methods.empty());
  EXPECT_EQ(routes.find("GET", "/api/v1/users/").found, nullptr);
}

TEST_F(RouterTest, RejectsPathTraversalInParameters) {
  EXPECT_THROW(routes.find("GET", "/api/v1/users/.."), bad_input);
  EXPECT_THROW(routes.find("GET", "/api/v1/users/%2e%2e"), bad_input);
  EXPECT_THROW(routes.find("GET", "/api/v1/users/a%2Fb"), bad_input);
  EXPECT_THROW(routes.find("GET", "/api/v1/users/a%5Cb"), bad_input);
  EXPECT_THROW(routes.find("GET", "/api/v1/users/a%00b"), bad_input);
  EXPECT_THROW(routes.find("GET", "/api/v1/users/%zz"), bad_input);
}

TEST_F(RouterTest, RefusesDuplicateRoutes) {
  EXPECT_THROW(routes.add("GET", "/api/v1/users", access::admin, noop()), std::logic_error);
}

TEST(Query, ParsesAndDecodes) {
  auto q = parse_query("a=1&b=two%20words&c=x+y&flag");
  EXPECT_EQ(q.at("a"), "1");
  EXPECT_EQ(q.at("b"), "two words");
  EXPECT_EQ(q.at("c"), "x y");
  EXPECT_EQ(q.at("flag"), "");
}

TEST(Query, RejectsMalformedInput) {
  EXPECT_THROW(parse_query("a=%4"), bad_input);
  EXPECT_THROW(parse_query("a=%GG"), bad_input);
  EXPECT_THROW(parse_query("=1"), bad_input);
  EXPECT_THROW(parse_query("a=1&a=2"), bad_input);
  EXPECT_THROW(parse_query("a=%0A"), bad_input);
}

}  // namespace
}  // namespace wtc::gateway
