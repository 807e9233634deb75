#include "field/register_codec.hpp"

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

namespace wtc::field {
namespace {

constexpr std::array<std::pair<std::string_view, area>, 4> area_names{{
    {"coil", area::coil},
    {"discrete_input", area::discrete_input},
    {"input_register", area::input_register},
    {"holding_register", area::holding_register},
}};

constexpr std::array<std::pair<std::string_view, value_type>, 6> type_names{{
    {"bool", value_type::boolean},
    {"int16", value_type::int16},
    {"uint16", value_type::uint16},
    {"int32", value_type::int32},
    {"uint32", value_type::uint32},
    {"float32", value_type::float32},
}};

constexpr std::array<std::pair<std::string_view, word_order>, 2> order_names{{
    {"high_first", word_order::high_first},
    {"low_first", word_order::low_first},
}};

template <class Enum, std::size_t N>
bool parse_enum(const std::array<std::pair<std::string_view, Enum>, N>& names,
                std::string_view text, Enum& out) {
  for (const auto& [name, value] : names)
    if (name == text) {
      out = value;
      return true;
    }
  return false;
}

std::uint32_t join_words(const std::uint16_t* words, word_order order) {
  const std::uint32_t high = order == word_order::high_first ? words[0] : words[1];
  const std::uint32_t low = order == word_order::high_first ? words[1] : words[0];
  return (high << 16) | low;
}

std::vector<std::uint16_t> split_words(std::uint32_t value, word_order order) {
  const auto high = static_cast<std::uint16_t>(value >> 16);
  const auto low = static_cast<std::uint16_t>(value & 0xFFFF);
  if (order == word_order::high_first)
    return {high, low};
  return {low, high};
}

/// `raw` rounded into [min, max], or nothing when it falls outside.
std::optional<std::int64_t> round_into(double raw, std::int64_t min, std::int64_t max) {
  const double rounded = std::round(raw);
  if (rounded < static_cast<double>(min) || rounded > static_cast<double>(max))
    return std::nullopt;
  return static_cast<std::int64_t>(rounded);
}

}  // namespace

std::string_view to_string(area a) {
  return area_names[static_cast<std::size_t>(a)].first;
}

std::string_view to_string(value_type t) {
  return type_names[static_cast<std::size_t>(t)].first;
}

std::string_view to_string(word_order w) {
  return order_names[static_cast<std::size_t>(w)].first;
}

bool parse_area(std::string_view text, area& out) {
  return parse_enum(area_names, text, out);
}

bool parse_value_type(std::string_view text, value_type& out) {
  return parse_enum(type_names, text, out);
}

bool parse_word_order(std::string_view text, word_order& out) {
  return parse_enum(order_names, text, out);
}

register_field register_field::for_slot(std::int32_t slot) const {
  register_field resolved = *this;
  resolved.address = static_cast<std::uint16_t>(address + stride * (slot - 1));
  resolved.stride = 0;
  return resolved;
}

double decode_raw(const std::uint16_t* words, value_type type, word_order order) {
  switch (type) {
    case value_type::boolean:
      return words[0] != 0 ? 1.0 : 0.0;
    case value_type::int16:
      return static_cast<std::int16_t>(words[0]);
    case value_type::uint16:
      return words[0];
    case value_type::int32:
      return static_cast<std::int32_t>(join_words(words, order));
    case value_type::uint32:
      return join_words(words, order);
    case value_type::float32: {
      const std::uint32_t bits = join_words(words, order);
      float value = 0.0F;
      static_assert(sizeof value == sizeof bits);
      std::memcpy(&value, &bits, sizeof value);
      return value;
    }
  }
  return 0.0;
}

std::optional<std::vector<std::uint16_t>> encode_raw(double raw, value_type type,
                                                     word_order order) {
  if (!std::isfinite(raw))
    return std::nullopt;
  switch (type) {
    case value_type::boolean:
      return std::vector<std::uint16_t>{static_cast<std::uint16_t>(raw != 0.0 ? 1 : 0)};
    case value_type::int16:
      if (auto v = round_into(raw, std::numeric_limits<std::int16_t>::min(),
                              std::numeric_limits<std::int16_t>::max()))
        return std::vector<std::uint16_t>{static_cast<std::uint16_t>(*v & 0xFFFF)};
      return std::nullopt;
    case value_type::uint16:
      if (auto v = round_into(raw, 0, std::numeric_limits<std::uint16_t>::max()))
        return std::vector<std::uint16_t>{static_cast<std::uint16_t>(*v)};
      return std::nullopt;
    case value_type::int32:
      if (auto v = round_into(raw, std::numeric_limits<std::int32_t>::min(),
                              std::numeric_limits<std::int32_t>::max()))
        return split_words(static_cast<std::uint32_t>(*v & 0xFFFFFFFF), order);
      return std::nullopt;
    case value_type::uint32:
      if (auto v = round_into(raw, 0, std::numeric_limits<std::uint32_t>::max()))
        return split_words(static_cast<std::uint32_t>(*v), order);
      return std::nullopt;
    case value_type::float32: {
      if (std::fabs(raw) > std::numeric_limits<float>::max())
        return std::nullopt;
      const auto value = static_cast<float>(raw);
      std::uint32_t bits = 0;
      std::memcpy(&bits, &value, sizeof bits);
      return split_words(bits, order);
    }
  }
  return std::nullopt;
}

double decode_value(const std::uint16_t* words, const register_field& f) {
  return decode_raw(words, f.type, f.order) * f.scale + f.offset;
}

}  // namespace wtc::field
