#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "sim/fault.hpp"
#include "sim/plant_model.hpp"

namespace wtc::sim {

/// Everything a simulator needs to start. Port 0 asks the system for a free port (one per RTU
/// then, not consecutive); simulator::ports() says which were bound.
struct simulator_config {
  std::string bind_address = "127.0.0.1";  // IPv4 address; 0.0.0.0 for every interface
  std::uint16_t base_port = 5020;          // RTU i listens on base_port + i
  int rtu_count = 1;
  std::uint64_t seed = 1;  // RTU i's plant uses seed + i
  std::chrono::milliseconds scan_period{100};
  // Simulated seconds per wall-clock second: each scan advances the plant by time_scale × the
  // scan period. Above 1 for tests of slow processes (a pH loop settles in minutes).
  double time_scale = 1.0;
  std::uint8_t unit_id = 1;
  firmware_version firmware;
  // The control channel listens on loopback only: it has no authentication. nullopt: no
  // control channel; 0: a free port.
  std::optional<std::uint16_t> control_port;
  fault_mode initial_fault = fault_mode::none;
  bool start_in_operation = true;  // see plant_model::config
};

constexpr int max_rtu_count = 1000;

/// Why `cfg` cannot start a simulator, or an empty string when it can.
std::string validate(const simulator_config& cfg);

}  // namespace wtc::sim
