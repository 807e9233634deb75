#pragma once

// Modbus requests and the strict check of their replies. Pure: the driver moves the bytes.
//
// libmodbus 3.1.6 frames TCP replies by their function code and byte count and checks the
// transaction id, but not the unit id nor the MBAP length field, so a reply from the wrong unit
// would pass. The driver therefore sends each request raw and checks the whole reply here.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "field/register_codec.hpp"

namespace wtc::field {

namespace modbus_function {
constexpr std::uint8_t read_coils = 0x01;
constexpr std::uint8_t read_discrete_inputs = 0x02;
constexpr std::uint8_t read_holding_registers = 0x03;
constexpr std::uint8_t read_input_registers = 0x04;
constexpr std::uint8_t write_single_coil = 0x05;
constexpr std::uint8_t write_single_register = 0x06;
constexpr std::uint8_t write_multiple_registers = 0x10;
}  // namespace modbus_function

/// One request: a read of `count` addresses, or a write of `values` (coil: one value, 0 or 1).
struct modbus_request {
  std::uint8_t unit = 1;
  std::uint8_t function = 0;
  std::uint16_t address = 0;
  std::uint16_t count = 0;
  std::vector<std::uint16_t> values;

  /// Unit id and PDU, as libmodbus's modbus_send_raw_request takes them.
  std::vector<std::uint8_t> raw() const;
  /// "read input registers 100–227 of unit 1", for diagnostics.
  std::string describe() const;
};

modbus_request read_request(std::uint8_t unit, area where, std::uint16_t address,
                            std::uint16_t count);
modbus_request write_coil_request(std::uint8_t unit, std::uint16_t address, bool on);
/// Function 06 for one register, 16 for several.
modbus_request write_registers_request(std::uint8_t unit, std::uint16_t address,
                                       std::vector<std::uint16_t> values);

/// Checks a whole Modbus TCP reply (MBAP header included) against its request and returns what
/// a read brought: registers, or bits as one word each (0 or 1); empty for a write. Throws
/// field_error: failure::exception for a Modbus exception reply, failure::protocol for anything
/// malformed, short, long or mismatched (transaction id, protocol id, length, unit id, function,
/// byte count, write echo).
std::vector<std::uint16_t> check_reply(const modbus_request& request, const std::uint8_t* adu,
                                       std::size_t size, std::uint16_t transaction_id);

/// The standard name of a Modbus exception code ("illegal data address").
std::string exception_name(std::uint8_t code);

}  // namespace wtc::field
