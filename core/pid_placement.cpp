#include "core/pid_placement.hpp"

namespace wtc::core {

std::map<std::int64_t, std::string> place_pid_loops(
    const std::vector<pid_loop_record>& loops,
    const std::unordered_map<std::string, std::string>& rtu_nodes, const std::string& central) {
  auto node_of = [&](const std::string& station) {
    auto found = rtu_nodes.find(station);
    return found == rtu_nodes.end() ? central : found->second;
  };
  std::map<std::int64_t, std::string> placed;
  for (const auto& loop : loops) {
    const auto input = node_of(loop.input_rtu);
    placed[loop.id] = input == node_of(loop.output_rtu) ? input : central;
  }
  // A loop and its cascade source on different nodes both come back to the central node, which
  // may move another link of the chain: repeat until nothing moves (each round only moves loops
  // to the central node, so it ends).
  for (bool moved = true; moved;) {
    moved = false;
    for (const auto& loop : loops) {
      auto outer = placed.find(loop.cascade_from);
      if (loop.cascade_from == 0 || outer == placed.end())
        continue;
      auto& inner = placed[loop.id];
      if (inner == outer->second)
        continue;
      inner = central;
      outer->second = central;
      moved = true;
    }
  }
  return placed;
}

}  // namespace wtc::core
