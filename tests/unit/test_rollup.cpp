#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <ostream>
#include <random>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "core/rollup.hpp"
#include "historian_print.hpp"

namespace {

using wtc::quality;
using wtc::core::aggregate;
using wtc::core::aggregation;
using wtc::core::bucket_start;
using wtc::core::day_ms;
using wtc::core::historian_sample;
using wtc::core::hour_ms;
using wtc::core::merge_series;
using wtc::core::minute_ms;
using wtc::core::parse_aggregation;
using wtc::core::parse_interval;
using wtc::core::roll_up;
using wtc::core::rollup;
using wtc::core::rollups_can_answer;
using wtc::core::series_query;
using wtc::core::to_series;
using wtc::core::whole_buckets;

constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr std::int64_t t0 = 1'768'608'000'000;  // 2026-01-17T00:00:00Z, a whole day
const aggregation every_aggregation[] = {aggregation::avg,   aggregation::min,  aggregation::max,
                                         aggregation::first, aggregation::last, aggregation::count};

// The reference: a bucket by floating-point floor, its values straight from the definitions
// (first: the earliest timestamp, the earliest arrival among equals; last: the latest timestamp,
// the latest arrival among equals), sums in arrival order.
struct brute_bucket {
  std::vector<historian_sample> usable;  // in arrival order
  std::int64_t bad = 0;
};

std::map<std::int64_t, brute_bucket> brute_force(const std::vector<historian_sample>& raw,
                                                 std::int64_t width, std::int64_t start,
                                                 std::int64_t end) {
  std::map<std::int64_t, brute_bucket> out;
  for (const auto& s : raw) {
    if (s.timestamp < start || s.timestamp >= end)
      continue;
    const auto key = static_cast<std::int64_t>(std::floor(static_cast<double>(s.timestamp) /
                                                          static_cast<double>(width))) *
                     width;
    auto& b = out[key];
    if (s.q == quality::bad || !std::isfinite(s.value))
      ++b.bad;
    else
      b.usable.push_back(s);
  }
  return out;
}

double brute_value(const brute_bucket& b, aggregation a) {
  const auto& v = b.usable;
  if (a == aggregation::count)
    return static_cast<double>(v.size());
  if (v.empty())
    return nan;
  switch (a) {
    case aggregation::avg: {
      double sum = 0.0;
      for (const auto& s : v)
        sum += s.value;
      return sum / static_cast<double>(v.size());
    }
    case aggregation::min: {
      double m = v[0].value;
      for (const auto& s : v)
        m = std::min(m, s.value);
      return m;
    }
    case aggregation::max: {
      double m = v[0].value;
      for (const auto& s : v)
        m = std::max(m, s.value);
      return m;
    }
    case aggregation::first: {
      std::int64_t earliest = v[0].timestamp;
      for (const auto& s : v)
        earliest = std::min(earliest, s.timestamp);
      for (const auto& s : v)
        if (s.timestamp == earliest)
          return s.value;
      break;
    }
    case aggregation::last: {
      std::int64_t latest = v[0].timestamp;
      for (const auto& s : v)
        latest = std::max(latest, s.timestamp);
      for (auto it = v.rbegin(); it != v.rend(); ++it)
        if (it->timestamp == latest)
          return it->value;
      break;
    }
    default:
      break;
  }
  return nan;
}

quality brute_quality(const brute_bucket& b) {
  if (b.usable.empty())
    return quality::bad;
  for (const auto& s : b.usable)
    if (s.q == quality::uncertain)
      return quality::uncertain;
  return b.bad > 0 ? quality::uncertain : quality::good;
}

bool same_value(double a, double b, aggregation agg) {
  if (std::isnan(a) || std::isnan(b))
    return std::isnan(a) && std::isnan(b);
  if (agg == aggregation::avg)  // sums in another order round differently
    return std::fabs(a - b) <= 1e-9 * std::max({1.0, std::fabs(a), std::fabs(b)});
  return a == b;
}

// The aggregated series of `q` equals the brute force over `raw`, bucket for bucket.
testing::AssertionResult matches_brute_force(const std::vector<historian_sample>& series,
                                             const std::vector<historian_sample>& raw,
                                             const series_query& q) {
  const auto expected = brute_force(raw, q.interval_ms, q.start, q.end);
  if (series.size() != expected.size())
    return testing::AssertionFailure() << series.size() << " points, expected " << expected.size()
                                       << " (" << to_string(q.agg) << ")";
  std::size_t i = 0;
  for (const auto& [start, bucket] : expected) {
    const auto& p = series[i++];
    const double want = brute_value(bucket, q.agg);
    if (p.timestamp != start || !same_value(p.value, want, q.agg) || p.q != brute_quality(bucket))
      return testing::AssertionFailure()
             << "bucket " << start << " (" << to_string(q.agg) << ", width " << q.interval_ms
             << "): got " << testing::PrintToString(p) << ", expected value " << want;
  }
  return testing::AssertionSuccess();
}

std::vector<historian_sample> random_samples(std::mt19937_64& rng, std::int64_t from, std::size_t n,
                                             std::int64_t mean_gap_ms) {
  std::vector<historian_sample> out;
  out.reserve(n);
  std::int64_t t = from;
  double v = 7.0;
  for (std::size_t i = 0; i < n; ++i) {
    const int pick = std::uniform_int_distribution<int>(0, 199)(rng);
    // Mostly regular, sometimes a burst in one millisecond, sometimes a long gap.
    t += pick < 4   ? 0
         : pick < 6 ? 37 * mean_gap_ms
                    : std::max<std::int64_t>(1, mean_gap_ms + pick % 7 - 3);
    v += std::normal_distribution<double>(0.0, 0.1)(rng);
    historian_sample s{t, v, quality::good};
    if (pick % 10 == 7)
      s.q = quality::uncertain;
    if (pick % 17 == 5)
      s.q = quality::bad;
    if (pick == 199)
      s.value = nan;
    out.push_back(s);
  }
  return out;
}

TEST(Buckets, AreHalfOpenAndAlignedToTheEpoch) {
  EXPECT_EQ(bucket_start(t0, minute_ms), t0);
  EXPECT_EQ(bucket_start(t0 + minute_ms - 1, minute_ms), t0);
  EXPECT_EQ(bucket_start(t0 + minute_ms, minute_ms), t0 + minute_ms);
  EXPECT_EQ(bucket_start(t0 - 1, minute_ms), t0 - minute_ms);
  EXPECT_EQ(bucket_start(t0 + 12 * hour_ms + 5, day_ms), t0);
  EXPECT_EQ(bucket_start(t0 + 7'777, 7'000), t0 + 7'777 - (t0 + 7'777) % 7'000);
  // Before 1970 too: floor, not truncation.
  EXPECT_EQ(bucket_start(0, minute_ms), 0);
  EXPECT_EQ(bucket_start(-1, minute_ms), -minute_ms);
  EXPECT_EQ(bucket_start(-minute_ms, minute_ms), -minute_ms);
  EXPECT_EQ(bucket_start(-minute_ms - 1, minute_ms), -2 * minute_ms);
}

TEST(Buckets, EdgeSamplesFallIntoTheBucketTheyStart) {
  const std::vector<historian_sample> raw{{t0 - 1, 1.0, quality::good},
                                          {t0, 2.0, quality::good},
                                          {t0 + minute_ms - 1, 3.0, quality::good},
                                          {t0 + minute_ms, 4.0, quality::good}};
  const auto r = roll_up(raw, minute_ms, t0 - minute_ms, t0 + 2 * minute_ms);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].start, t0 - minute_ms);
  EXPECT_EQ(r[0].count, 1);
  EXPECT_EQ(r[1].start, t0);
  EXPECT_EQ(r[1].count, 2);
  EXPECT_EQ(r[1].first, 2.0);
  EXPECT_EQ(r[1].last, 3.0);
  EXPECT_EQ(r[2].start, t0 + minute_ms);
  // The query's own edges: start is in, end is out; a partial bucket keeps the bucket's start.
  const auto clipped = roll_up(raw, minute_ms, t0, t0 + minute_ms);
  ASSERT_EQ(clipped.size(), 1u);
  EXPECT_EQ(clipped[0].count, 2);
  const auto partial = roll_up(raw, minute_ms, t0 + 1, t0 + minute_ms + 1);
  ASSERT_EQ(partial.size(), 2u);
  EXPECT_EQ(partial[0].start, t0);
  EXPECT_EQ(partial[0].count, 1);
  EXPECT_EQ(partial[0].first, 3.0);
  EXPECT_TRUE(roll_up(raw, minute_ms, t0, t0).empty());
  EXPECT_THROW(roll_up(raw, 0, t0, t0 + 1), std::invalid_argument);
}

