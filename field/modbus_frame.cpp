#include "field/modbus_frame.hpp"

#include <algorithm>
#include <cstdio>

#include "field/field_driver.hpp"

namespace wtc::field {
namespace {

constexpr std::size_t mbap_size = 7;  // transaction id, protocol id, length, unit id

std::uint16_t be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

void put_be16(std::vector<std::uint8_t>& out, std::uint16_t value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8));
  out.push_back(static_cast<std::uint8_t>(value & 0xFF));
}

std::string hex(unsigned value, int digits) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%0*X", digits, value);
  return text;
}

bool reads_registers(std::uint8_t function) {
  return function == modbus_function::read_holding_registers ||
         function == modbus_function::read_input_registers;
}

bool reads_bits(std::uint8_t function) {
  return function == modbus_function::read_coils ||
         function == modbus_function::read_discrete_inputs;
}

/// What a coil write puts on the wire for ON and OFF.
constexpr std::uint16_t coil_on = 0xFF00;
constexpr std::uint16_t coil_off = 0x0000;

[[noreturn]] void malformed(const modbus_request& request, const std::string& problem) {
  throw field_error(failure::protocol, "bad reply to " + request.describe() + ": " + problem);
}

}  // namespace

std::vector<std::uint8_t> modbus_request::raw() const {
  std::vector<std::uint8_t> out{unit, function};
  put_be16(out, address);
  switch (function) {
    case modbus_function::write_single_coil:
      put_be16(out, values.at(0) != 0 ? coil_on : coil_off);
      break;
    case modbus_function::write_single_register:
      put_be16(out, values.at(0));
      break;
    case modbus_function::write_multiple_registers:
      put_be16(out, static_cast<std::uint16_t>(values.size()));
      out.push_back(static_cast<std::uint8_t>(values.size() * 2));
      for (auto v : values)
        put_be16(out, v);
      break;
    default:
      put_be16(out, count);
  }
  return out;
}

std::string modbus_request::describe() const {
  auto range = [](std::uint16_t first, std::size_t n) {
    return n == 1 ? std::to_string(first)
                  : std::to_string(first) + "-" + std::to_string(first + n - 1);
  };
  std::string what;
  switch (function) {
    case modbus_function::read_coils:
      what = "read coils " + range(address, count);
      break;
    case modbus_function::read_discrete_inputs:
      what = "read discrete inputs " + range(address, count);
      break;
    case modbus_function::read_holding_registers:
      what = "read holding registers " + range(address, count);
      break;
    case modbus_function::read_input_registers:
      what = "read input registers " + range(address, count);
      break;
    case modbus_function::write_single_coil:
      what = "write coil " + std::to_string(address) + (values.at(0) != 0 ? " ON" : " OFF");
      break;
    default:
      what = "write holding register" + std::string(values.size() == 1 ? " " : "s ") +
             range(address, values.size());
  }
  return what + " of unit " + std::to_string(unit);
}

modbus_request read_request(std::uint8_t unit, area where, std::uint16_t address,
                            std::uint16_t count) {
  modbus_request r;
  r.unit = unit;
  r.address = address;
  r.count = count;
  switch (where) {
    case area::coil:
      r.function = modbus_function::read_coils;
      break;
    case area::discrete_input:
      r.function = modbus_function::read_discrete_inputs;
      break;
    case area::input_register:
      r.function = modbus_function::read_input_registers;
      break;
    case area::holding_register:
      r.function = modbus_function::read_holding_registers;
      break;
  }
  return r;
}

modbus_request write_coil_request(std::uint8_t unit, std::uint16_t address, bool on) {
  modbus_request r;
  r.unit = unit;
  r.function = modbus_function::write_single_coil;
  r.address = address;
  r.count = 1;
  r.values = {static_cast<std::uint16_t>(on ? 1 : 0)};
  return r;
}

modbus_request write_registers_request(std::uint8_t unit, std::uint16_t address,
                                       std::vector<std::uint16_t> values) {
  modbus_request r;
  r.unit = unit;
  r.function = values.size() == 1 ? modbus_function::write_single_register
                                  : modbus_function::write_multiple_registers;
  r.address = address;
  r.count = static_cast<std::uint16_t>(values.size());
  r.values = std::move(values);
  return r;
}

std::vector<std::uint16_t> check_reply(const modbus_request& request, const std::uint8_t* adu,
                                       std::size_t size, std::uint16_t transaction_id) {
  if (size < mbap_size + 1)
    malformed(request, std::to_string(size) + " bytes, shorter than a Modbus TCP header");
  if (be16(adu) != transaction_id)
    malformed(request, "transaction id " + std::to_string(be16(adu)) + ", expected " +
                           std::to_string(transaction_id));
  if (be16(adu + 2) != 0)
    malformed(request, "protocol id " + std::to_string(be16(adu + 2)) + ", expected 0");
  if (be16(adu + 4) != size - 6)
    malformed(request, "the header announces " + std::to_string(be16(adu + 4)) +
                           " bytes after the length field, the frame holds " +
                           std::to_string(size - 6));
  if (adu[6] != request.unit)
    malformed(request, "it comes from unit " + std::to_string(adu[6]));

  const std::uint8_t function = adu[7];
  const std::uint8_t* data = adu + mbap_size + 1;
  const std::size_t data_size = size - mbap_size - 1;

  if (function == (request.function | 0x80)) {
    if (data_size != 1)
      malformed(request, "an exception reply of " + std::to_string(data_size) + " data bytes");
    throw field_error(failure::exception, "the device answered " + request.describe() +
                                              " with exception " + hex(data[0], 2) + " (" +
                                              exception_name(data[0]) + ")");
  }
  if (function != request.function)
    malformed(request,
              "function code " + hex(function, 2) + ", expected " + hex(request.function, 2));

  if (reads_registers(function) || reads_bits(function)) {
    const std::size_t expected =
        reads_registers(function) ? request.count * 2U : (request.count + 7U) / 8U;
    if (data_size < 1 || data[0] != expected || data_size != expected + 1)
      malformed(request, std::to_string(data_size == 0 ? 0 : data_size - 1) +
                             " data bytes, expected " + std::to_string(expected));
    std::vector<std::uint16_t> words(request.count);
    for (std::size_t i = 0; i < words.size(); ++i)
      words[i] = reads_registers(function)
                     ? be16(data + 1 + 2 * i)
                     : static_cast<std::uint16_t>((data[1 + i / 8] >> (i % 8)) & 1U);
    return words;
  }

  // A write: the reply echoes the address and the value (single) or the quantity (multiple).
  const auto sent = request.raw();
  const std::size_t echo_size = 4;
  if (data_size != echo_size || !std::equal(data, data + echo_size, sent.begin() + 2))
    malformed(request, "it does not echo the write");
  return {};
}

std::string exception_name(std::uint8_t code) {
  switch (code) {
    case 0x01:
      return "illegal function";
    case 0x02:
      return "illegal data address";
    case 0x03:
      return "illegal data value";
    case 0x04:
      return "server device failure";
    case 0x05:
      return "acknowledge";
    case 0x06:
      return "server device busy";
    case 0x08:
      return "memory parity error";
    case 0x0A:
      return "gateway path unavailable";
    case 0x0B:
      return "gateway target device failed to respond";
    default:
      return "unknown exception";
  }
}

}  // namespace wtc::field
