#include "core/login_throttle.hpp"

namespace wtc::core {

std::int64_t login_throttle::retry_after_ms(const std::string& key, std::int64_t now_ms) const {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.locked_until <= now_ms)
    return 0;
  return it->second.locked_until - now_ms;
}

void login_throttle::record_failure(const std::string& key, std::int64_t now_ms) {
  if (entries_.size() >= policy_.max_keys && entries_.count(key) == 0) {
    prune(now_ms);
    if (entries_.size() >= policy_.max_keys)
      return;  // full of live lockouts: refuse to grow rather than exhaust memory
  }
  auto& e = entries_[key];
  e.failures.push_back(now_ms);
  while (!e.failures.empty() && e.failures.front() <= now_ms - policy_.window_ms)
    e.failures.pop_front();
  if (static_cast<int>(e.failures.size()) >= policy_.max_failures) {
    e.locked_until = now_ms + policy_.lockout_ms;
    e.failures.clear();
  }
}

void login_throttle::prune(std::int64_t now_ms) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto& e = it->second;
    while (!e.failures.empty() && e.failures.front() <= now_ms - policy_.window_ms)
      e.failures.pop_front();
    if (e.failures.empty() && e.locked_until <= now_ms)
      it = entries_.erase(it);
    else
      ++it;
  }
}

}  // namespace wtc::core
