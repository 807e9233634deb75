#pragma once

#include <chrono>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "gateway/replies.hpp"

namespace wtc::gateway {

/// Asks `target` without blocking the calling (io) thread: a short-lived actor sends the request
/// and runs `on_value` with the answer on a CAF thread; an error answers the exchange with the
/// matching status. `on_value` must reply to the exchange.
template <class Handle, class OnValue, class... Ts>
void ask(caf::actor_system& sys, const exchange_ptr& ex, const Handle& target,
         std::chrono::milliseconds timeout, OnValue on_value, Ts&&... xs) {
  if (!target) {
    ex->reply(error_reply(errc::unavailable, "a subsystem is restarting; try again shortly"));
    return;
  }
  sys.spawn([ex, target, timeout, on_value = std::move(on_value),
             msg = std::make_tuple(std::forward<Ts>(xs)...)](caf::event_based_actor* self) mutable {
    std::apply(
        [&](auto&&... args) {
          self->request(target, timeout, std::move(args)...)
              .then(std::move(on_value), [ex](caf::error& err) { ex->reply(error_reply(err)); });
        },
        std::move(msg));
  });
}

}  // namespace wtc::gateway
