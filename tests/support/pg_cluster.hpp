#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wtc::test {

/// A throwaway PostgreSQL 15 cluster for tests: initdb on a temporary directory, a private port on
/// 127.0.0.1 and its own socket directory, trust authentication, fsync off. Run as the `postgres`
/// user when the tests run as root (initdb refuses root). Stopped and removed on destruction, and
/// also when the test process dies without running destructors (a crash, a sanitizer abort, a
/// CTest timeout).
class pg_cluster {
 public:
  /// Starts the cluster (about a second). Throws std::runtime_error naming what is missing or what
  /// failed, with the server's log, so that a test fails with a reason instead of skipping.
  pg_cluster();
  ~pg_cluster();
  pg_cluster(const pg_cluster&) = delete;
  pg_cluster& operator=(const pg_cluster&) = delete;

  /// The cluster every test of this process shares, started on first use; a start that failed is
  /// reported again to each later caller.
  static pg_cluster& shared();

  /// Creates an empty database with a name unique in this cluster and returns its URL.
  std::string create_database();
  /// The URL of `database` in this cluster, for user postgres over TCP.
  std::string url(const std::string& database) const;
  std::uint16_t port() const { return port_; }

 private:
  /// Runs a PostgreSQL program to completion (as `postgres` when we are root); throws with its
  /// output when it fails.
  void run(const std::string& step, const std::vector<std::string>& argv);
  bool try_start_server();
  std::string logs() const;
  void start_watchdog();
  void stop_and_remove() noexcept;

  std::string root_;  // the temporary directory: data/, the socket, logs
  std::string data_dir_;
  std::uint16_t port_ = 0;
  int databases_ = 0;
  int watchdog_pipe_ = -1;  // the write end; closing it makes the watchdog clean up
  int watchdog_pid_ = -1;
};

}  // namespace wtc::test
