// Where PID loops run in a multi-site plant, and how an edge node turns the central node's
// assignment into a change of a running loop.
#include <gtest/gtest.h>

#include "core/pid_placement.hpp"
#include "messages/control_types.hpp"

namespace wtc {
namespace {

const std::string central = "central";

pid_loop_record loop(std::int64_t id, const std::string& input, const std::string& output,
                     std::int64_t cascade_from = 0) {
  pid_loop_record l;
  l.id = id;
  l.name = "loop " + std::to_string(id);
  l.input_rtu = input;
  l.output_rtu = output;
  l.cascade_from = cascade_from;
  return l;
}

const std::unordered_map<std::string, std::string> rtus{
    {"a1", "site-a"}, {"a2", "site-a"}, {"b1", "site-b"}, {"c1", "central"}};

TEST(PidPlacement, ALoopRunsOnTheEdgeThatHoldsBothItsRtus) {
  auto placed = core::place_pid_loops(
      {loop(1, "a1", "a2"), loop(2, "b1", "b1"), loop(3, "c1", "c1")}, rtus, central);
  EXPECT_EQ(placed.at(1), "site-a");
  EXPECT_EQ(placed.at(2), "site-b");
  EXPECT_EQ(placed.at(3), central);
}

TEST(PidPlacement, ALoopAcrossTwoNodesOrOnAnUnknownRtuRunsCentrally) {
  auto placed = core::place_pid_loops(
      {loop(1, "a1", "b1"), loop(2, "a1", "c1"), loop(3, "gone", "gone"), loop(4, "a1", "gone")},
      rtus, central);
  for (std::int64_t id = 1; id <= 4; ++id)
    EXPECT_EQ(placed.at(id), central) << "loop " << id;
}

TEST(PidPlacement, ACascadeOnOneEdgeStaysThere) {
  auto placed = core::place_pid_loops({loop(2, "a1", "a2", 1), loop(1, "a2", "a1")}, rtus, central);
  EXPECT_EQ(placed.at(1), "site-a");
  EXPECT_EQ(placed.at(2), "site-a");
}

TEST(PidPlacement, ACascadeSplitAcrossNodesRunsWhollyOnTheCentralNode) {
  // 1 <- 2 <- 3: loop 3 is on site-b, so the whole chain, though 1 and 2 are on site-a, moves.
  auto placed = core::place_pid_loops(
      {loop(1, "a1", "a1"), loop(2, "a2", "a2", 1), loop(3, "b1", "b1", 2), loop(4, "a1", "a2")},
      rtus, central);
  EXPECT_EQ(placed.at(1), central);
  EXPECT_EQ(placed.at(2), central);
  EXPECT_EQ(placed.at(3), central);
  EXPECT_EQ(placed.at(4), "site-a");  // not part of the chain
}

TEST(PidChanges, NothingDiffersNothingChanges) {
  auto a = loop(1, "a1", "a2");
  EXPECT_EQ(changes_to(a, a).fields, 0u);
}

TEST(PidChanges, ConfigurationAndSetpointChangesAreTaken) {
  auto running = loop(1, "a1", "a2");
  auto wanted = running;
  wanted.kp = 2.5;
  wanted.setpoint = 7.2;
  wanted.input_slot = 3;
  auto patch = changes_to(running, wanted);
  EXPECT_EQ(patch.fields, pid_field::kp | pid_field::setpoint | pid_field::input_slot);
  EXPECT_EQ(patched(running, patch).kp, 2.5);
  EXPECT_EQ(patched(running, patch).setpoint, 7.2);
}

TEST(PidChanges, TheLoopsOwnOutputIsKeptInAutoAndTheOperatorsTakenInManual) {
  auto running = loop(1, "a1", "a2");
  running.has_output = true;
  running.output = 41.0;  // what the loop computed on the edge
  auto wanted = running;
  wanted.output = 35.0;  // the central node's older copy
  EXPECT_EQ(changes_to(running, wanted).fields, 0u);

  wanted.mode = "MANUAL";
  auto patch = changes_to(running, wanted);
  EXPECT_EQ(patch.fields, pid_field::mode | pid_field::output);
  EXPECT_EQ(patched(running, patch).output, 35.0);
}

TEST(PidChanges, AnInnerLoopsSetpointIsItsOuterLoopsInCascade) {
  auto running = loop(2, "a1", "a2", 1);
  running.mode = "CASCADE";
  running.setpoint = 3.0;
  auto wanted = running;
  wanted.setpoint = 2.0;
  EXPECT_EQ(changes_to(running, wanted).fields, 0u);
}

}  // namespace
}  // namespace wtc
