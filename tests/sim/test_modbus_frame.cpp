#include "sim/modbus_frame.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace wtc::sim::frame {
namespace {

/// A request frame: MBAP header with the right length, then `pdu`.
std::vector<std::uint8_t> request(std::uint8_t unit, const std::vector<std::uint8_t>& pdu) {
  const auto length = static_cast<std::uint16_t>(pdu.size() + 1);
  std::vector<std::uint8_t> f{0x12,
                              0x34,
                              0x00,
                              0x00,
                              static_cast<std::uint8_t>(length >> 8),
                              static_cast<std::uint8_t>(length & 0xFF),
                              unit};
  f.insert(f.end(), pdu.begin(), pdu.end());
  return f;
}

request_check check(const std::vector<std::uint8_t>& f, std::uint8_t unit = 1) {
  return check_request(f.data(), f.size(), unit);
}

TEST(SimModbusFrame, SizeComesFromTheMbapLength) {
  const auto f = request(1, {0x04, 0x00, 0x00, 0x00, 0x08});
  ASSERT_TRUE(frame_size(f.data()));
  EXPECT_EQ(*frame_size(f.data()), f.size());

  auto other_protocol = f;
  other_protocol[3] = 0x01;
  EXPECT_FALSE(frame_size(other_protocol.data()));
  std::vector<std::uint8_t> too_short{0, 1, 0, 0, 0, 1, 1};
  EXPECT_FALSE(frame_size(too_short.data())) << "a unit id without a function";
  std::vector<std::uint8_t> longest{0, 1, 0, 0, 0, 254, 1};
  EXPECT_EQ(frame_size(longest.data()), std::optional<std::size_t>(260));
  std::vector<std::uint8_t> too_long{0, 1, 0, 0, 0, 255, 1};
  EXPECT_FALSE(frame_size(too_long.data()));
}

TEST(SimModbusFrame, ReadsOfTheRegisterMapPass) {
  EXPECT_EQ(check(request(1, {0x04, 0x00, 0x00, 0x00, 0x08})).exception, 0);
  EXPECT_EQ(check(request(1, {0x03, 0x00, 0x64, 0x00, 0x7D})).exception, 0);
  EXPECT_FALSE(check(request(1, {0x03, 0x00, 0x64, 0x00, 0x02})).write);
}

TEST(SimModbusFrame, AnotherUnitIdGetsTheGatewayException) {
  EXPECT_EQ(check(request(2, {0x04, 0x00, 0x00, 0x00, 0x08})).exception, exception_gateway_target);
  EXPECT_EQ(check(request(5, {0x04, 0x00, 0x00, 0x00, 0x08}), 5).exception, 0);
}

TEST(SimModbusFrame, OtherFunctionsAreIllegal) {
  for (std::uint8_t fc : {0x01, 0x02, 0x05, 0x0F, 0x16, 0x17, 0x2B, 0x80})
    EXPECT_EQ(check(request(1, {fc, 0x00, 0x00, 0x00, 0x01})).exception, exception_illegal_function)
        << int(fc);
}

TEST(SimModbusFrame, BadCountsAndLengthsAreIllegalValues) {
  EXPECT_EQ(check(request(1, {0x04, 0x00, 0x00, 0x00, 0x00})).exception, exception_illegal_value);
  EXPECT_EQ(check(request(1, {0x04, 0x00, 0x00, 0x00, 0x7E})).exception, exception_illegal_value);
  EXPECT_EQ(check(request(1, {0x04, 0x00, 0x00})).exception, exception_illegal_value);
  EXPECT_EQ(check(request(1, {0x04, 0x00, 0x00, 0x00, 0x01, 0x00})).exception,
            exception_illegal_value);
  EXPECT_EQ(check(request(1, {0x06, 0x00, 0x64, 0x00})).exception, exception_illegal_value);
  // Write multiple: count, byte count and frame length must agree.
  EXPECT_EQ(check(request(1, {0x10, 0x00, 0x64, 0x00, 0x02, 0x04, 0, 1, 0})).exception,
            exception_illegal_value);
  EXPECT_EQ(check(request(1, {0x10, 0x00, 0x64, 0x00, 0x02, 0x03, 0, 1, 0})).exception,
            exception_illegal_value);
  EXPECT_EQ(check(request(1, {0x10, 0x00, 0x64, 0x00, 0x00, 0x00})).exception,
            exception_illegal_value);
  EXPECT_EQ(check(request(1, {0x10, 0x00, 0x64})).exception, exception_illegal_value);
}

TEST(SimModbusFrame, WritesCarryTheirRegisters) {
  const auto single = check(request(1, {0x06, 0x00, 0x74, 0x00, 0x01}));
  ASSERT_EQ(single.exception, 0);
  ASSERT_TRUE(single.write);
  EXPECT_EQ(single.write->address, 116);
  EXPECT_EQ(single.write->values, std::vector<std::uint16_t>{1});

  const auto multiple =
      check(request(1, {0x10, 0x00, 0x78, 0x00, 0x02, 0x04, 0x00, 0x02, 0x13, 0x88}));
  ASSERT_EQ(multiple.exception, 0);
  ASSERT_TRUE(multiple.write);
  EXPECT_EQ(multiple.write->address, 120);
  EXPECT_EQ(multiple.write->values, (std::vector<std::uint16_t>{2, 5000}));
}

TEST(SimModbusFrame, CorruptedRepliesAreWhatTheFaultsPromise) {
  const std::vector<std::uint8_t> reply{0x12, 0x34, 0x00, 0x00, 0x00, 0x05,
                                        0x01, 0x04, 0x02, 0x00, 0x2A};
  const auto garbage = scrambled(reply);
  ASSERT_EQ(garbage.size(), reply.size());
  EXPECT_NE(garbage[0], reply[0]);
  EXPECT_NE(garbage[2], 0) << "the protocol id is no longer 0";
  EXPECT_NE(scrambled(garbage), garbage);
  EXPECT_EQ(scrambled(garbage), reply);

  const auto half = truncated(reply);
  EXPECT_EQ(half.size(), reply.size() / 2);
  EXPECT_TRUE(std::equal(half.begin(), half.end(), reply.begin()));

  const auto other = with_other_unit(reply);
  EXPECT_EQ(other[unit_offset], 0x02);
  EXPECT_TRUE(std::equal(other.begin() + 7, other.end(), reply.begin() + 7));
}

}  // namespace
}  // namespace wtc::sim::frame
