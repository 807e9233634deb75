#pragma once

#include <mutex>
#include <utility>

#include "messages/types.hpp"

namespace wtc {

/// A read-model the storage actor publishes its periodic database probe to, so that /health can
/// report the database latency without a database round trip per request.
class health_board {
 public:
  void publish_db(db_health health, timestamp_ms at) {
    std::lock_guard<std::mutex> guard(mutex_);
    db_ = std::move(health);
    db_at_ = at;
  }

  /// The last probe and when it was taken (0: never).
  std::pair<db_health, timestamp_ms> db() const {
    std::lock_guard<std::mutex> guard(mutex_);
    return {db_, db_at_};
  }

 private:
  mutable std::mutex mutex_;
  db_health db_;
  timestamp_ms db_at_ = 0;
};

}  // namespace wtc
