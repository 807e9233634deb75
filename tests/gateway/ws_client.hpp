#pragma once

// A WebSocket client for tests, blocking, with a deadline on every step. No Beast in this header:
// the test files that include it also include CAF, and one translation unit with both costs a lot.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace wtc::test {

struct ws_options {
  std::string target = "/ws/live";
  std::string bearer;      // sent as `Authorization: Bearer ...` when set
  int receive_buffer = 0;  // SO_RCVBUF before connecting; 0 leaves the default
};

/// The answer to an upgrade request.
struct ws_handshake {
  int status = 0;                              // 101 when upgraded
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string error;  // what went wrong, when status is not 101
};

class ws_client {
 public:
  ws_client();
  ~ws_client();
  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  ws_handshake connect(std::uint16_t port, const ws_options& options = {});

  /// The next text message; nothing when the connection ended (see ended(), close_code()) or
  /// `timeout` passed (the connection is then unusable).
  std::optional<std::string> read(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// read() parsed; a message that is not JSON fails the test.
  std::optional<nlohmann::json> read_json(
      std::chrono::milliseconds timeout = std::chrono::seconds(5));

  void send_text(const std::string& text);
  void send_binary(const std::string& bytes);

  /// Why the last read returned nothing: the error's message ("The WebSocket stream was
  /// gracefully closed at both endpoints", "timeout", ...).
  const std::string& error() const;
  bool timed_out() const;
  /// The code of the close frame the server sent, 0 if none.
  int close_code() const;

 private:
  void write(const std::string& bytes, bool text);

  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Sends a plain GET and returns the status code.
int plain_get(std::uint16_t port, const std::string& target);

}  // namespace wtc::test
