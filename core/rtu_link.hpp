#pragma once

// The RTU connection state machine of the contract, with the retry policy around it. Pure: the
// caller supplies the time and the randomness, and carries out the I/O the state asks for.
//
//   OFFLINE → CONNECTING → DISCOVERY → RUNNING
//      ↑           ↓            ↓          ↓
//      └───────────────── ERROR ←──────────┘
//
// An operator's connect leaves OFFLINE (or ERROR at once); a failure anywhere on the way up or
// while running leads to ERROR, from which the link retries by itself after a backoff; only an
// operator's disconnect returns to OFFLINE.

#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "messages/field_types.hpp"

namespace wtc::core {

struct rtu_transition_step {
  rtu_state from = rtu_state::offline;
  rtu_state to = rtu_state::offline;
  std::string reason;
};

/// The contract's table of what an operator may do in each state.
bool can_connect(rtu_state s);
bool can_disconnect(rtu_state s);
bool can_delete(rtu_state s);

/// Exponential backoff with jitter for reconnect attempts: the n-th consecutive failure waits
/// about initial × 2^(n−1), capped, spread by ±jitter so that many RTUs that lost a shared link
/// at once do not all reconnect in the same instant.
class reconnect_backoff {
 public:
  struct policy {
    std::int64_t initial_ms = 500;
    std::int64_t max_ms = 30'000;
    double jitter = 0.2;  // fraction of the delay, both ways
  };

  reconnect_backoff() = default;
  explicit reconnect_backoff(policy p) : policy_(p) {}

  /// The delay before the next attempt; each call counts one more failure.
  std::int64_t next_delay_ms(std::mt19937_64& rng);
  void reset() { failures_ = 0; }
  int failures() const { return failures_; }

 private:
  policy policy_;
  int failures_ = 0;
};

/// The state of one RTU link. Each event returns the transition it caused, or nothing when the
/// event means nothing in the current state (a late reply after a disconnect, say).
class rtu_link {
 public:
  explicit rtu_link(rtu_state initial = rtu_state::offline);

  rtu_state state() const { return state_; }

  /// An operator asks to connect: from OFFLINE or ERROR.
  std::optional<rtu_transition_step> connect_requested();
  /// An operator asks to disconnect: from anything but OFFLINE.
  std::optional<rtu_transition_step> disconnect_requested();
  /// The transport is up: CONNECTING → DISCOVERY.
  std::optional<rtu_transition_step> link_up();
  /// The device is described: DISCOVERY → RUNNING.
  std::optional<rtu_transition_step> discovered();
  /// A failure on the way up or while running → ERROR.
  std::optional<rtu_transition_step> failed(const std::string& why);
  /// The backoff after a failure ran out: ERROR → CONNECTING.
  std::optional<rtu_transition_step> retry_due();

 private:
  std::optional<rtu_transition_step> move(rtu_state to, std::string reason);

  rtu_state state_;
};

/// Decides, cycle by cycle, when missed cycles mean a lost link: a connection the peer closed
/// counts at once, timeouts and bad replies after `max_consecutive_failures` in a row (a single
/// lost reply on a noisy link is not worth a reconnect).
class cycle_monitor {
 public:
  explicit cycle_monitor(int max_consecutive_failures = 2)
      : max_failures_(max_consecutive_failures) {}

  void record_success() { consecutive_failures_ = 0; }
  /// Returns true when the link should be declared lost.
  bool record_failure(bool connection_lost);
  int consecutive_failures() const { return consecutive_failures_; }

 private:
  int max_failures_;
  int consecutive_failures_ = 0;
};

/// Fixed-rate cycle scheduling against absolute deadlines: a late cycle does not shift the ones
/// after it, and slots that passed while a cycle overran are counted as missed, not run late.
class cycle_schedule {
 public:
  void start(std::int64_t now_us, std::int64_t period_us);
  std::int64_t period_us() const { return period_us_; }
  /// The deadline of the next cycle after one finished at `now_us`; counts skipped slots.
  std::int64_t next_deadline(std::int64_t now_us);
  std::uint64_t scheduled() const { return scheduled_; }
  std::uint64_t skipped() const { return skipped_; }

 private:
  std::int64_t period_us_ = 0;
  std::int64_t deadline_us_ = 0;
  std::uint64_t scheduled_ = 0;
  std::uint64_t skipped_ = 0;
};

}  // namespace wtc::core
