#include "sim/modbus_frame.hpp"

namespace wtc::sim::frame {
namespace {

std::uint16_t word_at(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

constexpr std::size_t read_request_size = header_size + 5;     // fc, address, count
constexpr std::size_t write_single_size = header_size + 5;     // fc, address, value
constexpr std::size_t write_multiple_fixed = header_size + 6;  // fc, address, count, bytes
constexpr std::uint16_t max_read_registers = 125;
constexpr std::uint16_t max_write_registers = 123;
constexpr std::uint8_t scramble_mask = 0xA5;

}  // namespace

std::optional<std::size_t> frame_size(const std::uint8_t* header) {
  const std::uint16_t protocol = word_at(header + 2);
  const std::uint16_t length = word_at(header + 4);  // unit id and PDU
  if (protocol != 0 || length < 2 || length > max_frame_size - header_size + 1)
    return std::nullopt;
  return header_size - 1 + length;
}

request_check check_request(const std::uint8_t* frame, std::size_t size, std::uint8_t unit_id) {
  request_check check;
  if (frame[unit_offset] != unit_id) {
    check.exception = exception_gateway_target;
    return check;
  }
  const std::uint8_t function = frame[function_offset];
  const std::uint8_t* pdu = frame + function_offset;
  switch (function) {
    case fc_read_holding:
    case fc_read_input: {
      // The count is checked here because libmodbus answers a bad count by sleeping for its
      // response timeout and flushing the socket, which would stall every other RTU; it checks
      // the address range itself.
      const std::uint16_t count = size == read_request_size ? word_at(pdu + 3) : 0;
      if (count < 1 || count > max_read_registers)
        check.exception = exception_illegal_value;
      break;
    }
    case fc_write_single:
      if (size != write_single_size)
        check.exception = exception_illegal_value;
      else
        check.write = register_write{word_at(pdu + 1), {word_at(pdu + 3)}};
      break;
    case fc_write_multiple: {
      if (size < write_multiple_fixed) {
        check.exception = exception_illegal_value;
        break;
      }
      const std::uint16_t count = word_at(pdu + 3);
      const std::size_t bytes = pdu[5];
      if (count < 1 || count > max_write_registers || bytes != 2U * count ||
          size != write_multiple_fixed + bytes) {
        check.exception = exception_illegal_value;
        break;
      }
      register_write write{word_at(pdu + 1), {}};
      for (std::size_t i = 0; i < count; ++i)
        write.values.push_back(word_at(pdu + 6 + 2 * i));
      check.write = std::move(write);
      break;
    }
    default:
      check.exception = exception_illegal_function;
  }
  return check;
}

std::vector<std::uint8_t> scrambled(std::vector<std::uint8_t> reply) {
  for (auto& b : reply)
    b ^= scramble_mask;
  return reply;
}

std::vector<std::uint8_t> truncated(std::vector<std::uint8_t> reply) {
  reply.resize(reply.size() / 2);
  return reply;
}

std::vector<std::uint8_t> with_other_unit(std::vector<std::uint8_t> reply) {
  if (reply.size() > unit_offset)
    reply[unit_offset] = static_cast<std::uint8_t>(reply[unit_offset] + 1);
  return reply;
}

}  // namespace wtc::sim::frame
