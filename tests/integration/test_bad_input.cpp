// Every kind of bad input gets a clear 4xx with a detail, changes nothing, and leaves the server
// serving.

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "http_client.hpp"
#include "raw_connection.hpp"
#include "wtcd_process.hpp"

namespace wtc::test {
namespace {

using std::chrono::steady_clock;

class BadInput : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    wtcd = new wtcd_process({{{"WTC_ADMIN_PASSWORD", "admin-password"},
                              {"WTC_BCRYPT_COST", "10"},
                              {"WTC_BODY_LIMIT", "4096"},
                              {"WTC_HTTP_IDLE_TIMEOUT", "2"},
                              {"WTC_LOG_LEVEL", "warning"}},
                             {},
                             ""});
    wtcd->start();
    admin = http_client(wtcd->port()).login("admin", "admin-password");
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(wtcd->stop(), 0);
    delete wtcd;
  }

  void SetUp() override {
    users_before = count("/api/v1/users");
    audit_before = count("/api/v1/audit");
  }

  /// Nothing changed, and the server still serves.
  void TearDown() override {
    EXPECT_EQ(client().get("/health/live").status, 200);
    EXPECT_EQ(count("/api/v1/users"), users_before);
    if (!audits_expected) {
      EXPECT_EQ(count("/api/v1/audit"), audit_before);
    }
  }

  static http_client client() { return http_client(wtcd->port()); }

  std::int64_t count(const std::string& path) {
    auto res = client().get(path, admin);
    EXPECT_EQ(res.status, 200) << res.body;
    return res.json().value("total", -1);
  }

  static void expect_4xx(const http_result& res, int status) {
    EXPECT_EQ(res.status, status) << res.body;
    auto doc = res.json();
    ASSERT_TRUE(doc.is_object()) << res.body;
    EXPECT_FALSE(doc.value("detail", "").empty()) << res.body;
  }

  http_result create_user(const std::string& body) {
    return client().request("POST", "/api/v1/users", body, admin);
  }

  static inline wtcd_process* wtcd = nullptr;
  static inline std::string admin;
  std::int64_t users_before = 0;
  std::int64_t audit_before = 0;
  bool audits_expected = false;
};

TEST_F(BadInput, MalformedJson) {
  for (const char* body : {"{", "{\"username\":}", "nonsense", "{\"a\":1,}", "\"just a string\"",
                           "[]", "{\"username\":\"x\"} trailing"})
    expect_4xx(create_user(body), 400);
}

TEST_F(BadInput, InvalidUtf8AndDeepNesting) {
  expect_4xx(
      create_user("{\"username\":\"\xc3\x28\",\"password\":\"long-enough\",\"role\":\"viewer\"}"),
      400);
  expect_4xx(create_user(std::string(2000, '[') + std::string(2000, ']')), 400);
}

TEST_F(BadInput, WrongTypes) {
  expect_4xx(create_user(R"({"username":42,"password":"long-enough","role":"viewer"})"), 400);
  expect_4xx(create_user(R"({"username":"x","password":["a"],"role":"viewer"})"), 400);
  expect_4xx(create_user(R"({"username":"x","password":"long-enough","role":7})"), 400);
  expect_4xx(client().request("PUT", "/api/v1/users/1", R"({"active":"no"})", admin), 400);
}

TEST_F(BadInput, MissingAndUnknownFields) {
  expect_4xx(create_user(R"({"password":"long-enough","role":"viewer"})"), 400);
  expect_4xx(create_user(R"({"username":"x","role":"viewer"})"), 400);
  expect_4xx(create_user(R"({"username":"x","password":"long-enough"})"), 400);
  expect_4xx(
      create_user(R"({"username":"x","password":"long-enough","role":"viewer","admin":true})"),
      400);
  expect_4xx(client().request("PUT", "/api/v1/users/2", "{}", admin), 400);
}

TEST_F(BadInput, OutOfRangeValues) {
  expect_4xx(create_user(R"({"username":"x","password":"long-enough","role":"root"})"), 400);
  expect_4xx(create_user(R"({"username":"x","password":"short","role":"viewer"})"), 400);
  expect_4xx(create_user(R"({"username":"","password":"long-enough","role":"viewer"})"), 400);
  expect_4xx(create_user(R"({"username":"a b","password":"long-enough","role":"viewer"})"), 400);
}

TEST_F(BadInput, OversizedBody) {
  const std::string big =
      R"({"username":"x","password":")" + std::string(8000, 'p') + R"(","role":"viewer"})";
  expect_4xx(create_user(big), 413);
}

