#pragma once

#include <caf/actor_system_config.hpp>

namespace wtc {

/// Adds every message type of messages/ and the domain error category to `cfg`. Both ends of a
/// remote link must call it: a type registered on one side only arrives as an empty message.
void register_types(caf::actor_system_config& cfg);

}  // namespace wtc
