#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "core/scaling.hpp"

namespace {

using wtc::quality;
using wtc::core::classify;
using wtc::core::scaling;
using wtc::core::significant_change;
using wtc::core::to_engineering;

const scaling ph_loop{4.0, 20.0, 0.0, 14.0};  // 4–20 mA onto pH 0–14

TEST(Scaling, MapsTheRawRangeLinearlyOntoTheEngineeringRange) {
  EXPECT_DOUBLE_EQ(to_engineering(4.0, ph_loop), 0.0);
  EXPECT_DOUBLE_EQ(to_engineering(20.0, ph_loop), 14.0);
  EXPECT_DOUBLE_EQ(to_engineering(12.0, ph_loop), 7.0);
  EXPECT_DOUBLE_EQ(to_engineering(3.0, ph_loop), -0.875);  // extrapolates; quality says why
  const scaling inverted{0.0, 100.0, 10.0, 0.0};
  EXPECT_DOUBLE_EQ(to_engineering(25.0, inverted), 7.5);
}

TEST(Scaling, ADegenerateRangeGivesTheBottomAndBadQuality) {
  const scaling broken{5.0, 5.0, 0.0, 10.0};
  EXPECT_DOUBLE_EQ(to_engineering(5.0, broken), 0.0);
  EXPECT_EQ(classify(5.0, 0x00, false, broken), quality::bad);
}

TEST(Quality, FollowsTheRtuCode) {
  EXPECT_EQ(classify(12.0, 0x00, false, ph_loop), quality::good);
  EXPECT_EQ(classify(12.0, 0x40, false, ph_loop), quality::uncertain);
  EXPECT_EQ(classify(12.0, 0x80, false, ph_loop), quality::bad);
  EXPECT_EQ(classify(12.0, 0xC0, false, ph_loop), quality::bad);
  EXPECT_EQ(classify(12.0, 0x48, false, ph_loop), quality::uncertain);  // sub-status bits
}

TEST(Quality, OutOfRangeOrForcedIsUncertainNonFiniteIsBad) {
  EXPECT_EQ(classify(25.0, 0x00, false, ph_loop), quality::uncertain);
  EXPECT_EQ(classify(3.5, 0x00, false, ph_loop), quality::uncertain);
  EXPECT_EQ(classify(4.0, 0x00, false, ph_loop), quality::good);  // the edges are in range
  EXPECT_EQ(classify(20.0, 0x00, false, ph_loop), quality::good);
  EXPECT_EQ(classify(12.0, 0x00, true, ph_loop), quality::uncertain);
  EXPECT_EQ(classify(std::nan(""), 0x00, false, ph_loop), quality::bad);
  EXPECT_EQ(classify(std::numeric_limits<double>::infinity(), 0x00, false, ph_loop), quality::bad);
  EXPECT_EQ(classify(25.0, 0x80, false, ph_loop), quality::bad);  // bad stays bad
}

TEST(Deadband, ReportsMovesBeyondItAndEveryQualityChange) {
  EXPECT_FALSE(significant_change(7.0, quality::good, 7.04, quality::good, 0.05));
  EXPECT_TRUE(significant_change(7.0, quality::good, 7.06, quality::good, 0.05));
  EXPECT_TRUE(significant_change(7.0, quality::good, 6.94, quality::good, 0.05));
  EXPECT_TRUE(significant_change(7.0, quality::good, 7.0, quality::bad, 0.05));
  EXPECT_FALSE(significant_change(7.0, quality::good, 7.0, quality::good, 0.0));
  EXPECT_TRUE(significant_change(7.0, quality::good, 7.0001, quality::good, 0.0));
}

}  // namespace
