#pragma once

#include "messages/interfaces.hpp"

namespace wtc {

/// Hashes and verifies bcrypt passwords. Spawn it `detached`: one hash takes a quarter of a second
/// of CPU, which must not stall the actors sharing CAF's scheduler threads.
password_worker_api::behavior_type password_worker(password_worker_api::pointer self, int cost);

}  // namespace wtc
