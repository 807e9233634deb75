#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "field/register_codec.hpp"
#include "field/register_image.hpp"

namespace wtc::field {
namespace {

TEST(RegisterCodec, SixteenBitTypes) {
  const std::uint16_t words[] = {0xFFFE};
  EXPECT_EQ(decode_raw(words, value_type::uint16, word_order::high_first), 65534.0);
  EXPECT_EQ(decode_raw(words, value_type::int16, word_order::high_first), -2.0);
  EXPECT_EQ(decode_raw(words, value_type::boolean, word_order::high_first), 1.0);
  const std::uint16_t zero[] = {0};
  EXPECT_EQ(decode_raw(zero, value_type::boolean, word_order::high_first), 0.0);
}

TEST(RegisterCodec, ThirtyTwoBitIntegersInBothWordOrders) {
  // 0x0001'0002 = 65538; -2 = 0xFFFF'FFFE.
  const std::uint16_t high_first[] = {0x0001, 0x0002};
  const std::uint16_t low_first[] = {0x0002, 0x0001};
  EXPECT_EQ(decode_raw(high_first, value_type::uint32, word_order::high_first), 65538.0);
  EXPECT_EQ(decode_raw(low_first, value_type::uint32, word_order::low_first), 65538.0);
  const std::uint16_t minus_two[] = {0xFFFF, 0xFFFE};
  EXPECT_EQ(decode_raw(minus_two, value_type::int32, word_order::high_first), -2.0);
  EXPECT_EQ(decode_raw(minus_two, value_type::uint32, word_order::high_first), 4294967294.0);
  const std::uint16_t minus_two_low_first[] = {0xFFFE, 0xFFFF};
  EXPECT_EQ(decode_raw(minus_two_low_first, value_type::int32, word_order::low_first), -2.0);
}

TEST(RegisterCodec, Float32InBothWordOrders) {
  // 12.5f is 0x41480000.
  const std::uint16_t high_first[] = {0x4148, 0x0000};
  const std::uint16_t low_first[] = {0x0000, 0x4148};
  EXPECT_EQ(decode_raw(high_first, value_type::float32, word_order::high_first), 12.5);
  EXPECT_EQ(decode_raw(low_first, value_type::float32, word_order::low_first), 12.5);
  // The same words read in the wrong order are a different number: the order matters.
  EXPECT_NE(decode_raw(low_first, value_type::float32, word_order::high_first), 12.5);
  const std::uint16_t nan[] = {0x7FC0, 0x0000};
  EXPECT_TRUE(std::isnan(decode_raw(nan, value_type::float32, word_order::high_first)));
}

TEST(RegisterCodec, EncodeIsTheInverseOfDecode) {
  for (auto order : {word_order::high_first, word_order::low_first}) {
    for (auto [type, value] :
         {std::pair{value_type::int16, -1234.0}, std::pair{value_type::uint16, 65535.0},
          std::pair{value_type::int32, -70000.0}, std::pair{value_type::uint32, 4000000000.0},
          std::pair{value_type::float32, 7.25}}) {
      auto words = encode_raw(value, type, order);
      ASSERT_TRUE(words) << to_string(type);
      ASSERT_EQ(static_cast<int>(words->size()), width_of(type));
      EXPECT_EQ(decode_raw(words->data(), type, order), value) << to_string(type);
    }
  }
  EXPECT_EQ(*encode_raw(12.5, value_type::float32, word_order::high_first),
            (std::vector<std::uint16_t>{0x4148, 0x0000}));
  EXPECT_EQ(*encode_raw(12.5, value_type::float32, word_order::low_first),
            (std::vector<std::uint16_t>{0x0000, 0x4148}));
}

TEST(RegisterCodec, EncodeRoundsAndRefusesWhatDoesNotFit) {
  EXPECT_EQ(*encode_raw(499.6, value_type::uint16, word_order::high_first),
            std::vector<std::uint16_t>{500});
  EXPECT_FALSE(encode_raw(65536.0, value_type::uint16, word_order::high_first));
  EXPECT_FALSE(encode_raw(-0.6, value_type::uint16, word_order::high_first));
  EXPECT_FALSE(encode_raw(32768.0, value_type::int16, word_order::high_first));
  EXPECT_FALSE(encode_raw(std::nan(""), value_type::float32, word_order::high_first));
  EXPECT_FALSE(encode_raw(1e300, value_type::float32, word_order::high_first));
  EXPECT_FALSE(encode_raw(std::numeric_limits<double>::infinity(), value_type::int32,
                          word_order::low_first));
}

TEST(RegisterCodec, ScaleAndOffset) {
  register_field tenths;
  tenths.type = value_type::int16;
  tenths.scale = 0.1;
  const std::uint16_t minus_25[] = {static_cast<std::uint16_t>(-25)};
  EXPECT_DOUBLE_EQ(decode_value(minus_25, tenths), -2.5);

  register_field offset;
  offset.scale = 0.5;
  offset.offset = -40.0;
  const std::uint16_t raw[] = {100};
  EXPECT_DOUBLE_EQ(decode_value(raw, offset), 10.0);
}

TEST(RegisterCodec, NamesRoundTrip) {
  for (auto a : {area::coil, area::discrete_input, area::input_register, area::holding_register}) {
    area parsed{};
    ASSERT_TRUE(parse_area(to_string(a), parsed));
    EXPECT_EQ(parsed, a);
  }
  value_type t{};
  EXPECT_TRUE(parse_value_type("float32", t));
  EXPECT_EQ(t, value_type::float32);
  EXPECT_FALSE(parse_value_type("float64", t));
  word_order w{};
  EXPECT_TRUE(parse_word_order("low_first", w));
  EXPECT_EQ(w, word_order::low_first);
  EXPECT_FALSE(parse_word_order("little", w));
}

TEST(RegisterCodec, FieldOfATemplateSlot) {
  register_field f;
  f.address = 100;
  f.stride = 4;
  EXPECT_EQ(f.for_slot(1).address, 100);
  EXPECT_EQ(f.for_slot(32).address, 224);
  EXPECT_EQ(f.for_slot(32).stride, 0);
}

TEST(RegisterImage, ValuesAndFlagsFromStoredBlocks) {
  register_image image;
  image.store(area::input_register, 100, {0x4148, 0x0000, 0x0040, 0b101});
  image.store(area::coil, 0, {1, 0});

  register_field value;
  value.address = 100;
  value.type = value_type::float32;
  EXPECT_EQ(image.value(value), 12.5);

  register_field bit0;
  bit0.address = 103;
  bit0.bit = 0;
  register_field bit1 = bit0;
  bit1.bit = 1;
  register_field bit2 = bit0;
  bit2.bit = 2;
  EXPECT_TRUE(image.flag(bit0));
  EXPECT_FALSE(image.flag(bit1));
  EXPECT_TRUE(image.flag(bit2));

  register_field coil;
  coil.area = area::coil;
  coil.type = value_type::boolean;
  EXPECT_TRUE(image.flag(coil));
  coil.address = 1;
  EXPECT_FALSE(image.flag(coil));

  EXPECT_TRUE(image.holds(area::input_register, 102, 2));
  EXPECT_FALSE(image.holds(area::input_register, 103, 2));
  EXPECT_FALSE(image.holds(area::holding_register, 100, 1));
  EXPECT_THROW(image.word(area::holding_register, 100), std::out_of_range);
  // A 32-bit value across the end of a block was not read whole.
  value.address = 103;
  EXPECT_THROW(image.value(value), std::out_of_range);
}

}  // namespace
}  // namespace wtc::field
