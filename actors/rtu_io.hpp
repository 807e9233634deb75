#pragma once

// The blocking half of an rtu_actor: a detached actor (a thread of its own) that owns the field
// driver, so that libmodbus's blocking calls never hold a thread of CAF's shared scheduler or of
// the gateway. It does one thing at a time, in the order asked, and reports each outcome back to
// its rtu_actor tagged with the request's sequence number: the rtu_actor drops outcomes of
// requests it has since given up on (a disconnect, a reconfiguration).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>

#include "field/field_driver.hpp"
#include "messages/field_types.hpp"

namespace wtc {

/// Makes the driver an RTU's profile calls for; throws field::field_error (kind config) for an
/// unknown profile.
using driver_factory = std::function<std::unique_ptr<field::field_driver>(const rtu_record&)>;

/// Outcomes sent by the I/O worker to its rtu_actor. These never leave the node the RTU's
/// actors run on (the worker is always beside its rtu_actor), so they are not serialised.
struct io_linked {
  std::uint64_t seq = 0;
};
struct io_discovered {
  std::uint64_t seq = 0;
  field::device_description device;
};
struct io_cycle {
  std::uint64_t seq = 0;
  field::cycle_reading reading;
  double duration_ms = 0;
};
struct io_written {
  std::uint64_t seq = 0;
  actuator_command command;
};
struct io_failed {
  std::uint64_t seq = 0;
  std::string operation;  // connect, discover, cycle, command
  field::failure kind = field::failure::protocol;
  std::string what;
};

/// Requests from an rtu_actor to its worker.
struct io_connect {
  std::uint64_t seq = 0;
  rtu_record rtu;
};
struct io_read {
  std::uint64_t seq = 0;
};
struct io_write {
  std::uint64_t seq = 0;
  actuator_command command;
};
struct io_close {};

/// The worker's behaviour; spawn it detached and linked to its rtu_actor.
caf::behavior rtu_io_worker(caf::event_based_actor* self, caf::actor owner,
                            driver_factory make_driver);

}  // namespace wtc

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wtc::io_linked)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wtc::io_discovered)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wtc::io_cycle)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wtc::io_written)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wtc::io_failed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wtc::io_connect)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wtc::io_read)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wtc::io_write)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wtc::io_close)
