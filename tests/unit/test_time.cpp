#include <gtest/gtest.h>

#include "core/time.hpp"

namespace wtc::core {
namespace {

TEST(Iso8601, FormatsWholeSecondsWithoutFraction) {
  EXPECT_EQ(format_iso8601(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_iso8601(1768651200000), "2026-01-17T12:00:00Z");
}

TEST(Iso8601, FormatsMilliseconds) {
  EXPECT_EQ(format_iso8601(1768651200123), "2026-01-17T12:00:00.123Z");
}

TEST(Iso8601, FormatsTimesBeforeTheEpoch) {
  EXPECT_EQ(format_iso8601(-1), "1969-12-31T23:59:59.999Z");
}

TEST(Iso8601, ParsesWhatItFormats) {
  for (std::int64_t ms : {0LL, 1768651200000LL, 1768651200123LL, 951782400000LL /* 2000-02-29 */})
    EXPECT_EQ(parse_iso8601(format_iso8601(ms)), ms);
}

TEST(Iso8601, FormatsYearsOutsideFourDigits) {
  EXPECT_EQ(format_iso8601(253402300800000), "10000-01-01T00:00:00Z");
  EXPECT_EQ(format_iso8601(253402300799999), "9999-12-31T23:59:59.999Z");
}

TEST(Iso8601, EveryFieldRoundTripsOverTwoCenturies) {
  // A step that is not a multiple of any field's period walks through all of their values.
  for (std::int64_t ms = -2'208'988'800'000; ms < 4'102'444'800'000; ms += 7'777'777'777) {
    const auto text = format_iso8601(ms);
    ASSERT_EQ(parse_iso8601(text), ms) << text;
    ASSERT_EQ(text.size(), ms % 1000 == 0 ? 20U : 24U) << text;
  }
}

TEST(Iso8601, ParsesTheFormsClientsSend) {
  EXPECT_EQ(parse_iso8601("2026-01-17"), 1768608000000);
  EXPECT_EQ(parse_iso8601("2026-01-17T12:00:00"), 1768651200000);
  EXPECT_EQ(parse_iso8601("2026-01-17T12:00"), 1768651200000);
  EXPECT_EQ(parse_iso8601("2026-01-17 12:00:00Z"), 1768651200000);
  EXPECT_EQ(parse_iso8601("2026-01-17T13:30:00+01:30"), 1768651200000);
  EXPECT_EQ(parse_iso8601("2026-01-17T10:00:00-02:00"), 1768651200000);
  EXPECT_EQ(parse_iso8601("2026-01-17T12:00:00.5Z"), 1768651200500);
  EXPECT_EQ(parse_iso8601("2026-01-17T12:00:00.123456789Z"), 1768651200123);
}

TEST(Iso8601, RejectsMalformedAndOutOfRangeTimes) {
  for (const char* bad :
       {"", "2026", "2026-13-01", "2026-02-30", "2025-02-29", "2026-01-17T24:00:00",
        "2026-01-17T12:60", "2026-01-17T12:00:00X", "2026-01-17T12:00:00.Z", "now",
        "2026-01-17T12:00:00+25:00", "2026-1-7", "2026-01-17T12:00:00ZZ"})
    EXPECT_FALSE(parse_iso8601(bad).has_value()) << bad;
}

}  // namespace
}  // namespace wtc::core
