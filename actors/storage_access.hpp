#pragma once

// How the owners of live state reach the storage actor: looked up by name on every use, since a
// restarted storage actor is a new actor under the same name.

#include <caf/error.hpp>

#include "messages/errors.hpp"
#include "messages/interfaces.hpp"

namespace wtc {

/// The storage actor, or an invalid handle while it restarts.
template <class Self>
storage_api storage_of(Self* self) {
  return lookup<storage_api>(self->system(), names::storage);
}

/// The answer for a request that needs storage while it restarts (503 at the gateway).
inline caf::error storage_restarting() {
  return make_error(errc::unavailable, "storage is restarting");
}

}  // namespace wtc
