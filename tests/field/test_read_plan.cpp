#include <gtest/gtest.h>

#include "field/read_plan.hpp"

namespace wtc::field {
namespace {

constexpr auto ir = area::input_register;
constexpr auto hr = area::holding_register;

TEST(ReadPlan, NothingToReadMeansNoRequest) {
  EXPECT_TRUE(plan_reads({}, read_limits{}).empty());
}

TEST(ReadPlan, NeighboursAndSmallGapsBecomeOneRequest) {
  const std::vector<address_span> needed{{ir, 102, 1}, {ir, 100, 2}, {ir, 103, 1}, {ir, 110, 2}};
  EXPECT_EQ(plan_reads(needed, read_limits{}), (std::vector<address_span>{{ir, 100, 12}}));
}

TEST(ReadPlan, AGapWiderThanTheLimitSplits) {
  read_limits limits;
  limits.max_register_gap = 3;
  const std::vector<address_span> needed{{ir, 0, 1}, {ir, 4, 1}, {ir, 9, 2}};
  // 0 → 4 leaves a gap of 3 (1, 2, 3): joined; 4 → 9 a gap of 4: split.
  EXPECT_EQ(plan_reads(needed, limits), (std::vector<address_span>{{ir, 0, 5}, {ir, 9, 2}}));
}

TEST(ReadPlan, AZeroGapReadsOnlyWhatIsNeeded) {
  read_limits limits;
  limits.max_register_gap = 0;
  const std::vector<address_span> needed{{ir, 0, 1}, {ir, 1, 1}, {ir, 3, 1}};
  EXPECT_EQ(plan_reads(needed, limits), (std::vector<address_span>{{ir, 0, 2}, {ir, 3, 1}}));
}

TEST(ReadPlan, AreasAreNeverMixed) {
  const std::vector<address_span> needed{
      {hr, 100, 1}, {ir, 100, 1}, {area::coil, 0, 1}, {area::discrete_input, 0, 1}};
  const auto plan = plan_reads(needed, read_limits{});
  ASSERT_EQ(plan.size(), 4U);
  EXPECT_EQ(plan[0].area, area::coil);
  EXPECT_EQ(plan[1].area, area::discrete_input);
  EXPECT_EQ(plan[2].area, ir);
  EXPECT_EQ(plan[3].area, hr);
}

TEST(ReadPlan, ThirtyTwoWtcSlotsTakeTwoRequestsOf125AtMost) {
  std::vector<address_span> needed;
  for (int slot = 1; slot <= 32; ++slot) {
    const auto base = static_cast<std::uint16_t>(100 + 4 * (slot - 1));
    needed.push_back({ir, base, 2});
    needed.push_back({ir, static_cast<std::uint16_t>(base + 2), 1});
    needed.push_back({ir, static_cast<std::uint16_t>(base + 3), 1});
  }
  EXPECT_EQ(plan_reads(needed, read_limits{}),
            (std::vector<address_span>{{ir, 100, 124}, {ir, 224, 4}}));
}

TEST(ReadPlan, A32BitValueIsNeverSplitAcrossRequests) {
  read_limits limits;
  limits.max_registers = 3;
  const std::vector<address_span> needed{{ir, 0, 2}, {ir, 2, 2}, {ir, 4, 2}};
  EXPECT_EQ(plan_reads(needed, limits),
            (std::vector<address_span>{{ir, 0, 2}, {ir, 2, 2}, {ir, 4, 2}}));
}

TEST(ReadPlan, BitLimitsApplyToCoilsAndDiscreteInputs) {
  read_limits limits;
  limits.max_bits = 2000;
  limits.max_bit_gap = 32;
  const std::vector<address_span> needed{
      {area::coil, 0, 1}, {area::coil, 33, 1}, {area::coil, 1999, 1}, {area::coil, 2000, 1}};
  EXPECT_EQ(plan_reads(needed, limits),
            (std::vector<address_span>{{area::coil, 0, 34}, {area::coil, 1999, 2}}));
  limits.max_bits = 10;
  EXPECT_EQ(plan_reads({{area::coil, 0, 1}, {area::coil, 9, 1}, {area::coil, 10, 1}}, limits),
            (std::vector<address_span>{{area::coil, 0, 10}, {area::coil, 10, 1}}));
}

TEST(ReadPlan, DuplicatesAndOverlapsAreReadOnce) {
  const std::vector<address_span> needed{{ir, 103, 1}, {ir, 103, 1}, {ir, 102, 2}, {ir, 100, 4}};
  EXPECT_EQ(plan_reads(needed, read_limits{}), (std::vector<address_span>{{ir, 100, 4}}));
}

TEST(ReadPlan, TheTopOfTheAddressSpace) {
  const std::vector<address_span> needed{{ir, 65534, 2}, {ir, 65530, 1}};
  EXPECT_EQ(plan_reads(needed, read_limits{}), (std::vector<address_span>{{ir, 65530, 6}}));
}

}  // namespace
}  // namespace wtc::field
