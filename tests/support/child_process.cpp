#include "child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace wtc::test {

pid_t spawn_process(const std::string& binary, const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env, const std::string& log_path) {
  std::vector<std::string> env_strings;
  // A clean environment, so that the developer's WTC_* settings do not leak into tests.
  for (const char* keep : {"PATH", "HOME", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"})
    if (const char* v = std::getenv(keep))
      env_strings.push_back(std::string(keep) + "=" + v);
  for (const auto& [k, v] : env)
    env_strings.push_back(k + "=" + v);
  std::string path = binary;
  std::vector<std::string> args_copy = args;
  std::vector<char*> argv{path.data()};
  for (auto& a : args_copy)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env_strings)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

child_process::child_process(std::string binary, std::vector<std::string> args,
                             std::map<std::string, std::string> env) {
  static std::atomic<int> counter{0};
  log_path_ = (std::filesystem::temp_directory_path() / ("wtc-child-" + std::to_string(::getpid()) +
                                                         "-" + std::to_string(counter++) + ".log"))
                  .string();
  std::filesystem::remove(log_path_);
  pid_ = spawn_process(binary, args, env, log_path_);
}

child_process::~child_process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGCONT);
    stop(SIGKILL, std::chrono::seconds(5));
  }
  std::error_code ignored;
  std::filesystem::remove(log_path_, ignored);
}

void child_process::signal(int signo) const {
  if (pid_ > 0)
    ::kill(pid_, signo);
}

int child_process::stop(int signo, std::chrono::milliseconds timeout) {
  if (pid_ <= 0)
    return -1;
  ::kill(pid_, signo);
  const auto code = wait_exit(pid_, timeout);
  pid_ = -1;
  return code.value_or(-1);
}

std::string child_process::log() const {
  std::ifstream in(log_path_);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string child_process::wait_for_line(const std::string& prefix,
                                         std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    std::istringstream lines(log());
    for (std::string line; std::getline(lines, line);)
      if (line.rfind(prefix, 0) == 0)
        return line.substr(prefix.size());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  return {};
}

}  // namespace wtc::test
