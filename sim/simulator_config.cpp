#include "sim/simulator_config.hpp"

#include <arpa/inet.h>

namespace wtc::sim {

std::string validate(const simulator_config& cfg) {
  in_addr address{};
  if (::inet_pton(AF_INET, cfg.bind_address.c_str(), &address) != 1)
    return "bind address '" + cfg.bind_address + "' is not an IPv4 address";
  if (cfg.rtu_count < 1 || cfg.rtu_count > max_rtu_count)
    return "RTU count " + std::to_string(cfg.rtu_count) + " is not between 1 and " +
           std::to_string(max_rtu_count);
  if (cfg.base_port != 0 && cfg.base_port + cfg.rtu_count - 1 > 65535)
    return "ports " + std::to_string(cfg.base_port) + " to " +
           std::to_string(cfg.base_port + cfg.rtu_count - 1) + " go beyond 65535";
  if (cfg.scan_period < std::chrono::milliseconds(10) ||
      cfg.scan_period > std::chrono::milliseconds(60'000))
    return "scan period " + std::to_string(cfg.scan_period.count()) +
           " ms is not between 10 and 60000 ms";
  if (!(cfg.time_scale >= 0.1 && cfg.time_scale <= 100.0))
    return "time scale " + std::to_string(cfg.time_scale) + " is not between 0.1 and 100";
  if (cfg.unit_id == 0)
    return "unit id 0 is the broadcast address, not a device";
  return {};
}

}  // namespace wtc::sim
