#include <gtest/gtest.h>

#include "core/login_throttle.hpp"

namespace wtc::core {
namespace {

login_throttle::policy small_policy() {
  return {3, 60'000, 120'000, 100};
}

TEST(LoginThrottle, LocksOutAfterTooManyFailuresInTheWindow) {
  login_throttle t(small_policy());
  t.record_failure("alice", 1000);
  t.record_failure("alice", 2000);
  EXPECT_EQ(t.retry_after_ms("alice", 2000), 0);
  t.record_failure("alice", 3000);
  EXPECT_EQ(t.retry_after_ms("alice", 3000), 120'000);
  EXPECT_EQ(t.retry_after_ms("alice", 63'000), 60'000);
  EXPECT_EQ(t.retry_after_ms("alice", 123'000), 0);
}

TEST(LoginThrottle, FailuresOutsideTheWindowDoNotCount) {
  login_throttle t(small_policy());
  t.record_failure("bob", 0);
  t.record_failure("bob", 10'000);
  t.record_failure("bob", 70'001);  // the first has left the 60 s window
  EXPECT_EQ(t.retry_after_ms("bob", 70'001), 0);
}

TEST(LoginThrottle, KeysAreIndependent) {
  login_throttle t(small_policy());
  for (int i = 0; i < 3; ++i)
    t.record_failure("carol", 1000);
  EXPECT_GT(t.retry_after_ms("carol", 1000), 0);
  EXPECT_EQ(t.retry_after_ms("dave", 1000), 0);
}

TEST(LoginThrottle, SuccessForgetsFailures) {
  login_throttle t(small_policy());
  t.record_failure("erin", 1000);
  t.record_failure("erin", 1000);
  t.record_success("erin");
  t.record_failure("erin", 1000);
  EXPECT_EQ(t.retry_after_ms("erin", 1000), 0);
}

TEST(LoginThrottle, PruneDropsExpiredKeys) {
  login_throttle t(small_policy());
  t.record_failure("x", 0);
  for (int i = 0; i < 3; ++i)
    t.record_failure("y", 0);
  t.prune(61'000);
  EXPECT_EQ(t.tracked_keys(), 1U);  // y is still locked out
  t.prune(121'000);
  EXPECT_EQ(t.tracked_keys(), 0U);
}

TEST(LoginThrottle, MemoryIsBoundedAgainstUsernameSpraying) {
  login_throttle t({3, 60'000, 120'000, 10});
  for (int i = 0; i < 1000; ++i)
    t.record_failure("user" + std::to_string(i), 1000);
  EXPECT_LE(t.tracked_keys(), 10U);
}

}  // namespace
}  // namespace wtc::core
