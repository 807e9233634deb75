#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_traits.hpp>
#include <caf/duration.hpp>
#include <caf/mixin/requester.hpp>
#include <caf/mixin/sender.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/scoped_execution_unit.hpp>

#include "gateway/replies.hpp"

namespace wtc::gateway {

/// An actor that is never scheduled: whatever it receives waits in its inbox until the io thread
/// that owns it runs `drain`. (CAF's actor_companion is the same idea but cannot send requests in
/// 0.17.)
class io_companion
    : public caf::extend<caf::scheduled_actor, io_companion>::with<caf::mixin::sender,
                                                                   caf::mixin::requester>,
      public caf::dynamically_typed_actor_base {
 public:
  using signatures = caf::none_t;
  using behavior_type = caf::behavior;
  /// Asks the owning io thread to call `drain`; called from the thread that fills an empty inbox.
  using wake_fn = std::function<void()>;

  /// An actor without a behavior counts as finished: give it one that is never called (the
  /// companion only ever receives responses, which bypass the behavior).
  explicit io_companion(caf::actor_config& cfg) : extended_base(cfg) {
    do_become(caf::behavior{[](caf::ok_atom) {}}, true);
  }

  void set_wake(wake_fn wake);
  /// Runs everything that has arrived, on the owning io thread.
  void drain(caf::execution_unit* host);

  void enqueue(caf::mailbox_element_ptr ptr, caf::execution_unit* host) override;
  void enqueue(caf::strong_actor_ptr source, caf::message_id mid, caf::message content,
               caf::execution_unit* host) override;
  void launch(caf::execution_unit* host, bool lazy, bool hide) override;
  void on_exit() override;

 private:
  std::mutex mutex_;
  wake_fn wake_;
  // One wake-up carries every answer that arrives before the io thread gets to it: under load
  // that is one queued task for several requests, and no allocation per answer.
  std::vector<caf::mailbox_element_ptr> inbox_;
  std::vector<caf::mailbox_element_ptr> running_;  // io thread only
};

/// Lets the io threads talk to actors without blocking and without a thread hop of their own.
/// Each io thread gets an actor companion: requests go out from the io thread, and the answers
/// come back to that same thread through its io_context, where the handler then replies at once.
class actor_bridge {
 public:
  using post_fn = std::function<void(std::function<void()>)>;

  explicit actor_bridge(caf::actor_system& sys) : sys_(sys) {}
  ~actor_bridge();
  actor_bridge(const actor_bridge&) = delete;
  actor_bridge& operator=(const actor_bridge&) = delete;

  /// Runs on an io thread once, before it serves: gives it a companion whose mailbox `post`
  /// drains on that thread.
  void attach_this_thread(post_fn post);

  /// Ends every companion. Call after the io threads have stopped, before the actor system goes.
  void detach_all();

  /// The companion of the calling io thread, or nullptr on any other thread.
  static io_companion* current();

 private:
  struct io_thread {
    caf::strong_actor_ptr companion;
    std::unique_ptr<caf::scoped_execution_unit> unit;
  };

  caf::actor_system& sys_;
  std::mutex mutex_;
  std::vector<std::shared_ptr<io_thread>> threads_;
};

/// Asks `target` from an io thread and runs `on_value` with the answer on the same thread; an
/// error (the timeout included) answers the exchange with the matching status. `on_value` must
/// reply to the exchange. A timeout costs a round trip through CAF's clock thread: actors that
/// answer from memory, and bound their own waits, are asked with `caf::infinite`.
template <class Handle, class OnValue, class... Ts>
void ask(const exchange_ptr& ex, const Handle& target, caf::duration timeout, OnValue on_value,
         Ts&&... xs) {
  if (!target) {
    ex->reply(error_reply(errc::unavailable, "a subsystem is restarting; try again shortly"));
    return;
  }
  auto* self = actor_bridge::current();
  if (self == nullptr) {
    ex->reply(error_reply(errc::internal, "request handled outside of an io thread"));
    return;
  }
  self->request(target, timeout, std::forward<Ts>(xs)...)
      .then(std::move(on_value), [ex](caf::error& err) { ex->reply(error_reply(err)); });
}

}  // namespace wtc::gateway
