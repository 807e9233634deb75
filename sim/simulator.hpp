#pragma once

// The simulator as a library: what wtc-rtu-sim runs from its main and wtcd --demo runs in
// process. Several RTUs, each with its own plant, on consecutive ports (or free ones), served
// from one background thread.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sim/simulator_config.hpp"

namespace wtc::sim {

class modbus_server;

class simulator {
 public:
  /// Throws std::invalid_argument when the configuration cannot work (see validate()).
  explicit simulator(simulator_config cfg);
  ~simulator();
  simulator(const simulator&) = delete;
  simulator& operator=(const simulator&) = delete;

  /// Binds every port and starts serving in a background thread. Throws std::runtime_error when
  /// a port cannot be bound; does nothing when already running.
  void start();
  /// Closes every connection and joins the thread; safe to call twice.
  void stop();
  bool running() const { return server_ != nullptr; }

  /// The port each RTU listens on, by RTU index: known once started.
  std::vector<std::uint16_t> ports() const;
  /// The control channel's port on 127.0.0.1, when it has one and the simulator is running.
  std::optional<std::uint16_t> control_port() const;

  /// Runs one control-channel command (e.g. "fault 0 freeze") and returns its reply line, as if
  /// it had come over the control channel. Must not be called from the serving thread.
  std::string control(const std::string& line);

  const simulator_config& config() const { return config_; }

 private:
  simulator_config config_;
  std::unique_ptr<modbus_server> server_;
  std::thread thread_;
};

}  // namespace wtc::sim
