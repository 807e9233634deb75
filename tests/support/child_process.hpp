#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace wtc::test {

/// A process of the tests' own (wtc-edge, a peer script) with a clean environment plus `env`,
/// its output in a log file. Killed if still running when destroyed.
class child_process {
 public:
  child_process(std::string binary, std::vector<std::string> args,
                std::map<std::string, std::string> env = {});
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  void signal(int signo) const;
  /// Sends `signo` and waits for the exit: the exit code, or -1 if it had to be killed.
  int stop(int signo, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  std::string log() const;
  /// Waits until the log holds a line starting with `prefix`; returns the rest of that line
  /// (empty if none came within `timeout`).
  std::string wait_for_line(const std::string& prefix, std::chrono::milliseconds timeout) const;

 private:
  pid_t pid_ = -1;
  std::string log_path_;
};

}  // namespace wtc::test
