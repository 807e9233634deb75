#include "actors/scan_clock.hpp"

#include "core/time.hpp"

#include <algorithm>
#include <utility>

#include <caf/system_messages.hpp>

namespace wtc {
namespace {

using self_ptr = caf::stateful_actor<scan_clock_state>*;
using tick_atom = caf::atom_constant<caf::atom("clocktick")>;

using core::steady_us;

std::int64_t on_grid(std::int64_t us, std::int64_t grid_us) {
  return (us + grid_us - 1) / grid_us * grid_us;
}

/// One delayed tick for the earliest deadline, unless one as early is already on its way.
void arm(self_ptr self) {
  auto& st = self->state;
  if (st.due.empty())
    return;
  const auto earliest = st.due.begin()->first;
  if (st.armed_for_us != 0 && st.armed_for_us <= earliest)
    return;
  st.armed_for_us = earliest;
  self->delayed_send(self,
                     std::chrono::microseconds(std::max<std::int64_t>(0, earliest - steady_us())),
                     tick_atom::value);
}

void forget(self_ptr self, const caf::actor_addr& loop) {
  auto& due = self->state.due;
  for (auto it = due.begin(); it != due.end();)
    it = it->second.loop.address() == loop ? due.erase(it) : std::next(it);
}

void tick(self_ptr self) {
  auto& st = self->state;
  st.armed_for_us = 0;
  const auto now = steady_us();
  while (!st.due.empty() && st.due.begin()->first <= now) {
    auto node = st.due.extract(st.due.begin());
    self->send(node.mapped().loop, scan_atom::value);
    const auto period = node.mapped().period_us;
    auto next = node.key() + period;
    if (next <= now)
      next += ((now - next) / period + 1) * period;  // skip the deadlines that passed
    node.key() = next;
    st.due.insert(std::move(node));
  }
  arm(self);
}

}  // namespace

caf::behavior scan_clock(caf::stateful_actor<scan_clock_state>* self, std::int64_t grid_us) {
  self->set_down_handler([self](caf::down_msg& down) { forget(self, down.source); });
  return {
      [self, grid_us](subscribe_atom, caf::actor& loop, std::int64_t period_us) {
        const auto period = std::max<std::int64_t>(grid_us, on_grid(period_us, grid_us));
        self->monitor(loop);
        self->state.due.emplace(on_grid(steady_us() + period, grid_us),
                                scan_clock_state::entry{std::move(loop), period});
        arm(self);
      },
      [self](unsubscribe_atom, const caf::actor& loop) {
        self->demonitor(loop);
        forget(self, loop.address());
      },
      [self](tick_atom) { tick(self); },
  };
}

}  // namespace wtc
