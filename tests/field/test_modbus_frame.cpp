#include <gtest/gtest.h>

#include <string>

#include "field/field_driver.hpp"
#include "field/modbus_frame.hpp"

namespace wtc::field {
namespace {

using bytes = std::vector<std::uint8_t>;

/// A reply frame: MBAP header (transaction id, protocol 0, length) and then unit id and PDU.
bytes frame(std::uint16_t transaction, std::uint8_t unit, const bytes& pdu) {
  const auto length = static_cast<std::uint16_t>(pdu.size() + 1);
  bytes out{
      static_cast<std::uint8_t>(transaction >> 8), static_cast<std::uint8_t>(transaction), 0,   0,
      static_cast<std::uint8_t>(length >> 8),      static_cast<std::uint8_t>(length),      unit};
  out.insert(out.end(), pdu.begin(), pdu.end());
  return out;
}

failure failure_of(const modbus_request& request, const bytes& reply, std::string* message) {
  try {
    check_reply(request, reply.data(), reply.size(), 0);
  } catch (const field_error& e) {
    *message = e.what();
    return e.kind();
  }
  ADD_FAILURE() << "the reply was accepted";
  return failure::config;
}

TEST(ModbusFrame, RawRequests) {
  EXPECT_EQ(read_request(1, area::input_register, 100, 128).raw(),
            (bytes{1, 0x04, 0, 100, 0, 128}));
  EXPECT_EQ(read_request(7, area::coil, 0x1234, 3).raw(), (bytes{7, 0x01, 0x12, 0x34, 0, 3}));
  EXPECT_EQ(read_request(1, area::discrete_input, 0, 1).raw()[1], 0x02);
  EXPECT_EQ(read_request(1, area::holding_register, 0, 1).raw()[1], 0x03);
  EXPECT_EQ(write_coil_request(1, 5, true).raw(), (bytes{1, 0x05, 0, 5, 0xFF, 0x00}));
  EXPECT_EQ(write_coil_request(1, 5, false).raw(), (bytes{1, 0x05, 0, 5, 0x00, 0x00}));
  EXPECT_EQ(write_registers_request(1, 100, {0x0102}).raw(), (bytes{1, 0x06, 0, 100, 1, 2}));
  EXPECT_EQ(write_registers_request(1, 100, {2, 5000}).raw(),
            (bytes{1, 0x10, 0, 100, 0, 2, 4, 0, 2, 0x13, 0x88}));
}

TEST(ModbusFrame, Descriptions) {
  EXPECT_EQ(read_request(1, area::input_register, 100, 128).describe(),
            "read input registers 100-227 of unit 1");
  EXPECT_EQ(write_coil_request(3, 5, true).describe(), "write coil 5 ON of unit 3");
  EXPECT_EQ(write_registers_request(1, 100, {2, 5000}).describe(),
            "write holding registers 100-101 of unit 1");
  EXPECT_EQ(write_registers_request(1, 100, {2}).describe(),
            "write holding register 100 of unit 1");
}

TEST(ModbusFrame, RegistersOfAGoodReply) {
  const auto request = read_request(1, area::input_register, 100, 2);
  const auto reply = frame(0, 1, {0x04, 4, 0x41, 0x48, 0x00, 0x07});
  EXPECT_EQ(check_reply(request, reply.data(), reply.size(), 0),
            (std::vector<std::uint16_t>{0x4148, 0x0007}));
}

TEST(ModbusFrame, BitsOfAGoodReplyLowBitFirst) {
  const auto request = read_request(1, area::coil, 0, 10);
  const auto reply = frame(0, 1, {0x01, 2, 0b0000'0101, 0b0000'0010});
  EXPECT_EQ(check_reply(request, reply.data(), reply.size(), 0),
            (std::vector<std::uint16_t>{1, 0, 1, 0, 0, 0, 0, 0, 0, 1}));
}

TEST(ModbusFrame, WriteRepliesEchoTheRequest) {
  const auto single = write_registers_request(1, 100, {1});
  const auto echo = frame(0, 1, {0x06, 0, 100, 0, 1});
  EXPECT_TRUE(check_reply(single, echo.data(), echo.size(), 0).empty());
  const auto multiple = write_registers_request(1, 100, {2, 5000});
  const auto multiple_echo = frame(0, 1, {0x10, 0, 100, 0, 2});
  EXPECT_TRUE(check_reply(multiple, multiple_echo.data(), multiple_echo.size(), 0).empty());
  const auto coil = write_coil_request(1, 3, true);
  const auto coil_echo = frame(0, 1, {0x05, 0, 3, 0xFF, 0});
  EXPECT_TRUE(check_reply(coil, coil_echo.data(), coil_echo.size(), 0).empty());

  std::string message;
  const auto wrong_value = frame(0, 1, {0x06, 0, 100, 0, 2});
  EXPECT_EQ(failure_of(single, wrong_value, &message), failure::protocol);
  EXPECT_NE(message.find("does not echo"), std::string::npos) << message;
}

TEST(ModbusFrame, AnExceptionReplyIsAnException) {
  const auto request = read_request(1, area::input_register, 100, 2);
  std::string message;
  EXPECT_EQ(failure_of(request, frame(0, 1, {0x84, 0x02}), &message), failure::exception);
  EXPECT_NE(message.find("0x02 (illegal data address)"), std::string::npos) << message;
  EXPECT_NE(message.find("read input registers 100-101"), std::string::npos) << message;
}

struct malformed_case {
  const char* name;
  bytes reply;
  const char* expected_text;
};

class ModbusFrameMalformed : public testing::TestWithParam<malformed_case> {};

TEST_P(ModbusFrameMalformed, IsAProtocolFailureThatSaysWhy) {
  const auto request = read_request(1, area::input_register, 100, 2);
  std::string message;
  EXPECT_EQ(failure_of(request, GetParam().reply, &message), failure::protocol);
  EXPECT_NE(message.find(GetParam().expected_text), std::string::npos) << message;
}

bytes with_protocol_id(bytes b) {
  b[3] = 1;
  return b;
}

bytes with_length(bytes b, std::uint8_t length) {
  b[5] = length;
  return b;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ModbusFrameMalformed,
    testing::Values(
        malformed_case{"TooShort", {0, 0, 0, 0, 0, 2, 1}, "shorter than a Modbus TCP header"},
        malformed_case{"WrongTransaction", frame(9, 1, {0x04, 4, 0, 0, 0, 0}), "transaction id 9"},
        malformed_case{"WrongProtocol", with_protocol_id(frame(0, 1, {0x04, 4, 0, 0, 0, 0})),
                       "protocol id 1"},
        malformed_case{"WrongLength", with_length(frame(0, 1, {0x04, 4, 0, 0, 0, 0}), 9),
                       "announces 9 bytes"},
        malformed_case{"WrongUnit", frame(0, 2, {0x04, 4, 0, 0, 0, 0}), "from unit 2"},
        malformed_case{"WrongFunction", frame(0, 1, {0x03, 4, 0, 0, 0, 0}),
                       "function code 0x03, expected 0x04"},
        malformed_case{"ShortData", frame(0, 1, {0x04, 2, 0, 0}), "2 data bytes, expected 4"},
        malformed_case{"ByteCountDisagrees", frame(0, 1, {0x04, 4, 0, 0, 0, 0, 0, 0}),
                       "6 data bytes, expected 4"},
        malformed_case{"NoData", frame(0, 1, {0x04}), "0 data bytes, expected 4"},
        malformed_case{"LongException", frame(0, 1, {0x84, 2, 0}), "an exception reply of 2"}),
    [](const testing::TestParamInfo<malformed_case>& param) { return param.param.name; });

TEST(ModbusFrame, ExceptionNames) {
  EXPECT_EQ(exception_name(0x01), "illegal function");
  EXPECT_EQ(exception_name(0x0B), "gateway target device failed to respond");
  EXPECT_EQ(exception_name(0x42), "unknown exception");
}

}  // namespace
}  // namespace wtc::field
