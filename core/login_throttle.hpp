#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

namespace wtc::core {

/// Counts failed logins per key (a username, a client address) and locks a key out once it has
/// failed too often within a window. Pure logic: the caller supplies the time.
class login_throttle {
 public:
  struct policy {
    int max_failures = 5;  // failures within `window_ms` that trigger a lockout
    std::int64_t window_ms = 300'000;
    std::int64_t lockout_ms = 300'000;
    std::size_t max_keys = 100'000;  // bounds memory against a spray of random usernames
  };

  login_throttle() = default;
  explicit login_throttle(policy p) : policy_(p) {}

  /// Milliseconds until `key` may try again, or 0 when it may try now.
  std::int64_t retry_after_ms(const std::string& key, std::int64_t now_ms) const;

  void record_failure(const std::string& key, std::int64_t now_ms);

  /// A successful login forgets the key's failures.
  void record_success(const std::string& key) { entries_.erase(key); }

  /// Drops keys whose failures and lockout have all expired.
  void prune(std::int64_t now_ms);

  std::size_t tracked_keys() const { return entries_.size(); }

 private:
  struct entry {
    std::deque<std::int64_t> failures;  // times of failures inside the window, oldest first
    std::int64_t locked_until = 0;
  };

  policy policy_;
  std::unordered_map<std::string, entry> entries_;
};

}  // namespace wtc::core
