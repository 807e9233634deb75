#include "sim/simulator.hpp"

#include <stdexcept>

#include "sim/modbus_server.hpp"

namespace wtc::sim {

simulator::simulator(simulator_config cfg) : config_(std::move(cfg)) {
  if (auto why = validate(config_); !why.empty())
    throw std::invalid_argument(why);
}

simulator::~simulator() {
  stop();
}

void simulator::start() {
  if (server_)
    return;
  auto server = std::make_unique<modbus_server>(config_);
  thread_ = std::thread([s = server.get()] { s->run(); });
  server_ = std::move(server);
}

void simulator::stop() {
  if (!server_)
    return;
  server_->stop();
  thread_.join();
  server_.reset();
}

std::vector<std::uint16_t> simulator::ports() const {
  return server_ ? server_->ports() : std::vector<std::uint16_t>{};
}

std::optional<std::uint16_t> simulator::control_port() const {
  return server_ ? server_->control_port() : std::nullopt;
}

std::string simulator::control(const std::string& line) {
  if (!server_)
    return "error the simulator is not running";
  return server_->execute(line);
}

}  // namespace wtc::sim
