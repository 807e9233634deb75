#pragma once

// Which read requests fetch a set of addresses with the fewest round trips. Pure.

#include <cstdint>
#include <vector>

#include "field/register_codec.hpp"

namespace wtc::field {

/// A run of addresses of one area: what a field needs, or what one request reads.
struct address_span {
  field::area area = area::input_register;
  std::uint16_t address = 0;
  std::uint16_t count = 1;

  friend bool operator==(const address_span& a, const address_span& b) {
    return a.area == b.area && a.address == b.address && a.count == b.count;
  }
};

/// How much one request may read, and how many unused addresses it may read through to save a
/// request. Some devices answer "illegal data address" for a read that touches an address they
/// do not implement: a profile sets the gaps to 0 for those.
struct read_limits {
  int max_registers = 125;  // the protocol's limit for functions 03 and 04
  int max_bits = 2000;      // ... and for functions 01 and 02
  int max_register_gap = 16;
  int max_bit_gap = 32;
};

/// The spans a field occupies.
address_span span_of(const register_field& f);

/// Requests (spans in area order, then address order) that cover every address of `needed`,
/// merging spans of one area whose gap is at most the area's max gap while a request stays
/// within its size limit. Overlapping and duplicate spans are fine.
std::vector<address_span> plan_reads(std::vector<address_span> needed, const read_limits& limits);

}  // namespace wtc::field
