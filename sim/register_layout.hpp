#pragma once

// Addresses and codes of docs/register-map.md, the one register map a WTC RTU serves. Zero-based
// protocol addresses; 32-bit values take two registers, high word first.

#include <cstdint>
#include <cstring>

namespace wtc::sim::reg {

// Identification and status, input registers.
constexpr std::uint16_t vendor_id = 0;
constexpr std::uint16_t device_id = 1;
constexpr std::uint16_t firmware_major = 2;
constexpr std::uint16_t firmware_minor = 3;
constexpr std::uint16_t firmware_patch = 4;
constexpr std::uint16_t slot_count = 5;
constexpr std::uint16_t heartbeat = 6;
constexpr std::uint16_t status = 7;
constexpr std::uint16_t module_type_base = 16;  // + (slot - 1)
constexpr std::uint16_t signal_type_base = 48;  // + (slot - 1)

// Slot data, input registers: float32 value, quality, flags.
constexpr std::uint16_t slot_data_base = 100;
constexpr std::uint16_t slot_data_stride = 4;
constexpr std::uint16_t quality_offset = 2;
constexpr std::uint16_t flags_offset = 3;

// Actuator commands, holding registers: command, pwm_duty.
constexpr std::uint16_t command_base = 100;
constexpr std::uint16_t command_stride = 2;
constexpr std::uint16_t duty_offset = 1;

constexpr int max_slots = 32;

constexpr std::uint16_t status_interlock = 1U << 0;
constexpr std::uint16_t status_forced = 1U << 1;

constexpr std::uint16_t flag_interlocked = 1U << 0;
constexpr std::uint16_t flag_forced = 1U << 1;
constexpr std::uint16_t flag_running = 1U << 2;

constexpr std::uint16_t quality_good = 0x00;
constexpr std::uint16_t quality_uncertain = 0x40;
constexpr std::uint16_t quality_bad = 0x80;
constexpr std::uint16_t quality_not_connected = 0xC0;

constexpr std::uint16_t command_off = 0;
constexpr std::uint16_t command_on = 1;
constexpr std::uint16_t command_pwm = 2;
constexpr std::uint16_t duty_full_scale = 10000;  // hundredths of a percent

constexpr std::uint16_t slot_data_address(int slot) {
  return static_cast<std::uint16_t>(slot_data_base + slot_data_stride * (slot - 1));
}

constexpr std::uint16_t command_address(int slot) {
  return static_cast<std::uint16_t>(command_base + command_stride * (slot - 1));
}

/// The two registers of a float32, high word first.
struct register_pair {
  std::uint16_t high;
  std::uint16_t low;
};

inline register_pair split_float(float value) {
  std::uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  return {static_cast<std::uint16_t>(bits >> 16), static_cast<std::uint16_t>(bits & 0xFFFFU)};
}

inline float join_float(std::uint16_t high, std::uint16_t low) {
  const std::uint32_t bits = (static_cast<std::uint32_t>(high) << 16) | low;
  float value = 0;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

}  // namespace wtc::sim::reg
