#include "core/rollup.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <unordered_map>

namespace wtc::core {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// Input out of time order leaves several rollups for one bucket, out of order: sort them by
// start, keeping their order of arrival among equals (ties of first/last go by arrival), and
// merge each bucket's into one.
void normalise(std::vector<rollup>& rollups) {
  std::stable_sort(rollups.begin(), rollups.end(),
                   [](const rollup& a, const rollup& b) { return a.start < b.start; });
  std::size_t kept = 0;
  for (std::size_t i = 1; i < rollups.size(); ++i) {
    if (rollups[i].start == rollups[kept].start)
      rollups[kept].merge(rollups[i]);
    else
      rollups[++kept] = rollups[i];
  }
  if (!rollups.empty())
    rollups.resize(kept + 1);
}

std::vector<rollup> roll_up_edges(const std::vector<historian_sample>& samples,
                                  std::int64_t width_ms, time_range head, time_range tail) {
  return merge_series(roll_up(samples, width_ms, head.start, head.end),
                      roll_up(samples, width_ms, tail.start, tail.end));
}

}  // namespace

timestamp_ms bucket_start(timestamp_ms t, std::int64_t width_ms) {
  const timestamp_ms r = t % width_ms;
  return r < 0 ? t - r - width_ms : t - r;  // floor, also before 1970
}

std::string_view to_string(aggregation a) {
  switch (a) {
    case aggregation::none:
      return "none";
    case aggregation::avg:
      return "avg";
    case aggregation::min:
      return "min";
    case aggregation::max:
      return "max";
    case aggregation::first:
      return "first";
    case aggregation::last:
      return "last";
    case aggregation::count:
      return "count";
  }
  return "none";
}

bool parse_aggregation(std::string_view text, aggregation& out) {
  for (auto a : {aggregation::none, aggregation::avg, aggregation::min, aggregation::max,
                 aggregation::first, aggregation::last, aggregation::count}) {
    if (text == to_string(a)) {
      out = a;
      return true;
    }
  }
  return false;
}

std::optional<std::int64_t> parse_interval(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
    ++digits;
  const std::string_view unit = text.substr(digits);
  std::int64_t scale = 0;
  if (unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = second_ms;
  else if (unit == "m")
    scale = minute_ms;
  else if (unit == "h")
    scale = hour_ms;
  else if (unit == "d")
    scale = day_ms;
  if (digits == 0 || scale == 0)
    return std::nullopt;
  const std::int64_t limit = std::numeric_limits<std::int64_t>::max() / scale;
  std::int64_t n = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    const int d = text[i] - '0';
    if (n > (limit - d) / 10)
      return std::nullopt;
    n = n * 10 + d;
  }
  if (n == 0)
    return std::nullopt;
  return n * scale;
}

void rollup::add(const historian_sample& s) {
  if (s.q == quality::bad || !std::isfinite(s.value)) {
    ++bad;
    return;
  }
  if (s.q == quality::uncertain)
    ++uncertain;
  if (count == 0 || s.timestamp < first_time) {
    first = s.value;
    first_time = s.timestamp;
  }
  if (count == 0 || s.timestamp >= last_time) {
    last = s.value;
    last_time = s.timestamp;
  }
  ++count;
  sum += s.value;
  min = s.value < min ? s.value : min;
  max = s.value > max ? s.value : max;
}

void rollup::merge(const rollup& other) {
  bad += other.bad;
  if (other.count == 0)
    return;
  if (count == 0 || other.first_time < first_time) {
    first = other.first;
    first_time = other.first_time;
  }
  if (count == 0 || other.last_time >= last_time) {
    last = other.last;
    last_time = other.last_time;
  }
  count += other.count;
  uncertain += other.uncertain;
  sum += other.sum;
  min = std::min(min, other.min);
  max = std::max(max, other.max);
}

double rollup::value(aggregation a) const {
  if (a == aggregation::count)
    return static_cast<double>(count);
  if (count == 0)
    return nan;
  switch (a) {
    case aggregation::avg:
      return sum / static_cast<double>(count);
    case aggregation::min:
      return min;
    case aggregation::max:
      return max;
    case aggregation::first:
      return first;
    case aggregation::last:
      return last;
    case aggregation::none:
    case aggregation::count:
      break;
  }
  return nan;
}

quality rollup::result_quality() const {
  if (count == 0)
    return quality::bad;
  if (uncertain > 0 || bad > 0)
    return quality::uncertain;
  return quality::good;
}

