// wtc-rtu-sim: simulated WTC RTUs of a small water treatment plant, served over Modbus TCP until
// SIGINT or SIGTERM. Prints the bound ports on stdout for whoever started it (tests use free
// ports and read them there); logs go to stderr.

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "apps/logging.hpp"
#include "sim/simulator.hpp"

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  wtc::sim::simulator_config cfg;
  int port = cfg.base_port;
  int scan_ms = static_cast<int>(cfg.scan_period.count());
  int unit_id = cfg.unit_id;
  std::string firmware = "1.2.0";
  std::string control_port = "0";
  std::string fault = "none";
  std::string log_level = env_or("WTC_LOG_LEVEL", "info");

  CLI::App cli{"wtc-rtu-sim: simulated WTC RTUs of a small water treatment plant (Modbus TCP)",
               "wtc-rtu-sim"};
  cli.add_option("--bind", cfg.bind_address, "IPv4 address to listen on (0.0.0.0: every one)")
      ->capture_default_str();
  cli.add_option("--port", port, "port of the first RTU; RTU i listens on port + i (0: free ports)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cli.add_option("--count", cfg.rtu_count, "number of RTUs")
      ->check(CLI::Range(1, wtc::sim::max_rtu_count))
      ->capture_default_str();
  cli.add_option("--seed", cfg.seed, "random seed; RTU i uses seed + i")->capture_default_str();
  cli.add_option("--scan-ms", scan_ms, "RTU scan period and plant time step, in ms")
      ->check(CLI::Range(10, 60000))
      ->capture_default_str();
  cli.add_option("--time-scale", cfg.time_scale,
                 "simulated seconds per second of wall-clock time (tests of slow processes)")
      ->check(CLI::Range(0.1, 100.0))
      ->capture_default_str();
  cli.add_option("--unit-id", unit_id, "Modbus unit id the RTUs answer to")
      ->check(CLI::Range(1, 255))
      ->capture_default_str();
  cli.add_option("--firmware", firmware, "firmware version the RTUs report (major.minor.patch)")
      ->capture_default_str();
  cli.add_option("--control-port", control_port,
                 "control channel port on 127.0.0.1 (0: none, auto: a free port)")
      ->capture_default_str();
  const std::string modes(wtc::sim::fault_mode_names());
  cli.add_option("--fault", fault, "fault every RTU starts with: " + modes)
      ->check(
          [&modes](const std::string& text) {
            return wtc::sim::parse_fault_mode(text) ? std::string() : "not one of: " + modes;
          },
          "FAULT")
      ->capture_default_str();
  cli.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical, off")
      ->transform(
          CLI::IsMember({"trace", "debug", "info", "warn", "warning", "error", "critical", "off"},
                        CLI::ignore_case))
      ->capture_default_str();
  CLI11_PARSE(cli, argc, argv);

  wtc::app::setup_logging(log_level == "warning" ? "warn" : log_level,
                          env_or("WTC_LOG_STRUCTURED", "false") == "true");

  cfg.base_port = static_cast<std::uint16_t>(port);
  cfg.scan_period = std::chrono::milliseconds(scan_ms);
  cfg.unit_id = static_cast<std::uint8_t>(unit_id);
  cfg.initial_fault = *wtc::sim::parse_fault_mode(fault);
  const auto version = wtc::sim::parse_firmware_version(firmware);
  if (!version) {
    spdlog::critical("--firmware: '{}' is not major.minor.patch", firmware);
    return 2;
  }
  cfg.firmware = *version;
  if (control_port == "auto") {
    cfg.control_port = 0;
  } else {
    try {
      const int p = std::stoi(control_port);
      if (p < 0 || p > 65535 || std::to_string(p) != control_port)
        throw std::out_of_range("port");
      if (p != 0)
        cfg.control_port = static_cast<std::uint16_t>(p);
    } catch (const std::exception&) {
      spdlog::critical("--control-port: '{}' is not a port number or auto", control_port);
      return 2;
    }
  }

  // The signals are taken by sigwait below; blocked before the serving thread starts so that
  // it inherits the mask and never receives them itself.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  try {
    wtc::sim::simulator sim(cfg);
    sim.start();
    const auto ports = sim.ports();
    for (std::size_t i = 0; i < ports.size(); ++i)
      spdlog::info("rtu {}: Modbus TCP on {}:{} (unit id {}, seed {}, firmware {})", i,
                   cfg.bind_address, ports[i], unit_id, cfg.seed + i, firmware);
    if (auto p = sim.control_port()) {
      spdlog::info("control channel on 127.0.0.1:{}", *p);
      std::printf("control 127.0.0.1 %u\n", static_cast<unsigned>(*p));
    }
    std::string listening = "listening " + cfg.bind_address;
    for (auto p : ports)
      listening += " " + std::to_string(p);
    std::printf("%s\n", listening.c_str());
    std::fflush(stdout);

    int received = 0;
    sigwait(&stop_signals, &received);
    spdlog::info("{}: stopping", received == SIGINT ? "SIGINT" : "SIGTERM");
    sim.stop();
  } catch (const std::exception& e) {
    spdlog::critical("wtc-rtu-sim: {}", e.what());
    return 1;
  }
  spdlog::info("stopped");
  return 0;
}
