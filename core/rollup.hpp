#pragma once

// Aggregates of one tag's values over fixed time buckets: the minute and hour rollups the
// historian keeps beside its samples, and the aggregated series a trend query answers with.
// Pure: no clock, no I/O. docs/historian.md explains the choices (quality, edges, gaps).

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/compression.hpp"
#include "messages/field_types.hpp"

namespace wtc::core {

constexpr std::int64_t second_ms = 1'000;
constexpr std::int64_t minute_ms = 60 * second_ms;
constexpr std::int64_t hour_ms = 60 * minute_ms;
constexpr std::int64_t day_ms = 24 * hour_ms;

/// The start of the bucket that holds `t`. Buckets of width w are [k·w, (k+1)·w) for whole k,
/// aligned to the Unix epoch whatever the query asks, so that every query and every stored
/// rollup cut time at the same places (a day bucket is a UTC day). `width_ms` must be > 0.
timestamp_ms bucket_start(timestamp_ms t, std::int64_t width_ms);

/// A trend query's aggregation: the contract's list, and `count`.
enum class aggregation : std::uint8_t { none, avg, min, max, first, last, count };

std::string_view to_string(aggregation a);
/// Parses "none", "avg", "min", "max", "first", "last" or "count"; false on anything else.
bool parse_aggregation(std::string_view text, aggregation& out);

/// Parses a trend interval: a positive whole number and a unit, "ms", "s", "m", "h" or "d"
/// ("500ms", "1m", "5m", "1h", "1d"). Nothing on anything else, zero, or an overflow.
std::optional<std::int64_t> parse_interval(std::string_view text);

/// The aggregate of one tag's samples in one bucket. GOOD and UNCERTAIN samples with a finite
/// value are aggregated; BAD ones (and non-finite values) are only counted in `bad`, as PI's
/// summaries leave out bad values. First and last go by timestamp, not by arrival, so a late
/// sample can be added at any time. Plain data: copy it, store it, send it.
struct rollup {
  timestamp_ms start = 0;      // of the bucket; add() does not check that samples belong to it
  std::int64_t count = 0;      // samples aggregated
  std::int64_t uncertain = 0;  // of which UNCERTAIN
  std::int64_t bad = 0;        // samples left out
  double sum = 0.0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  double first = 0.0;  // value of the aggregated sample with the earliest timestamp
  double last = 0.0;   // ... with the latest timestamp
  timestamp_ms first_time = 0;
  timestamp_ms last_time = 0;

  /// On a tie of timestamps, `first` keeps the value that came first and `last` takes the one
  /// that came last (a correction written later wins).
  void add(const historian_sample& s);
  /// Takes in a rollup of samples from the same bucket or from a bucket inside this one (60
  /// minutes make an hour). `other` counts as having come later, for ties as in add().
  void merge(const rollup& other);

  bool empty() const { return count == 0 && bad == 0; }
  /// The aggregate's value: NaN when no sample was aggregated (count then gives 0, and none
  /// always gives NaN: it is no aggregate).
  double value(aggregation a) const;
  /// BAD when nothing was aggregated (only BAD samples); UNCERTAIN when an UNCERTAIN sample took
  /// part or a BAD one was left out, so the aggregate rests on doubtful or partial data; GOOD
  /// otherwise.
  quality result_quality() const;
};

/// One rollup per bucket of `width_ms` that holds a sample inside [start, end), oldest first;
/// buckets without a sample are left out (a gap stays a gap). The samples may come in any order;
/// time order is the fast path (one pass, no sort).
std::vector<rollup> roll_up(const std::vector<historian_sample>& samples, std::int64_t width_ms,
                            timestamp_ms start, timestamp_ms end);

/// Coarser rollups from finer ones of width `finer_width_ms`: an hour from 60 minutes, a day from
/// 24 hours. `width_ms` must be a multiple of `finer_width_ms` and each finer rollup must start on
/// a multiple of it (std::invalid_argument otherwise). Only finer rollups lying wholly inside
/// [start, end) count: the caller covers partial buckets at the ends with raw samples (see
/// whole_buckets()). Any order; oldest first out.
std::vector<rollup> roll_up(const std::vector<rollup>& finer, std::int64_t finer_width_ms,
                            std::int64_t width_ms, timestamp_ms start, timestamp_ms end);

/// Two series of rollups of one width, each oldest first, as one: rollups with the same start
/// are merged, `b`'s as having come later.
std::vector<rollup> merge_series(const std::vector<rollup>& a, const std::vector<rollup>& b);

struct time_range {
  timestamp_ms start = 0;
  timestamp_ms end = 0;
};

/// The part of [start, end) that whole buckets of `width_ms` cover, which rollups of that width
/// can answer for; raw samples answer for [start, result.start) and [result.end, end). When no
/// whole bucket fits, the result is empty and starts at `start`.
time_range whole_buckets(timestamp_ms start, timestamp_ms end, std::int64_t width_ms);

/// The trend series of `buckets` (oldest first): one point per bucket, at the bucket's start,
/// with value(a) and result_quality(). std::invalid_argument for aggregation::none.
std::vector<historian_sample> to_series(const std::vector<rollup>& buckets, aggregation a);

/// GET /trends/{tag_id}: [start, end), and for an aggregation the interval (bucket width).
struct series_query {
  timestamp_ms start = 0;
  timestamp_ms end = 0;
  std::int64_t interval_ms = minute_ms;
  aggregation agg = aggregation::none;
};

/// Why `q` cannot be answered, or an empty string when it can.
std::string validate(const series_query& q);

/// Whether rollups of `finer_width_ms` can answer `q` (with raw samples for its ends).
bool rollups_can_answer(const series_query& q, std::int64_t finer_width_ms);

/// `q` answered from raw samples (any order). aggregation::none gives the samples inside
/// [start, end) unchanged, in their order.
std::vector<historian_sample> aggregate(const std::vector<historian_sample>& samples,
                                        const series_query& q);

/// `q` answered from rollups of `finer_width_ms`, and raw samples for the ends of [start, end)
/// that whole finer buckets do not cover (samples elsewhere are ignored, so the caller may pass
/// more than the ends). Needs rollups_can_answer(q, finer_width_ms); std::invalid_argument
/// otherwise.
std::vector<historian_sample> aggregate(const std::vector<rollup>& finer,
                                        std::int64_t finer_width_ms,
                                        const std::vector<historian_sample>& edge_samples,
                                        const series_query& q);

}  // namespace wtc::core
