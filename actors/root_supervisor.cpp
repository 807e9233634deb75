#include "actors/root_supervisor.hpp"

#include "actors/mailbox_depth.hpp"

#include <memory>

#include <spdlog/spdlog.h>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>

namespace wtc {
namespace {

using self_ptr = supervisor_api::stateful_pointer<supervisor_state>;

void start_child(self_ptr self, std::size_t index) {
  auto& child = self->state.children[index];
  auto& registry = self->system().registry();
  child.handle = child.spec.spawn(self->system());
  self->monitor(child.handle);
  // The registry keeps dead actors and put() does not overwrite: erase first.
  registry.erase(child.spec.name);
  registry.put(child.spec.name, caf::actor_cast<caf::strong_actor_ptr>(child.handle));
}

/// Stops the next child still running, the last started first, or ends the supervisor when none
/// is left. A child is stopped once the one started after it has ended, so that it can still use
/// those started before it while it stops (the historian writes its last batch to storage).
void stop_next(self_ptr self) {
  auto& st = self->state;
  while (st.stop_index > 0) {
    auto& child = st.children[--st.stop_index];
    self->system().registry().erase(child.spec.name);
    if (child.handle) {
      self->send_exit(child.handle, st.stop_reason);
      return;
    }
  }
  self->quit(st.stop_reason);
}

void stop_all(self_ptr self, const caf::error& reason) {
  auto& st = self->state;
  if (st.stopping)
    return;
  st.stopping = true;
  st.stop_reason = reason;
  st.stop_index = st.children.size();
  stop_next(self);
}

}  // namespace

std::chrono::milliseconds restart_backoff(const restart_policy& policy,
                                          std::size_t recent_crashes) {
  auto delay = policy.initial_backoff;
  for (std::size_t i = 1; i < recent_crashes && delay < policy.max_backoff; ++i)
    delay *= 2;
  return std::min(delay, policy.max_backoff);
}

supervisor_api::behavior_type root_supervisor(self_ptr self, std::vector<child_spec> children,
                                              restart_policy policy) {
  auto& st = self->state;
  st.policy = policy;
  for (auto& spec : children)
    st.children.push_back({std::move(spec), {}, {}, 0});
  for (std::size_t i = 0; i < st.children.size(); ++i)
    start_child(self, i);

  self->set_exit_handler([self](caf::exit_msg& msg) { stop_all(self, msg.reason); });

  self->set_down_handler([self](caf::down_msg& msg) {
    auto& sup = self->state;
    if (sup.stopping) {
      for (std::size_t i = 0; i < sup.children.size(); ++i)
        if (sup.children[i].handle && sup.children[i].handle.address() == msg.source) {
          sup.children[i].handle = nullptr;
          if (i == sup.stop_index)
            stop_next(self);
        }
      return;
    }
    for (std::size_t i = 0; i < sup.children.size(); ++i) {
      auto& child = sup.children[i];
      if (child.handle.address() != msg.source)
        continue;
      const auto name = to_string(child.spec.name);
      self->system().registry().erase(child.spec.name);
      child.handle = nullptr;
      const auto now = std::chrono::steady_clock::now();
      child.recent_crashes.push_back(now);
      while (!child.recent_crashes.empty() &&
             now - child.recent_crashes.front() > sup.policy.window)
        child.recent_crashes.pop_front();
      if (static_cast<int>(child.recent_crashes.size()) > sup.policy.max_restarts) {
        spdlog::critical(
            "supervisor: '{}' failed {} times within {} s ({}); giving up and shutting down", name,
            child.recent_crashes.size(), sup.policy.window.count() / 1000, to_string(msg.reason));
        stop_all(self, msg.reason);
        return;
      }
      const auto delay = restart_backoff(sup.policy, child.recent_crashes.size());
      spdlog::error("supervisor: '{}' stopped ({}); restarting in {} ms", name,
                    to_string(msg.reason), delay.count());
      self->delayed_send(self, delay, restart_atom::value, i);
      return;
    }
  });

  return {
      [self](restart_atom, std::size_t index) {
        auto& child = self->state.children.at(index);
        if (self->state.stopping || child.handle)
          return;
        start_child(self, index);
        ++child.restarts;
        spdlog::info("supervisor: '{}' restarted", to_string(child.spec.name));
      },
      [self](stats_atom) -> caf::result<std::vector<actor_stats>> {
        auto rp = self->make_response_promise<std::vector<actor_stats>>();
        auto collected = std::make_shared<std::vector<actor_stats>>();
        auto pending = std::make_shared<std::size_t>(0);
        for (const auto& child : self->state.children)
          if (child.handle)
            ++*pending;
        collected->push_back({supervisor_state::name, mailbox_depth(self), 0});
        if (*pending == 0) {
          rp.deliver(*collected);
          return rp;
        }
        for (const auto& child : self->state.children) {
          if (!child.handle)
            continue;
          auto done = [rp, collected, pending]() mutable {
            if (--*pending == 0)
              rp.deliver(*collected);
          };
          self->request(child.handle, std::chrono::seconds(2), stats_atom::value)
              .then(
                  [collected, done, restarts = child.restarts](actor_stats& stats) mutable {
                    stats.restarts = restarts;
                    collected->push_back(std::move(stats));
                    done();
                  },
                  [done](caf::error&) mutable { done(); });
        }
        return rp;
      },
  };
}

}  // namespace wtc
