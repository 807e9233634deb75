#pragma once

// What one round of reads brought back from a device: blocks of registers and bits per area,
// and the profile's fields decoded from them. Pure.

#include <cstdint>
#include <vector>

#include "field/register_codec.hpp"

namespace wtc::field {

class register_image {
 public:
  /// Keeps `words` read from `where` starting at `start`. Bits are kept as one word each, 0 or 1.
  void store(area where, std::uint16_t start, std::vector<std::uint16_t> words);

  /// Whether every address of [address, address + count) has been stored.
  bool holds(area where, std::uint16_t address, int count) const;

  /// The field's value, scaled. The field's addresses must have been stored (read planning
  /// guarantees it); a gap throws std::out_of_range, a bug rather than a device fault.
  double value(const register_field& f) const;
  /// The field as a flag: its bit of a register, or a coil or discrete input.
  bool flag(const register_field& f) const;
  /// One raw word.
  std::uint16_t word(area where, std::uint16_t address) const;

 private:
  struct block {
    area where;
    std::uint16_t start;
    std::vector<std::uint16_t> words;
  };
  /// The words of [address, address + count) when one block holds them all.
  const std::uint16_t* find(area where, std::uint16_t address, int count) const;

  std::vector<block> blocks_;
};

}  // namespace wtc::field
