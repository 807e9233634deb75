#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/typed_event_based_actor.hpp>

#include "messages/interfaces.hpp"

namespace wtc {

struct field_bus_config {
  /// Subscriptions at most: a subscriber that leaks subscriptions cannot grow the bus forever.
  std::size_t max_subscriptions = 10'000;
};

struct field_bus_state {
  static inline const char* name = "field_bus";
  struct subscription {
    caf::actor subscriber;
    std::string station;  // empty: every RTU
    std::uint32_t topics = 0;
  };
  field_bus_config config;
  std::vector<subscription> subscriptions;
};

/// Publish/subscribe for live field data (messages/interfaces.hpp, field_bus_api). It holds no
/// data, only who wants what, so it never has a reason to fail; subscribers monitor it anyway.
field_bus_api::behavior_type field_bus(field_bus_api::stateful_pointer<field_bus_state> self,
                                       field_bus_config config);

}  // namespace wtc
