#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/compression.hpp"
#include "historian_print.hpp"

namespace {

using wtc::quality;
using wtc::core::compress;
using wtc::core::compression_config;
using wtc::core::compression_mode;
using wtc::core::compressor;
using wtc::core::historian_sample;
using wtc::core::parse_compression_mode;
using wtc::core::stored_points;
using wtc::core::validate;

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

compression_config config(compression_mode mode, double deviation, std::int64_t max_interval_ms) {
  compression_config c;
  c.mode = mode;
  c.deviation = deviation;
  c.max_interval_ms = max_interval_ms;
  return c;
}

std::vector<historian_sample> points_of(stored_points p) {
  return {p.begin(), p.end()};
}

bool usable(const historian_sample& s) {
  return s.q != quality::bad && std::isfinite(s.value);
}

// What each mode promises about the samples it drops, checked sample by sample: `raw` in time
// order, `stored` what compress() made of it (flushed). See docs/historian.md.
struct guarantee_stats {
  std::uint64_t samples = 0;
  std::uint64_t dropped_checked = 0;  // samples not stored, held to the deviation
  std::uint64_t stored = 0;
};

testing::AssertionResult keeps_its_promises(const std::vector<historian_sample>& raw,
                                            const std::vector<historian_sample>& stored,
                                            const compression_config& c, guarantee_stats& stats) {
  const auto fail = [&](std::size_t i, const std::string& what) {
    return testing::AssertionFailure()
           << what << " at raw sample " << i << " (t=" << raw[i].timestamp << ", v=" << raw[i].value
           << "), mode " << to_string(c.mode) << ", deviation " << c.deviation << ", max interval "
           << c.max_interval_ms;
  };
  stats.samples += raw.size();
  stats.stored += stored.size();
  if (raw.empty())
    return stored.empty() ? testing::AssertionSuccess()
                          : testing::AssertionFailure() << "stored points out of nothing";
  if (stored.empty() || stored.front() != raw.front() || stored.back() != raw.back())
    return testing::AssertionFailure() << "the first and last samples must be stored";
  if (c.mode == compression_mode::none && stored != raw)
    return testing::AssertionFailure() << "mode none must store every sample";

  const auto by_time = [](const historian_sample& a, const historian_sample& b) {
    return a.timestamp < b.timestamp;
  };
  for (std::size_t k = 0; k < stored.size(); ++k) {
    if (k > 0 && stored[k].timestamp <= stored[k - 1].timestamp)
      return testing::AssertionFailure() << "stored points out of time order at " << k;
    const auto it = std::lower_bound(raw.begin(), raw.end(), stored[k], by_time);
    if (it == raw.end() || *it != stored[k])
      return testing::AssertionFailure() << "stored point " << k << " is not a raw sample";
  }

  for (std::size_t i = 0; i < raw.size(); ++i) {
    const auto& r = raw[i];
    // The stored point at or before r, and the one after it.
    const auto next_it = std::upper_bound(stored.begin(), stored.end(), r, by_time);
    const auto& before = *(next_it - 1);
    if (before.q != r.q)
      return fail(i, "the stored quality differs from the sample's");
    if (before.timestamp == r.timestamp || !usable(r))
      continue;
    const double tolerance =
        1e-13 * std::max({std::fabs(r.value), std::fabs(before.value), c.deviation, 1e-300});
    if (c.mode == compression_mode::deadband) {
      if (!(std::fabs(r.value - before.value) <= c.deviation + tolerance))
        return fail(i,
                    "the step from the stored point misses the sample by more than the "
                    "deviation");
    } else {
      const auto& after = *next_it;  // exists: the last sample is stored
      if (!usable(before) || !usable(after) || after.q != r.q)
        return fail(i, "a dropped sample lies between points that cannot be interpolated");
      const double fraction = static_cast<double>(r.timestamp - before.timestamp) /
                              static_cast<double>(after.timestamp - before.timestamp);
      const double line = before.value + (after.value - before.value) * fraction;
      const double scale = 1e-13 * std::max({std::fabs(after.value), std::fabs(before.value),
                                             std::fabs(r.value), c.deviation, 1e-300});
      if (!(std::fabs(line - r.value) <= c.deviation + scale))
        return fail(i, "the line between stored points misses the sample by " +
                           std::to_string(std::fabs(line - r.value)));
    }
    ++stats.dropped_checked;
  }

  if (c.max_interval_ms > 0) {
    for (std::size_t k = 1; k < stored.size(); ++k) {
      if (stored[k].timestamp - stored[k - 1].timestamp <= c.max_interval_ms)
        continue;
      const auto a = std::upper_bound(raw.begin(), raw.end(), stored[k - 1], by_time);
      if (a->timestamp != stored[k].timestamp)
        return testing::AssertionFailure()
               << "stored points " << k - 1 << " and " << k << " are more than "
               << c.max_interval_ms << " ms apart with a sample between them, mode "
               << to_string(c.mode);
    }
  }
  return testing::AssertionSuccess();
}

// --- signals: the shape of the values, the rhythm of the timestamps, the qualities ---

using shape = std::function<double(std::size_t i, std::int64_t t, std::mt19937_64& rng)>;

struct named_shape {
  std::string name;
  std::function<shape(double amplitude, double deviation)> make;
};

std::vector<named_shape> shapes() {
  return {
      {"random walk",
       [](double a, double) -> shape {
         auto v = std::make_shared<double>(0.0);
         return [v, a](std::size_t, std::int64_t, std::mt19937_64& rng) {
           *v += std::normal_distribution<double>(0.0, a * 0.01)(rng);
           return *v;
         };
       }},
      {"steps",
       [](double a, double) -> shape {
         auto level = std::make_shared<double>(0.0);
         return [level, a](std::size_t, std::int64_t, std::mt19937_64& rng) {
           if (std::uniform_int_distribution<int>(0, 30)(rng) == 0)
             *level = std::uniform_real_distribution<double>(-a, a)(rng);
           return *level;
         };
       }},
      {"spikes",
       [](double a, double) -> shape {
         return [a](std::size_t, std::int64_t, std::mt19937_64& rng) {
           return std::uniform_int_distribution<int>(0, 20)(rng) == 0 ? a : 0.0;
         };
       }},
      {"noisy ramp",
       [](double a, double d) -> shape {
         return [a, d](std::size_t, std::int64_t t, std::mt19937_64& rng) {
           return a * 1e-6 * static_cast<double>(t) +
                  std::uniform_real_distribution<double>(-d, d)(rng);
         };
       }},
      {"ramps up and down",
       [](double a, double) -> shape {
         return [a](std::size_t i, std::int64_t, std::mt19937_64&) {
           const double phase = static_cast<double>(i % 200) / 100.0;
           return a * (phase < 1.0 ? phase : 2.0 - phase);
         };
       }},
      {"sawtooth",
       [](double a, double) -> shape {
         return [a](std::size_t i, std::int64_t, std::mt19937_64&) {
           return a * static_cast<double>(i % 37) / 37.0;
         };
       }},
      {"constant",
       [](double a, double) -> shape {
         return [a](std::size_t, std::int64_t, std::mt19937_64&) { return a; };
       }},
      {"alternating by exactly twice the deviation",
       [](double a, double d) -> shape {
         return [a, d](std::size_t i, std::int64_t, std::mt19937_64&) {
           return a + (i % 2 == 0 ? d : -d);
         };
       }},
      {"alternating by exactly the deviation",
       [](double a, double d) -> shape {
         return [a, d](std::size_t i, std::int64_t, std::mt19937_64&) {
           return a + (i % 2 == 0 ? d : 0.0);
         };
       }},
      {"drifting by exactly the deviation",
       [](double, double d) -> shape {
         return [d](std::size_t i, std::int64_t, std::mt19937_64&) {
           return d * static_cast<double>(i / 3);
         };
       }},
      {"sine and noise",
       [](double a, double d) -> shape {
         return [a, d](std::size_t, std::int64_t t, std::mt19937_64& rng) {
           return a * std::sin(static_cast<double>(t) * 1e-4) +
                  std::uniform_real_distribution<double>(-2 * d, 2 * d)(rng);
         };
       }},
  };
}

enum class rhythm { regular, irregular, bursts_and_gaps };
enum class qualities { good, mixed };

std::vector<historian_sample> make_signal(const shape& value_of, rhythm r, qualities q,
                                          std::size_t n, std::mt19937_64& rng) {
  std::vector<historian_sample> out;
  out.reserve(n);
  std::int64_t t = 1'768'608'000'000;  // 2026-01-17
  quality current = quality::good;
  for (std::size_t i = 0; i < n; ++i) {
    switch (r) {
      case rhythm::regular:
        t += 1000;
        break;
      case rhythm::irregular:
        t += std::uniform_int_distribution<std::int64_t>(1, 5000)(rng);
        break;
      case rhythm::bursts_and_gaps: {
        const int pick = std::uniform_int_distribution<int>(0, 99)(rng);
        t += pick < 70 ? 1 : pick < 97 ? 1000 : std::int64_t{3'600'000} * (pick - 96);
        break;
      }
    }
    historian_sample s{t, value_of(i, t, rng), quality::good};
    if (q == qualities::mixed) {
      if (std::uniform_int_distribution<int>(0, 24)(rng) == 0)
        current = static_cast<quality>(std::uniform_int_distribution<int>(0, 2)(rng));
      s.q = current;
      if (std::uniform_int_distribution<int>(0, 150)(rng) == 0)
        s.value = nan;  // a GOOD NaN from a broken driver
    }
    out.push_back(s);
  }
  return out;
}

TEST(CompressionProperty, EveryDroppedSampleStaysWithinTheDeviation) {
  std::mt19937_64 rng(20260117);
  guarantee_stats stats;
  std::uint64_t cases = 0;
  const compression_mode modes[] = {compression_mode::none, compression_mode::deadband,
                                    compression_mode::swinging_door};
  const double deviations[] = {0.0, 1e-9, 1e-3, 0.1, 1.0, 1e6};
  const double amplitudes[] = {1e-6, 1.0, 1e3, 1e9};
  const std::int64_t max_intervals[] = {0, 5'000, 8 * 3'600'000};
  for (const auto& sh : shapes()) {
    for (auto r : {rhythm::regular, rhythm::irregular, rhythm::bursts_and_gaps}) {
      for (auto q : {qualities::good, qualities::mixed}) {
        for (double dev : deviations) {
          const double amplitude = amplitudes[std::uniform_int_distribution<int>(0, 3)(rng)];
          const std::size_t n = std::uniform_int_distribution<std::size_t>(1, 1000)(rng);
          const auto raw = make_signal(sh.make(amplitude, dev), r, q, n, rng);
          for (auto mode : modes) {
            for (auto max_interval : max_intervals) {
              const auto c = config(mode, dev, max_interval);
              ASSERT_TRUE(keeps_its_promises(raw, compress(raw, c), c, stats))
                  << sh.name << ", amplitude " << amplitude;
              ++cases;
            }
          }
        }
      }
    }
  }
  std::cout << "[ property ] " << cases << " cases, " << stats.samples << " samples, "
            << stats.dropped_checked << " dropped samples held to the deviation, " << stats.stored
            << " points stored\n";
  EXPECT_GT(stats.dropped_checked, stats.samples / 4);  // the checks did bite
}

TEST(CompressionProperty, TheTextbookCounterexampleKeepsTheBound) {
  // Textbook swinging door keeps (10000, -0.5) after (1000, 1): some line through the pivot
  // still fits both, but the line to (10000, -0.5) passes (1000, 1) at -0.05, 1.05 away.
  const std::vector<historian_sample> raw{{0, 0.0, quality::good},
                                          {1'000, 1.0, quality::good},
                                          {10'000, -0.5, quality::good},
                                          {11'000, 100.0, quality::good}};
  const auto c = config(compression_mode::swinging_door, 1.0, 0);
  const auto stored = compress(raw, c);
  guarantee_stats stats;
  EXPECT_TRUE(keeps_its_promises(raw, stored, c, stats));
  EXPECT_EQ(stored, raw);  // every point was needed
}

// --- behaviour, case by case ---

TEST(Compression, ModesAndConfiguration) {
  compression_mode m{};
  ASSERT_TRUE(parse_compression_mode("swinging_door", m));
  EXPECT_EQ(m, compression_mode::swinging_door);
  ASSERT_TRUE(parse_compression_mode("deadband", m));
  EXPECT_EQ(m, compression_mode::deadband);
  ASSERT_TRUE(parse_compression_mode("none", m));
  EXPECT_EQ(m, compression_mode::none);
  EXPECT_FALSE(parse_compression_mode("SWINGING_DOOR", m));
  EXPECT_FALSE(parse_compression_mode("", m));
  EXPECT_EQ(to_string(compression_mode::swinging_door), "swinging_door");

  const compression_config defaults;
  EXPECT_EQ(defaults.mode, compression_mode::swinging_door);  // the contract's default
  EXPECT_EQ(defaults.deviation, 0.1);
  EXPECT_EQ(validate(defaults), "");
  EXPECT_NE(validate(config(compression_mode::deadband, -0.1, 0)), "");
  EXPECT_NE(validate(config(compression_mode::deadband, nan, 0)), "");
  EXPECT_NE(
      validate(config(compression_mode::deadband, std::numeric_limits<double>::infinity(), 0)), "");
  EXPECT_NE(validate(config(compression_mode::deadband, 0.1, -1)), "");
}

TEST(Compression, NoneStoresEverySample) {
  compressor c(config(compression_mode::none, 0.1, 0));
  for (int i = 0; i < 5; ++i) {
    const historian_sample s{i * 1000, 7.0, quality::good};
    EXPECT_EQ(points_of(c.push(s)), std::vector<historian_sample>{s});
  }
  EXPECT_TRUE(c.flush().empty());
  EXPECT_EQ(c.stored(), 5u);
}

TEST(Compression, DeadbandStoresMovesBeyondTheDeviationFromTheLastStoredValue) {
  compressor c(config(compression_mode::deadband, 0.1, 0));
  EXPECT_EQ(c.push({0, 7.0, quality::good}).size(), 1u);     // the first is always stored
  EXPECT_TRUE(c.push({1000, 7.1, quality::good}).empty());   // exactly the deviation: no
  EXPECT_TRUE(c.push({2000, 6.95, quality::good}).empty());  // measured from 7.0, not 7.1
  const historian_sample beyond{3000, 7.11, quality::good};
  EXPECT_EQ(points_of(c.push(beyond)), std::vector<historian_sample>{beyond});
  EXPECT_TRUE(c.push({4000, 7.2, quality::good}).empty());  // now measured from 7.11
  EXPECT_EQ(c.pending(), (historian_sample{4000, 7.2, quality::good}));
  EXPECT_EQ(points_of(c.flush()), (std::vector<historian_sample>{{4000, 7.2, quality::good}}));
}

TEST(Compression, SwingingDoorStoresTheHeldSampleWhenTheDoorCloses) {
  compressor c(config(compression_mode::swinging_door, 0.1, 0));
  EXPECT_EQ(c.push({0, 0.0, quality::good}).size(), 1u);
  EXPECT_TRUE(c.push({1000, 1.0, quality::good}).empty());
  EXPECT_TRUE(c.push({2000, 2.0, quality::good}).empty());
  EXPECT_TRUE(c.push({3000, 3.05, quality::good}).empty());  // still on the line, within 0.1
  // The ramp ends: the last sample of the ramp is stored when the next one shows it.
  EXPECT_EQ(points_of(c.push({4000, 3.0, quality::good})),
            (std::vector<historian_sample>{{3000, 3.05, quality::good}}));
  EXPECT_EQ(c.pending(), (historian_sample{4000, 3.0, quality::good}));
  EXPECT_EQ(points_of(c.flush()), (std::vector<historian_sample>{{4000, 3.0, quality::good}}));
  EXPECT_TRUE(c.flush().empty());  // nothing twice
  EXPECT_FALSE(c.pending());
  // Compression goes on from the flushed point.
  EXPECT_TRUE(c.push({5000, 3.0, quality::good}).empty());
  EXPECT_EQ(c.received(), 6u);
  EXPECT_EQ(c.stored(), 3u);
}

TEST(Compression, SwingingDoorLooksPastASampleThatCannotEndTheSegment) {
  // (2000, -0.5) cannot end a segment from (0, 0): the line to it misses (1000, 1) by 1.25. A
  // line still fits both, and (3000, 0.3) can end one, so (1000, 1) need not be stored.
  const std::vector<historian_sample> raw{{0, 0.0, quality::good},
                                          {1000, 1.0, quality::good},
                                          {2000, -0.5, quality::good},
                                          {3000, 0.3, quality::good}};
  const auto c = config(compression_mode::swinging_door, 1.0, 0);
  compressor comp(c);
  for (const auto& s : raw)
    comp.push(s);
  EXPECT_EQ(comp.pending(), raw.back());
  EXPECT_EQ(points_of(comp.flush()), std::vector<historian_sample>{raw.back()});
  const auto stored = compress(raw, c);
  EXPECT_EQ(stored, (std::vector<historian_sample>{raw.front(), raw.back()}));
  guarantee_stats stats;
  EXPECT_TRUE(keeps_its_promises(raw, stored, c, stats));
}

TEST(Compression, AStraightLineIsItsTwoEnds) {
  std::vector<historian_sample> raw;
  for (int i = 0; i <= 1000; ++i)
    raw.push_back({i * 1000, 5.0 + 0.25 * i, quality::good});
  EXPECT_EQ(compress(raw, config(compression_mode::swinging_door, 0.0, 0)),
            (std::vector<historian_sample>{raw.front(), raw.back()}));
}

TEST(Compression, AQualityChangeIsStoredAtItsOwnTime) {
  compressor c(config(compression_mode::swinging_door, 0.1, 0));
  c.push({0, 7.0, quality::good});
  EXPECT_TRUE(c.push({1000, 7.0, quality::good}).empty());
  // The last GOOD sample closes the segment, the BAD one opens the next.
  EXPECT_EQ(points_of(c.push({2000, 0.0, quality::bad})),
            (std::vector<historian_sample>{{1000, 7.0, quality::good}, {2000, 0.0, quality::bad}}));
  // A BAD run is its first sample: its values mean nothing.
  EXPECT_TRUE(c.push({3000, 55.0, quality::bad}).empty());
  EXPECT_TRUE(c.push({4000, -3.0, quality::bad}).empty());
  EXPECT_EQ(points_of(c.push({5000, 7.2, quality::good})),
            (std::vector<historian_sample>{{5000, 7.2, quality::good}}));
  // GOOD to UNCERTAIN is a change of quality too.
  EXPECT_TRUE(c.push({6000, 7.2, quality::good}).empty());
  EXPECT_EQ(
      points_of(c.push({7000, 7.2, quality::uncertain})),
      (std::vector<historian_sample>{{6000, 7.2, quality::good}, {7000, 7.2, quality::uncertain}}));
}

TEST(Compression, ANonFiniteValueBreaksTheDoorLikeABadOne) {
  compressor c(config(compression_mode::swinging_door, 0.1, 0));
  c.push({0, 7.0, quality::good});
  c.push({1000, 7.0, quality::good});
  const auto out = c.push({2000, nan, quality::good});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], (historian_sample{1000, 7.0, quality::good}));
  EXPECT_EQ(out[1], (historian_sample{2000, nan, quality::good}));
  EXPECT_TRUE(c.push({3000, nan, quality::good}).empty());
  EXPECT_EQ(c.push({4000, 7.0, quality::good}).size(), 1u);
}

TEST(Compression, DeadbandStoresTheChangeButNotTheStepBeforeIt) {
  compressor c(config(compression_mode::deadband, 0.1, 0));
  c.push({0, 7.0, quality::good});
  EXPECT_TRUE(c.push({1000, 7.05, quality::good}).empty());
  EXPECT_EQ(points_of(c.push({2000, 7.05, quality::uncertain})),
            (std::vector<historian_sample>{{2000, 7.05, quality::uncertain}}));
}

TEST(Compression, LateSamplesBypassCompressionAndLeaveTheStateAlone) {
  const auto c = config(compression_mode::swinging_door, 0.1, 0);
  compressor with_late(c);
  compressor without(c);
  std::vector<historian_sample> stored_with;
  std::vector<historian_sample> stored_without;
  for (int i = 0; i < 50; ++i) {
    const historian_sample s{10'000 + i * 1000, std::sin(i * 0.3), quality::good};
    for (const auto& p : with_late.push(s))
      stored_with.push_back(p);
    for (const auto& p : without.push(s))
      stored_without.push_back(p);
    if (i % 10 == 9) {
      // Backfill from before the live stream, and a repeat of the same millisecond.
      const historian_sample old{i * 100, 99.0, quality::uncertain};
      EXPECT_EQ(points_of(with_late.push(old)), std::vector<historian_sample>{old});
      const historian_sample same{s.timestamp, -1.0, quality::good};
      EXPECT_EQ(points_of(with_late.push(same)), std::vector<historian_sample>{same});
    }
  }
  for (const auto& p : with_late.flush())
    stored_with.push_back(p);
  for (const auto& p : without.flush())
    stored_without.push_back(p);
  stored_with.erase(
      std::remove_if(stored_with.begin(), stored_with.end(),
                     [](const historian_sample& p) { return p.value == 99.0 || p.value == -1.0; }),
      stored_with.end());
  EXPECT_EQ(stored_with, stored_without);
  EXPECT_EQ(with_late.late(), 10u);
  EXPECT_EQ(with_late.received(), 60u);
}

TEST(Compression, TheMaximumIntervalForcesAPoint) {
  compressor c(config(compression_mode::swinging_door, 0.1, 10'000));
  c.push({0, 7.0, quality::good});
  for (int t = 1000; t <= 10'000; t += 1000)
    EXPECT_TRUE(c.push({t, 7.0, quality::good}).empty()) << t;
  // 11 s after the last stored point: the held sample (10 s) is stored, not this one.
  EXPECT_EQ(points_of(c.push({11'000, 7.0, quality::good})),
            (std::vector<historian_sample>{{10'000, 7.0, quality::good}}));
  // A gap longer than the limit with nothing in it: both ends are stored.
  EXPECT_EQ(
      points_of(c.push({40'000, 7.0, quality::good})),
      (std::vector<historian_sample>{{11'000, 7.0, quality::good}, {40'000, 7.0, quality::good}}));
  // A BAD run gets its heartbeat too.
  compressor bad(config(compression_mode::deadband, 0.1, 10'000));
  bad.push({0, 0.0, quality::bad});
  for (int t = 1000; t <= 10'000; t += 1000)
    EXPECT_TRUE(bad.push({t, 0.0, quality::bad}).empty()) << t;
  EXPECT_EQ(bad.push({11'000, 0.0, quality::bad}).size(), 1u);
}

TEST(Compression, NoisyRampCompresses) {
  // A day at 1 Hz of a tank level that fills for 6 h and drains for 6 h, twice, with Gaussian
  // noise, against a deviation of 0.1 (the contract's default deadband). The ratio falls fast
  // once the noise reaches the deviation: docs/historian.md.
  const auto noisy_ramp = [](double sigma) {
    std::mt19937_64 rng(7);
    std::normal_distribution<double> noise(0.0, sigma);
    std::vector<historian_sample> raw;
    for (std::int64_t i = 0; i < 86'400; ++i) {
      const double phase = static_cast<double>(i % 43'200) / 21'600.0;
      const double level = 0.5 + 4.0 * (phase < 1.0 ? phase : 2.0 - phase);
      raw.push_back({i * 1000, level + noise(rng), quality::good});
    }
    return raw;
  };
  for (double sigma : {0.01, 0.02, 0.05, 0.1}) {
    const auto raw = noisy_ramp(sigma);
    std::size_t stored_by[3] = {};
    for (auto mode : {compression_mode::deadband, compression_mode::swinging_door}) {
      const auto c = config(mode, 0.1, 8 * 3'600'000);
      const auto stored = compress(raw, c);
      guarantee_stats stats;
      EXPECT_TRUE(keeps_its_promises(raw, stored, c, stats));
      stored_by[static_cast<int>(mode)] = stored.size();
      std::cout << "[ ratio    ] noisy ramp, noise sigma " << sigma << ", " << to_string(mode)
                << ": " << raw.size() << " samples -> " << stored.size() << " points ("
                << static_cast<double>(raw.size()) / static_cast<double>(stored.size()) << ":1)\n";
    }
    if (sigma <= 0.02) {  // noise well inside the deviation, as it should be configured
      EXPECT_LT(stored_by[static_cast<int>(compression_mode::swinging_door)] * 10, raw.size());
      EXPECT_LT(stored_by[static_cast<int>(compression_mode::swinging_door)],
                stored_by[static_cast<int>(compression_mode::deadband)]);
    }
  }
}

}  // namespace
