#include "sim_support.hpp"

#include <fcntl.h>
#include <modbus/modbus.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace wtc::sim::test {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

int remaining_ms(clock_type::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
  return static_cast<int>(std::max<long>(0, left));
}

/// Reads what is there on `fd` within `timeout`; false at end of file or on error.
bool read_some(int fd, std::string& into, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0)
    return true;
  char buffer[4096];
  const ssize_t n = ::read(fd, buffer, sizeof buffer);
  if (n <= 0)
    return false;
  into.append(buffer, static_cast<std::size_t>(n));
  return true;
}

pid_t spawn(const std::vector<std::string>& argv, int stdout_fd, int stderr_fd) {
  std::vector<std::string> copy = argv;
  std::vector<char*> args;
  for (auto& a : copy)
    args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(stdout_fd, STDOUT_FILENO);
    ::dup2(stderr_fd, STDERR_FILENO);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid, std::chrono::milliseconds timeout, bool* timed_out) {
  const auto deadline = clock_type::now() + timeout;
  int status = 0;
  *timed_out = false;
  // waitpid has no timeout: check, and pace the checks.
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (clock_type::now() > deadline) {
      *timed_out = true;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(5ms);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::vector<std::uint16_t> parse_ports(const std::string& rest) {
  std::vector<std::uint16_t> ports;
  std::istringstream in(rest);
  unsigned port = 0;
  while (in >> port)
    ports.push_back(static_cast<std::uint16_t>(port));
  return ports;
}

}  // namespace

modbus_client::modbus_client(std::uint16_t port, int unit_id, std::chrono::milliseconds timeout)
    : ctx_(modbus_new_tcp("127.0.0.1", port)) {
  modbus_set_slave(ctx_, unit_id);
  const auto ms = timeout.count();
  modbus_set_response_timeout(ctx_, static_cast<std::uint32_t>(ms / 1000),
                              static_cast<std::uint32_t>((ms % 1000) * 1000));
}

modbus_client::~modbus_client() {
  modbus_close(ctx_);
  modbus_free(ctx_);
}

bool modbus_client::connect() {
  if (modbus_connect(ctx_) == 0)
    return true;
  last_error_ = errno;
  return false;
}

std::optional<std::vector<std::uint16_t>> modbus_client::read_input(int address, int count) {
  std::vector<std::uint16_t> regs(static_cast<std::size_t>(count));
  if (modbus_read_input_registers(ctx_, address, count, regs.data()) == count)
    return regs;
  last_error_ = errno;
  return std::nullopt;
}

std::optional<std::vector<std::uint16_t>> modbus_client::read_holding(int address, int count) {
  std::vector<std::uint16_t> regs(static_cast<std::size_t>(count));
  if (modbus_read_registers(ctx_, address, count, regs.data()) == count)
    return regs;
  last_error_ = errno;
  return std::nullopt;
}

bool modbus_client::write(int address, const std::vector<std::uint16_t>& values) {
  const int n = static_cast<int>(values.size());
  if (modbus_write_registers(ctx_, address, n, values.data()) == n)
    return true;
  last_error_ = errno;
  return false;
}

std::optional<float> modbus_client::read_input_float(int address) {
  auto regs = read_input(address, 2);
  if (!regs)
    return std::nullopt;
  return modbus_get_float_abcd(regs->data());
}

std::string control_client::command(const std::string& line) {
  if (!connection_.send(line + "\n"))
    return "(send failed)";
  return connection_.read_line().value_or("(no reply)");
}

std::vector<std::uint8_t> read_input_request(std::uint16_t transaction, std::uint8_t unit,
                                             std::uint16_t address, std::uint16_t count) {
  auto hi = [](std::uint16_t v) { return static_cast<std::uint8_t>(v >> 8); };
  auto lo = [](std::uint16_t v) { return static_cast<std::uint8_t>(v & 0xFF); };
  return {hi(transaction), lo(transaction), 0,         0,        0, 6, unit, 0x04,
          hi(address),     lo(address),     hi(count), lo(count)};
}

program_result run_program(const std::vector<std::string>& argv,
                           std::chrono::milliseconds timeout) {
  program_result result;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    return result;
  const pid_t pid = spawn(argv, pipe_fds[1], pipe_fds[1]);
  ::close(pipe_fds[1]);
  const auto deadline = clock_type::now() + timeout;
  while (clock_type::now() < deadline &&
         read_some(pipe_fds[0], result.output, remaining_ms(deadline)))
    ;
  ::close(pipe_fds[0]);
  result.exit_code =
      wait_exit(pid, std::chrono::milliseconds(remaining_ms(deadline)) + 1000ms, &result.timed_out);
  return result;
}

sim_process::sim_process(std::string binary, std::vector<std::string> args) {
  static int counter = 0;
  log_path_ = (fs::temp_directory_path() / ("wtc-rtu-sim-test-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(++counter) + ".log"))
                  .string();
  const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int pipe_fds[2];
  if (log_fd < 0 || ::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "cannot set up the process's output";
    return;
  }
  args.insert(args.begin(), std::move(binary));
  pid_ = spawn(args, pipe_fds[1], log_fd);
  ::close(pipe_fds[1]);
  ::close(log_fd);
  stdout_fd_ = pipe_fds[0];

  // The process prints "control ..." (when it has a control channel) and then "listening ...".
  std::string out;
  const auto deadline = clock_type::now() + 30s;
  while (clock_type::now() < deadline) {
    std::size_t start = 0;
    for (auto newline = out.find('\n'); newline != std::string::npos;
         newline = out.find('\n', start)) {
      const std::string line = out.substr(start, newline - start);
      start = newline + 1;
      if (line.rfind("control ", 0) == 0) {
        const auto ports = parse_ports(line.substr(line.find(' ', 8)));
        if (!ports.empty())
          control_port_ = ports.front();
      } else if (line.rfind("listening ", 0) == 0) {
        ports_ = parse_ports(line.substr(line.find(' ', 10)));
        return;
      }
    }
    out.erase(0, start);
    if (!read_some(stdout_fd_, out, remaining_ms(deadline)))
      break;
  }
  ADD_FAILURE() << "wtc-rtu-sim printed no listening line:\n" << log();
}

sim_process::~sim_process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  if (stdout_fd_ >= 0)
    ::close(stdout_fd_);
  if (::testing::Test::HasFailure())
    std::cerr << "---- wtc-rtu-sim log ----\n" << log() << "---- end of log ----\n";
  fs::remove(log_path_);
}

int sim_process::stop(int signal, std::chrono::milliseconds timeout) {
  if (pid_ <= 0)
    return -1;
  ::kill(pid_, signal);
  bool timed_out = false;
  const int code = wait_exit(pid_, timeout, &timed_out);
  pid_ = -1;
  EXPECT_FALSE(timed_out) << "wtc-rtu-sim did not stop within " << timeout.count() << " ms";
  return code;
}

std::string sim_process::log() const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace wtc::sim::test
