#include "peer_servers.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <vector>

namespace wtc::field::test {
namespace {

[[noreturn]] void system_failure(const std::string& what) {
  throw std::runtime_error(what + ": errno " + std::to_string(errno));
}

/// Reads exactly `size` bytes; false on EOF or error.
bool read_exact(const loopback_listener& listener, int fd, std::uint8_t* out, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    if (!listener.wait_readable(fd))
      return false;
    const auto n = ::recv(fd, out + done, size - done, 0);
    if (n <= 0)
      return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void send_all(int fd, const std::vector<std::uint8_t>& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const auto n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0)
      return;  // the driver went away: nothing left to tell it
    done += static_cast<std::size_t>(n);
  }
}

std::vector<std::uint8_t> frame(std::uint16_t transaction, std::uint8_t unit,
                                const std::vector<std::uint8_t>& pdu) {
  const auto length = static_cast<std::uint16_t>(pdu.size() + 1);
  std::vector<std::uint8_t> out{static_cast<std::uint8_t>(transaction >> 8),
                                static_cast<std::uint8_t>(transaction & 0xFF),
                                0,
                                0,
                                static_cast<std::uint8_t>(length >> 8),
                                static_cast<std::uint8_t>(length & 0xFF),
                                unit};
  out.insert(out.end(), pdu.begin(), pdu.end());
  return out;
}

}  // namespace

loopback_listener::loopback_listener() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0)
    system_failure("socket");
  const int one = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof addr;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 4) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &size) != 0)
    system_failure("listen on loopback");
  port_ = ntohs(addr.sin_port);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (wake_fd_ < 0)
    system_failure("eventfd");
}

loopback_listener::~loopback_listener() {
  ::close(fd_);
  ::close(wake_fd_);
}

bool loopback_listener::wait_readable(int fd) const {
  pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  for (;;) {
    const int rc = ::poll(fds, 2, -1);
    if (rc < 0 && errno == EINTR)
      continue;
    // Readable, hung up or in error: the read that follows tells which.
    return rc > 0 && fds[1].revents == 0;
  }
}

