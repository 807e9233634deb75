#include "actors/live_hub.hpp"

#include <string>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>
#include <caf/actor_cast.hpp>
#include <caf/system_messages.hpp>
#include <nlohmann/json.hpp>

#include "actors/mailbox_depth.hpp"
#include "core/time.hpp"

namespace wtc {
namespace {

using self_ptr = live_hub_api::stateful_pointer<live_hub_state>;
using ordered_json = nlohmann::ordered_json;

/// JSON text of `value`; a byte that is not UTF-8 (a tag typed in some other encoding) becomes
/// U+FFFD instead of an exception that would end the hub.
template <class Json>
std::string dump(const Json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string envelope(std::string_view type, std::string_view data_text) {
  std::string text;
  text.reserve(data_text.size() + type.size() + 24);
  text += R"({"type":)";
  text += dump(nlohmann::json(type));
  text += R"(,"data":)";
  text += data_text;
  text += '}';
  return text;
}

live_frame_ptr make_frame(std::string_view type, const std::string& rtu, const std::string& tag,
                          std::string key, const ordered_json& data, std::int64_t produced_at_us) {
  auto frame = std::make_shared<live_frame>();
  frame->type = type;
  frame->rtu = rtu;
  frame->tag = tag;
  frame->key = std::move(key);
  frame->text = envelope(type, dump(data));
  frame->produced_at_us = produced_at_us;
  return frame;
}

/// Coalescing key of an I/O point: the kind of message, the station, the slot and channel.
std::string point_key(char kind, const std::string& station, std::int32_t slot,
                      std::int32_t channel) {
  std::string key;
  key.reserve(station.size() + 16);
  key += kind;
  key += '|';
  key += station;
  key += '|';
  key += std::to_string(slot);
  key += '|';
  key += std::to_string(channel);
  return key;
}

std::string iso_time(timestamp_ms ts) {
  return core::format_iso8601(ts != 0 ? ts : core::now_ms());
}

/// Hands `frames` to the client, or the part of them its filter lets through. Returns false
/// when the client has gone.
bool deliver_to(live_hub_state& st, live_hub_state::client& c,
                const std::vector<live_frame_ptr>& frames) {
  const live_frame_ptr* data = frames.data();
  std::size_t count = frames.size();
  if (!c.everything) {
    st.selected.clear();
    for (const auto& f : frames)
      if (c.filter.matches(*f))
        st.selected.push_back(f);
    data = st.selected.data();
    count = st.selected.size();
  }
  if (count == 0)
    return true;
  if (!c.sink->deliver(data, count))
    return false;
  st.stats.frames_delivered += count;
  return true;
}

void forget_client(live_hub_state& st, std::size_t index) {
  st.missed_by_departed += st.clients[index].sink->missed();
  if (index + 1 != st.clients.size())
    st.clients[index] = std::move(st.clients.back());
  st.clients.pop_back();
}

/// Sends the frames gathered in `st.frames` to every matching client, then clears them.
void publish(live_hub_state& st) {
  if (st.frames.empty())
    return;  // a cycle in which nothing changed
  st.stats.frames_built += st.frames.size();
  for (std::size_t i = 0; i < st.clients.size();) {
    if (deliver_to(st, st.clients[i], st.frames))
      ++i;
    else
      forget_client(st, i);  // the last client moved to i: look at it next
  }
  st.frames.clear();
}

void retry_subscription(self_ptr self) {
  auto& st = self->state;
  if (st.resubscribe_pending)
    return;
  st.resubscribe_pending = true;
  self->delayed_send(self, st.config.resubscribe_delay, subscribe_atom::value);
}

void subscribe_to_bus(self_ptr self) {
  auto& st = self->state;
  st.resubscribe_pending = false;
  if (st.bus)
    return;
  auto bus = lookup<field_bus_api>(self->system(), names::field_bus);
  if (!bus) {
    if (!st.waiting_logged)
      spdlog::info("live hub: waiting for the field bus");
    st.waiting_logged = true;
    retry_subscription(self);
    return;
  }
  // A bus that has just died may still be registered: its down message comes at once, and the
  // hub looks again.
  st.bus = bus;
  st.waiting_logged = false;
  self->monitor(bus);
  self->send(bus, subscribe_atom::value, caf::actor_cast<caf::actor>(self), std::string{},
             topics::all);
  ++st.stats.bus_subscriptions;
  spdlog::debug("live hub: subscribed to the field bus");
}

ordered_json filter_json(const live_filter& filter) {
  return ordered_json{{"rtus", filter.rtus}, {"tags", filter.tags}, {"types", filter.types}};
}

void join(self_ptr self, live_client_ptr sink, live_filter filter) {
  auto& st = self->state;
  if (!sink)
    return;
  std::size_t index = 0;
  while (index < st.clients.size() && st.clients[index].sink != sink)
    ++index;
  if (index == st.clients.size())
    st.clients.push_back({sink, {}, true});
  auto& c = st.clients[index];
  // The confirmation goes out before any frame under the new filter: what follows it obeys it.
  auto ack = make_frame("subscribed", {}, {}, {}, filter_json(filter), 0);
  c.everything = filter.all();
  c.filter = std::move(filter);
  if (!c.sink->deliver(&ack, 1))
    forget_client(st, index);
}

void leave(self_ptr self, const live_client_ptr& sink) {
  auto& st = self->state;
  for (std::size_t i = 0; i < st.clients.size(); ++i)
    if (st.clients[i].sink == sink) {
      forget_client(st, i);
      return;
    }
}

void on_samples(self_ptr self, const sample_batch& batch) {
  auto& st = self->state;
  if (st.clients.empty())
    return;  // nobody to serialise for
  for (const auto& s : batch.samples) {
    if (!s.changed)
      continue;
    st.frames.push_back(make_frame("sensor_update", batch.station, s.tag,
                                   point_key('s', batch.station, s.slot, s.channel),
                                   ordered_json{{"rtu", batch.station},
                                                {"slot", s.slot},
                                                {"tag", s.tag},
                                                {"value", s.value},
                                                {"quality", to_string(s.q)},
                                                {"timestamp", iso_time(s.timestamp)}},
                                   batch.produced_at_us));
  }
  publish(st);
}

void on_actuators(self_ptr self, const actuator_batch& batch) {
  auto& st = self->state;
  if (st.clients.empty())
    return;
  for (const auto& a : batch.actuators)
    st.frames.push_back(make_frame("actuator_update", batch.station, a.tag,
                                   point_key('a', batch.station, a.slot, a.channel),
                                   ordered_json{{"rtu", batch.station},
                                                {"slot", a.slot},
                                                {"tag", a.tag},
                                                {"command", to_string(a.command)},
                                                {"pwm_duty", a.pwm_duty},
                                                {"forced", a.forced}},
                                   batch.produced_at_us));
  publish(st);
}

void on_rtu_event(self_ptr self, const rtu_event& ev) {
  auto& st = self->state;
  if (st.clients.empty())
    return;
  const std::string station_key = "|" + ev.station;
  st.frames.push_back(make_frame("rtu_state_change", ev.station, {}, "r" + station_key,
                                 ordered_json{{"station_name", ev.station},
                                              {"old_state", to_string(ev.old_state)},
                                              {"new_state", to_string(ev.new_state)},
                                              {"reason", ev.reason}},
                                 0));
  // rtu_connected and rtu_disconnected share a key: in a full queue the latest of the two wins.
  const bool was_running = ev.old_state == rtu_state::running;
  const bool is_running = ev.new_state == rtu_state::running;
  if (is_running && !was_running)
    st.frames.push_back(
        make_frame("rtu_connected", ev.station, {}, "c" + station_key,
                   ordered_json{{"station_name", ev.station}, {"ip_address", ev.ip_address}}, 0));
  else if (was_running && !is_running)
    st.frames.push_back(
        make_frame("rtu_disconnected", ev.station, {}, "c" + station_key,
                   ordered_json{{"station_name", ev.station}, {"reason", ev.reason}}, 0));
  publish(st);
}

void on_live_message(self_ptr self, const live_message& msg) {
  auto& st = self->state;
  // Checked even without clients: a broken producer should show up in the stats at once.
  if (msg.type.empty() || !nlohmann::json::accept(msg.data) || msg.data.front() != '{') {
    if (st.stats.frames_rejected++ == 0)
      spdlog::warn("live hub: dropped a '{}' message whose data is not a JSON object", msg.type);
    return;
  }
  if (st.clients.empty())
    return;
  auto frame = std::make_shared<live_frame>();
  frame->type = msg.type;
  frame->rtu = msg.rtu;
  frame->tag = msg.tag;
  frame->key = msg.key;
  frame->text = envelope(msg.type, msg.data);
  frame->produced_at_us = msg.produced_at_us;
  st.frames.push_back(std::move(frame));
  publish(st);
}

}  // namespace

live_hub_state::~live_hub_state() {
  for (auto& c : clients)
    c.sink->close("the live hub stopped");
}

live_hub_api::behavior_type live_hub(self_ptr self, live_hub_config config) {
  self->state.config = config;
  self->set_down_handler([self](caf::down_msg& down) {
    auto& st = self->state;
    if (!st.bus || down.source != st.bus.address())
      return;
    spdlog::warn("live hub: the field bus went down ({}); subscribing again once it is back",
                 self->system().render(down.reason));
    st.bus = nullptr;
    retry_subscription(self);
  });
  subscribe_to_bus(self);

  return {
      [self](const sample_batch& batch) { on_samples(self, batch); },
      [self](const actuator_batch& batch) { on_actuators(self, batch); },
      [self](const rtu_event& ev) { on_rtu_event(self, ev); },
      [self](const live_message& msg) { on_live_message(self, msg); },
      [self](caf::join_atom, live_client_ptr& client, live_filter& filter) {
        join(self, std::move(client), std::move(filter));
      },
      [self](caf::leave_atom, const live_client_ptr& client) { leave(self, client); },
      [self](subscribe_atom) { subscribe_to_bus(self); },
      [self](stats_atom) {
        return actor_stats{live_hub_state::name, mailbox_depth(self), 0};
      },
      [self](caf::get_atom, stats_atom) {
        auto& st = self->state;
        live_stats out = st.stats;
        out.clients = st.clients.size();
        out.bus_subscribed = static_cast<bool>(st.bus);
        out.frames_missed = st.missed_by_departed;
        for (const auto& c : st.clients)
          out.frames_missed += c.sink->missed();
        return out;
      },
  };
}

}  // namespace wtc