TEST_F(BadInput, WrongContentType) {
  auto res = client().request("POST", "/api/v1/users",
                              R"({"username":"x","password":"long-enough","role":"viewer"})", admin,
                              {{"Content-Type", "text/plain"}});
  expect_4xx(res, 400);
}

TEST_F(BadInput, BadQueryValues) {
  for (const char* q : {"limit=abc", "limit=0", "limit=100000", "skip=-1", "skip=1.5", "limit=%zz",
                        "limit=1&limit=2", "colour=red"})
    expect_4xx(client().get(std::string("/api/v1/users?") + q, admin), 400);
  for (const char* q : {"start=yesterday", "end=2026-13-01", "start=2026-02-01&end=2026-01-01"})
    expect_4xx(client().get(std::string("/api/v1/audit?") + q, admin), 400);
}

TEST_F(BadInput, BadPathParameters) {
  for (const char* path : {"/api/v1/users/abc", "/api/v1/users/0", "/api/v1/users/-1",
                           "/api/v1/users/99999999999999999999", "/api/v1/users/%2e%2e",
                           "/api/v1/users/..%2F..%2Fetc%2Fpasswd", "/api/v1/users/a%00b"})
    expect_4xx(client().get(path, admin), 400);
  expect_4xx(client().get("/api/v1/users/424242", admin), 404);
  expect_4xx(client().get("/api/v1/../../etc/passwd", admin), 404);
}

TEST_F(BadInput, UnknownRoutesAndMethods) {
  expect_4xx(client().get("/api/v1/nothing-here", admin), 404);
  auto res = client().request("PATCH", "/api/v1/users", "{}", admin);
  expect_4xx(res, 405);
  EXPECT_EQ(res.header("allow"), "GET, POST");
}

TEST_F(BadInput, HugeHeaders) {
  auto res =
      client().request("GET", "/api/v1/users", "", admin, {{"X-Padding", std::string(40000, 'x')}});
  expect_4xx(res, 431);
}

TEST_F(BadInput, GarbageOnTheWire) {
  EXPECT_EQ(client().raw("THIS IS NOT HTTP\r\n\r\n"), 400);
  EXPECT_EQ(client().raw("GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"), 400);
  EXPECT_EQ(client().raw("GET http://example.com/health HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
}

// The suite runs wtcd with WTC_HTTP_IDLE_TIMEOUT=2: a client that opens connections and then
// says nothing, or half a request, must not hold them.
TEST_F(BadInput, SilentAndHalfSentConnectionsAreClosedAfterTheIdleTimeout) {
  for (const std::string sent : {"", "GET /health HTTP/1.1\r\nHost: x\r\n"}) {
    raw_connection connection(wtcd->port());
    ASSERT_TRUE(connection.connected());
    const auto start = steady_clock::now();
    ASSERT_TRUE(sent.empty() || connection.send(sent));
    EXPECT_TRUE(connection.closed_by_peer(std::chrono::seconds(15)))
        << "still open after 15 s; sent: " << sent;
    const auto held = std::chrono::duration<double>(steady_clock::now() - start).count();
    EXPECT_GE(held, 1.5) << "sent: " << sent;
    EXPECT_LE(held, 8.0) << "sent: " << sent;
  }
}

TEST_F(BadInput, AKeepAliveConnectionInUseOutlivesTheIdleTimeout) {
  raw_connection connection(wtcd->port());
  ASSERT_TRUE(connection.connected());
  // Six requests 0.7 s apart: the connection lives twice the idle timeout, never idle that long.
  for (int i = 0; i < 6; ++i) {
    if (i > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(700));
    ASSERT_TRUE(connection.send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")) << i;
    ASSERT_TRUE(connection.read_until(R"({"status":"alive"})", std::chrono::seconds(15)))
        << "request " << i;
  }
}

TEST_F(BadInput, BadLoginsAreRefusedAndAudited) {
  audits_expected = true;
  expect_4xx(client().post("/api/v1/auth/login", {{"username", "admin"}}), 400);
  expect_4xx(client().post("/api/v1/auth/login", {{"username", "admin"}, {"password", 5}}), 400);
  expect_4xx(
      client().post("/api/v1/auth/login", {{"username", std::string(500, 'a')}, {"password", "x"}}),
      400);
  expect_4xx(
      client().post("/api/v1/auth/login", {{"username", "ghost"}, {"password", "whatever-pw"}}),
      401);
  EXPECT_EQ(count("/api/v1/audit"), audit_before + 1) << "the failed login is audited";
}

}  // namespace
}  // namespace wtc::test
