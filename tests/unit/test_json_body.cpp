#include <gtest/gtest.h>

#include "gateway/json_body.hpp"
#include "gateway/replies.hpp"

namespace wtc::gateway {
namespace {

request with_body(std::string body) {
  request req;
  req.body = std::move(body);
  req.content_type = "application/json";
  return req;
}

TEST(JsonBody, ReadsTypedFields) {
  json_body body(with_body(R"({"name":"x","n":3,"on":true,"v":1.5})"), {"name", "n", "on", "v"});
  EXPECT_EQ(body.required_string("name", 10), "x");
  EXPECT_EQ(body.optional_integer("n", 0, 10), 3);
  EXPECT_EQ(body.optional_bool("on"), true);
  EXPECT_DOUBLE_EQ(body.required_number("v"), 1.5);
  EXPECT_FALSE(body.optional_string("missing", 10).has_value());
}

TEST(JsonBody, RejectsEveryKindOfBadBody) {
  EXPECT_THROW(json_body(with_body(""), {}), bad_input);
  EXPECT_THROW(json_body(with_body("{"), {}), bad_input);
  EXPECT_THROW(json_body(with_body("[1,2]"), {}), bad_input);
  EXPECT_THROW(json_body(with_body(R"({"extra":1})"), {"name"}), bad_input);
  EXPECT_THROW(json_body(with_body(std::string(10000, '[')), {}), bad_input);
  EXPECT_THROW(json_body(with_body("{\"name\":\"\xff\xfe\"}"), {"name"}), bad_input);
  auto form = with_body(R"({"name":"x"})");
  form.content_type = "application/x-www-form-urlencoded";
  EXPECT_THROW(json_body(form, {"name"}), bad_input);
}

TEST(JsonBody, DepthCheckIgnoresBracketsInsideStrings) {
  json_body body(with_body(R"({"name":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})"), {"name"});
  EXPECT_EQ(body.required_string("name", 100).size(), 44U);
}

TEST(JsonBody, RejectsWrongTypesAndSizes) {
  json_body body(with_body(R"({"name":5,"n":"3","on":"yes","s":"toolong","f":1.5})"),
                 {"name", "n", "on", "s", "f"});
  EXPECT_THROW(body.required_string("name", 10), bad_input);
  EXPECT_THROW(body.optional_integer("n", 0, 10), bad_input);
  EXPECT_THROW(body.optional_bool("on"), bad_input);
  EXPECT_THROW(body.required_string("s", 3), bad_input);
  EXPECT_THROW(body.optional_integer("f", 0, 10), bad_input);
  EXPECT_THROW(body.required_string("absent", 3), bad_input);
}

TEST(QueryHelpers, ValidateRanges) {
  request req;
  req.query = {{"limit", "5000"}, {"skip", "-1"}, {"n", "abc"}, {"t", "yesterday"}};
  EXPECT_THROW(query_integer(req, "limit", 100, 1, 1000), bad_input);
  EXPECT_THROW(query_integer(req, "skip", 0, 0, 10), bad_input);
  EXPECT_THROW(query_integer(req, "n", 0, 0, 10), bad_input);
  EXPECT_THROW(query_time(req, "t"), bad_input);
  EXPECT_EQ(query_integer(req, "absent", 7, 0, 10), 7);
  EXPECT_THROW(allow_query(req, {"limit", "skip", "n"}), bad_input);
}

TEST(PathId, AcceptsOnlyPositiveIntegers) {
  request req;
  for (const char* bad : {"0", "-3", "abc", "1.5", "99999999999999999999", ""}) {
    req.params["id"] = bad;
    EXPECT_THROW(path_id(req, "id"), bad_input) << bad;
  }
  req.params["id"] = "17";
  EXPECT_EQ(path_id(req, "id"), 17);
}

}  // namespace
}  // namespace wtc::gateway