std::vector<rollup> roll_up(const std::vector<historian_sample>& samples, std::int64_t width_ms,
                            timestamp_ms start, timestamp_ms end) {
  if (width_ms <= 0)
    throw std::invalid_argument("roll_up: bucket width " + std::to_string(width_ms) + " ms");
  std::vector<rollup> out;
  if (start >= end)
    return out;
  // Each bucket needs a sample, and the range bounds them too: one allocation, not a dozen
  // growing ones (they cost more than the aggregation itself).
  const std::uint64_t span = static_cast<std::uint64_t>(end) - static_cast<std::uint64_t>(start);
  out.reserve(static_cast<std::size_t>(
      std::min<std::uint64_t>(samples.size(), span / static_cast<std::uint64_t>(width_ms) + 2)));
  // Where each bucket is in `out`, once a sample has gone back to an earlier bucket; until then
  // (time order, the normal case) the buckets are appended in order and no lookup is needed.
  std::unordered_map<timestamp_ms, std::size_t> index;
  bool in_order = true;
  // The current bucket, so that a sample in the same bucket as the one before (nearly all of
  // them) costs one comparison and no division.
  timestamp_ms lo = 0;
  timestamp_ms hi = 0;
  rollup* current = nullptr;
  for (const auto& s : samples) {
    if (s.timestamp < start || s.timestamp >= end)
      continue;
    if (current == nullptr || s.timestamp < lo || s.timestamp >= hi) {
      lo = bucket_start(s.timestamp, width_ms);
      hi = lo + width_ms;
      if (in_order && !out.empty() && lo < out.back().start) {
        in_order = false;
        index.reserve(out.size() * 2);
        for (std::size_t i = 0; i < out.size(); ++i)
          index.emplace(out[i].start, i);
      }
      std::size_t at = out.size();
      if (!in_order)
        at = index.emplace(lo, out.size()).first->second;
      if (at == out.size()) {
        out.emplace_back();
        out.back().start = lo;
      }
      current = &out[at];
    }
    current->add(s);
  }
  if (!in_order)
    std::sort(out.begin(), out.end(),
              [](const rollup& a, const rollup& b) { return a.start < b.start; });
  return out;
}

std::vector<rollup> roll_up(const std::vector<rollup>& finer, std::int64_t finer_width_ms,
                            std::int64_t width_ms, timestamp_ms start, timestamp_ms end) {
  if (finer_width_ms <= 0 || width_ms <= 0 || width_ms % finer_width_ms != 0)
    throw std::invalid_argument("roll_up: bucket width " + std::to_string(width_ms) +
                                " ms is not a multiple of " + std::to_string(finer_width_ms) +
                                " ms");
  std::vector<rollup> out;
  bool in_order = true;
  for (const auto& r : finer) {
    if (bucket_start(r.start, finer_width_ms) != r.start)
      throw std::invalid_argument("roll_up: a rollup starts at " + std::to_string(r.start) +
                                  ", not on a multiple of " + std::to_string(finer_width_ms) +
                                  " ms");
    if (r.empty() || r.start < start || r.start > end - finer_width_ms)
      continue;
    const timestamp_ms b = bucket_start(r.start, width_ms);
    if (out.empty() || out.back().start != b) {
      if (!out.empty() && b < out.back().start)
        in_order = false;
      out.emplace_back();
      out.back().start = b;
    }
    out.back().merge(r);
  }
  if (!in_order)
    normalise(out);
  return out;
}

std::vector<rollup> merge_series(const std::vector<rollup>& a, const std::vector<rollup>& b) {
  std::vector<rollup> out;
  out.reserve(a.size() + b.size());
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i].start < b[j].start)) {
      out.push_back(a[i++]);
    } else if (i == a.size() || b[j].start < a[i].start) {
      out.push_back(b[j++]);
    } else {
      out.push_back(a[i++]);
      out.back().merge(b[j++]);
    }
  }
  return out;
}

time_range whole_buckets(timestamp_ms start, timestamp_ms end, std::int64_t width_ms) {
  timestamp_ms first = bucket_start(start, width_ms);
  if (first < start)
    first += width_ms;
  const timestamp_ms last = bucket_start(end, width_ms);
  if (first >= last)
    return {start, start};
  return {first, last};
}

std::vector<historian_sample> to_series(const std::vector<rollup>& buckets, aggregation a) {
  if (a == aggregation::none)
    throw std::invalid_argument("to_series: aggregation none has no series of buckets");
  std::vector<historian_sample> out;
  out.reserve(buckets.size());
  for (const auto& r : buckets)
    out.push_back({r.start, r.value(a), r.result_quality()});
  return out;
}

std::string validate(const series_query& q) {
  if (q.end <= q.start)
    return "the end of a trend query must be after its start";
  if (q.agg != aggregation::none && q.interval_ms <= 0)
    return "the interval of an aggregation must be a positive duration";
  return {};
}

bool rollups_can_answer(const series_query& q, std::int64_t finer_width_ms) {
  return q.agg != aggregation::none && finer_width_ms > 0 && q.interval_ms > 0 &&
         q.interval_ms % finer_width_ms == 0;
}

std::vector<historian_sample> aggregate(const std::vector<historian_sample>& samples,
                                        const series_query& q) {
  if (q.agg == aggregation::none) {
    std::vector<historian_sample> out;
    for (const auto& s : samples)
      if (s.timestamp >= q.start && s.timestamp < q.end)
        out.push_back(s);
    return out;
  }
  return to_series(roll_up(samples, q.interval_ms, q.start, q.end), q.agg);
}

std::vector<historian_sample> aggregate(const std::vector<rollup>& finer,
                                        std::int64_t finer_width_ms,
                                        const std::vector<historian_sample>& edge_samples,
                                        const series_query& q) {
  if (!rollups_can_answer(q, finer_width_ms))
    throw std::invalid_argument("aggregate: rollups of " + std::to_string(finer_width_ms) +
                                " ms cannot answer this query");
  const time_range covered = whole_buckets(q.start, q.end, finer_width_ms);
  const auto middle = roll_up(finer, finer_width_ms, q.interval_ms, covered.start, covered.end);
  const auto edges =
      roll_up_edges(edge_samples, q.interval_ms, {q.start, covered.start}, {covered.end, q.end});
  return to_series(merge_series(edges, middle), q.agg);
}

}  // namespace wtc::core