TEST(Rollup, RandomDataMatchesTheBruteForce) {
  std::mt19937_64 rng(42);
  std::size_t checked = 0;
  for (std::int64_t width : {std::int64_t{1'000}, std::int64_t{7'000}, minute_ms,
                             std::int64_t{90'001}, hour_ms, day_ms}) {
    for (int round = 0; round < 4; ++round) {
      const auto raw = random_samples(rng, t0 - day_ms, 5'000, width / 20 + 1);
      // An unaligned query window somewhere over the data, and sometimes all of it.
      const std::int64_t span = raw.back().timestamp - raw.front().timestamp;
      std::uniform_int_distribution<std::int64_t> at(raw.front().timestamp - width,
                                                     raw.back().timestamp + width);
      std::int64_t start = at(rng);
      std::int64_t end = at(rng);
      if (start > end)
        std::swap(start, end);
      if (round == 0) {
        start = raw.front().timestamp;
        end = raw.front().timestamp + span + 1;
      }
      for (auto agg : every_aggregation) {
        const series_query q{start, end, width, agg};
        ASSERT_TRUE(matches_brute_force(aggregate(raw, q), raw, q));
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 6u * 4u * 6u);
}

TEST(Rollup, GapsAreLeftOutAndAllBadBucketsSaySo) {
  const std::vector<historian_sample> raw{{t0 + 1'000, 7.0, quality::good},
                                          {t0 + 10 * minute_ms, 0.0, quality::bad},
                                          {t0 + 10 * minute_ms + 1, nan, quality::good},
                                          {t0 + 30 * minute_ms, 7.5, quality::good}};
  const auto series = aggregate(raw, {t0, t0 + hour_ms, minute_ms, aggregation::avg});
  ASSERT_EQ(series.size(), 3u);  // minutes 0, 10 and 30; the 57 empty ones are gaps
  EXPECT_EQ(series[0], (historian_sample{t0, 7.0, quality::good}));
  EXPECT_EQ(series[1].timestamp, t0 + 10 * minute_ms);
  EXPECT_TRUE(std::isnan(series[1].value));  // data, but none of it usable
  EXPECT_EQ(series[1].q, quality::bad);
  EXPECT_EQ(series[2], (historian_sample{t0 + 30 * minute_ms, 7.5, quality::good}));
  const auto counts = aggregate(raw, {t0, t0 + hour_ms, minute_ms, aggregation::count});
  EXPECT_EQ(counts[1].value, 0.0);
}

TEST(Rollup, BadValuesAreLeftOutAndCounted) {
  rollup r;
  r.add({t0, 7.0, quality::good});
  r.add({t0 + 1, 1000.0, quality::bad});
  r.add({t0 + 2, std::numeric_limits<double>::infinity(), quality::good});
  r.add({t0 + 3, 9.0, quality::good});
  EXPECT_EQ(r.count, 2);
  EXPECT_EQ(r.bad, 2);
  EXPECT_EQ(r.value(aggregation::avg), 8.0);
  EXPECT_EQ(r.value(aggregation::max), 9.0);
  EXPECT_EQ(r.value(aggregation::last), 9.0);
  EXPECT_EQ(r.result_quality(), quality::uncertain);  // partial data
  rollup clean;
  clean.add({t0, 7.0, quality::good});
  EXPECT_EQ(clean.result_quality(), quality::good);
  clean.add({t0 + 1, 7.2, quality::uncertain});
  EXPECT_EQ(clean.result_quality(), quality::uncertain);
  EXPECT_EQ(clean.count, 2);  // UNCERTAIN values count
  EXPECT_EQ(clean.uncertain, 1);
  rollup nothing;
  EXPECT_TRUE(nothing.empty());
  EXPECT_TRUE(std::isnan(nothing.value(aggregation::avg)));
  EXPECT_EQ(nothing.value(aggregation::count), 0.0);
  EXPECT_TRUE(std::isnan(r.value(aggregation::none)));
}

TEST(Rollup, LateSamplesGoByTimestampNotByArrival) {
  rollup r;
  r.start = t0;
  r.add({t0 + 30'000, 5.0, quality::good});
  r.add({t0 + 40'000, 6.0, quality::good});
  r.add({t0 + 10'000, 1.0, quality::good});  // late, and the earliest
  r.add({t0 + 35'000, 9.0, quality::good});  // late, in the middle
  EXPECT_EQ(r.first, 1.0);
  EXPECT_EQ(r.first_time, t0 + 10'000);
  EXPECT_EQ(r.last, 6.0);
  EXPECT_EQ(r.last_time, t0 + 40'000);
  EXPECT_EQ(r.max, 9.0);
  EXPECT_EQ(r.count, 4);

  // Any arrival order gives what the brute force gives: a late sample lands in its own bucket.
  std::mt19937_64 rng(9);
  const auto raw = random_samples(rng, t0, 3'000, 500);
  std::vector<historian_sample> unique;  // distinct timestamps: arrival order cannot matter
  for (const auto& s : raw)
    if (unique.empty() || unique.back().timestamp != s.timestamp)
      unique.push_back(s);
  auto shuffled = unique;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  // And a handful of very late ones at the end, as from an edge node's backfill.
  std::rotate(shuffled.begin(), shuffled.begin() + 10, shuffled.end());
  const series_query whole{t0, t0 + day_ms, minute_ms, aggregation::avg};
  for (auto agg : every_aggregation) {
    auto q = whole;
    q.agg = agg;
    EXPECT_TRUE(matches_brute_force(aggregate(shuffled, q), unique, q));
    // With repeated timestamps too: each bucket still sees its samples in arrival order.
    auto shuffled_with_ties = raw;
    std::shuffle(shuffled_with_ties.begin(), shuffled_with_ties.end(), rng);
    EXPECT_TRUE(matches_brute_force(aggregate(shuffled_with_ties, q), shuffled_with_ties, q));
    const auto in_order = aggregate(unique, q);
    const auto out_of_order = aggregate(shuffled, q);
    ASSERT_EQ(in_order.size(), out_of_order.size());
    for (std::size_t i = 0; i < in_order.size(); ++i)
      EXPECT_TRUE(same_value(in_order[i].value, out_of_order[i].value, agg)) << i;
  }
}

TEST(Rollup, TiesGoByArrival) {
  rollup r;
  r.add({t0, 1.0, quality::good});
  r.add({t0, 2.0, quality::good});
  EXPECT_EQ(r.first, 1.0);  // the one that came first
  EXPECT_EQ(r.last, 2.0);   // the correction that came later
  rollup later;
  later.add({t0, 3.0, quality::good});
  r.merge(later);
  EXPECT_EQ(r.first, 1.0);
  EXPECT_EQ(r.last, 3.0);
}

TEST(Rollup, CoarserFromFinerEqualsCoarserFromRaw) {
  std::mt19937_64 rng(2026);
  // Two days and a bit of ~1 s samples with gaps, BAD and UNCERTAIN values.
  const auto raw = random_samples(rng, t0 - 3 * hour_ms + 1'234, 180'000, 1'000);
  const std::int64_t from = t0 - day_ms;
  const std::int64_t to = t0 + 2 * day_ms;
  const auto minutes = roll_up(raw, minute_ms, from, to);
  const auto hours_from_minutes = roll_up(minutes, minute_ms, hour_ms, from, to);
  const auto hours_from_raw = roll_up(raw, hour_ms, from, to);
  const auto days_from_hours = roll_up(hours_from_minutes, hour_ms, day_ms, from, to);
  const auto days_from_raw = roll_up(raw, day_ms, from, to);
  const auto same = [](const std::vector<rollup>& a, const std::vector<rollup>& b) {
    if (a.size() != b.size())
      return testing::AssertionFailure() << a.size() << " vs " << b.size() << " buckets";
    for (std::size_t i = 0; i < a.size(); ++i) {
      const auto& x = a[i];
      const auto& y = b[i];
      if (x.start != y.start || x.count != y.count || x.bad != y.bad ||
          x.uncertain != y.uncertain || x.min != y.min || x.max != y.max || x.first != y.first ||
          x.last != y.last || x.first_time != y.first_time || x.last_time != y.last_time ||
          std::fabs(x.sum - y.sum) > 1e-9 * std::max(1.0, std::fabs(y.sum)))
        return testing::AssertionFailure() << "bucket " << i << " at " << x.start;
    }
    return testing::AssertionSuccess();
  };
  EXPECT_GT(hours_from_raw.size(), 40u);
  EXPECT_TRUE(same(hours_from_minutes, hours_from_raw));
  EXPECT_EQ(days_from_raw.size(), 3u);
  EXPECT_TRUE(same(days_from_hours, days_from_raw));
  // The finer series may come in any order.
  auto shuffled = minutes;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  EXPECT_TRUE(same(roll_up(shuffled, minute_ms, hour_ms, from, to), hours_from_raw));
  // A finer bucket only partly inside the range is left out: raw samples answer for that part.
  const auto second_minute = std::find_if(
      minutes.begin(), minutes.end(), [](const rollup& m) { return m.start == t0 + minute_ms; });
  ASSERT_NE(second_minute, minutes.end());
  const auto partial = roll_up(minutes, minute_ms, hour_ms, t0 + 1, t0 + 3 * minute_ms - 1);
  ASSERT_EQ(partial.size(), 1u);
  EXPECT_EQ(partial[0].start, t0);
  EXPECT_EQ(partial[0].count, second_minute->count);
  EXPECT_EQ(partial[0].bad, second_minute->bad);
  // Widths that do not nest are refused, and so are rollups off their grid.
  EXPECT_THROW(roll_up(minutes, minute_ms, 90'000, from, to), std::invalid_argument);
  auto off_grid = minutes;
  off_grid[3].start += 1;
  EXPECT_THROW(roll_up(off_grid, minute_ms, hour_ms, from, to), std::invalid_argument);
}

TEST(Rollup, RollupsAndRawEdgesAnswerAnUnalignedQueryLikeRawAlone) {
  std::mt19937_64 rng(77);
  const auto raw = random_samples(rng, t0, 8'000, 3'000);  // about 7 h
  const auto minutes = roll_up(raw, minute_ms, t0 - day_ms, t0 + 2 * day_ms);
  std::uniform_int_distribution<std::int64_t> at(t0 - hour_ms, raw.back().timestamp + hour_ms);
  for (int round = 0; round < 16; ++round) {
    std::int64_t start = at(rng);
    std::int64_t end = at(rng);
    if (start > end)
      std::swap(start, end);
    if (round == 0)  // shorter than a minute: raw samples answer alone
      end = start + 20'000;
    for (std::int64_t interval : {minute_ms, 5 * minute_ms, hour_ms}) {
      for (auto agg : every_aggregation) {
        const series_query q{start, end, interval, agg};
        ASSERT_TRUE(rollups_can_answer(q, minute_ms));
        ASSERT_TRUE(matches_brute_force(aggregate(minutes, minute_ms, raw, q), raw, q))
            << "query [" << start << ", " << end << ")";
      }
    }
  }
  series_query odd{t0, t0 + hour_ms, 90'000, aggregation::avg};
  EXPECT_FALSE(rollups_can_answer(odd, minute_ms));
  EXPECT_THROW(aggregate(minutes, minute_ms, raw, odd), std::invalid_argument);
  odd = {t0, t0 + hour_ms, minute_ms, aggregation::none};
  EXPECT_FALSE(rollups_can_answer(odd, minute_ms));
}

TEST(Rollup, WholeBucketsOfARange) {
  const auto r = whole_buckets(t0 + 1, t0 + 3 * minute_ms + 5, minute_ms);
  EXPECT_EQ(r.start, t0 + minute_ms);
  EXPECT_EQ(r.end, t0 + 3 * minute_ms);
  const auto aligned = whole_buckets(t0, t0 + 2 * minute_ms, minute_ms);
  EXPECT_EQ(aligned.start, t0);
  EXPECT_EQ(aligned.end, t0 + 2 * minute_ms);
  const auto none = whole_buckets(t0 + 1, t0 + minute_ms + 5, minute_ms);
  EXPECT_EQ(none.start, t0 + 1);
  EXPECT_EQ(none.end, t0 + 1);
}

TEST(Rollup, MergeSeriesJoinsBucketsOfTheSameStart) {
  rollup a1;
  a1.start = t0;
  a1.add({t0 + 5, 1.0, quality::good});
  rollup a2;
  a2.start = t0 + 2 * minute_ms;
  a2.add({t0 + 2 * minute_ms, 2.0, quality::good});
  rollup b1;
  b1.start = t0;
  b1.add({t0 + 1, 5.0, quality::good});
  rollup b2;
  b2.start = t0 + minute_ms;
  b2.add({t0 + minute_ms, 3.0, quality::good});
  const auto m = merge_series({a1, a2}, {b1, b2});
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].count, 2);
  EXPECT_EQ(m[0].first, 5.0);  // by timestamp
  EXPECT_EQ(m[0].last, 1.0);
  EXPECT_EQ(m[1].start, t0 + minute_ms);
  EXPECT_EQ(m[2].start, t0 + 2 * minute_ms);
  EXPECT_TRUE(merge_series({}, {}).empty());
}

TEST(Query, NoneGivesTheRawSamplesOfTheRange) {
  const std::vector<historian_sample> raw{{t0 - 1, 1.0, quality::good},
                                          {t0, 2.0, quality::bad},
                                          {t0 + 5, 3.0, quality::good},
                                          {t0 + 10, 4.0, quality::good}};
  EXPECT_EQ(aggregate(raw, {t0, t0 + 10, minute_ms, aggregation::none}),
            (std::vector<historian_sample>{raw[1], raw[2]}));
  EXPECT_THROW(to_series({}, aggregation::none), std::invalid_argument);
}

TEST(Query, ParsesAggregationsAndIntervals) {
  aggregation a{};
  for (auto want : {aggregation::none, aggregation::avg, aggregation::min, aggregation::max,
                    aggregation::first, aggregation::last, aggregation::count}) {
    ASSERT_TRUE(parse_aggregation(to_string(want), a));
    EXPECT_EQ(a, want);
  }
  EXPECT_FALSE(parse_aggregation("mean", a));
  EXPECT_FALSE(parse_aggregation("AVG", a));

  EXPECT_EQ(parse_interval("1m"), minute_ms);
  EXPECT_EQ(parse_interval("5m"), 5 * minute_ms);
  EXPECT_EQ(parse_interval("1h"), hour_ms);
  EXPECT_EQ(parse_interval("1d"), day_ms);
  EXPECT_EQ(parse_interval("30s"), 30'000);
  EXPECT_EQ(parse_interval("250ms"), 250);
  for (const char* bad : {"", "m", "0m", "1", "1.5h", "-1m", "1 m", "1M", "1w", "1hh",
                          "99999999999999999999d", "106751991167301d"})
    EXPECT_FALSE(parse_interval(bad)) << bad;
  EXPECT_EQ(parse_interval("106751991167d"), 106'751'991'167 * day_ms);  // just fits

  EXPECT_EQ(validate(series_query{t0, t0 + 1, minute_ms, aggregation::avg}), "");
  EXPECT_NE(validate(series_query{t0, t0, minute_ms, aggregation::avg}), "");
  EXPECT_NE(validate(series_query{t0, t0 + 1, 0, aggregation::avg}), "");
  EXPECT_EQ(validate(series_query{t0, t0 + 1, 0, aggregation::none}), "");
}

}  // namespace
