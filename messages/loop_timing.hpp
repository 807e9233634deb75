#pragma once

// How punctually the control loops run, measured where they run and read by /metrics and the
// benchmark: lock-free, since a thousand loops record into it ten times a second each.

#include <array>
#include <atomic>
#include <cstdint>

namespace wtc {

/// A histogram of durations in microseconds with fixed bucket bounds, fine below 5 ms where a
/// scan's lateness matters.
class latency_histogram {
 public:
  static constexpr std::array<std::int64_t, 24> bounds_us{
      50,   100,  150,  200,  300,  400,   500,   750,   1000,   1250,   1500,   2000,
      2500, 3000, 4000, 5000, 7500, 10000, 20000, 50000, 100000, 200000, 500000, 1000000};

  struct snapshot {
    std::array<std::uint64_t, bounds_us.size() + 1> counts{};  // the last: above every bound
    std::uint64_t count = 0;
    std::int64_t sum_us = 0;
    std::int64_t max_us = 0;

    /// The bucket bound below which at least `q` (0 to 1) of the recordings lie: an upper
    /// bound of the quantile, exact to the bucket. -1 above the last bound, 0 with no data.
    std::int64_t quantile_bound_us(double q) const;
  };

  void record(std::int64_t us);
  snapshot read() const;
  /// Starts counting afresh (a benchmark after its warm-up). Not atomic as a whole: a recording
  /// made meanwhile may be half counted.
  void reset();

 private:
  std::array<std::atomic<std::uint64_t>, bounds_us.size() + 1> counts_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::int64_t> sum_us_{0};
  std::atomic<std::int64_t> max_us_{0};
};

/// The timing of every PID loop of this process.
struct loop_timing {
  /// Scan period jitter: |time between two scans of a loop − its scan period|.
  latency_histogram scan_jitter;
  /// From the arrival of the measurement a scan used to the RTU's acknowledgment of the output
  /// that scan wrote.
  latency_histogram sample_to_command;
};

inline void latency_histogram::record(std::int64_t us) {
  if (us < 0)
    us = 0;
  std::size_t i = 0;
  while (i < bounds_us.size() && us > bounds_us[i])
    ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(us, std::memory_order_relaxed);
  auto seen = max_us_.load(std::memory_order_relaxed);
  while (us > seen && !max_us_.compare_exchange_weak(seen, us, std::memory_order_relaxed)) {
  }
}

inline latency_histogram::snapshot latency_histogram::read() const {
  snapshot s;
  for (std::size_t i = 0; i < counts_.size(); ++i)
    s.counts[i] = counts_[i].load(std::memory_order_relaxed);
  s.count = count_.load(std::memory_order_relaxed);
  s.sum_us = sum_us_.load(std::memory_order_relaxed);
  s.max_us = max_us_.load(std::memory_order_relaxed);
  return s;
}

inline void latency_histogram::reset() {
  for (auto& c : counts_)
    c.store(0, std::memory_order_relaxed);
  count_.store(0, std::memory_order_relaxed);
  sum_us_.store(0, std::memory_order_relaxed);
  max_us_.store(0, std::memory_order_relaxed);
}

inline std::int64_t latency_histogram::snapshot::quantile_bound_us(double q) const {
  std::uint64_t total = 0;
  for (auto c : counts)
    total += c;
  if (total == 0)
    return 0;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bounds_us.size(); ++i) {
    seen += counts[i];
    if (static_cast<double>(seen) >= q * static_cast<double>(total))
      return bounds_us[i];
  }
  return -1;
}

}  // namespace wtc
