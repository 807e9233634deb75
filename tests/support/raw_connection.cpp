#include "raw_connection.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

namespace wtc::test {
namespace {

using clock_type = std::chrono::steady_clock;

int remaining_ms(clock_type::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
  return static_cast<int>(std::max<long>(0, left));
}

}  // namespace

raw_connection::raw_connection(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

raw_connection::~raw_connection() {
  if (fd_ >= 0)
    ::close(fd_);
}

bool raw_connection::send(const std::string& bytes) {
  return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
         static_cast<ssize_t>(bytes.size());
}

bool raw_connection::send(const std::vector<std::uint8_t>& bytes) {
  return send(std::string(bytes.begin(), bytes.end()));
}

void raw_connection::finish_sending() {
  ::shutdown(fd_, SHUT_WR);
}

std::vector<std::uint8_t> raw_connection::receive(std::size_t at_most,
                                                  std::chrono::milliseconds quiet) {
  std::vector<std::uint8_t> out;
  while (out.size() < at_most) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(quiet.count())) <= 0)
      break;
    std::uint8_t buffer[512];
    const ssize_t n = ::recv(fd_, buffer, std::min(sizeof buffer, at_most - out.size()), 0);
    if (n <= 0)
      break;
    out.insert(out.end(), buffer, buffer + n);
  }
  return out;
}

std::optional<std::string> raw_connection::read_until(std::string_view marker,
                                                      std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  for (;;) {
    if (auto at = received_.find(marker); at != std::string::npos) {
      std::string before = received_.substr(0, at);
      received_.erase(0, at + marker.size());
      return before;
    }
    pollfd p{fd_, POLLIN, 0};
    if (clock_type::now() > deadline || ::poll(&p, 1, remaining_ms(deadline)) <= 0)
      return std::nullopt;
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0)
      return std::nullopt;
    received_.append(buffer, static_cast<std::size_t>(n));
  }
}

std::optional<std::string> raw_connection::read_line(std::chrono::milliseconds timeout) {
  return read_until("\n", timeout);
}

bool raw_connection::closed_by_peer(std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  while (clock_type::now() <= deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0)
      return false;
    char buffer[512];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0)
      return true;
  }
  return false;
}

}  // namespace wtc::test
