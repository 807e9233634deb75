#include "gateway/actor_bridge.hpp"

#include <caf/exit_reason.hpp>
#include <caf/mailbox_element.hpp>

namespace wtc::gateway {
namespace {

thread_local io_companion* this_thread_companion = nullptr;

io_companion* companion_of(const caf::strong_actor_ptr& ptr) {
  return static_cast<io_companion*>(caf::actor_cast<caf::abstract_actor*>(ptr));
}

}  // namespace

void io_companion::set_wake(wake_fn wake) {
  std::lock_guard<std::mutex> guard(mutex_);
  wake_ = std::move(wake);
}

void io_companion::enqueue(caf::mailbox_element_ptr ptr, caf::execution_unit*) {
  std::lock_guard<std::mutex> guard(mutex_);
  if (!wake_)
    return;
  inbox_.push_back(std::move(ptr));
  if (inbox_.size() == 1)
    wake_();
}

void io_companion::drain(caf::execution_unit* host) {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    running_.swap(inbox_);
  }
  for (auto& msg : running_)
    activate(host, *msg);
  running_.clear();
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
  wake_ = nullptr;
  inbox_.clear();
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
  // Called from any thread that sends to the companion: have the io thread run its inbox. The
  // weak capture lets a wake-up that comes during shutdown be dropped safely.
  std::weak_ptr<io_thread> weak = thread;
  companion->set_wake([weak, post] {
    post([weak] {
      if (auto t = weak.lock())
        companion_of(t->companion)->drain(t->unit.get());
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
