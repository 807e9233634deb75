#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wtc::test {

/// A plain TCP connection to a loopback port, for bytes no well-behaved client library would
/// send. Every read is bounded by a timeout, so a server that fails to answer or to close fails
/// the test instead of hanging it.
class raw_connection {
 public:
  explicit raw_connection(std::uint16_t port);
  ~raw_connection();
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send(const std::string& bytes);
  bool send(const std::vector<std::uint8_t>& bytes);
  /// Closes the sending half, as a client that piped its input and reached its end.
  void finish_sending();
  /// Bytes until `at_most` have come or none came for `quiet`.
  std::vector<std::uint8_t> receive(std::size_t at_most, std::chrono::milliseconds quiet);
  /// What comes before `marker` (which is consumed too), or nullopt when it does not arrive
  /// within `timeout`.
  std::optional<std::string> read_until(std::string_view marker, std::chrono::milliseconds timeout);
  /// One line without its newline, or nullopt when none completes within `timeout`.
  std::optional<std::string> read_line(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  /// Whether the peer closes (or resets) the connection within `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

 private:
  int fd_ = -1;
  std::string received_;  // read but not yet returned by read_until
};

}  // namespace wtc::test
