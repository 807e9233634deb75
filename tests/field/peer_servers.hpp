#pragma once

// Modbus TCP peers for the driver tests, each on loopback on a port of its own: a libmodbus
// server holding a register mapping, a scripted peer that misbehaves on purpose, and a child
// process (the pymodbus device).

#include <sys/types.h>

#include <modbus/modbus.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace wtc::field::test {

/// A listening loopback socket and an eventfd that wakes the serving thread to stop.
class loopback_listener {
 public:
  loopback_listener();
  ~loopback_listener();
  loopback_listener(const loopback_listener&) = delete;
  loopback_listener& operator=(const loopback_listener&) = delete;

  std::uint16_t port() const { return port_; }
  int fd() const { return fd_; }
  /// Waits until `fd` is readable; false once stop() was called.
  bool wait_readable(int fd) const;
  void stop();

 private:
  int fd_ = -1;
  int wake_fd_ = -1;
  std::uint16_t port_ = 0;
};

/// A Modbus TCP server made with libmodbus (modbus_receive / modbus_reply), serving one client
/// at a time from 300 registers and 300 bits of each area.
class libmodbus_server {
 public:
  libmodbus_server();
  ~libmodbus_server();

  std::uint16_t port() const { return listener_.port(); }
  /// Runs `change` on the register mapping, between two requests.
  void with_mapping(const std::function<void(modbus_mapping_t&)>& change);
  /// Closes the connection of the current client, as a device reboot would.
  void drop_client();

 private:
  void serve();

  loopback_listener listener_;
  modbus_t* ctx_ = nullptr;
  modbus_mapping_t* mapping_ = nullptr;
  std::mutex mutex_;  // guards mapping_ and the client socket
  int client_ = -1;
  std::thread thread_;
};

/// How the scripted peer misbehaves once it has answered `good_replies` requests properly.
enum class misbehaviour {
  garbage,            // bytes that are no Modbus reply
  short_data,         // a well-formed frame with fewer registers than asked for
  truncated,          // the first bytes of a reply, then silence
  wrong_unit,         // a reply from another unit id
  wrong_transaction,  // a reply to another transaction id
  exception_reply,    // exception 0x02, illegal data address
  oversized,          // a byte count larger than any Modbus frame may hold
  silent,             // reads the request, never answers
  close,              // reads the request, closes the connection
};

/// A peer on plain sockets that answers read-holding-register requests (with zeros) correctly
/// `good_replies` times per connection, then as `how` says.
class scripted_peer {
 public:
  scripted_peer(misbehaviour how, int good_replies);
  ~scripted_peer();

  std::uint16_t port() const { return listener_.port(); }

 private:
  void serve();
  /// Handles one request; false when the connection is to be closed.
  bool answer(int client, int& replies);

  loopback_listener listener_;
  misbehaviour how_;
  int good_replies_;
  std::thread thread_;
};

/// A child process with its stdout on a pipe, killed when this goes.
class child_process {
 public:
  explicit child_process(const std::vector<std::string>& argv);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// The next line the child prints, waiting at most `timeout_ms`; "" at the deadline or EOF.
  std::string read_line(int timeout_ms);

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffered_;
};

/// A loopback port on which nothing listens.
std::uint16_t closed_port();

/// A listener that never accepts and whose accept queue is full: a connection attempt to it
/// gets no answer at all, as to a host that is down.
class unanswered_listener {
 public:
  unanswered_listener();
  ~unanswered_listener();
  unanswered_listener(const unanswered_listener&) = delete;
  unanswered_listener& operator=(const unanswered_listener&) = delete;

  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::vector<int> fillers_;
  std::uint16_t port_ = 0;
};

}  // namespace wtc::field::test
