#pragma once

// field_driver over Modbus TCP, through libmodbus. Synchronous: every call blocks for at most
// the endpoint's timeouts (a hostname is resolved first, outside of them), so the caller runs it
// on a thread of its own.
//
// After a timeout, a closed connection or a malformed reply the driver drops the connection
// (a late or partial reply would otherwise be read as the answer to the next request); the
// caller reconnects. An exception reply or a profile mismatch leaves the connection up.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "field/device_layout.hpp"
#include "field/field_driver.hpp"
#include "field/modbus_frame.hpp"
#include "field/profile.hpp"

typedef struct _modbus modbus_t;

namespace wtc::field {

/// The failure an errno of libmodbus or the socket stands for, once connected. (Every failure
/// while connecting is failure::connect.)
failure classify_errno(int error);

class modbus_tcp_driver final : public field_driver {
 public:
  explicit modbus_tcp_driver(profile p);
  ~modbus_tcp_driver() override;
  modbus_tcp_driver(const modbus_tcp_driver&) = delete;
  modbus_tcp_driver& operator=(const modbus_tcp_driver&) = delete;

  void connect(const endpoint& where) override;
  void disconnect() noexcept override;
  /// Reads identification and slot directory, then one trial cycle, so that a profile mapping
  /// registers the device lacks fails here rather than in the first cycle.
  device_description discover() override;
  cycle_reading read_cycle() override;
  /// OFF/ON/PWM as the profile's command targets say (device_layout.hpp, plan_command). A
  /// command the profile cannot express throws failure::config without touching the device.
  void write_command(const actuator_command& command) override;
  driver_health health() const override { return health_; }

 private:
  struct context_closer {
    void operator()(modbus_t* ctx) const noexcept;
  };

  /// One request and its checked reply.
  std::vector<std::uint16_t> transact(const modbus_request& request);
  register_image read_all(const std::vector<address_span>& requests);
  /// Records the failure, drops the connection if it can no longer be trusted, and throws.
  [[noreturn]] void fail(failure kind, const std::string& message);
  std::string peer() const;

  profile profile_;
  endpoint endpoint_;
  std::unique_ptr<modbus_t, context_closer> ctx_;
  std::optional<device_layout> layout_;
  std::vector<address_span> cycle_requests_;
  driver_health health_;
};

}  // namespace wtc::field
