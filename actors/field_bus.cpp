#include "actors/field_bus.hpp"

#include <algorithm>

#include <caf/send.hpp>

#include "actors/mailbox_depth.hpp"

#include <spdlog/spdlog.h>

namespace wtc {
namespace {

// Subscribers are dynamically typed handles (any actor may subscribe), which a statically typed
// actor may only reach by anon_send.
template <class Self, class Message>
void publish(Self* self, std::uint32_t topic, const std::string& station, const Message& msg) {
  for (const auto& sub : self->state.subscriptions)
    if ((sub.topics & topic) != 0 && (sub.station.empty() || sub.station == station))
      caf::anon_send(sub.subscriber, msg);
}

}  // namespace

field_bus_api::behavior_type field_bus(field_bus_api::stateful_pointer<field_bus_state> self,
                                       field_bus_config config) {
  self->state.config = config;
  self->set_down_handler([self](const caf::down_msg& down) {
    auto& subs = self->state.subscriptions;
    subs.erase(
        std::remove_if(subs.begin(), subs.end(),
                       [&](const auto& sub) { return sub.subscriber.address() == down.source; }),
        subs.end());
  });
  return {
      [self](subscribe_atom, caf::actor subscriber, std::string station, std::uint32_t topics) {
        auto& subs = self->state.subscriptions;
        // A subscriber may subscribe to several stations; the same one twice replaces it.
        auto same = [&](const auto& sub) {
          return sub.subscriber == subscriber && sub.station == station;
        };
        subs.erase(std::remove_if(subs.begin(), subs.end(), same), subs.end());
        if (topics == 0)
          return;
        if (subs.size() >= self->state.config.max_subscriptions) {
          spdlog::error("field bus: {} subscriptions already; refusing one more", subs.size());
          return;
        }
        self->monitor(subscriber);
        subs.push_back({std::move(subscriber), std::move(station), topics});
      },
      [self](unsubscribe_atom, const caf::actor& subscriber) {
        auto& subs = self->state.subscriptions;
        subs.erase(std::remove_if(subs.begin(), subs.end(),
                                  [&](const auto& sub) { return sub.subscriber == subscriber; }),
                   subs.end());
      },
      [self](const sample_batch& batch) { publish(self, topics::samples, batch.station, batch); },
      [self](const actuator_batch& batch) {
        publish(self, topics::actuators, batch.station, batch);
      },
      [self](const rtu_event& event) { publish(self, topics::rtu_events, event.station, event); },
      [self](stats_atom) -> actor_stats {
        return {field_bus_state::name, mailbox_depth(self), 0};
      },
  };
}

}  // namespace wtc
