#pragma once

// Modbus TCP framing and request checks, before libmodbus builds the reply. Pure: bytes in,
// decisions out. The server frames requests itself (by the MBAP length) instead of calling
// modbus_receive, so that one slow or malformed client never blocks the thread serving the rest.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace wtc::sim::frame {

constexpr std::size_t header_size = 7;  // MBAP: transaction, protocol, length, unit
constexpr std::size_t max_frame_size = 260;
constexpr std::size_t unit_offset = 6;
constexpr std::size_t function_offset = 7;

constexpr std::uint8_t fc_read_holding = 0x03;
constexpr std::uint8_t fc_read_input = 0x04;
constexpr std::uint8_t fc_write_single = 0x06;
constexpr std::uint8_t fc_write_multiple = 0x10;

constexpr std::uint8_t exception_illegal_function = 0x01;
constexpr std::uint8_t exception_illegal_value = 0x03;
constexpr std::uint8_t exception_server_failure = 0x04;
constexpr std::uint8_t exception_gateway_target = 0x0B;

/// The size of the whole frame whose first header_size bytes are `header`, or nullopt when
/// they cannot start a Modbus TCP frame (protocol id not 0, length field out of range).
std::optional<std::size_t> frame_size(const std::uint8_t* header);

struct register_write {
  std::uint16_t address = 0;
  std::vector<std::uint16_t> values;
};

/// What to do with one complete request frame.
struct request_check {
  std::uint8_t exception = 0;           // non-zero: answer with this exception code
  std::optional<register_write> write;  // a holding-register write to apply before replying
};

/// Checks a complete frame addressed to a device with `unit_id`: only the register map's
/// functions (03, 04, 06, 16) are served, with fields consistent with the frame length; another
/// unit id gets exception 0x0B, as a gateway with no such device behind it answers.
request_check check_request(const std::uint8_t* frame, std::size_t size, std::uint8_t unit_id);

/// A reply with every byte flipped: the transaction and protocol ids no longer match, so a
/// client sees a malformed frame of the expected length.
std::vector<std::uint8_t> scrambled(std::vector<std::uint8_t> reply);
/// The first half of a reply (at least one byte short of the whole).
std::vector<std::uint8_t> truncated(std::vector<std::uint8_t> reply);
/// The reply with a unit id other than the one it carries.
std::vector<std::uint8_t> with_other_unit(std::vector<std::uint8_t> reply);

}  // namespace wtc::sim::frame