void loopback_listener::stop() {
  const std::uint64_t one = 1;
  // An eventfd stays readable once written: every later wait returns at once.
  [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
}

libmodbus_server::libmodbus_server()
    : ctx_(modbus_new_tcp("127.0.0.1", listener_.port())),
      mapping_(modbus_mapping_new(300, 300, 300, 300)) {
  if (ctx_ == nullptr || mapping_ == nullptr)
    system_failure("libmodbus server set-up");
  thread_ = std::thread([this] { serve(); });
}

libmodbus_server::~libmodbus_server() {
  listener_.stop();
  thread_.join();
  modbus_mapping_free(mapping_);
  modbus_free(ctx_);  // the sockets are this class's own, closed in serve()
}

void libmodbus_server::with_mapping(const std::function<void(modbus_mapping_t&)>& change) {
  std::lock_guard<std::mutex> lock(mutex_);
  change(*mapping_);
}

void libmodbus_server::drop_client() {
  std::lock_guard<std::mutex> lock(mutex_);
  // Only shut down here: serve() closes the descriptor, so it is never reused under its feet.
  if (client_ >= 0)
    ::shutdown(client_, SHUT_RDWR);
}

void libmodbus_server::serve() {
  while (listener_.wait_readable(listener_.fd())) {
    const int client = ::accept4(listener_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0)
      continue;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      client_ = client;
    }
    modbus_set_socket(ctx_, client);
    std::uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    while (listener_.wait_readable(client)) {
      const int size = modbus_receive(ctx_, query);
      if (size < 0)
        break;  // closed, or a frame libmodbus could not read
      std::lock_guard<std::mutex> lock(mutex_);
      if (size > 0)
        modbus_reply(ctx_, query, size, mapping_);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    ::close(client_);
    client_ = -1;
  }
}

scripted_peer::scripted_peer(misbehaviour how, int good_replies)
    : how_(how), good_replies_(good_replies) {
  thread_ = std::thread([this] { serve(); });
}

scripted_peer::~scripted_peer() {
  listener_.stop();
  thread_.join();
}

void scripted_peer::serve() {
  while (listener_.wait_readable(listener_.fd())) {
    const int client = ::accept4(listener_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0)
      continue;
    int replies = 0;
    while (answer(client, replies)) {
    }
    ::close(client);
  }
}

bool scripted_peer::answer(int client, int& replies) {
  std::uint8_t header[7];
  if (!read_exact(listener_, client, header, sizeof header))
    return false;
  const std::size_t length = (header[4] << 8) | header[5];
  if (length < 2)
    return false;
  std::vector<std::uint8_t> pdu(length - 1);
  if (!read_exact(listener_, client, pdu.data(), pdu.size()) || pdu.size() < 5)
    return false;
  const auto transaction = static_cast<std::uint16_t>((header[0] << 8) | header[1]);
  const std::uint8_t unit = header[6];
  const std::uint8_t function = pdu[0];
  const std::size_t count = (pdu[3] << 8) | pdu[4];

  std::vector<std::uint8_t> data{function, static_cast<std::uint8_t>(2 * count)};
  data.resize(2 + 2 * count, 0);
  const auto good = frame(transaction, unit, data);
  if (replies < good_replies_) {
    ++replies;
    send_all(client, good);
    return true;
  }
  switch (how_) {
    case misbehaviour::garbage:
      send_all(client, std::vector<std::uint8_t>(12, 0xAA));
      break;
    case misbehaviour::short_data:
      data[1] = static_cast<std::uint8_t>(2 * count - 2);
      data.resize(data.size() - 2);
      send_all(client, frame(transaction, unit, data));
      break;
    case misbehaviour::truncated:
      send_all(client, std::vector<std::uint8_t>(good.begin(), good.begin() + 5));
      break;
    case misbehaviour::wrong_unit:
      send_all(client, frame(transaction, static_cast<std::uint8_t>(unit + 1), data));
      break;
    case misbehaviour::wrong_transaction:
      send_all(client, frame(static_cast<std::uint16_t>(transaction + 1), unit, data));
      break;
    case misbehaviour::exception_reply:
      send_all(client, frame(transaction, unit, {static_cast<std::uint8_t>(function | 0x80), 2}));
      break;
    case misbehaviour::oversized: {
      std::vector<std::uint8_t> huge{function, 255};
      huge.resize(2 + 255, 0x11);
      send_all(client, frame(transaction, unit, huge));
      break;
    }
    case misbehaviour::silent:
      break;
    case misbehaviour::close:
      return false;
  }
  return true;
}

child_process::child_process(const std::vector<std::string>& argv) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    system_failure("pipe");
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0)
    system_failure("fork");
  if (pid_ == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  stdout_fd_ = pipe_fds[0];
}

child_process::~child_process() {
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  ::close(stdout_fd_);
}

std::string child_process::read_line(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const auto newline = buffered_.find('\n');
    if (newline != std::string::npos) {
      auto line = buffered_.substr(0, newline);
      buffered_.erase(0, newline + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0)
      return "";
    pollfd fd{stdout_fd_, POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(left)) <= 0)
      continue;
    char chunk[256];
    const auto n = ::read(stdout_fd_, chunk, sizeof chunk);
    if (n <= 0)
      return "";
    buffered_.append(chunk, static_cast<std::size_t>(n));
  }
}

std::uint16_t closed_port() {
  loopback_listener listener;
  return listener.port();  // closed when the listener goes
}

unanswered_listener::unanswered_listener() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof addr;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd_, 0) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &size) != 0)
    system_failure("listen on loopback");
  port_ = ntohs(addr.sin_port);
  // Linux queues backlog + 1 connections; later SYNs are dropped without an answer.
  for (int i = 0; i < 2; ++i) {
    const int filler = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ::connect(filler, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    fillers_.push_back(filler);
  }
}

unanswered_listener::~unanswered_listener() {
  for (int filler : fillers_)
    ::close(filler);
  ::close(fd_);
}

}  // namespace wtc::field::test
