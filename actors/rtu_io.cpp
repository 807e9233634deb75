#include "actors/rtu_io.hpp"

#include <algorithm>
#include <chrono>

namespace wtc {
namespace {

/// The response timeout a cycle can afford: most of a cycle, so that a slow but working link is
/// not mistaken for a dead one, yet short enough that two timeouts in a row fit in three cycles.
std::chrono::milliseconds response_timeout_for(const rtu_record& rtu) {
  const auto budget = rtu.cycle_time_ms * 8 / 10;
  return std::chrono::milliseconds(std::clamp<std::int64_t>(budget, 20, 2000));
}

}  // namespace

caf::behavior rtu_io_worker(caf::event_based_actor* self, caf::actor owner,
                            driver_factory make_driver) {
  // The driver lives as long as the worker; the connection comes and goes.
  auto driver = std::make_shared<std::unique_ptr<field::field_driver>>();
  auto fail = [self, owner](std::uint64_t seq, const char* operation, const field::field_error& e) {
    self->send(owner, io_failed{seq, operation, e.kind(), e.what()});
  };
  return {
      [=](const io_connect& request) {
        const char* stage = "connect";
        try {
          if (*driver)
            (*driver)->disconnect();
          *driver = make_driver(request.rtu);
          field::endpoint where;
          where.host = request.rtu.ip_address;
          where.port = static_cast<std::uint16_t>(request.rtu.port);
          where.unit_id = request.rtu.unit_id;
          where.response_timeout = response_timeout_for(request.rtu);
          where.connect_timeout = std::max(where.response_timeout, std::chrono::milliseconds(500));
          (*driver)->connect(where);
          self->send(owner, io_linked{request.seq});
          stage = "discover";
          self->send(owner, io_discovered{request.seq, (*driver)->discover()});
        } catch (const field::field_error& e) {
          if (*driver)
            (*driver)->disconnect();
          fail(request.seq, stage, e);
        } catch (const std::exception& e) {
          // A profile or driver that cannot be built is a configuration fault, not a crash.
          fail(request.seq, stage, field::field_error(field::failure::config, e.what()));
        }
      },
      [=](const io_read& request) {
        if (!*driver) {
          fail(request.seq, "cycle", field::field_error(field::failure::closed, "not connected"));
          return;
        }
        try {
          const auto start = std::chrono::steady_clock::now();
          auto reading = (*driver)->read_cycle();
          const std::chrono::duration<double, std::milli> took =
              std::chrono::steady_clock::now() - start;
          self->send(owner, io_cycle{request.seq, std::move(reading), took.count()});
        } catch (const field::field_error& e) {
          fail(request.seq, "cycle", e);
        }
      },
      [=](const io_write& request) {
        if (!*driver) {
          fail(request.seq, "command", field::field_error(field::failure::closed, "not connected"));
          return;
        }
        try {
          (*driver)->write_command(request.command);
          self->send(owner, io_written{request.seq, request.command});
        } catch (const field::field_error& e) {
          fail(request.seq, "command", e);
        }
      },
      [=](io_close) {
        if (*driver)
          (*driver)->disconnect();
      },
  };
}

}  // namespace wtc
