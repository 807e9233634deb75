#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace wtc::test {

/// A real wtcd process on a free loopback port with its own data directory and log file.
class wtcd_process {
 public:
  struct options {
    std::map<std::string, std::string> env;  // added to a clean environment
    std::vector<std::string> args;           // after the port, bind and data-dir flags
    std::string data_dir;                    // empty: a fresh temporary directory
  };

  explicit wtcd_process(options opts);
  ~wtcd_process();
  wtcd_process(const wtcd_process&) = delete;
  wtcd_process& operator=(const wtcd_process&) = delete;

  /// Starts wtcd and waits until /health/live answers; fails the test if it does not in time.
  void start();
  /// SIGTERM, then waits for the exit; returns the exit status (-1 when killed by a signal).
  int stop(std::chrono::seconds timeout = std::chrono::seconds(20));
  /// SIGKILL, as a crash would.
  void kill();

  std::uint16_t port() const { return port_; }
  const std::string& data_dir() const { return data_dir_; }
  /// Everything the process logged so far.
  std::string log() const;

 private:
  options opts_;
  std::string data_dir_;
  std::string log_path_;
  bool own_dir_ = false;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

/// Runs wtcd to completion (for configuration errors) and returns its exit status and output.
int run_wtcd_to_exit(const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env, std::string* output,
                     std::chrono::seconds timeout = std::chrono::seconds(20));

/// A free TCP port on loopback (bound and released; good enough for tests).
std::uint16_t free_port();

}  // namespace wtc::test
