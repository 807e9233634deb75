#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wtc::test {

/// Starts `binary` with `args` in a clean environment (PATH, HOME and the sanitizers' options)
/// plus `env`, its stdout and stderr appended to `log_path`.
pid_t spawn_process(const std::string& binary, const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env, const std::string& log_path);

/// Waits for `pid` to exit: its exit code, or -1 if a signal ended it; nothing if `timeout`
/// passed first (it is then killed with SIGKILL and reaped).
std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds timeout);

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
