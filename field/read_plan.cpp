#include "field/read_plan.hpp"

#include <algorithm>
#include <tuple>

namespace wtc::field {

address_span span_of(const register_field& f) {
  return {f.area, f.address, static_cast<std::uint16_t>(f.width())};
}

std::vector<address_span> plan_reads(std::vector<address_span> needed, const read_limits& limits) {
  std::sort(needed.begin(), needed.end(), [](const address_span& a, const address_span& b) {
    return std::tie(a.area, a.address, a.count) < std::tie(b.area, b.address, b.count);
  });

  std::vector<address_span> requests;
  // Ends are exclusive and kept as int: address 65535 + 1 does not fit a uint16.
  int start = 0;
  int end = 0;
  bool open = false;
  area current = area::coil;

  auto close = [&] {
    if (open)
      requests.push_back(
          {current, static_cast<std::uint16_t>(start), static_cast<std::uint16_t>(end - start)});
    open = false;
  };

  for (const auto& span : needed) {
    const int span_start = span.address;
    const int span_end = span_start + span.count;
    const bool bits = is_bit_area(span.area);
    const int max_count = bits ? limits.max_bits : limits.max_registers;
    const int max_gap = bits ? limits.max_bit_gap : limits.max_register_gap;
    const bool joins = open && span.area == current && span_start - end <= max_gap &&
                       std::max(end, span_end) - start <= max_count;
    if (joins) {
      end = std::max(end, span_end);
      continue;
    }
    close();
    current = span.area;
    start = span_start;
    end = span_end;
    open = true;
  }
  close();
  return requests;
}

}  // namespace wtc::field
