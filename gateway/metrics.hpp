#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace wtc::gateway {

/// HTTP request counters and latency histograms per route, lock-free on the request path.
class http_metrics {
 public:
  /// One series per route label; index -1 (no route matched) has a series of its own.
  explicit http_metrics(std::vector<std::string> route_labels);

  void record(int route_index, unsigned status, double seconds);

  /// Prometheus text exposition of the counters and histograms.
  std::string render() const;

 private:
  static constexpr std::array<double, 13> bucket_bounds{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0};

  struct series {
    std::string label;
    std::array<std::atomic<std::uint64_t>, 600> by_status{};
    std::array<std::atomic<std::uint64_t>, bucket_bounds.size() + 1> buckets{};
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::uint64_t> sum_us{0};
  };

  std::vector<std::unique_ptr<series>> series_;  // index 0: unmatched; route i at i + 1
};

/// Escapes a Prometheus label value.
std::string prometheus_label(const std::string& value);

}  // namespace wtc::gateway
