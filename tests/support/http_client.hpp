#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace wtc::test {

struct http_result {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

/// A blocking HTTP/1.1 client for tests: one connection per request.
class http_client {
 public:
  explicit http_client(std::uint16_t port, std::string host = "127.0.0.1")
      : host_(std::move(host)), port_(port) {}

  http_result request(const std::string& method, const std::string& target,
                      const std::string& body = {}, const std::string& token = {},
                      const std::map<std::string, std::string>& headers = {}) const;

  http_result get(const std::string& target, const std::string& token = {}) const {
    return request("GET", target, {}, token);
  }
  http_result post(const std::string& target, const nlohmann::json& body,
                   const std::string& token = {}) const {
    return request("POST", target, body.dump(), token);
  }

  /// Sends `raw` bytes as they are and returns the status line's code (0 if none came back):
  /// for requests no well-behaved client would make.
  int raw(const std::string& raw_request, std::string* response_text = nullptr) const;

  /// Logs in and returns the token; fails the test on anything but 200.
  std::string login(const std::string& username, const std::string& password) const;

 private:
  std::string host_;
  std::uint16_t port_;
};

}  // namespace wtc::test
