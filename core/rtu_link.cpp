#include "core/rtu_link.hpp"

#include <algorithm>
#include <cmath>

namespace wtc::core {

bool can_connect(rtu_state s) {
  return s == rtu_state::offline || s == rtu_state::error;
}

bool can_disconnect(rtu_state s) {
  return s != rtu_state::offline;
}

bool can_delete(rtu_state s) {
  return s == rtu_state::offline || s == rtu_state::error;
}

std::int64_t reconnect_backoff::next_delay_ms(std::mt19937_64& rng) {
  const int exponent = std::min(failures_, 30);
  ++failures_;
  const double base = std::min(static_cast<double>(policy_.initial_ms) * std::ldexp(1.0, exponent),
                               static_cast<double>(policy_.max_ms));
  std::uniform_real_distribution<double> spread(1.0 - policy_.jitter, 1.0 + policy_.jitter);
  return std::max<std::int64_t>(1, std::llround(base * spread(rng)));
}

rtu_link::rtu_link(rtu_state initial) : state_(initial) {
  // A link is never restored mid-handshake: an RTU that was on its way up when the controller
  // stopped starts over.
  if (state_ == rtu_state::connecting || state_ == rtu_state::discovery ||
      state_ == rtu_state::running)
    state_ = rtu_state::error;
}

std::optional<rtu_transition_step> rtu_link::move(rtu_state to, std::string reason) {
  rtu_transition_step step{state_, to, std::move(reason)};
  state_ = to;
  return step;
}

std::optional<rtu_transition_step> rtu_link::connect_requested() {
  if (!can_connect(state_))
    return std::nullopt;
  return move(rtu_state::connecting, "connect requested");
}

std::optional<rtu_transition_step> rtu_link::disconnect_requested() {
  if (!can_disconnect(state_))
    return std::nullopt;
  return move(rtu_state::offline, "disconnect requested");
}

std::optional<rtu_transition_step> rtu_link::link_up() {
  if (state_ != rtu_state::connecting)
    return std::nullopt;
  return move(rtu_state::discovery, "connection established");
}

std::optional<rtu_transition_step> rtu_link::discovered() {
  if (state_ != rtu_state::discovery)
    return std::nullopt;
  return move(rtu_state::running, "discovery complete");
}

std::optional<rtu_transition_step> rtu_link::failed(const std::string& why) {
  if (state_ == rtu_state::offline || state_ == rtu_state::error)
    return std::nullopt;
  return move(rtu_state::error, why);
}

std::optional<rtu_transition_step> rtu_link::retry_due() {
  if (state_ != rtu_state::error)
    return std::nullopt;
  return move(rtu_state::connecting, "automatic reconnect");
}

bool cycle_monitor::record_failure(bool connection_lost) {
  ++consecutive_failures_;
  return connection_lost || consecutive_failures_ >= max_failures_;
}

void cycle_schedule::start(std::int64_t now_us, std::int64_t period_us) {
  period_us_ = std::max<std::int64_t>(1, period_us);
  deadline_us_ = now_us;
  scheduled_ = 1;
}

std::int64_t cycle_schedule::next_deadline(std::int64_t now_us) {
  deadline_us_ += period_us_;
  if (now_us >= deadline_us_) {
    // The cycle overran: skip every slot that already passed, and count them.
    const auto passed = (now_us - deadline_us_) / period_us_ + 1;
    skipped_ += static_cast<std::uint64_t>(passed);
    scheduled_ += static_cast<std::uint64_t>(passed);
    deadline_us_ += passed * period_us_;
  }
  ++scheduled_;
  return deadline_us_;
}

}  // namespace wtc::core
