#include "support/pg_cluster.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include <pqxx/pqxx>

namespace wtc::test {

namespace {

// Absolute paths: PATH need not contain the PostgreSQL binaries (Debian keeps them out of it).
const std::string pg_bin = "/usr/lib/postgresql/15/bin/";
const std::string initdb = pg_bin + "initdb";
const std::string pg_ctl = pg_bin + "pg_ctl";
const std::string runuser = "/usr/sbin/runuser";

bool as_root() {
  return geteuid() == 0;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A port nobody listens on right now. Another process may take it before the server binds it:
// the caller retries with a new one.
std::uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof addr;
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
            getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0;
  close(fd);
  if (!ok)
    throw std::runtime_error(std::string("cannot find a free port: ") + std::strerror(errno));
  return ntohs(addr.sin_port);
}

// Runs argv with stdin from /dev/null and stdout and stderr appended to `log`, in `dir`; returns
// the exit status, or -1 when it did not exit normally.
int spawn(const std::vector<std::string>& argv, const std::string& log, const std::string& dir) {
  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0)
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int in = open("/dev/null", O_RDONLY);
    if (out < 0 || in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0 ||
        chdir(dir.c_str()) != 0)
      _exit(126);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// initdb refuses to run as root, so as root every PostgreSQL program runs as `postgres`.
std::vector<std::string> as_postgres(std::vector<std::string> argv) {
  if (as_root())
    argv.insert(argv.begin(), {runuser, "-u", "postgres", "--"});
  return argv;
}

}  // namespace

pg_cluster::pg_cluster() {
  for (const std::string& program : {initdb, pg_ctl}) {
    if (access(program.c_str(), X_OK) != 0)
      throw std::runtime_error(program +
                               " is missing: the PostgreSQL tests need a real PostgreSQL 15 "
                               "server (apt-get install postgresql-15)");
  }
  const passwd* postgres = nullptr;
  if (as_root()) {
    postgres = getpwnam("postgres");
    if (postgres == nullptr || access(runuser.c_str(), X_OK) != 0)
      throw std::runtime_error(
          "running as root, the PostgreSQL tests need the user 'postgres' and " + runuser +
          " to run initdb, which refuses root");
  }
  // As root the cluster belongs to `postgres`, which must be able to reach it: /tmp it is, not a
  // TMPDIR that may sit under root's home.
  std::string parent = as_root() ? "/tmp" : std::filesystem::temp_directory_path().string();
  std::string pattern = parent + "/wtc-pg-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("cannot create a directory in " + parent + ": " +
                             std::strerror(errno));
  root_ = pattern;
  data_dir_ = root_ + "/data";
  try {
    if (postgres != nullptr && chown(root_.c_str(), postgres->pw_uid, postgres->pw_gid) != 0)
      throw std::runtime_error("cannot hand " + root_ + " to postgres: " + std::strerror(errno));
    start_watchdog();
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
    throw;
  }
  try {
    run("initdb", as_postgres({initdb, "-D", data_dir_, "-A", "trust", "-U", "postgres", "-E",
                               "UTF8", "--locale=C", "--no-sync"}));
    // Another process may grab the free port before the server binds it.
    constexpr int attempts = 3;
    bool started = false;
    for (int attempt = 0; attempt < attempts && !started; ++attempt)
      started = try_start_server();
    if (!started)
      throw std::runtime_error("pg_ctl start failed " + std::to_string(attempts) + " times:\n" +
                               logs());
  } catch (...) {
    stop_and_remove();
    throw;
  }
}

pg_cluster::~pg_cluster() {
  stop_and_remove();
}

pg_cluster& pg_cluster::shared() {
  static std::string failure;
  static std::unique_ptr<pg_cluster> cluster = []() -> std::unique_ptr<pg_cluster> {
    try {
      return std::make_unique<pg_cluster>();
    } catch (const std::exception& e) {
      failure = e.what();
      return nullptr;
    }
  }();
  if (!cluster)
    throw std::runtime_error("the test PostgreSQL cluster did not start: " + failure);
  return *cluster;
}

std::string pg_cluster::create_database() {
  std::string name = "wtc_test_" + std::to_string(++databases_);
  pqxx::connection admin(url("postgres"));
  pqxx::nontransaction tx(admin);
  tx.exec0("CREATE DATABASE " + tx.quote_name(name));
  return url(name);
}

std::string pg_cluster::url(const std::string& database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

void pg_cluster::run(const std::string& step, const std::vector<std::string>& argv) {
  int status = spawn(argv, root_ + "/commands.log", root_);
  if (status != 0)
    throw std::runtime_error(step + " failed with status " + std::to_string(status) + ":\n" +
                             logs());
}

bool pg_cluster::try_start_server() {
  port_ = free_port();
  std::string options = "-p " + std::to_string(port_) + " -k " + root_ +
                        " -c listen_addresses=127.0.0.1 -c fsync=off";
  return spawn(as_postgres({pg_ctl, "-D", data_dir_, "-l", root_ + "/server.log", "-w", "-t", "60",
                            "-o", options, "start"}),
               root_ + "/commands.log", root_) == 0;
}

std::string pg_cluster::logs() const {
  return read_file(root_ + "/commands.log") + read_file(root_ + "/server.log");
}

void pg_cluster::start_watchdog() {
  int ends[2];
  // Close-on-exec: neither initdb nor the server may inherit the write end, or it would never
  // close.
  if (pipe2(ends, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
  std::string stop = (as_root() ? runuser + " -u postgres -- " : std::string()) + pg_ctl;
  // Ignores the terminal's signals so that a Ctrl-C of the test run still cleans up.
  std::string script = "trap '' INT TERM HUP; cat > /dev/null; " + stop +
                       " -D \"$1\" -m fast -w stop > /dev/null 2>&1; rm -rf \"$2\"";
  std::vector<std::string> argv = {"/bin/sh", "-c", script, "wtc-pg-watchdog", data_dir_, root_};
  std::vector<char*> args;
  for (std::string& arg : argv)
    args.push_back(arg.data());
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    close(ends[0]);
    close(ends[1]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    int quiet = open("/dev/null", O_WRONLY);
    if (quiet < 0 || dup2(ends[0], 0) < 0 || dup2(quiet, 1) < 0 || dup2(quiet, 2) < 0)
      _exit(126);
    execv(args[0], args.data());
    _exit(127);
  }
  close(ends[0]);
  watchdog_pipe_ = ends[1];
  watchdog_pid_ = pid;
}

void pg_cluster::stop_and_remove() noexcept {
  if (watchdog_pipe_ < 0)
    return;
  // The watchdog stops the server and removes the directory: one way out, whether this process
  // ends well or not.
  close(watchdog_pipe_);
  watchdog_pipe_ = -1;
  int status = 0;
  while (waitpid(watchdog_pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace wtc::test
