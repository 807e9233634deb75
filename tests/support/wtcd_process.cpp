#include "wtcd_process.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "child_process.hpp"
#include "http_client.hpp"

#ifndef WTC_WTCD_PATH
#error "WTC_WTCD_PATH must name the wtcd binary"
#endif

namespace wtc::test {
namespace {

namespace fs = std::filesystem;

pid_t spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
            const std::string& log_path) {
  return spawn_process(WTC_WTCD_PATH, args, env, log_path);
}

int wait_exit(pid_t pid, std::chrono::seconds timeout, bool* timed_out) {
  const auto code = wtc::test::wait_exit(pid, timeout);
  *timed_out = !code;
  return code.value_or(-1);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

wtcd_process::wtcd_process(options opts) : opts_(std::move(opts)) {
  static int counter = 0;
  const auto base = fs::temp_directory_path() /
                    ("wtcd-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
  fs::create_directories(base);
  if (opts_.data_dir.empty()) {
    data_dir_ = (base / "data").string();
    own_dir_ = true;
  } else {
    data_dir_ = opts_.data_dir;
  }
  log_path_ = (base / "wtcd.log").string();
}

wtcd_process::~wtcd_process() {
  if (pid_ > 0)
    kill();
  if (::testing::Test::HasFailure())
    std::cerr << "---- wtcd log (" << log_path_ << ") ----\n" << log() << "---- end of log ----\n";
  fs::remove_all(fs::path(log_path_).parent_path());
}

void wtcd_process::start() {
  port_ = free_port();
  std::vector<std::string> args{"--port",    std::to_string(port_), "--bind",
                                "127.0.0.1", "--data-dir",          data_dir_};
  args.insert(args.end(), opts_.args.begin(), opts_.args.end());
  pid_ = spawn(args, opts_.env, log_path_);
  ASSERT_GT(pid_, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  http_client client(port_);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL() << "wtcd exited during start-up:\n" << log();
    }
    try {
      if (client.get("/health/live").status == 200)
        return;
    } catch (const std::exception&) {
      // not listening yet
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL() << "wtcd did not answer /health/live within 60 s:\n" << log();
}

int wtcd_process::stop(std::chrono::seconds timeout) {
  if (pid_ <= 0)
    return -1;
  ::kill(pid_, SIGTERM);
  bool timed_out = false;
  const int code = wait_exit(pid_, timeout, &timed_out);
  pid_ = -1;
  EXPECT_FALSE(timed_out) << "wtcd did not stop within " << timeout.count() << " s of SIGTERM";
  return code;
}

void wtcd_process::kill() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string wtcd_process::log() const {
  return slurp(log_path_);
}

int run_wtcd_to_exit(const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env, std::string* output,
                     std::chrono::seconds timeout) {
  const auto path = fs::temp_directory_path() / ("wtcd-run-" + std::to_string(::getpid()) + "-" +
                                                 std::to_string(free_port()) + ".log");
  const pid_t pid = spawn(args, env, path.string());
  bool timed_out = false;
  const int code = wait_exit(pid, timeout, &timed_out);
  if (output != nullptr)
    *output = slurp(path.string());
  fs::remove(path);
  return timed_out ? -2 : code;
}

}  // namespace wtc::test
