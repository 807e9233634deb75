#include "gateway/metrics.hpp"

#include <sstream>

namespace wtc::gateway {

std::string prometheus_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

http_metrics::http_metrics(std::vector<std::string> route_labels) {
  series_.push_back(std::make_unique<series>());
  series_.back()->label = "unmatched";
  for (auto& label : route_labels) {
    series_.push_back(std::make_unique<series>());
    series_.back()->label = std::move(label);
  }
}

void http_metrics::record(int route_index, unsigned status, double seconds) {
  auto& s = *series_.at(static_cast<std::size_t>(route_index + 1));
  s.by_status[status < s.by_status.size() ? status : 0].fetch_add(1, std::memory_order_relaxed);
  std::size_t bucket = 0;
  while (bucket < bucket_bounds.size() && seconds > bucket_bounds[bucket])
    ++bucket;
  s.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  s.count.fetch_add(1, std::memory_order_relaxed);
  s.sum_us.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

std::string http_metrics::render() const {
  std::ostringstream out;
  out << "# HELP wtc_http_requests_total HTTP requests answered, by route and status code.\n"
         "# TYPE wtc_http_requests_total counter\n";
  for (const auto& s : series_) {
    for (std::size_t code = 0; code < s->by_status.size(); ++code) {
      const auto n = s->by_status[code].load(std::memory_order_relaxed);
      if (n > 0)
        out << "wtc_http_requests_total{route=\"" << prometheus_label(s->label) << "\",code=\""
            << code << "\"} " << n << "\n";
    }
  }
  out << "# HELP wtc_http_request_duration_seconds Time from a request's arrival to its reply.\n"
         "# TYPE wtc_http_request_duration_seconds histogram\n";
  for (const auto& s : series_) {
    const auto count = s->count.load(std::memory_order_relaxed);
    if (count == 0)
      continue;
    const auto label = prometheus_label(s->label);
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < bucket_bounds.size(); ++b) {
      cumulative += s->buckets[b].load(std::memory_order_relaxed);
      out << "wtc_http_request_duration_seconds_bucket{route=\"" << label << "\",le=\""
          << bucket_bounds[b] << "\"} " << cumulative << "\n";
    }
    cumulative += s->buckets[bucket_bounds.size()].load(std::memory_order_relaxed);
    out << "wtc_http_request_duration_seconds_bucket{route=\"" << label << "\",le=\"+Inf\"} "
        << cumulative << "\n";
    out << "wtc_http_request_duration_seconds_sum{route=\"" << label << "\"} "
        << static_cast<double>(s->sum_us.load(std::memory_order_relaxed)) / 1e6 << "\n";
    out << "wtc_http_request_duration_seconds_count{route=\"" << label << "\"} " << count << "\n";
  }
  return out.str();
}

}  // namespace wtc::gateway
