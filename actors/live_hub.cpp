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
  return make_live_frame(std::string(type), rtu, tag, std::move(key), envelope(type, dump(data)),
                         produced_at_us);
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

/// Whether anyone would receive what the hub serialises.
bool has_readers(const live_hub_state& st) {
  return st.config.board && st.config.board->has_readers();
}

/// Puts the frames gathered in `st.frames` on the board, then clears them.
void publish(live_hub_state& st) {
  if (st.frames.empty())
    return;  // a cycle in which nothing changed
  st.stats.frames_built += st.frames.size();
  st.config.board->publish(st.frames);
  st.frames.clear();
}

void subscribe_to_bus(self_ptr self) {
  auto& st = self->state;
  switch (st.bus.subscribe(self)) {
    case bus_subscription::outcome::subscribed:
      st.waiting_logged = false;
      ++st.stats.bus_subscriptions;
      spdlog::debug("live hub: subscribed to the field bus");
      break;
    case bus_subscription::outcome::waiting:
      if (!st.waiting_logged)
        spdlog::info("live hub: waiting for the field bus");
      st.waiting_logged = true;
      break;
    case bus_subscription::outcome::already:
      break;
  }
}

void on_samples(self_ptr self, const sample_batch& batch) {
  auto& st = self->state;
  if (!has_readers(st))
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
  if (!has_readers(st))
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
  if (!has_readers(st))
    return;
  // Transitions are events, not values: none supersedes another, so every client sees each one.
  st.frames.push_back(make_frame("rtu_state_change", ev.station, {}, {},
                                 ordered_json{{"station_name", ev.station},
                                              {"old_state", to_string(ev.old_state)},
                                              {"new_state", to_string(ev.new_state)},
                                              {"reason", ev.reason}},
                                 0));
  const bool was_running = ev.old_state == rtu_state::running;
  const bool is_running = ev.new_state == rtu_state::running;
  if (is_running && !was_running)
    st.frames.push_back(
        make_frame("rtu_connected", ev.station, {}, {},
                   ordered_json{{"station_name", ev.station}, {"ip_address", ev.ip_address}}, 0));
  else if (was_running && !is_running)
    st.frames.push_back(
        make_frame("rtu_disconnected", ev.station, {}, {},
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
  if (!has_readers(st))
    return;
  st.frames.push_back(make_live_frame(msg.type, msg.rtu, msg.tag, msg.key,
                                      envelope(msg.type, msg.data), msg.produced_at_us));
  publish(st);
}

}  // namespace

live_hub_api::behavior_type live_hub(self_ptr self, live_hub_config config) {
  self->state.config = config;
  self->state.bus = bus_subscription(std::string{}, topics::all, config.resubscribe_delay);
  self->set_down_handler([self](caf::down_msg& down) {
    if (self->state.bus.on_down(self, down))
      spdlog::warn("live hub: the field bus went down ({}); subscribing again once it is back",
                   self->system().render(down.reason));
  });
  subscribe_to_bus(self);

  return {
      [self](const sample_batch& batch) { on_samples(self, batch); },
      [self](const actuator_batch& batch) { on_actuators(self, batch); },
      [self](const rtu_event& ev) { on_rtu_event(self, ev); },
      [self](const live_message& msg) { on_live_message(self, msg); },
      [self](subscribe_atom) { subscribe_to_bus(self); },
      [self](stats_atom) {
        return actor_stats{live_hub_state::name, mailbox_depth(self), 0};
      },
      [self](caf::get_atom, stats_atom) {
        auto& st = self->state;
        live_stats out = st.stats;
        out.bus_subscribed = st.bus.subscribed();
        if (st.config.board) {
          const auto board = st.config.board->stats();
          out.clients = board.readers;
          out.frames_delivered = board.frames_sent;
          out.frames_missed = board.frames_missed;
        }
        return out;
      },
  };
}

}  // namespace wtc
