#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/simulator_config.hpp"

namespace wtc::sim {

/// Serves the simulated RTUs over Modbus TCP (libmodbus builds the replies) and the control
/// channel, all from one thread: a poll() loop over every socket that also runs the plants' scans
/// against absolute deadlines. That one thread owns the plants and the register mappings, so
/// nothing needs a lock; other threads reach them only through execute().
class modbus_server {
 public:
  /// Binds every listening socket; throws std::runtime_error when one cannot be bound.
  explicit modbus_server(const simulator_config& cfg);
  ~modbus_server();
  modbus_server(const modbus_server&) = delete;
  modbus_server& operator=(const modbus_server&) = delete;

  /// The port each RTU was bound to, by RTU index.
  std::vector<std::uint16_t> ports() const;
  std::optional<std::uint16_t> control_port() const;

  /// Serves until stop() is called. Call once, from the thread that is to do the serving.
  void run();
  /// Makes run() return; safe from any thread.
  void stop();
  /// Runs one control-channel command on the serving thread and returns its reply line. Safe
  /// from any thread; once run() has returned, every command is answered with an error.
  std::string execute(const std::string& line);

 private:
  class state;
  std::unique_ptr<state> state_;
};

}  // namespace wtc::sim
