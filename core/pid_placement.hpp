#pragma once

// Where each PID loop runs in a multi-site plant (docs/nodes.md): pure, so that the central
// node's loop manager and its tests agree on it.

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "messages/control_types.hpp"

namespace wtc::core {

/// The node each loop runs on, by loop id. A loop runs on an edge node when its input and its
/// output RTU are both placed there, so that the site keeps controlling while its link to the
/// central node is down; a cascade runs where all of its loops can, so an outer loop and its inner
/// loops are never split across nodes. Everything else runs on `central`. An RTU missing from
/// `rtu_nodes` counts as central.
std::map<std::int64_t, std::string> place_pid_loops(
    const std::vector<pid_loop_record>& loops,
    const std::unordered_map<std::string, std::string>& rtu_nodes, const std::string& central);

}  // namespace wtc::core
