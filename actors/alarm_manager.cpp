#include "actors/alarm_manager.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>
#include <utility>

#include <spdlog/spdlog.h>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <nlohmann/json.hpp>

#include "actors/audit.hpp"
#include "actors/mailbox_depth.hpp"
#include "actors/storage_access.hpp"
#include "core/time.hpp"
#include "messages/errors.hpp"
#include "messages/live.hpp"

namespace wtc {
namespace {

using self_ptr = caf::stateful_actor<alarm_manager_state>*;
using retry_atom = caf::atom_constant<caf::atom("alarmretry")>;
using tick_atom = caf::atom_constant<caf::atom("alarmtick")>;
using json = nlohmann::ordered_json;

constexpr auto storage_timeout = std::chrono::seconds(15);
constexpr std::int64_t day_ms = 86'400'000;
/// alarm_events.rtu_station is VARCHAR(32), and the registry takes no longer node name.
constexpr std::size_t max_node_name = 32;

// --- conversions between the rows and the evaluator's vocabulary ---

core::alarm_rule_spec spec_of(const alarm_rule_record& r) {
  core::alarm_rule_spec spec;
  spec.id = r.id;
  spec.name = r.name;
  spec.rtu_station = r.rtu_station;
  spec.slot = r.slot;
  spec.condition = r.condition;
  spec.threshold = r.threshold;
  spec.severity = r.severity;
  spec.delay_ms = r.delay_ms;
  spec.message = r.message;
  spec.enabled = r.enabled;
  if (r.has_deadband)
    spec.deadband = r.deadband;
  return spec;
}

core::slot_limits limits_of(const slot_config_record& c) {
  core::slot_limits l;
  l.id = c.id;
  l.rtu_station = c.rtu_station;
  l.slot = c.slot;
  l.name = c.name;
  l.unit = c.unit;
  l.measurement_type = c.measurement_type;
  l.scale_min = c.scale_min;
  l.scale_max = c.scale_max;
  const auto set = [](bool has, double v) { return has ? std::optional<double>(v) : std::nullopt; };
  l.alarm_low_low = set(c.has_alarm_low_low, c.alarm_low_low);
  l.alarm_low = set(c.has_alarm_low, c.alarm_low);
  l.warning_low = set(c.has_warning_low, c.warning_low);
  l.warning_high = set(c.has_warning_high, c.warning_high);
  l.alarm_high = set(c.has_alarm_high, c.alarm_high);
  l.alarm_high_high = set(c.has_alarm_high_high, c.alarm_high_high);
  l.deadband = c.deadband;
  l.enabled = c.enabled;
  return l;
}

core::maintenance_window window_of(const maintenance_record& r) {
  core::maintenance_window w;
  w.id = r.id;
  w.rtu_station = r.rtu_station;
  w.slot = r.slot;
  w.start_ms = r.start_time;
  w.end_ms = r.end_time;
  w.scheduled_by = r.scheduled_by;
  w.reason = r.reason;
  w.work_order = r.work_order;
  core::parse_maintenance_status(r.status, w.status);
  return w;
}

core::alarm_origin origin_of(const std::string& text) {
  if (text == "point_comm")
    return core::alarm_origin::point_comm;
  if (text == "rtu_comm")
    return core::alarm_origin::rtu_comm;
  if (text == "node_comm")
    return core::alarm_origin::node_comm;
  return core::alarm_origin::rule;
}

/// Whether a row is an edge node's alarm: its rtu_station is the node's name, not an RTU's.
bool is_node_alarm(const alarm_event_record& row) {
  return row.origin == core::to_string(core::alarm_origin::node_comm);
}

/// The station a live message of the row is filtered by: none for a node's alarm, which every
/// client sees (as node_state), whatever RTUs it follows.
std::string filter_station(const alarm_event_record& row) {
  return is_node_alarm(row) ? std::string() : row.rtu_station;
}

caf::error error_of(const core::alarm_outcome& outcome) {
  switch (outcome.code) {
    case core::alarm_errc::not_found:
      return make_error(errc::not_found, outcome.detail);
    case core::alarm_errc::conflict:
      return make_error(errc::conflict, outcome.detail);
    default:
      return make_error(errc::bad_request, outcome.detail);
  }
}

std::string text(std::string_view s) {
  return std::string(s);
}

bool same_target(const alarm_shelf_record& shelf, const std::string& station, std::int32_t slot,
                 std::int64_t rule_id) {
  return shelf.rtu_station == station && shelf.slot == slot && shelf.alarm_rule_id == rule_id;
}

// --- announcing ---

void announce(self_ptr self, const char* type, const std::string& station, json data) {
  auto hub = lookup<live_hub_api>(self->system(), names::live_hub);
  if (!hub)
    return;
  live_message msg;
  msg.type = type;
  msg.rtu = station;
  msg.data = data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  msg.produced_at_us = core::steady_us();
  caf::anon_send(hub, std::move(msg));
}

json nullable(bool has, double value) {
  return has ? json(value) : json();
}

json nullable_id(std::int64_t id) {
  return id > 0 ? json(id) : json();
}

void announce_raised(self_ptr self, const alarm_event_record& row) {
  announce(self, "alarm_raised", filter_station(row),
           json{{"alarm_id", row.id},
                {"alarm_rule_id", nullable_id(row.alarm_rule_id)},
                {"rtu_station", row.rtu_station},
                {"slot", row.slot},
                {"severity", row.severity},
                {"state", row.state},
                {"message", row.message},
                {"value", nullable(row.has_value, row.value_at_activation)},
                {"origin", row.origin},
                {"node", is_node_alarm(row) ? json(row.rtu_station) : json()},
                {"activated_at", core::format_iso8601(row.activated_at)}});
}

json shelf_json(const alarm_shelf_record& s) {
  return json{{"shelf_id", s.id},
              {"rtu_station", s.rtu_station},
              {"slot", s.slot},
              {"alarm_rule_id", s.alarm_rule_id != 0 ? json(s.alarm_rule_id) : json()},
              {"shelved_by", s.shelved_by},
              {"expires_at", core::format_iso8601(s.expires_at)},
              {"reason", s.reason}};
}

// --- writing: every change goes to storage in order, one batch (transaction) at a time ---

void flush(self_ptr self);

/// Runs `done` once everything changed so far is stored (with nullptr), or could not be (with the
/// error). The reply to an operator waits on this: what is acknowledged is stored.
void when_stored(self_ptr self, std::function<void(const caf::error*)> done) {
  self->state.unsent_replies.push_back(std::move(done));
  flush(self);
}

void flush(self_ptr self) {
  auto& st = self->state;
  if (st.writing)
    return;
  const bool nothing = st.unsent.events.empty() && st.unsent.shelves.empty() &&
                       st.unsent.windows.empty() && st.unsent.audits.empty();
  if (nothing) {
    for (auto& reply : std::exchange(st.unsent_replies, {}))
      reply(nullptr);
    return;
  }
  auto storage = storage_of(self);
  if (!storage) {
    self->delayed_send(self, st.config.retry_delay, retry_atom::value);
    return;
  }
  st.writing = true;
  st.in_flight = std::exchange(st.unsent, {});
  st.writing_replies = std::exchange(st.unsent_replies, {});
  self->request(storage, storage_timeout, st.in_flight)
      .then(
          [self](caf::ok_atom) {
            auto& s = self->state;
            s.writing = false;
            s.in_flight = {};
            for (auto& reply : std::exchange(s.writing_replies, {}))
              reply(nullptr);
            // An operator waiting goes next; the evaluator's changes wait for the tick.
            if (!s.unsent_replies.empty())
              flush(self);
          },
          [self](caf::error& err) {
            auto& s = self->state;
            s.writing = false;
            if (err.category() == caf::atom("wtc") &&
                static_cast<errc>(err.code()) == errc::bad_request) {
              // A row storage refuses will be refused again: report it and drop the batch.
              spdlog::error("alarms: storage refused a batch of alarm changes: {}",
                            self->system().render(err));
              s.in_flight = {};
              for (auto& reply : std::exchange(s.writing_replies, {}))
                reply(&err);
              flush(self);
              return;
            }
            spdlog::warn("alarms: alarm changes not stored ({}); retrying",
                         self->system().render(err));
            // Rows are whole and written by id: the older batch goes first, then the newer.
            auto& failed = s.in_flight;
            failed.events.insert(failed.events.end(), s.unsent.events.begin(),
                                 s.unsent.events.end());
            failed.shelves.insert(failed.shelves.end(), s.unsent.shelves.begin(),
                                  s.unsent.shelves.end());
            failed.windows.insert(failed.windows.end(), s.unsent.windows.begin(),
                                  s.unsent.windows.end());
            failed.audits.insert(failed.audits.end(), s.unsent.audits.begin(),
                                 s.unsent.audits.end());
            s.unsent = std::exchange(s.in_flight, {});
            auto replies = std::exchange(s.writing_replies, {});
            for (auto& reply : s.unsent_replies)
              replies.push_back(std::move(reply));
            s.unsent_replies = std::move(replies);
            self->delayed_send(self, s.config.retry_delay, retry_atom::value);
          });
}

// --- the evaluator's transitions: rows to write, messages to announce ---

void note_annunciation(self_ptr self, std::int64_t at) {
  auto& st = self->state;
  if (st.flood.record(at) == core::flood_detector::change::started) {
    st.flood_since = at;
    ++st.floods;
    spdlog::warn("alarms: alarm flood: {} alarms in 10 minutes", st.flood.count(at));
    announce(self, "alarm_flood", {},
             json{{"flood", true},
                  {"alarms_last_10_min", st.flood.count(at)},
                  {"since", core::format_iso8601(at)}});
  }
}

/// The alarm_events row of a new occurrence (raised) or of a suppressed one, with the next id.
alarm_event_record new_row(self_ptr self, const core::alarm_transition& t) {
  alarm_event_record row;
  row.id = self->state.next_event_id++;
  row.alarm_rule_id = t.rule_id > 0 ? t.rule_id : 0;
  row.source_rule_id = t.rule_id;
  row.origin = text(core::to_string(t.origin));
  row.rtu_station = t.rtu_station;
  row.slot = t.slot;
  row.state = text(core::to_string(t.state));
  row.severity = text(core::to_string(t.severity));
  row.has_value = !std::isnan(t.value);
  row.value_at_activation = row.has_value ? t.value : 0.0;
  row.message = t.text;
  row.activated_at = t.at_ms;
  return row;
}

void take(self_ptr self, const std::vector<core::alarm_transition>& transitions,
          std::int64_t produced_at_us = 0) {
  using kind = core::alarm_event_kind;
  auto& st = self->state;
  for (const auto& t : transitions) {
    switch (t.kind) {
      case kind::raised: {
        auto row = new_row(self, t);
        row.listed = true;
        st.occurrence_of[row.id] = t.occurrence;
        st.unsent.events.push_back(row);
        announce_raised(self, row);
        if (produced_at_us > 0 && st.config.raise_latency)
          st.config.raise_latency->record(core::steady_us() - produced_at_us);
        note_annunciation(self, t.at_ms);
        st.open[t.occurrence] = std::move(row);
        break;
      }
      case kind::returned:
      case kind::cleared:
      case kind::acknowledged:
      case kind::withdrawn: {
        auto found = st.open.find(t.occurrence);
        if (found == st.open.end()) {
          spdlog::error("alarms: {} of unknown occurrence {}", core::to_string(t.kind),
                        t.occurrence);
          break;
        }
        auto& row = found->second;
        row.state = text(core::to_string(t.state));
        row.listed = t.listed;
        if (t.kind == kind::returned)
          row.cleared_at = 0;
        if (t.kind == kind::cleared || t.kind == kind::withdrawn)
          row.cleared_at = t.at_ms;
        if (t.kind == kind::acknowledged) {
          row.acknowledged_at = t.at_ms;
          row.acknowledged_by = t.by;
          if (!t.text.empty())
            row.note = t.text;
        }
        if (t.kind == kind::withdrawn)
          row.note = (row.note.empty() ? "" : row.note + "; ") +
                     "withdrawn: " + text(core::to_string(t.cause)) +
                     (t.ref_id != 0 ? " " + std::to_string(t.ref_id) : "");
        st.unsent.events.push_back(row);
        if (t.kind == kind::returned) {
          announce_raised(self, row);
          if (produced_at_us > 0 && st.config.raise_latency)
            st.config.raise_latency->record(core::steady_us() - produced_at_us);
          note_annunciation(self, t.at_ms);
        } else if (t.kind == kind::acknowledged) {
          announce(self, "alarm_acknowledged", filter_station(row),
                   json{{"alarm_id", row.id},
                        {"acknowledged_by", row.acknowledged_by},
                        {"state", row.state},
                        {"acknowledged_at", core::format_iso8601(row.acknowledged_at)}});
        } else {
          announce(self, "alarm_cleared", filter_station(row),
                   json{{"alarm_id", row.id},
                        {"state", row.state},
                        {"cleared_at", core::format_iso8601(row.cleared_at)},
                        {"reason", text(core::to_string(t.cause))}});
        }
        if (!row.listed) {
          st.occurrence_of.erase(row.id);
          st.open.erase(found);
        }
        break;
      }
      case kind::suppressed: {
        // What a shelf or a window held back: recorded, never listed, never announced.
        auto row = new_row(self, t);
        row.state = "CLEARED";
        row.cleared_at = t.at_ms;
        row.suppressed_by = t.cause == core::alarm_cause::maintenance
                                ? "maintenance " + std::to_string(t.ref_id)
                                : "shelf";
        st.unsent.events.push_back(std::move(row));
        break;
      }
      case kind::shelved: {
        for (const auto& [id, shelf] : st.shelves)
          if (same_target(shelf, t.rtu_station, t.slot, t.rule_id))
            announce(self, "alarm_shelved", shelf.rtu_station, shelf_json(shelf));
        break;
      }
      case kind::unshelved: {
        for (auto it = st.shelves.begin(); it != st.shelves.end(); ++it) {
          if (!same_target(it->second, t.rtu_station, t.slot, t.rule_id))
            continue;
          it->second.active = false;
          st.unsent.shelves.push_back(it->second);
          auto data = shelf_json(it->second);
          data["reason"] = text(core::to_string(t.cause));
          data["unshelved_by"] = t.by.empty() ? json() : json(t.by);
          announce(self, "alarm_unshelved", it->second.rtu_station, std::move(data));
          st.shelves.erase(it);
          break;
        }
        break;
      }
      case kind::maintenance_started:
      case kind::maintenance_ended: {
        auto found = st.windows.find(t.ref_id);
        if (found == st.windows.end())
          break;
        auto& w = found->second;
        w.status = text(core::to_string(t.window_status));
        if (t.kind == kind::maintenance_started) {
          w.activated_at = t.at_ms;
        } else if (t.window_status == core::maintenance_status::cancelled) {
          w.cancelled_at = t.at_ms;
          w.cancelled_by = t.by;
        } else {
          w.completed_at = t.at_ms;
        }
        spdlog::info("alarms: maintenance window {} on {} slot {}: {}", w.id, w.rtu_station, w.slot,
                     w.status);
        st.unsent.windows.push_back(w);
        if (t.kind == kind::maintenance_ended)
          st.windows.erase(found);
        break;
      }
    }
  }
}

// --- start-up ---

/// Puts back what storage holds, in the order docs/alarms.md gives: rules and slot configs,
/// windows, shelves, then the listed alarms.
void restore(self_ptr self, alarm_restore& saved) {
  auto& st = self->state;
  const auto now = core::now_ms();
  st.next_event_id = saved.next_event_id;
  st.next_shelf_id = saved.next_shelf_id;
  st.next_window_id = saved.next_window_id;
  for (auto& rule : saved.rules) {
    auto parsed = core::parse_rule(spec_of(rule));
    if (!parsed.rule) {
      spdlog::error("alarms: rule {} ('{}') is not valid and is not evaluated: {}", rule.id,
                    rule.name, parsed.error);
    } else {
      take(self, st.evaluator.upsert_rule(*parsed.rule, now).transitions);
    }
    st.rules[rule.id] = std::move(rule);
  }
  for (auto& config : saved.slot_configs) {
    auto outcome = st.evaluator.set_slot_limits(limits_of(config), now);
    if (!outcome.ok())
      spdlog::error("alarms: slot config {} ({} slot {}) implies no alarms: {}", config.id,
                    config.rtu_station, config.slot, outcome.detail);
    take(self, outcome.transitions);
    st.slot_configs[config.id] = std::move(config);
  }
  for (auto& w : saved.open_windows) {
    st.windows[w.id] = w;
    auto outcome = st.evaluator.add_maintenance(window_of(w), now);
    if (outcome.ok()) {
      take(self, outcome.transitions);
      continue;
    }
    // It ended while wtcd was down.
    spdlog::info("alarms: maintenance window {} ended while wtcd was down", w.id);
    auto& kept = st.windows[w.id];
    if (kept.status == "ACTIVE" || w.end_time <= now) {
      kept.status = "COMPLETED";
      kept.completed_at = now;
    }
    st.unsent.windows.push_back(kept);
    st.windows.erase(w.id);
  }
  for (auto& shelf : saved.active_shelves) {
    core::shelf_request req{shelf.rtu_station, shelf.slot,   shelf.alarm_rule_id,
                            shelf.shelved_by,  shelf.reason, shelf.expires_at - now};
    if (shelf.expires_at > now) {
      st.shelves[shelf.id] = shelf;
      auto outcome = st.evaluator.shelve(req, now);
      if (outcome.ok()) {
        take(self, outcome.transitions);
        continue;
      }
      st.shelves.erase(shelf.id);
    }
    shelf.active = false;
    st.unsent.shelves.push_back(shelf);
  }
  for (auto& row : saved.listed_events) {
    core::restored_alarm a;
    a.origin = origin_of(row.origin);
    a.rule_id = row.source_rule_id;
    a.rtu_station = row.rtu_station;
    a.slot = row.slot;
    a.active = row.state != "CLEARED";
    a.acknowledged = row.acknowledged_at != 0;
    a.activated_at = row.activated_at;
    if (row.has_value)
      a.value = row.value_at_activation;
    a.message = row.message;
    if (auto occurrence = st.evaluator.restore_alarm(a); occurrence != 0) {
      st.occurrence_of[row.id] = occurrence;
      st.open[occurrence] = std::move(row);
      continue;
    }
    // Its rule was deleted or disabled meanwhile: the alarm leaves the list.
    row.listed = false;
    if (row.state != "CLEARED") {
      row.state = "CLEARED";
      row.cleared_at = now;
    }
    row.note = (row.note.empty() ? "" : row.note + "; ") + "withdrawn: rule_changed";
    st.unsent.events.push_back(std::move(row));
  }
  st.loaded = true;
  spdlog::info("alarms: {} rules, {} slot configs, {} listed alarms, {} shelves, {} windows",
               st.rules.size(), st.slot_configs.size(), st.open.size(), st.shelves.size(),
               st.windows.size());
  flush(self);
}

/// The RTUs' current states: an RTU that is down when wtcd starts raises its alarm like one
/// that goes down later.
void read_rtu_states(self_ptr self) {
  auto rtus = lookup<rtus_api>(self->system(), names::rtus);
  if (!rtus)
    return;
  self->request(rtus, storage_timeout, caf::get_atom::value, rtus_atom::value)
      .then(
          [self](std::vector<rtu_record>& list) {
            const auto now = core::now_ms();
            for (const auto& rtu : list)
              take(self, self->state.evaluator.on_rtu_state(rtu.station_name, rtu.state, now));
            flush(self);
          },
          [](caf::error&) {});
}

caf::error not_loaded() {
  return make_error(errc::unavailable, "the alarm manager is starting");
}

/// A rule as the evaluator takes it, or the reason it cannot be one.
std::optional<core::alarm_rule> parse(const alarm_rule_record& rule, std::string& why) {
  auto parsed = core::parse_rule(spec_of(rule));
  why = std::move(parsed.error);
  return parsed.rule;
}

json rule_details(const alarm_rule_record& r) {
  return json{{"name", r.name},           {"rtu_station", r.rtu_station}, {"slot", r.slot},
              {"condition", r.condition}, {"threshold", r.threshold},     {"severity", r.severity},
              {"delay_ms", r.delay_ms},   {"enabled", r.enabled}};
}

/// A rule storage has accepted: the evaluator takes it (its transitions go out) and the read
/// model keeps it.
alarm_rule_record run_stored_rule(self_ptr self, alarm_rule_record stored) {
  std::string unused;
  if (auto parsed = parse(stored, unused))
    take(self, self->state.evaluator.upsert_rule(*parsed, core::now_ms()).transitions);
  self->state.rules[stored.id] = stored;
  flush(self);
  return stored;
}

/// Answers `promise` with `value` once everything changed so far is stored, or with the error.
template <class T>
void reply_when_stored(self_ptr self, caf::typed_response_promise<T> promise, T value) {
  when_stored(self, [promise, value](const caf::error* err) mutable {
    if (err)
      promise.deliver(*err);
    else
      promise.deliver(value);
  });
}

/// Loads the stored state and subscribes, before anything else is handled.
void start(self_ptr self, alarm_manager_config config) {
  auto& st = self->state;
  st.config = std::move(config);
  st.evaluator = core::alarm_evaluator(st.config.policy);
  st.bus =
      bus_subscription({}, topics::samples | topics::rtu_events, std::chrono::milliseconds(250));
  auto storage = storage_of(self);
  if (!storage)
    throw std::runtime_error("alarms: storage is not running");
  self->request(storage, storage_timeout, caf::get_atom::value, alarm_state_atom::value)
      .await(
          [self](alarm_restore& saved) {
            restore(self, saved);
            self->state.bus.subscribe(self);
            read_rtu_states(self);
          },
          [self](caf::error& err) {
            spdlog::critical("alarms: cannot load the alarm state: {}", self->system().render(err));
            self->quit(err);
          });
  self->delayed_send(self, st.config.tick_interval, tick_atom::value);
}

}  // namespace

caf::behavior alarm_manager(caf::stateful_actor<alarm_manager_state>* self,
                            alarm_manager_config initial) {
  start(self, std::move(initial));
  self->set_default_handler(caf::print_and_drop);
  self->set_down_handler([self](caf::down_msg& down) { self->state.bus.on_down(self, down); });

  return {
      [self](subscribe_atom) { self->state.bus.subscribe(self); },
      [self](retry_atom) { flush(self); },
      [self](tick_atom) {
        auto& s = self->state;
        const auto now = core::now_ms();
        if (s.evaluator.next_due_ms() <= now)
          take(self, s.evaluator.tick(now));
        if (s.flood.update(now) == core::flood_detector::change::ended) {
          spdlog::info("alarms: the alarm flood is over");
          s.flood_since = 0;
          announce(self, "alarm_flood", {},
                   json{{"flood", false}, {"alarms_last_10_min", s.flood.count(now)}});
        }
        flush(self);
        self->delayed_send(self, s.config.tick_interval, tick_atom::value);
      },
      // --- from the field bus ---
      [self](const sample_batch& batch) {
        auto& st = self->state;
        const auto station = st.evaluator.find_station(batch.station);
        if (station == core::alarm_evaluator::no_station)
          return;
        const auto now = core::now_ms();
        // Announced now, written with the next tick's batch: an alarm flood becomes ten
        // transactions a second, not one per alarm.
        for (const auto& s : batch.samples) {
          if (s.channel != 0)
            continue;  // a slot's first channel is its value (docs/register-map.md)
          auto transitions = st.evaluator.on_sample(station, s.slot, s.value, s.q, now);
          if (!transitions.empty())
            take(self, transitions, batch.produced_at_us);
        }
      },
      [self](const rtu_event& event) {
        take(self,
             self->state.evaluator.on_rtu_state(event.station, event.new_state, core::now_ms()));
      },
      [](const actuator_batch&) {},
      // --- from the node registry: an edge node's link lost (reachable false) or back ---
      // The reason (the link's own words, such as a heartbeat timeout) is not in the alarm: its
      // message stays one text per node, and the node's page and node_state give the reason.
      [self](node_atom, const std::string& node, bool reachable, const std::string&) {
        if (node.empty() || node.size() > max_node_name) {
          spdlog::warn("alarms: ignored the link state of a node named '{}'", node);
          return;
        }
        take(self, self->state.evaluator.on_node_link(node, reachable, core::now_ms()));
      },
      // --- alarm_api: the active list and acknowledgment ---
      [self](caf::get_atom, alarms_atom, const std::string& severity, const std::string& station,
             const std::string& state) -> caf::result<std::vector<alarm_event_record>> {
        if (!self->state.loaded)
          return not_loaded();
        std::vector<alarm_event_record> out;
        for (const auto& [occurrence, row] : self->state.open)
          if ((severity.empty() || row.severity == severity) &&
              (station.empty() || row.rtu_station == station) &&
              (state.empty() || row.state == state))
            out.push_back(row);
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
          return a.activated_at != b.activated_at ? a.activated_at > b.activated_at : a.id > b.id;
        });
        return out;
      },
      [self](ack_atom, std::int64_t id, const std::string& note,
             const request_origin& origin) -> caf::result<alarm_event_record> {
        auto& st = self->state;
        if (!st.loaded)
          return not_loaded();
        auto found = st.occurrence_of.find(id);
        if (found == st.occurrence_of.end()) {
          if (id > 0 && id < st.next_event_id)
            return make_error(errc::bad_request,
                              "alarm " + std::to_string(id) +
                                  " is not in the active list: it was acknowledged and cleared, "
                                  "or shelved, suppressed or withdrawn");
          return make_error(errc::not_found, "no alarm " + std::to_string(id));
        }
        auto outcome =
            st.evaluator.acknowledge(found->second, origin.username, note, core::now_ms());
        if (!outcome.ok())
          return error_of(outcome);
        take(self, outcome.transitions);
        alarm_event_record acknowledged;
        for (const auto& row : st.unsent.events)
          if (row.id == id)
            acknowledged = row;
        st.unsent.audits.push_back(
            audit_of(origin, "alarm_acknowledge", "alarm", std::to_string(id),
                     json{{"note", note}, {"message", acknowledged.message}}.dump(
                         -1, ' ', false, nlohmann::json::error_handler_t::replace)));
        auto promise = self->make_response_promise<alarm_event_record>();
        reply_when_stored(self, promise, acknowledged);
        return promise;
      },
      // --- rules ---
      [self](caf::get_atom, alarm_rule_atom) {
        std::vector<alarm_rule_record> out;
        for (const auto& [id, rule] : self->state.rules)
          out.push_back(rule);
        return out;
      },
      [self](caf::get_atom, alarm_rule_atom, std::int64_t id) -> caf::result<alarm_rule_record> {
        auto found = self->state.rules.find(id);
        if (found == self->state.rules.end())
          return make_error(errc::not_found, "no alarm rule " + std::to_string(id));
        return found->second;
      },
      [self](create_atom, alarm_rule_record rule,
             const request_origin& origin) -> caf::result<alarm_rule_record> {
        if (!self->state.loaded)
          return not_loaded();
        rule.id = 0;
        rule.created_at = rule.updated_at = core::now_ms();
        std::string why;
        if (!parse(rule, why))
          return make_error(errc::bad_request, why);
        auto storage = storage_of(self);
        if (!storage)
          return storage_restarting();
        auto promise = self->make_response_promise<alarm_rule_record>();
        auto audit = audit_of(origin, "alarm_rule_create", "alarm_rule", rule.name,
                              rule_details(rule).dump());
        self->request(storage, storage_timeout, create_atom::value, rule, std::move(audit))
            .then(
                [self, promise](alarm_rule_record& stored) mutable {
                  promise.deliver(run_stored_rule(self, std::move(stored)));
                },
                [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
        return promise;
      },
      [self](caf::update_atom, alarm_rule_record rule,
             const request_origin& origin) -> caf::result<alarm_rule_record> {
        auto& st = self->state;
        if (!st.loaded)
          return not_loaded();
        auto found = st.rules.find(rule.id);
        if (found == st.rules.end())
          return make_error(errc::not_found, "no alarm rule " + std::to_string(rule.id));
        rule.created_at = found->second.created_at;
        std::string why;
        if (!parse(rule, why))
          return make_error(errc::bad_request, why);
        auto storage = storage_of(self);
        if (!storage)
          return storage_restarting();
        auto promise = self->make_response_promise<alarm_rule_record>();
        auto audit = audit_of(origin, "alarm_rule_update", "alarm_rule", std::to_string(rule.id),
                              rule_details(rule).dump());
        self->request(storage, storage_timeout, caf::update_atom::value, rule, std::move(audit))
            .then(
                [self, promise](alarm_rule_record& stored) mutable {
                  promise.deliver(run_stored_rule(self, std::move(stored)));
                },
                [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
        return promise;
      },
      [self](caf::delete_atom, alarm_rule_atom, std::int64_t id,
             const request_origin& origin) -> caf::result<caf::ok_atom> {
        auto& st = self->state;
        if (!st.loaded)
          return not_loaded();
        auto found = st.rules.find(id);
        if (found == st.rules.end())
          return make_error(errc::not_found, "no alarm rule " + std::to_string(id));
        auto storage = storage_of(self);
        if (!storage)
          return storage_restarting();
        auto promise = self->make_response_promise<caf::ok_atom>();
        auto audit = audit_of(origin, "alarm_rule_delete", "alarm_rule", std::to_string(id),
                              rule_details(found->second).dump());
        self->request(storage, storage_timeout, caf::delete_atom::value, alarm_rule_atom::value, id,
                      std::move(audit))
            .then(
                [self, promise, id](caf::ok_atom) mutable {
                  take(self, self->state.evaluator.remove_rule(id, core::now_ms()).transitions);
                  self->state.rules.erase(id);
                  flush(self);
                  promise.deliver(caf::ok_atom::value);
                },
                [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
        return promise;
      },
      [self](caf::put_atom, slot_config_record config,
             const request_origin& origin) -> caf::result<slot_config_record> {
        if (!self->state.loaded)
          return not_loaded();
        if (auto why = core::validate_slot_limits(limits_of(config)); !why.empty())
          return make_error(errc::bad_request, why);
        auto storage = storage_of(self);
        if (!storage)
          return storage_restarting();
        if (config.created_at == 0)
          config.created_at = core::now_ms();
        auto promise = self->make_response_promise<slot_config_record>();
        auto audit = audit_of(origin, "slot_config_update", "slot_config",
                              config.rtu_station + "/" + std::to_string(config.slot));
        self->request(storage, storage_timeout, caf::put_atom::value, config, std::move(audit))
            .then(
                [self, promise](slot_config_record& stored) mutable {
                  auto outcome =
                      self->state.evaluator.set_slot_limits(limits_of(stored), core::now_ms());
                  take(self, outcome.transitions);
                  self->state.slot_configs[stored.id] = stored;
                  flush(self);
                  promise.deliver(stored);
                },
                [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
        return promise;
      },
      // --- shelving ---
      [self](caf::get_atom, shelf_atom) {
        std::vector<alarm_shelf_record> out;
        for (const auto& [id, shelf] : self->state.shelves)
          out.push_back(shelf);
        return out;
      },
      [self](shelf_atom, alarm_shelf_record shelf,
             const request_origin& origin) -> caf::result<alarm_shelf_record> {
        auto& st = self->state;
        if (!st.loaded)
          return not_loaded();
        const auto now = core::now_ms();
        shelf.id = st.next_shelf_id;
        shelf.shelved_by = origin.username;
        shelf.shelved_at = now;
        shelf.expires_at = now + std::int64_t{shelf.shelf_duration_minutes} * 60'000;
        shelf.active = true;
        core::shelf_request req{
            shelf.rtu_station, shelf.slot,   shelf.alarm_rule_id,
            shelf.shelved_by,  shelf.reason, std::int64_t{shelf.shelf_duration_minutes} * 60'000};
        // A shelf on the same target is replaced: its row ends, the new one starts.
        std::vector<alarm_shelf_record> replaced;
        for (auto it = st.shelves.begin(); it != st.shelves.end();)
          if (same_target(it->second, shelf.rtu_station, shelf.slot, shelf.alarm_rule_id)) {
            replaced.push_back(it->second);
            it = st.shelves.erase(it);
          } else {
            ++it;
          }
        st.shelves[shelf.id] = shelf;
        auto outcome = st.evaluator.shelve(req, now);
        if (!outcome.ok()) {
          st.shelves.erase(shelf.id);
          for (auto& old : replaced)
            st.shelves[old.id] = std::move(old);
          return error_of(outcome);
        }
        ++st.next_shelf_id;
        for (auto& old : replaced) {
          old.active = false;
          st.unsent.shelves.push_back(std::move(old));
        }
        st.unsent.shelves.push_back(shelf);
        take(self, outcome.transitions);
        st.unsent.audits.push_back(
            audit_of(origin, "alarm_shelve", "alarm_shelf", std::to_string(shelf.id),
                     json{{"rtu_station", shelf.rtu_station},
                          {"slot", shelf.slot},
                          {"alarm_rule_id", shelf.alarm_rule_id},
                          {"minutes", shelf.shelf_duration_minutes},
                          {"reason", shelf.reason}}
                         .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
        auto promise = self->make_response_promise<alarm_shelf_record>();
        reply_when_stored(self, promise, shelf);
        return promise;
      },
      [self](unshelve_atom, std::int64_t id,
             const request_origin& origin) -> caf::result<alarm_shelf_record> {
        auto& st = self->state;
        if (!st.loaded)
          return not_loaded();
        auto found = st.shelves.find(id);
        if (found == st.shelves.end())
          return make_error(errc::not_found, "no active shelf " + std::to_string(id));
        auto shelf = found->second;
        auto outcome = st.evaluator.unshelve(shelf.rtu_station, shelf.slot, shelf.alarm_rule_id,
                                             origin.username, core::now_ms());
        if (!outcome.ok())
          return error_of(outcome);
        take(self, outcome.transitions);
        shelf.active = false;
        st.unsent.audits.push_back(
            audit_of(origin, "alarm_unshelve", "alarm_shelf", std::to_string(id)));
        auto promise = self->make_response_promise<alarm_shelf_record>();
        reply_when_stored(self, promise, shelf);
        return promise;
      },
      // --- maintenance windows ---
      [self](maintenance_atom, maintenance_record window,
             const request_origin& origin) -> caf::result<maintenance_record> {
        auto& st = self->state;
        if (!st.loaded)
          return not_loaded();
        const auto now = core::now_ms();
        window.id = st.next_window_id;
        window.scheduled_by = origin.username;
        window.scheduled_at = now;
        window.status = "SCHEDULED";
        window.activated_at = window.completed_at = window.cancelled_at = 0;
        window.cancelled_by.clear();
        st.windows[window.id] = window;
        auto outcome = st.evaluator.add_maintenance(window_of(window), now);
        if (!outcome.ok()) {
          st.windows.erase(window.id);
          return error_of(outcome);
        }
        ++st.next_window_id;
        st.unsent.windows.push_back(window);
        take(self, outcome.transitions);
        // A window that starts now applies now, not at the next tick: no sample slips through.
        if (window.start_time <= now)
          take(self, st.evaluator.tick(now));
        st.unsent.audits.push_back(
            audit_of(origin, "maintenance_schedule", "maintenance", std::to_string(window.id),
                     json{{"rtu_station", window.rtu_station},
                          {"slot", window.slot},
                          {"start_time", core::format_iso8601(window.start_time)},
                          {"end_time", core::format_iso8601(window.end_time)},
                          {"work_order", window.work_order},
                          {"reason", window.reason}}
                         .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
        auto promise = self->make_response_promise<maintenance_record>();
        when_stored(self, [self, promise, window](const caf::error* err) mutable {
          if (err) {
            promise.deliver(*err);
            return;
          }
          auto now_open = self->state.windows.find(window.id);
          promise.deliver(now_open != self->state.windows.end() ? now_open->second : window);
        });
        return promise;
      },
      [self](cancel_atom, std::int64_t id,
             const request_origin& origin) -> caf::result<maintenance_record> {
        auto& st = self->state;
        if (!st.loaded)
          return not_loaded();
        auto found = st.windows.find(id);
        if (found == st.windows.end())
          return make_error(errc::not_found,
                            "no scheduled or active maintenance window " + std::to_string(id));
        auto outcome = st.evaluator.cancel_maintenance(id, origin.username, core::now_ms());
        if (!outcome.ok())
          return error_of(outcome);
        take(self, outcome.transitions);
        maintenance_record cancelled;
        for (const auto& w : st.unsent.windows)
          if (w.id == id)
            cancelled = w;
        st.unsent.audits.push_back(
            audit_of(origin, "maintenance_cancel", "maintenance", std::to_string(id)));
        auto promise = self->make_response_promise<maintenance_record>();
        reply_when_stored(self, promise, cancelled);
        return promise;
      },
      // --- statistics ---
      [self](caf::get_atom, stats_atom, alarm_atom) -> caf::result<alarm_statistics> {
        auto& st = self->state;
        const auto now = core::now_ms();
        const auto counts = st.evaluator.counts();
        alarm_statistics out;
        out.rules = static_cast<std::int64_t>(st.evaluator.rule_count());
        out.listed = static_cast<std::int64_t>(counts.listed());
        out.unacknowledged = static_cast<std::int64_t>(counts.unacknowledged);
        out.acknowledged = static_cast<std::int64_t>(counts.acknowledged);
        out.returned_unacknowledged = static_cast<std::int64_t>(counts.returned_unacknowledged);
        out.shelved = static_cast<std::int64_t>(counts.shelved);
        out.out_of_service = static_cast<std::int64_t>(counts.out_of_service);
        out.suppressed_by_design = static_cast<std::int64_t>(counts.suppressed_by_design);
        std::map<std::string, std::int64_t> by_severity{
            {"LOW", 0}, {"MEDIUM", 0}, {"HIGH", 0}, {"CRITICAL", 0}};
        std::map<std::string, std::int64_t> by_state{
            {"ACTIVE", 0}, {"ACKNOWLEDGED", 0}, {"CLEARED", 0}};
        std::map<std::string, std::int64_t> by_rtu;
        for (const auto& [occurrence, row] : st.open) {
          ++by_severity[row.severity];
          ++by_state[row.state];
          if (!is_node_alarm(row))  // a node is not an RTU, even one of the same name
            ++by_rtu[row.rtu_station];
        }
        out.by_severity.assign(by_severity.begin(), by_severity.end());
        out.by_state.assign(by_state.begin(), by_state.end());
        out.by_rtu.assign(by_rtu.begin(), by_rtu.end());
        out.annunciated_last_10_min = static_cast<std::int64_t>(st.flood.count(now));
        out.flood = st.flood.in_flood();
        out.flood_since = st.flood_since;
        out.floods = st.floods;
        auto storage = storage_of(self);
        if (!storage)
          return storage_restarting();
        auto promise = self->make_response_promise<alarm_statistics>();
        self->request(storage, storage_timeout, caf::get_atom::value, alarm_rate_atom::value,
                      now - day_ms)
            .then(
                [promise, out](std::int64_t count) mutable {
                  out.annunciated_last_24_h = count;
                  promise.deliver(out);
                },
                [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
        return promise;
      },
      [self](stats_atom) -> actor_stats {
        return {alarm_manager_state::name, mailbox_depth(self), self->state.restarts};
      },
  };
}

}  // namespace wtc
