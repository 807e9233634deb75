#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "gateway/websocket.hpp"

namespace wtc::gateway {

/// The live hub registered as names::live_hub in `sys`, looked up on every join and leave (a
/// restarted hub is found under the same name). `sys` must outlive the http_server's io threads.
std::shared_ptr<live_endpoint> registry_live_endpoint(caf::actor_system& sys);

}  // namespace wtc::gateway
