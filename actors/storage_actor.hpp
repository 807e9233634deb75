#pragma once

#include <chrono>
#include <memory>

#include <caf/typed_event_based_actor.hpp>

#include "messages/health_board.hpp"
#include "messages/interfaces.hpp"
#include "storage/store.hpp"

namespace wtc {

struct storage_state {
  static inline const char* name = "storage";
  std::unique_ptr<storage::store> db;
  std::shared_ptr<health_board> board;
};

/// How often the database is probed for the health board.
constexpr std::chrono::milliseconds db_probe_interval{1000};

/// Owns one database connection. Spawn it `detached`: every handler blocks on the database, and
/// that must never happen on CAF's shared scheduler. A storage_error becomes the matching domain
/// error for the requester; anything else crashes the actor so that the supervisor reopens the
/// connection. It probes the database every db_probe_interval and publishes the result to `board`.
storage_api::behavior_type storage_actor(storage_api::stateful_pointer<storage_state> self,
                                         storage::db_config config,
                                         std::shared_ptr<health_board> board);

}  // namespace wtc
