#pragma once

// Modbus data as a profile describes it: the four data areas, the value types a register (pair)
// can hold, word order, scaling, and flag bits. Pure: no sockets, only numbers.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace wtc::field {

/// The four Modbus data areas.
enum class area : std::uint8_t { coil, discrete_input, input_register, holding_register };

/// What one field holds: a bit (coils, discrete inputs) or a 16- or 32-bit number.
enum class value_type : std::uint8_t { boolean, int16, uint16, int32, uint32, float32 };

/// Which register of a 32-bit pair holds the high 16 bits.
enum class word_order : std::uint8_t { high_first, low_first };

std::string_view to_string(area a);
std::string_view to_string(value_type t);
std::string_view to_string(word_order w);
bool parse_area(std::string_view text, area& out);
bool parse_value_type(std::string_view text, value_type& out);
bool parse_word_order(std::string_view text, word_order& out);

constexpr bool is_bit_area(area a) {
  return a == area::coil || a == area::discrete_input;
}

/// Addresses one value occupies: two registers for the 32-bit types, else one.
constexpr int width_of(value_type t) {
  return t == value_type::int32 || t == value_type::uint32 || t == value_type::float32 ? 2 : 1;
}

/// Where a value lives and how to read it. A number reads as `register × scale + offset`; a flag
/// is one bit of a register (`bit` 0–15) or a whole coil or discrete input (`bit` −1).
struct register_field {
  field::area area = area::input_register;
  std::uint16_t address = 0;
  value_type type = value_type::uint16;
  word_order order = word_order::high_first;
  double scale = 1.0;
  double offset = 0.0;
  int bit = -1;
  /// Module templates only: the field of slot s sits at address + stride × (s − 1).
  std::uint16_t stride = 0;

  int width() const { return width_of(type); }
  /// This field for slot `slot` of a module template.
  register_field for_slot(std::int32_t slot) const;
};

/// The raw number held by `words` (width_of(type) of them, in wire order), before scaling.
/// Bits read as 0 or 1.
double decode_raw(const std::uint16_t* words, value_type type, word_order order);

/// The registers that hold `raw` as `type`, in wire order. Integers round to the nearest;
/// nothing when `raw` is not finite or does not fit the type.
std::optional<std::vector<std::uint16_t>> encode_raw(double raw, value_type type, word_order order);

/// `words` decoded and scaled: the value a profile field stands for.
double decode_value(const std::uint16_t* words, const register_field& f);

}  // namespace wtc::field
