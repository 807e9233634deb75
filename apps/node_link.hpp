#pragma once

// Joining nodes: the CAF settings both wtcd and wtc-edge need for the node link (CAF's
// middleman, over TLS with libcaf_openssl unless the plain-TCP flag is set), shared so that the
// two sides cannot drift apart.

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman_actor.hpp>

#include "apps/config.hpp"

namespace wtc::app {

/// Loads the middleman (and the OpenSSL module for TLS) into `cfg`, with the certificate files
/// and the heartbeat that lets each side notice a frozen peer within about 1.5 s.
void configure_node_link(caf::actor_system_config& cfg, const node_link_config& link);

/// The middleman actor that carries node links: TLS or plain, as configured.
caf::io::middleman_actor node_middleman(caf::actor_system& sys, const node_link_config& link);

}  // namespace wtc::app
