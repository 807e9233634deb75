#include <set>

#include <gtest/gtest.h>

#include "core/rtu_link.hpp"

namespace {

using wtc::rtu_state;
using wtc::core::rtu_link;

TEST(RtuLink, WalksUpToRunning) {
  rtu_link link;
  ASSERT_EQ(link.state(), rtu_state::offline);
  auto step = link.connect_requested();
  ASSERT_TRUE(step);
  EXPECT_EQ(step->from, rtu_state::offline);
  EXPECT_EQ(step->to, rtu_state::connecting);
  ASSERT_TRUE(link.link_up());
  EXPECT_EQ(link.state(), rtu_state::discovery);
  ASSERT_TRUE(link.discovered());
  EXPECT_EQ(link.state(), rtu_state::running);
}

TEST(RtuLink, FailureAnywhereOnTheWayLeadsToError) {
  for (int stage = 0; stage < 3; ++stage) {
    rtu_link link;
    link.connect_requested();
    if (stage >= 1)
      link.link_up();
    if (stage >= 2)
      link.discovered();
    auto step = link.failed("peer closed the connection");
    ASSERT_TRUE(step);
    EXPECT_EQ(step->to, rtu_state::error);
    EXPECT_EQ(step->reason, "peer closed the connection");
  }
}

TEST(RtuLink, ErrorRetriesByItselfOrOnRequest) {
  rtu_link link;
  link.connect_requested();
  link.failed("refused");
  ASSERT_TRUE(link.retry_due());
  EXPECT_EQ(link.state(), rtu_state::connecting);
  link.failed("refused");
  ASSERT_TRUE(link.connect_requested());
  EXPECT_EQ(link.state(), rtu_state::connecting);
}

TEST(RtuLink, EventsThatMeanNothingInAStateAreIgnored) {
  rtu_link link;
  EXPECT_FALSE(link.disconnect_requested());
  EXPECT_FALSE(link.link_up());
  EXPECT_FALSE(link.discovered());
  EXPECT_FALSE(link.failed("late reply"));
  EXPECT_FALSE(link.retry_due());
  link.connect_requested();
  EXPECT_FALSE(link.connect_requested());
  EXPECT_FALSE(link.discovered());  // not before the link is up
  link.disconnect_requested();
  EXPECT_EQ(link.state(), rtu_state::offline);
  EXPECT_FALSE(link.failed("reply that arrived after the disconnect"));
}

TEST(RtuLink, ARestoredLinkNeverResumesMidHandshake) {
  EXPECT_EQ(rtu_link(rtu_state::running).state(), rtu_state::error);
  EXPECT_EQ(rtu_link(rtu_state::discovery).state(), rtu_state::error);
  EXPECT_EQ(rtu_link(rtu_state::offline).state(), rtu_state::offline);
}

TEST(RtuLink, OperatorTableOfTheContract) {
  using wtc::core::can_connect;
  using wtc::core::can_delete;
  using wtc::core::can_disconnect;
  EXPECT_TRUE(can_connect(rtu_state::offline));
  EXPECT_FALSE(can_connect(rtu_state::connecting));
  EXPECT_FALSE(can_connect(rtu_state::discovery));
  EXPECT_FALSE(can_connect(rtu_state::running));
  EXPECT_TRUE(can_connect(rtu_state::error));
  EXPECT_FALSE(can_disconnect(rtu_state::offline));
  EXPECT_TRUE(can_disconnect(rtu_state::connecting));
  EXPECT_TRUE(can_disconnect(rtu_state::discovery));
  EXPECT_TRUE(can_disconnect(rtu_state::running));
  EXPECT_TRUE(can_disconnect(rtu_state::error));
  EXPECT_TRUE(can_delete(rtu_state::offline));
  EXPECT_FALSE(can_delete(rtu_state::running));
  EXPECT_TRUE(can_delete(rtu_state::error));
}

TEST(ReconnectBackoff, DoublesUpToTheCapWithinTheJitter) {
  wtc::core::reconnect_backoff backoff({100, 1000, 0.2});
  std::mt19937_64 rng(7);
  const double expected[] = {100, 200, 400, 800, 1000, 1000};
  for (double base : expected) {
    const auto delay = backoff.next_delay_ms(rng);
    EXPECT_GE(delay, base * 0.8 - 1);
    EXPECT_LE(delay, base * 1.2 + 1);
  }
  backoff.reset();
  EXPECT_LE(backoff.next_delay_ms(rng), 121);
}

TEST(ReconnectBackoff, JitterSpreadsRtusThatFailedTogether) {
  std::mt19937_64 rng(1);
  std::set<std::int64_t> delays;
  for (int i = 0; i < 20; ++i) {
    wtc::core::reconnect_backoff backoff({1000, 30'000, 0.2});
    delays.insert(backoff.next_delay_ms(rng));
  }
  EXPECT_GT(delays.size(), 10u);
}

TEST(CycleMonitor, ClosedConnectionCountsAtOnceTimeoutsAfterARun) {
  wtc::core::cycle_monitor monitor(2);
  EXPECT_FALSE(monitor.record_failure(false));
  monitor.record_success();
  EXPECT_FALSE(monitor.record_failure(false));
  EXPECT_TRUE(monitor.record_failure(false));
  wtc::core::cycle_monitor fresh(2);
  EXPECT_TRUE(fresh.record_failure(true));
}

TEST(CycleSchedule, KeepsAbsoluteDeadlinesAndCountsSkippedSlots) {
  wtc::core::cycle_schedule schedule;
  schedule.start(0, 100);
  EXPECT_EQ(schedule.next_deadline(30), 100);   // on time
  EXPECT_EQ(schedule.next_deadline(140), 200);  // a late finish does not shift the grid
  EXPECT_EQ(schedule.skipped(), 0u);
  EXPECT_EQ(schedule.next_deadline(450), 500);  // overran: slots 300 and 400 are skipped
  EXPECT_EQ(schedule.skipped(), 2u);
  EXPECT_EQ(schedule.scheduled(), 6u);  // 0, 100, 200, 300, 400, 500
}

}  // namespace
