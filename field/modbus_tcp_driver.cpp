#include "field/modbus_tcp_driver.hpp"

#include <modbus/modbus.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

namespace wtc::field {
namespace {

/// libmodbus 3.1.6 builds the header of a raw request like a reply's, with transaction id 0,
/// so a reply must carry 0. (The driver never has two requests in flight, and it drops the
/// connection after a timeout, so no late reply can be taken for a newer one.)
constexpr std::uint16_t raw_transaction_id = 0;

using timeout_setter = int (*)(modbus_t*, std::uint32_t, std::uint32_t);

void set_timeout(modbus_t* ctx, timeout_setter setter, std::chrono::milliseconds timeout) {
  // Zero would mean "no timeout" to some of libmodbus's setters: never wait forever.
  const auto ms = std::max<std::int64_t>(timeout.count(), 1);
  setter(ctx, static_cast<std::uint32_t>(ms / 1000), static_cast<std::uint32_t>(ms % 1000) * 1000);
}

std::string ms_text(std::chrono::milliseconds t) {
  return std::to_string(t.count()) + " ms";
}

}  // namespace

failure classify_errno(int error) {
  if (error >= EMBXILFUN && error <= EMBXGTAR)
    return failure::exception;
  switch (error) {
    case ETIMEDOUT:
    case EAGAIN:
      return failure::timeout;
    case EMBBADCRC:
    case EMBBADDATA:
    case EMBBADEXC:
    case EMBUNKEXC:
    case EMBMDATA:
    case EMBBADSLAVE:
      return failure::protocol;
    case ECONNREFUSED:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EADDRNOTAVAIL:
    case EINPROGRESS:  // libmodbus's connect timed out
      return failure::connect;
    default:  // ECONNRESET, EPIPE, ENOTCONN, EBADF, ...: the link is gone
      return failure::closed;
  }
}

void modbus_tcp_driver::context_closer::operator()(modbus_t* ctx) const noexcept {
  modbus_close(ctx);
  modbus_free(ctx);
}

modbus_tcp_driver::modbus_tcp_driver(profile p) : profile_(std::move(p)) {}

modbus_tcp_driver::~modbus_tcp_driver() = default;

std::string modbus_tcp_driver::peer() const {
  return endpoint_.host + ":" + std::to_string(endpoint_.port);
}

void modbus_tcp_driver::connect(const endpoint& where) {
  disconnect();
  endpoint_ = where;
  if (where.host.empty())
    throw field_error(failure::config, "no host to connect to");
  if (where.unit_id < 0 || where.unit_id > 255)
    throw field_error(failure::config,
                      "unit id " + std::to_string(where.unit_id) + " is outside 0–255");

  const auto service = std::to_string(where.port);
  ctx_.reset(modbus_new_tcp_pi(where.host.c_str(), service.c_str()));
  if (!ctx_) {
    const int error = errno;
    fail(failure::connect,
         "cannot set up a connection to " + peer() + ": " + modbus_strerror(error));
  }
  // libmodbus waits for the TCP handshake as long as it waits for a reply: the connect timeout
  // applies while connecting, the response timeout afterwards.
  set_timeout(ctx_.get(), modbus_set_response_timeout, where.connect_timeout);
  if (modbus_connect(ctx_.get()) == -1) {
    const int error = errno;
    fail(failure::connect,
         "cannot connect to " + peer() + ": " +
             (error == EINPROGRESS ? "no answer within " + ms_text(where.connect_timeout)
                                   : std::string(modbus_strerror(error))));
  }
  set_timeout(ctx_.get(), modbus_set_response_timeout, where.response_timeout);
  // Without a byte timeout the response timeout bounds the whole reply, not only its first
  // byte: a peer sending a reply byte by byte cannot hold the caller longer.
  modbus_set_byte_timeout(ctx_.get(), 0, 0);
  health_.connected = true;
}

void modbus_tcp_driver::disconnect() noexcept {
  ctx_.reset();
  health_.connected = false;
}

void modbus_tcp_driver::fail(failure kind, const std::string& message) {
  ++health_.failures;
  health_.last_error = message;
  if (kind != failure::exception && kind != failure::config)
    disconnect();
  throw field_error(kind, message);
}

std::vector<std::uint16_t> modbus_tcp_driver::transact(const modbus_request& request) {
  if (!ctx_)
    throw field_error(failure::closed,
                      endpoint_.host.empty() ? "not connected" : "not connected to " + peer());
  const auto raw = request.raw();
  ++health_.requests;
  const auto started = std::chrono::steady_clock::now();
  if (modbus_send_raw_request(ctx_.get(), raw.data(), static_cast<int>(raw.size())) == -1) {
    const int error = errno;
    fail(classify_errno(error),
         "cannot send " + request.describe() + " to " + peer() + ": " + modbus_strerror(error));
  }
  std::uint8_t reply[MODBUS_TCP_MAX_ADU_LENGTH];
  const int size = modbus_receive_confirmation(ctx_.get(), reply);
  if (size == -1) {
    const int error = errno;
    const auto kind = classify_errno(error);
    fail(kind, kind == failure::timeout
                   ? "no complete reply to " + request.describe() + " from " + peer() + " within " +
                         ms_text(endpoint_.response_timeout)
                   : "no reply to " + request.describe() + " from " + peer() + ": " +
                         modbus_strerror(error));
  }
  health_.last_round_trip_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  try {
    return check_reply(request, reply, static_cast<std::size_t>(size), raw_transaction_id);
  } catch (const field_error& e) {
    fail(e.kind(), std::string(e.what()) + " (" + peer() + ")");
  }
}

register_image modbus_tcp_driver::read_all(const std::vector<address_span>& requests) {
  const auto unit = static_cast<std::uint8_t>(endpoint_.unit_id);
  register_image image;
  for (const auto& r : requests)
    image.store(r.area, r.address, transact(read_request(unit, r.area, r.address, r.count)));
  return image;
}

device_description modbus_tcp_driver::discover() {
  layout_.reset();
  cycle_requests_.clear();
  const auto image = read_all(plan_reads(discovery_spans(profile_), profile_.reads));
  try {
    layout_ = resolve_layout(profile_, image);
  } catch (const field_error& e) {
    fail(e.kind(), std::string(e.what()) + " (" + peer() + ")");
  }
  cycle_requests_ = plan_reads(cycle_spans(*layout_), profile_.reads);
  try {
    read_cycle();
  } catch (const field_error&) {
    layout_.reset();
    cycle_requests_.clear();
    throw;
  }
  return layout_->description;
}

cycle_reading modbus_tcp_driver::read_cycle() {
  if (!layout_)
    throw field_error(failure::config, "read_cycle() needs a successful discover() first");
  return decode_cycle(*layout_, read_all(cycle_requests_));
}

void modbus_tcp_driver::write_command(const actuator_command& command) {
  if (!layout_)
    throw field_error(failure::config, "write_command() needs a successful discover() first");
  const auto unit = static_cast<std::uint8_t>(endpoint_.unit_id);
  for (auto& w : plan_command(*layout_, command)) {
    if (w.area == area::coil)
      transact(write_coil_request(unit, w.address, w.values.at(0) != 0));
    else
      transact(write_registers_request(unit, w.address, std::move(w.values)));
  }
}

}  // namespace wtc::field
