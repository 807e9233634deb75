// The node registry before any edge joins: the nodes RTUs are placed on are known from the
// start, and those that do not join within the grace raise their communication alarm.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "actors/node_registry.hpp"
#include "messages/interfaces.hpp"
#include "messages/node_types.hpp"
#include "messages/register_types.hpp"

namespace wtc {
namespace {

using namespace std::chrono_literals;

struct config : caf::actor_system_config {
  config() {
    register_types(*this);
    set("scheduler.max-threads", 2);
    set("logger.verbosity", caf::atom("quiet"));
  }
};

rtu_record placed(const std::string& station, const std::string& node) {
  rtu_record r;
  r.station_name = station;
  r.node = node;
  return r;
}

/// The RTU fleet, reduced to the placements the registry reads when it starts.
caf::behavior fleet_of(caf::event_based_actor*, std::vector<rtu_record> rtus) {
  return {[rtus](caf::get_atom, rtus_atom) { return rtus; }};
}

/// The alarm manager, reduced to passing the node alarms it is told of to the test.
caf::behavior alarms_to(caf::event_based_actor* self, caf::actor test) {
  return {[self, test](node_atom, const std::string& node, bool up, const std::string& reason) {
    self->send(test, node_atom::value, node, up, reason);
  }};
}

class NodeRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    put(names::rtus, sys.spawn(fleet_of, std::vector<rtu_record>{
                                             placed("rtu-a", "site-a"), placed("rtu-a2", "site-a"),
                                             placed("rtu-b", "site-b"),
                                             placed("rtu-c", std::string(central_node))}));
    put(names::alarms, sys.spawn(alarms_to, caf::actor{test}));
  }

  void TearDown() override {
    for (auto name : {names::rtus, names::alarms}) {
      caf::anon_send_exit(sys.registry().get(name), caf::exit_reason::user_shutdown);
      sys.registry().erase(name);
    }
    if (registry)
      caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
  }

  void put(caf::atom_value name, const caf::actor& handle) {
    sys.registry().put(name, caf::actor_cast<caf::strong_actor_ptr>(handle));
  }

  void start_registry(std::chrono::milliseconds join_grace) {
    node_registry_config registry_config;
    registry_config.join_grace = join_grace;
    registry = sys.spawn(node_registry, registry_config);
  }

  /// The node alarms the registry raised within `wait`, as (node, reason).
  std::vector<std::pair<std::string, std::string>> raised_within(std::chrono::milliseconds wait) {
    std::vector<std::pair<std::string, std::string>> out;
    bool more = true;
    while (more) {
      test->receive(
          [&](node_atom, const std::string& node, bool up, const std::string& reason) {
            EXPECT_FALSE(up) << node;
            out.emplace_back(node, reason);
          },
          caf::after(wait) >> [&] { more = false; });
    }
    return out;
  }

  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor test{sys};
  node_registry_actor registry;
};

TEST_F(NodeRegistryTest, NodesWithRtusAreListedOfflineBeforeTheyJoin) {
  start_registry(1h);
  std::vector<node_info> nodes;
  // The placements arrive with the fleet's answer, just after the registry starts.
  for (int i = 0; i < 100 && nodes.size() < 2; ++i) {
    test->request(registry, 1s, caf::get_atom::value, nodes_atom::value)
        .receive([&](std::vector<node_info>& listed) { nodes = std::move(listed); },
                 [&](caf::error& err) { FAIL() << to_string(err); });
    if (nodes.size() < 2)
      std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(nodes.size(), 2u) << "site-a and site-b; the central node is not an edge";
  EXPECT_EQ(nodes[0].name, "site-a");
  EXPECT_EQ(nodes[0].state, node_state::offline);
  EXPECT_EQ(nodes[0].rtus, (std::vector<std::string>{"rtu-a", "rtu-a2"}));
  EXPECT_EQ(nodes[0].reason, "not connected since wtcd started");
  EXPECT_EQ(nodes[0].joined_at, 0);
  EXPECT_EQ(nodes[1].name, "site-b");
}

TEST_F(NodeRegistryTest, ANodeThatHasNotJoinedWhenTheGraceEndsRaisesItsAlarmOnce) {
  start_registry(600ms);
  // Within the grace: nothing, an edge that is starting up is not alarmed.
  EXPECT_TRUE(raised_within(300ms).empty());
  // At its end: each node with RTUs that never joined, once.
  auto raised = raised_within(1500ms);
  std::sort(raised.begin(), raised.end());
  ASSERT_EQ(raised.size(), 2u);
  EXPECT_EQ(raised[0].first, "site-a");
  EXPECT_EQ(raised[0].second, "not connected since wtcd started");
  EXPECT_EQ(raised[1].first, "site-b");
}

}  // namespace
}  // namespace wtc
