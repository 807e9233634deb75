#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/typed_event_based_actor.hpp>

#include "core/login_throttle.hpp"
#include "messages/interfaces.hpp"

namespace wtc {

struct session_config {
  std::int64_t token_ttl_ms = 8 * 3600 * 1000;
  int bcrypt_cost = 12;
  core::login_throttle::policy per_user{5, 300'000, 300'000, 100'000};
  core::login_throttle::policy per_address{20, 300'000, 300'000, 100'000};
  // last_activity is written back in batches: a database write per API call would cost more
  // than the call itself.
  std::chrono::milliseconds activity_flush{10'000};
  std::chrono::milliseconds storage_timeout{10'000};
};

struct session_manager_state {
  static inline const char* name = "sessions";
  session_config config;
  std::unordered_map<std::string, session_record> sessions;  // by token hash
  std::unordered_set<std::string> active_since_flush;        // token hashes
  core::login_throttle per_user;
  core::login_throttle per_address;
  std::vector<password_worker_api> workers;
  std::size_t next_worker = 0;
  std::string unknown_user_hash;  // verified against for unknown users, so timing tells nothing
};

/// Owns the live sessions (loaded from storage at start, so they survive a restart), the login
/// throttle and the rules of user management.
session_api::behavior_type session_manager(
    session_api::stateful_pointer<session_manager_state> self, session_config config);

}  // namespace wtc
