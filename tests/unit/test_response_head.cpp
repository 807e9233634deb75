#include <gtest/gtest.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "gateway/response_head.hpp"

namespace wtc::gateway {
namespace {

namespace http = boost::beast::http;
using namespace std::string_literals;

/// Parses head + body as a client would, failing the test on any framing error.
http::response<http::string_body> parse(const std::string& head, const std::string& body) {
  http::response_parser<http::string_body> parser;
  parser.eager(true);
  boost::beast::error_code ec;
  const auto wire = head + body;
  const auto used = parser.put(boost::asio::buffer(wire), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(used, wire.size());
  EXPECT_TRUE(parser.is_done());
  return parser.release();
}

TEST(ResponseHead, AReplyParsesBackWithItsStatusFieldsAndBody) {
  std::string out = "left over from the previous reply";
  const std::string body = R"({"status":"ok"})";
  response_head head(out, 200, 11);
  head.field("Content-Type", "application/json");
  head.field("X-Request-Id", "abc-1");
  head.finish(body.size(), true);

  EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\n", 0), 0U);
  auto res = parse(out, body);
  EXPECT_EQ(res.result_int(), 200U);
  EXPECT_EQ(res[http::field::content_type], "application/json");
  EXPECT_EQ(res["X-Request-Id"], "abc-1");
  EXPECT_EQ(res[http::field::content_length], std::to_string(body.size()));
  EXPECT_EQ(res.body(), body);
  EXPECT_TRUE(res.keep_alive());
}

TEST(ResponseHead, KeepAliveIsSaidTheWayEachVersionNeeds) {
  std::string out;
  {
    response_head head(out, 200, 11);
    head.finish(0, false);
  }
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
  EXPECT_FALSE(parse(out, "").keep_alive());
  {
    response_head head(out, 200, 10);
    head.finish(0, true);
  }
  EXPECT_EQ(out.rfind("HTTP/1.0 200 OK\r\n", 0), 0U);
  EXPECT_NE(out.find("Connection: keep-alive\r\n"), std::string::npos);
  {
    response_head head(out, 200, 10);
    head.finish(0, false);
  }
  EXPECT_EQ(out.find("Connection"), std::string::npos);
}

TEST(ResponseHead, StatusesWithoutABodyCarryNoContentLength) {
  for (unsigned status : {204U, 304U, 101U}) {
    std::string out;
    response_head head(out, status, 11);
    head.finish(0, true);
    EXPECT_EQ(out.find("Content-Length"), std::string::npos) << status;
    EXPECT_FALSE(response_head::allows_body(status)) << status;
  }
  EXPECT_TRUE(response_head::allows_body(200));
  EXPECT_TRUE(response_head::allows_body(503));
}

TEST(ResponseHead, ALineBreakInAValueCannotStartAFieldOfItsOwn) {
  std::string out;
  response_head head(out, 200, 11);
  head.field("Access-Control-Allow-Origin", "http://a\r\nSet-Cookie: x=1\0"s);
  head.finish(0, true);
  auto res = parse(out, "");
  EXPECT_EQ(res.count(http::field::set_cookie), 0U);
  EXPECT_EQ(res[http::field::access_control_allow_origin], "http://a  Set-Cookie: x=1");
}

}  // namespace
}  // namespace wtc::gateway
