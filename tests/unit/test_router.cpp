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

// The trends' shape: literal siblings of a parameter, with methods of their own.
TEST(RouterPrecedence, ALiteralPathIsNeverReadAsTheParameterBesideIt) {
  router routes;
  for (const auto& [method, pattern] :
       {std::pair{"GET", "/api/v1/trends/tags"}, std::pair{"POST", "/api/v1/trends/tags"},
        std::pair{"GET", "/api/v1/trends/stats"}, std::pair{"GET", "/api/v1/trends/{tag_id}"},
        std::pair{"GET", "/api/v1/trends/tags/{tag_id}"},
        std::pair{"PUT", "/api/v1/trends/tags/{tag_id}"},
        std::pair{"DELETE", "/api/v1/trends/tags/{tag_id}"}})
    routes.add(method, pattern, access::viewer, noop());
  EXPECT_EQ(routes.find("GET", "/api/v1/trends/tags").found->label, "GET /api/v1/trends/tags");
  EXPECT_EQ(routes.find("POST", "/api/v1/trends/tags").found->label, "POST /api/v1/trends/tags");
  EXPECT_EQ(routes.find("GET", "/api/v1/trends/stats").found->label, "GET /api/v1/trends/stats");
  auto trend = routes.find("GET", "/api/v1/trends/7");
  ASSERT_NE(trend.found, nullptr);
  EXPECT_EQ(trend.found->pattern, "/api/v1/trends/{tag_id}");
  EXPECT_EQ(trend.params.at("tag_id"), "7");
  // Not a number: the route's handler answers 400 (path_id).
  EXPECT_EQ(routes.find("GET", "/api/v1/trends/pH").params.at("tag_id"), "pH");
  EXPECT_EQ(routes.find("PUT", "/api/v1/trends/tags/3").found->label,
            "PUT /api/v1/trends/tags/{tag_id}");

  // A method the literal path lacks is a 405 listing the literal path's methods, once each.
  auto put = routes.find("PUT", "/api/v1/trends/tags");
  EXPECT_EQ(put.found, nullptr);
  EXPECT_EQ(put.allowed_methods, "GET, POST");
  auto post = routes.find("POST", "/api/v1/trends/stats");
  EXPECT_EQ(post.found, nullptr);
  EXPECT_EQ(post.allowed_methods, "GET");
  EXPECT_EQ(routes.find("POST", "/api/v1/trends/7").allowed_methods, "GET");
  EXPECT_EQ(routes.find("POST", "/api/v1/trends/tags/3").allowed_methods, "GET, PUT, DELETE");
  EXPECT_EQ(routes.find("GET", "/api/v1/trends/tags/").found, nullptr);
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
