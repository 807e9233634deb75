#pragma once

// How the field bus's subscribers (live hub, PID loops, and the alarm manager and historian to
// come) stay subscribed: the bus is looked up by name, monitored, and subscribed to again when a
// restarted bus is back under that name.

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/system_messages.hpp>

#include "messages/interfaces.hpp"

namespace wtc {

class bus_subscription {
 public:
  enum class outcome : std::uint8_t { subscribed, already, waiting };

  bus_subscription() = default;
  bus_subscription(std::string station, std::uint32_t topics, std::chrono::milliseconds retry_delay)
      : station_(std::move(station)), topics_(topics), retry_delay_(retry_delay) {}

  /// Subscribes `self` to the bus unless it is subscribed. While the bus is not registered, sends
  /// `self` a subscribe_atom after the retry delay (once), on which the owner calls this again.
  template <class Self>
  outcome subscribe(Self* self) {
    retry_pending_ = false;
    if (bus_)
      return outcome::already;
    auto bus = lookup<field_bus_api>(self->system(), names::field_bus);
    if (!bus) {
      retry(self);
      return outcome::waiting;
    }
    // A bus that has just died may still be registered: its down message comes at once, and the
    // subscriber looks again.
    bus_ = bus;
    self->monitor(bus_);
    self->send(bus_, subscribe_atom::value, caf::actor_cast<caf::actor>(self), station_, topics_);
    return outcome::subscribed;
  }

  /// True when `down` reports the bus's end: `self` subscribes again once the bus is back.
  template <class Self>
  bool on_down(Self* self, const caf::down_msg& down) {
    if (!bus_ || down.source != bus_.address())
      return false;
    bus_ = nullptr;
    retry(self);
    return true;
  }

  bool subscribed() const { return static_cast<bool>(bus_); }

 private:
  template <class Self>
  void retry(Self* self) {
    if (retry_pending_)
      return;
    retry_pending_ = true;
    self->delayed_send(self, retry_delay_, subscribe_atom::value);
  }

  std::string station_;  // empty: every RTU
  std::uint32_t topics_ = 0;
  std::chrono::milliseconds retry_delay_{250};
  field_bus_api bus_;
  bool retry_pending_ = false;
};

}  // namespace wtc
