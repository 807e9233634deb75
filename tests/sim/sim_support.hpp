#pragma once

// Clients and process helpers for the simulator's tests: a libmodbus client, the control
// channel (over the shared raw_connection, also used for bytes libmodbus would never send), and
// the wtc-rtu-sim process with the ports it prints.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "raw_connection.hpp"

typedef struct _modbus modbus_t;

namespace wtc::sim::test {

using namespace std::chrono_literals;

/// Tries `done` until it holds or `timeout` passes, pausing `pace` between tries. For state only
/// visible by asking (a register over Modbus), where there is no event to wait on.
template <class Predicate>
bool wait_for(Predicate done, std::chrono::milliseconds timeout,
              std::chrono::milliseconds pace = 10ms) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(pace);
  }
  return true;
}

/// A libmodbus TCP client on loopback. Failures keep libmodbus's errno in last_error().
class modbus_client {
 public:
  explicit modbus_client(std::uint16_t port, int unit_id = 1,
                         std::chrono::milliseconds timeout = 2000ms);
  ~modbus_client();
  modbus_client(const modbus_client&) = delete;
  modbus_client& operator=(const modbus_client&) = delete;

  bool connect();
  std::optional<std::vector<std::uint16_t>> read_input(int address, int count);
  std::optional<std::vector<std::uint16_t>> read_holding(int address, int count);
  bool write(int address, const std::vector<std::uint16_t>& values);
  /// The float32 at `address` of the input registers, high word first.
  std::optional<float> read_input_float(int address);
  int last_error() const { return last_error_; }

 private:
  modbus_t* ctx_ = nullptr;
  int last_error_ = 0;
};

using wtc::test::raw_connection;

/// The control channel: one command, one reply line.
class control_client {
 public:
  explicit control_client(std::uint16_t port) : connection_(port) {}
  bool connected() const { return connection_.connected(); }
  std::string command(const std::string& line);
  raw_connection& connection() { return connection_; }

 private:
  raw_connection connection_;
};

/// A Modbus TCP request for input registers, as bytes.
std::vector<std::uint8_t> read_input_request(std::uint16_t transaction, std::uint8_t unit,
                                             std::uint16_t address, std::uint16_t count);

struct program_result {
  int exit_code = -1;  // -1: killed by a signal or timed out
  bool timed_out = false;
  std::string output;  // stdout and stderr together
};

/// Runs a program to its end (killed after `timeout`), collecting what it prints.
program_result run_program(const std::vector<std::string>& argv,
                           std::chrono::milliseconds timeout = 20000ms);

/// A wtc-rtu-sim process, started with `args`, whose ports come from its stdout.
class sim_process {
 public:
  sim_process(std::string binary, std::vector<std::string> args);
  ~sim_process();
  sim_process(const sim_process&) = delete;
  sim_process& operator=(const sim_process&) = delete;

  /// Whether the process printed its listening line within the start-up deadline.
  bool started() const { return !ports_.empty(); }
  const std::vector<std::uint16_t>& ports() const { return ports_; }
  std::optional<std::uint16_t> control_port() const { return control_port_; }
  /// Sends `signal` and waits for the exit; the exit code, or -1 when it did not exit cleanly.
  int stop(int signal, std::chrono::milliseconds timeout = 20000ms);
  std::string log() const;

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string log_path_;
  std::vector<std::uint16_t> ports_;
  std::optional<std::uint16_t> control_port_;
};

}  // namespace wtc::sim::test
