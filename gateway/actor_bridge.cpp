#include "gateway/actor_bridge.hpp"

#include <caf/detail/disposer.hpp>
#include <caf/exit_reason.hpp>
#include <caf/mailbox_element.hpp>

namespace wtc::gateway {
namespace {

thread_local io_companion* this_thread_companion = nullptr;

io_companion* companion_of(const caf::strong_actor_ptr& ptr) {
  return static_cast<io_companion*>(caf::actor_cast<caf::abstract_actor*>(ptr));
}

}  // namespace

void io_companion::set_sink(message_sink sink) {
  std::lock_guard<std::mutex> guard(mutex_);
  sink_ = std::move(sink);
}

void io_companion::enqueue(caf::mailbox_element_ptr ptr, caf::execution_unit*) {
  std::lock_guard<std::mutex> guard(mutex_);
  if (sink_)
    sink_(std::move(ptr));
}

void io_companion::enqueue(caf::strong_actor_ptr source, caf::message_id mid, caf::message content,
                           caf::execution_unit* host) {
  enqueue(caf::make_mailbox_element(std::move(source), mid, {}, std::move(content)), host);
}

void io_companion::launch(caf::execution_unit*, bool, bool hide) {
  // Never scheduled: the io thread runs it.
  if (!hide)
    register_at_system();
}

void io_companion::on_exit() {
  std::lock_guard<std::mutex> guard(mutex_);
  sink_ = nullptr;
}

actor_bridge::~actor_bridge() {
  detach_all();
}

io_companion* actor_bridge::current() {
  return this_thread_companion;
}

void actor_bridge::attach_this_thread(post_fn post) {
  auto thread = std::make_shared<io_thread>();
  thread->companion = caf::actor_cast<caf::strong_actor_ptr>(sys_.spawn<io_companion>());
  thread->unit = std::make_unique<caf::scoped_execution_unit>(&sys_);
  auto* companion = companion_of(thread->companion);
  // Called from any thread that sends to the companion: carry the message to the io thread.
  // The weak capture lets a message that arrives during shutdown be dropped safely.
  std::weak_ptr<io_thread> weak = thread;
  companion->set_sink([weak, post](caf::mailbox_element_ptr msg) {
    std::shared_ptr<caf::mailbox_element> shared(msg.release(), caf::detail::disposer{});
    post([weak, shared] {
      if (auto t = weak.lock())
        companion_of(t->companion)->activate(t->unit.get(), *shared);
    });
  });
  this_thread_companion = companion;
  std::lock_guard<std::mutex> guard(mutex_);
  threads_.push_back(std::move(thread));
}

void actor_bridge::detach_all() {
  std::lock_guard<std::mutex> guard(mutex_);
  for (auto& t : threads_)
    companion_of(t->companion)->cleanup(caf::exit_reason::user_shutdown, t->unit.get());
  threads_.clear();
}

}  // namespace wtc::gateway
