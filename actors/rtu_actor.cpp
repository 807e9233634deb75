#include "actors/rtu_actor.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>

#include <spdlog/spdlog.h>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>

#include "actors/audit.hpp"
#include "actors/storage_access.hpp"
#include "core/scaling.hpp"
#include "core/time.hpp"
#include "messages/errors.hpp"

namespace wtc {
namespace {

using self_ptr = caf::stateful_actor<rtu_actor_state>*;

using retry_atom = caf::atom_constant<caf::atom("retry")>;

using core::steady_us;

/// At most `limit` bytes, cut on a UTF-8 character boundary (a split character would make
/// PostgreSQL refuse the row, and the state change with it).
std::string truncated(std::string text, std::size_t limit) {
  if (text.size() <= limit)
    return text;
  std::size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
    --cut;
  text.resize(cut);
  return text;
}

std::string hex16(std::uint16_t value) {
  static const char* digits = "0123456789ABCDEF";
  std::string text = "0x0000";
  for (int i = 0; i < 4; ++i)
    text[5 - i] = digits[(value >> (4 * i)) & 0xF];
  return text;
}

template <class Message>
void publish(self_ptr self, Message&& msg) {
  if (auto bus = lookup<field_bus_api>(self->system(), names::field_bus))
    self->send(bus, std::forward<Message>(msg));
}

diagnostic_record diagnostic(self_ptr self, std::string level, std::string source,
                             std::string message, nlohmann::json details = nullptr) {
  diagnostic_record d;
  d.rtu_id = self->state.rtu.id;
  d.timestamp = core::now_ms();
  d.level = std::move(level);
  d.source = std::move(source);
  d.message = truncated(std::move(message), 256);
  if (!details.is_null())
    d.details = details.dump();
  return d;
}

void remember_error(self_ptr self, const std::string& what) {
  auto& errors = self->state.errors;
  errors.push_back(core::format_iso8601(core::now_ms()) + " " + what);
  while (errors.size() > self->state.config.recent_errors)
    errors.pop_front();
}

void write_diagnostic(self_ptr self, diagnostic_record d) {
  if (auto storage = storage_of(self))
    self->send(storage, diag_atom::value, std::move(d));
}

/// Persists the transition (row and diagnostic in one write), tells the fleet and the bus.
void enter(self_ptr self, const core::rtu_transition_step& step, const std::string& error = {}) {
  auto& st = self->state;
  const auto now = core::now_ms();
  st.rtu.state = step.to;
  st.rtu.state_since = now;
  st.rtu.transition_reason = truncated(step.reason, 256);
  if (!error.empty())
    st.rtu.last_error = error;
  else if (step.to == rtu_state::running)
    st.rtu.last_error.clear();
  rtu_transition row{
      st.rtu.id, step.to, now, st.rtu.transition_reason, error, step.to == rtu_state::running};
  const bool is_error = step.to == rtu_state::error;
  auto d = diagnostic(self, is_error ? "ERROR" : "INFO", "AR",
                      std::string(to_string(step.from)) + " -> " + std::string(to_string(step.to)) +
                          ": " + step.reason,
                      {{"from", to_string(step.from)}, {"to", to_string(step.to)}});
  if (auto storage = storage_of(self))
    self->send(storage, std::move(row), std::move(d));
  self->send(self->state.fleet_handle, caf::update_atom::value, st.rtu);
  rtu_event event{
      st.rtu.id, st.rtu.station_name, st.rtu.ip_address, step.from, step.to, step.reason, now};
  publish(self, std::move(event));
  spdlog::log(is_error ? spdlog::level::warn : spdlog::level::info, "rtu {}: {} -> {} ({})",
              st.rtu.station_name, to_string(step.from), to_string(step.to), step.reason);
}

/// Every value goes BAD at once when the link is lost or closed: a stale value shown as good is
/// the one thing a SCADA system must never do.
void publish_all_bad(self_ptr self) {
  auto& st = self->state;
  const auto now = core::now_ms();
  sample_batch batch{st.rtu.id, st.rtu.station_name, {}, steady_us()};
  for (auto& [key, sensor] : st.sensors) {
    if (!sensor.has_value)
      continue;
    sensor.latest.q = quality::bad;
    sensor.latest.timestamp = now;
    sensor.latest.changed = sensor.reported_quality != quality::bad;
    if (sensor.latest.changed) {
      sensor.reported_quality = quality::bad;
      sensor.reported_value = sensor.latest.value;
    }
    batch.samples.push_back(sensor.latest);
  }
  actuator_batch actuators{st.rtu.id, st.rtu.station_name, {}, batch.produced_at_us};
  for (auto& [slot, actuator] : st.actuators) {
    if (actuator.latest.q == quality::bad)
      continue;
    actuator.latest.q = quality::bad;
    actuator.latest.timestamp = now;
    actuators.actuators.push_back(actuator.latest);
  }
  if (!batch.samples.empty())
    publish(self, std::move(batch));
  if (!actuators.actuators.empty())
    publish(self, std::move(actuators));
}

void fail_pending_commands(self_ptr self, const std::string& why) {
  for (auto& [seq, promise] : self->state.pending_commands)
    promise.deliver(make_error(errc::unavailable, why));
  self->state.pending_commands.clear();
  self->state.command_origins.clear();
}

/// A new link generation: outcomes of everything asked before are stale from now on.
void new_generation(self_ptr self) {
  auto& st = self->state;
  ++st.seq;
  st.read_in_flight = false;
  ++st.cycle_timer;
  fail_pending_commands(self, "the connection to the RTU was reset");
}

void start_connect(self_ptr self) {
  new_generation(self);
  self->send(self->state.io, io_connect{self->state.seq, self->state.rtu});
}

void schedule_retry(self_ptr self) {
  auto& st = self->state;
  const auto delay = st.backoff.next_delay_ms(st.rng);
  self->delayed_send(self, std::chrono::milliseconds(delay), retry_atom::value, st.seq);
}

/// The link is lost (or could not be made): ERROR, values BAD, and a retry after a backoff.
void fail_link(self_ptr self, const std::string& why) {
  auto& st = self->state;
  auto step = st.link.failed(why);
  if (!step)
    return;
  remember_error(self, why);
  new_generation(self);
  self->send(st.io, io_close{});
  st.running_since = 0;
  enter(self, *step, why);
  publish_all_bad(self);
  schedule_retry(self);
}

void schedule_cycle(self_ptr self, std::int64_t deadline_us) {
  const auto delay_us = std::max<std::int64_t>(0, deadline_us - steady_us());
  self->delayed_send(self, std::chrono::microseconds(delay_us), cycle_atom::value,
                     self->state.cycle_timer);
}

std::string upper_identifier(const std::string& text) {
  std::string out;
  for (char c : text)
    out += std::isalnum(static_cast<unsigned char>(c))
               ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
               : '_';
  return out.empty() ? "POINT" : out;
}

discovery_result describe(self_ptr self, const field::device_description& device) {
  auto& rtu = self->state.rtu;
  discovery_result found;
  found.rtu_id = rtu.id;
  found.vendor_id = hex16(device.vendor_id);
  found.device_id = hex16(device.device_id);
  found.rtu_version = device.firmware_version;
  found.version_mismatch =
      !device.expected_firmware.empty() && device.firmware_version != device.expected_firmware;
  found.slot_count = device.slot_count;
  for (const auto& slot : device.slots) {
    slot_record row;
    row.rtu_id = rtu.id;
    row.slot_number = slot.slot;
    row.module_id = hex16(slot.module_code);
    row.module_type = slot.module_type;
    row.status = slot.module_type == "EMPTY" ? "EMPTY" : "OK";
    found.slots.push_back(row);
    for (const auto& point : slot.points) {
      if (point.is_sensor) {
        sensor_record s;
        s.rtu_id = rtu.id;
        s.slot_number = slot.slot;
        s.channel = point.channel;
        s.tag = default_tag(point.sensor_type, rtu.id, slot.slot);
        s.sensor_type = point.sensor_type;
        s.unit = point.unit;
        s.scale_min = point.scale_min;
        s.scale_max = point.scale_max;
        s.eng_min = point.eng_min;
        s.eng_max = point.eng_max;
        found.sensors.push_back(std::move(s));
      } else {
        control_record c;
        c.rtu_id = rtu.id;
        c.slot_number = slot.slot;
        c.channel = point.channel;
        c.tag = default_tag(point.equipment_type.empty() ? "OUT" : point.equipment_type, rtu.id,
                            slot.slot);
        c.control_type = point.control_type;
        c.equipment_type = point.equipment_type;
        c.has_range = point.control_type == "analog";
        c.min_value = point.eng_min;
        c.max_value = point.eng_max;
        c.unit = point.unit;
        found.controls.push_back(std::move(c));
      }
    }
  }
  return found;
}

void load_points(self_ptr self, std::vector<sensor_record> sensors,
                 std::vector<control_record> controls) {
  auto& st = self->state;
  std::map<std::pair<std::int32_t, std::int32_t>, live_sensor> fresh_sensors;
  for (auto& config : sensors) {
    const auto key = std::make_pair(config.slot_number, config.channel);
    live_sensor live;
    if (auto old = st.sensors.find(key); old != st.sensors.end())
      live = std::move(old->second);  // keep the last value across a reconnect
    live.config = std::move(config);
    live.latest.tag = live.config.tag;
    live.latest.slot = live.config.slot_number;
    live.latest.channel = live.config.channel;
    fresh_sensors.emplace(key, std::move(live));
  }
  std::map<std::int32_t, live_actuator> fresh_actuators;
  for (auto& config : controls) {
    live_actuator live;
    if (auto old = st.actuators.find(config.slot_number); old != st.actuators.end())
      live = std::move(old->second);
    live.config = std::move(config);
    live.latest.tag = live.config.tag;
    live.latest.slot = live.config.slot_number;
    live.latest.channel = live.config.channel;
    live.latest.control_type = live.config.control_type;
    live.latest.equipment_type = live.config.equipment_type;
    fresh_actuators.emplace(live.config.slot_number, std::move(live));
  }
  st.sensors = std::move(fresh_sensors);
  st.actuators = std::move(fresh_actuators);
}

bool same_actuator_state(const actuator_state& a, const actuator_state& b) {
  return a.command == b.command && std::fabs(a.pwm_duty - b.pwm_duty) < 0.005 &&
         std::fabs(a.output - b.output) < 0.005 && a.forced == b.forced &&
         a.interlocked == b.interlocked && a.running == b.running && a.q == b.q;
}

void apply_cycle(self_ptr self, const field::cycle_reading& reading) {
  auto& st = self->state;
  const auto now = core::now_ms();
  sample_batch samples{st.rtu.id, st.rtu.station_name, {}, steady_us()};
  samples.samples.reserve(st.sensors.size());
  actuator_batch actuators{st.rtu.id, st.rtu.station_name, {}, samples.produced_at_us};
  for (const auto& point : reading.points) {
    if (point.is_sensor) {
      auto found = st.sensors.find({point.slot, point.channel});
      if (found == st.sensors.end())
        continue;
      auto& sensor = found->second;
      const core::scaling range{sensor.config.scale_min, sensor.config.scale_max,
                                sensor.config.eng_min, sensor.config.eng_max};
      auto& s = sensor.latest;
      s.raw = point.raw;
      s.value = core::to_engineering(point.raw, range);
      s.q = core::classify(point.raw, point.quality_code, point.forced, range);
      s.forced = point.forced;
      s.timestamp = now;
      s.changed = !sensor.reported ||
                  core::significant_change(sensor.reported_value, sensor.reported_quality, s.value,
                                           s.q, sensor.config.deadband);
      if (s.changed) {
        sensor.reported = true;
        sensor.reported_value = s.value;
        sensor.reported_quality = s.q;
      }
      sensor.has_value = true;
      samples.samples.push_back(s);
    } else {
      auto found = st.actuators.find(point.slot);
      if (found == st.actuators.end())
        continue;
      auto next = found->second.latest;
      next.command = point.command;
      next.pwm_duty = point.pwm_duty;
      next.output = point.raw;
      next.forced = point.forced;
      next.interlocked = point.interlocked;
      next.running = point.running;
      next.q = (point.quality_code & 0x80) != 0                   ? quality::bad
               : (point.quality_code & 0x40) != 0 || point.forced ? quality::uncertain
                                                                  : quality::good;
      next.timestamp = now;
      const bool changed = !same_actuator_state(found->second.latest, next);
      found->second.latest = std::move(next);
      if (changed)
        actuators.actuators.push_back(found->second.latest);
    }
  }
  publish(self, std::move(samples));
  if (!actuators.actuators.empty())
    publish(self, std::move(actuators));
}

void on_discovered(self_ptr self, const field::device_description& device) {
  auto& st = self->state;
  st.device = device;
  auto found = describe(self, device);
  const auto seq = st.seq;
  nlohmann::json details{{"vendor_id", found.vendor_id},
                         {"device_id", found.device_id},
                         {"firmware", found.rtu_version},
                         {"slot_count", found.slot_count},
                         {"slots", found.slots.size()}};
  auto d = diagnostic(
      self, "INFO", "DISCOVERY",
      "discovered " + std::to_string(found.slots.size()) + " slots, firmware " + found.rtu_version,
      details);
  if (found.version_mismatch) {
    // Recorded and shown, never refused: a plant must not stop over a firmware upgrade.
    write_diagnostic(self, diagnostic(self, "WARNING", "DISCOVERY",
                                      "firmware version mismatch: RTU runs " + found.rtu_version +
                                          ", profile expects " + device.expected_firmware,
                                      {{"rtu_version", found.rtu_version},
                                       {"expected", device.expected_firmware}}));
  }
  st.rtu.vendor_id = found.vendor_id;
  st.rtu.device_id = found.device_id;
  st.rtu.rtu_version = found.rtu_version;
  st.rtu.version_mismatch = found.version_mismatch;
  st.rtu.slot_count = found.slot_count;
  auto storage = storage_of(self);
  if (!storage) {
    fail_link(self, "storage unavailable during discovery");
    return;
  }
  const auto timeout = std::chrono::seconds(15);
  auto on_error = [self, seq](caf::error& err) {
    if (seq == self->state.seq)
      fail_link(self, "discovery could not be stored: " + view(err).detail);
  };
  self->request(storage, timeout, std::move(found), std::move(d))
      .then(
          [self, storage, seq, timeout, on_error](caf::ok_atom) {
            if (seq != self->state.seq)
              return;
            self->request(storage, timeout, caf::get_atom::value, sensors_atom::value,
                          self->state.rtu.id)
                .then(
                    [self, storage, seq, timeout, on_error](std::vector<sensor_record>& sensors) {
                      self->request(storage, timeout, caf::get_atom::value, actuators_atom::value,
                                    self->state.rtu.id)
                          .then(
                              [self, seq, sensors = std::move(sensors)](
                                  std::vector<control_record>& controls) mutable {
                                if (seq != self->state.seq)
                                  return;
                                load_points(self, std::move(sensors), std::move(controls));
                                auto step = self->state.link.discovered();
                                if (!step)
                                  return;
                                self->state.backoff.reset();
                                self->state.monitor.record_success();
                                self->state.running_since = core::now_ms();
                                enter(self, *step);
                                std::vector<std::string> tags;
                                for (const auto& [key, s] : self->state.sensors)
                                  tags.push_back(s.config.tag);
                                self->send(self->state.fleet_handle, sensors_atom::value,
                                           self->state.rtu.station_name, std::move(tags));
                                const auto now = steady_us();
                                self->state.schedule.start(now,
                                                           self->state.rtu.cycle_time_ms * 1000);
                                schedule_cycle(self, now);
                              },
                              on_error);
                    },
                    on_error);
          },
          on_error);
}

sensor_record apply_settings(sensor_record sensor, const sensor_settings& s) {
  if (s.set_sensor_type)
    sensor.sensor_type = s.sensor_type;
  if (s.set_unit)
    sensor.unit = s.unit;
  if (s.set_scale_min)
    sensor.scale_min = s.scale_min;
  if (s.set_scale_max)
    sensor.scale_max = s.scale_max;
  if (s.set_eng_min)
    sensor.eng_min = s.eng_min;
  if (s.set_eng_max)
    sensor.eng_max = s.eng_max;
  if (s.set_deadband)
    sensor.deadband = s.deadband;
  return sensor;
}

/// Why a sensor configuration cannot work, or an empty string.
std::string invalid_sensor(const sensor_record& s) {
  if (s.scale_min == s.scale_max)
    return "scale_min and scale_max must differ";
  if (s.eng_min == s.eng_max)
    return "eng_min and eng_max must differ";
  if (s.deadband < 0)
    return "deadband must not be negative";
  return {};
}

actuator_state actuator_view(const live_actuator& actuator) {
  return actuator.latest;
}

}  // namespace

std::string default_tag(const std::string& type, std::int64_t rtu_id, std::int32_t slot) {
  auto tag = upper_identifier(type);
  const auto suffix = "_" + std::to_string(rtu_id) + "_" + std::to_string(slot);
  tag = tag.substr(0, 32 - std::min<std::size_t>(suffix.size(), 31)) + suffix;
  return tag.substr(0, 32);
}

caf::behavior rtu_actor(caf::stateful_actor<rtu_actor_state>* self, rtu_record rtu,
                        rtu_actor_config config, caf::actor fleet) {
  auto& init = self->state;
  init.config = std::move(config);
  init.backoff = core::reconnect_backoff(init.config.backoff);
  init.monitor = core::cycle_monitor(init.config.max_failed_cycles);
  init.fleet_handle = std::move(fleet);
  const auto stored_state = rtu.state;
  init.rtu = std::move(rtu);
  init.link = core::rtu_link(stored_state);
  init.io = self->spawn<caf::detached + caf::linked>(
      rtu_io_worker, caf::actor_cast<caf::actor>(self), init.config.make_driver);
  if (init.link.state() != stored_state) {
    // The controller stopped while this RTU was up: say so on its row before reconnecting.
    enter(self, {stored_state, init.link.state(), "controller restarted"});
  }
  if (init.rtu.auto_connect) {
    if (auto step = init.link.connect_requested()) {
      enter(self, {step->from, step->to, "automatic connect at start-up"});
      start_connect(self);
    }
  }
  self->attach_functor([self] { fail_pending_commands(self, "the RTU actor stopped"); });
  // Audit rows are written without waiting for their answer (anon_send); anything else that
  // arrives unasked is dropped and logged rather than reflected back to its sender.
  self->set_default_handler(caf::print_and_drop);

  return {
      // --- outcomes of the I/O worker ---
      [self](const io_linked& msg) {
        if (msg.seq != self->state.seq)
          return;
        if (auto step = self->state.link.link_up())
          enter(self, *step);
      },
      [self](const io_discovered& msg) {
        if (msg.seq != self->state.seq)
          return;
        on_discovered(self, msg.device);
      },
      [self](const io_cycle& msg) {
        auto& st = self->state;
        if (msg.seq != st.seq)
          return;
        st.read_in_flight = false;
        st.monitor.record_success();
        st.last_cycle_ms = msg.duration_ms;
        ++st.cycles_ok;
        apply_cycle(self, msg.reading);
      },
      [self](const io_written& msg) {
        auto& st = self->state;
        if (msg.seq != st.seq || st.pending_commands.empty())
          return;
        auto it = st.pending_commands.begin();
        auto origin = st.command_origins[it->first];
        auto found = st.actuators.find(msg.command.slot);
        actuator_state result;
        if (found != st.actuators.end()) {
          found->second.latest.command = msg.command.command;
          found->second.latest.pwm_duty = msg.command.pwm_duty;
          result = actuator_view(found->second);
        }
        if (!origin.control_loop) {
          nlohmann::json details{{"station", st.rtu.station_name},
                                 {"slot", msg.command.slot},
                                 {"command", to_string(msg.command.command)},
                                 {"pwm_duty", msg.command.pwm_duty}};
          if (auto storage = storage_of(self))
            caf::anon_send(storage, audit_atom::value,
                           audit_of(origin, "actuator_command", "actuator",
                                    st.rtu.station_name + "/" + std::to_string(msg.command.slot),
                                    details.dump()));
          write_diagnostic(self, diagnostic(self, "INFO", "COMMAND",
                                            "slot " + std::to_string(msg.command.slot) + " " +
                                                std::string(to_string(msg.command.command)) +
                                                " by " + origin.username,
                                            details));
        }
        it->second.deliver(std::move(result));
        st.command_origins.erase(it->first);
        st.pending_commands.erase(it);
      },
      [self](const io_failed& msg) {
        auto& st = self->state;
        if (msg.seq != st.seq)
          return;
        const auto what =
            msg.operation + " failed (" + field::to_string(msg.kind) + "): " + msg.what;
        remember_error(self, what);
        write_diagnostic(self, diagnostic(self, "ERROR",
                                          msg.operation == "cycle"     ? "CYCLE"
                                          : msg.operation == "command" ? "COMMAND"
                                                                       : "AR",
                                          what,
                                          {{"operation", msg.operation},
                                           {"failure", field::to_string(msg.kind)}}));
        const bool connection_lost =
            msg.kind == field::failure::closed || msg.kind == field::failure::connect;
        if (msg.operation == "command") {
          if (!st.pending_commands.empty()) {
            auto it = st.pending_commands.begin();
            const auto code =
                msg.kind == field::failure::exception ? errc::conflict : errc::unavailable;
            it->second.deliver(make_error(code, "the RTU did not take the command: " + msg.what));
            st.command_origins.erase(it->first);
            st.pending_commands.erase(it);
          }
          if (connection_lost)
            fail_link(self, what);
          return;
        }
        if (msg.operation == "cycle") {
          st.read_in_flight = false;
          ++st.cycles_failed;
          if (st.monitor.record_failure(connection_lost))
            fail_link(self, what);
          return;
        }
        fail_link(self, what);
      },
      // --- timers ---
      [self](cycle_atom, std::uint64_t timer) {
        auto& st = self->state;
        if (timer != st.cycle_timer || st.link.state() != rtu_state::running)
          return;
        if (!st.read_in_flight) {
          st.read_in_flight = true;
          self->send(st.io, io_read{st.seq});
        } else {
          ++st.cycles_busy;  // the previous read still runs: this slot is missed, not queued
        }
        schedule_cycle(self, st.schedule.next_deadline(steady_us()));
      },
      [self](retry_atom, std::uint64_t seq) {
        auto& st = self->state;
        if (seq != st.seq)
          return;
        if (auto step = st.link.retry_due()) {
          ++st.reconnects;
          enter(self, *step);
          start_connect(self);
        }
      },
      // --- requests forwarded by the fleet ---
      [self](caf::get_atom, rtu_atom) { return self->state.rtu; },
      [self](caf::connect_atom, const request_origin&) -> caf::result<rtu_record> {
        auto& st = self->state;
        auto step = st.link.connect_requested();
        if (!step)
          return make_error(errc::conflict, "RTU '" + st.rtu.station_name + "' is " +
                                                std::string(to_string(st.link.state())) +
                                                ": connect needs OFFLINE or ERROR");
        st.backoff.reset();
        st.rtu.auto_connect = true;
        enter(self, *step);
        start_connect(self);
        return st.rtu;
      },
      [self](disconnect_atom, const request_origin&) -> caf::result<rtu_record> {
        auto& st = self->state;
        auto step = st.link.disconnect_requested();
        if (!step)
          return make_error(errc::conflict, "RTU '" + st.rtu.station_name + "' is already OFFLINE");
        new_generation(self);
        self->send(st.io, io_close{});
        st.rtu.auto_connect = false;
        st.running_since = 0;
        enter(self, *step);
        publish_all_bad(self);
        return st.rtu;
      },
      [self](caf::update_atom, rtu_record updated) {
        auto& st = self->state;
        const bool endpoint_changed =
            updated.ip_address != st.rtu.ip_address || updated.port != st.rtu.port ||
            updated.unit_id != st.rtu.unit_id || updated.profile != st.rtu.profile ||
            updated.cycle_time_ms != st.rtu.cycle_time_ms;
        // Configuration comes from the fleet; state stays this actor's own.
        updated.state = st.rtu.state;
        updated.state_since = st.rtu.state_since;
        updated.transition_reason = st.rtu.transition_reason;
        updated.last_error = st.rtu.last_error;
        updated.auto_connect = st.rtu.auto_connect;
        st.rtu = std::move(updated);
        if (endpoint_changed && st.link.state() != rtu_state::offline &&
            st.link.state() != rtu_state::error)
          fail_link(self, "configuration changed: reconnecting");
      },
      [self](health_atom) {
        auto& st = self->state;
        rtu_health h;
        h.state = st.link.state();
        h.uptime_seconds = st.running_since > 0 ? (core::now_ms() - st.running_since) / 1000 : 0;
        h.cycle_time_ms = st.rtu.cycle_time_ms;
        h.last_cycle_ms = st.last_cycle_ms;
        h.total_slots = st.rtu.slot_count;
        for (const auto& slot : st.device.slots)
          if (slot.module_type != "EMPTY" && st.link.state() == rtu_state::running)
            ++h.connected_slots;
        h.cycles_ok = st.cycles_ok;
        h.cycles_missed = st.cycles_failed + st.cycles_busy + st.schedule.skipped();
        h.reconnects = st.reconnects;
        h.errors.assign(st.errors.begin(), st.errors.end());
        return h;
      },
      [self](caf::get_atom, sensors_atom) {
        std::vector<sensor_reading> out;
        for (const auto& [key, s] : self->state.sensors)
          out.push_back({s.config, s.has_value, s.latest});
        return out;
      },
      [self](caf::get_atom, sensor_atom, const std::string& tag) -> caf::result<sensor_reading> {
        for (const auto& [key, s] : self->state.sensors)
          if (s.config.tag == tag)
            return sensor_reading{s.config, s.has_value, s.latest};
        return make_error(errc::not_found, "no sensor tagged '" + tag + "'");
      },
      [self](caf::update_atom, sensor_atom, const std::string& tag, const sensor_settings& settings,
             const request_origin& origin) -> caf::result<sensor_reading> {
        auto& st = self->state;
        auto found = std::find_if(st.sensors.begin(), st.sensors.end(), [&](const auto& entry) {
          return entry.second.config.tag == tag;
        });
        if (found == st.sensors.end())
          return make_error(errc::not_found, "no sensor tagged '" + tag + "'");
        auto wanted = apply_settings(found->second.config, settings);
        if (auto why = invalid_sensor(wanted); !why.empty())
          return make_error(errc::bad_request, "sensor '" + tag + "': " + why);
        auto storage = storage_of(self);
        if (!storage)
          return storage_restarting();
        auto promise = self->make_response_promise<sensor_reading>();
        const auto key = found->first;
        auto audit = audit_of(origin, "sensor_update", "sensor", tag, describe(settings));
        self->request(storage, std::chrono::seconds(15), caf::update_atom::value, wanted,
                      std::move(audit))
            .then(
                [self, promise, key, wanted](caf::ok_atom) mutable {
                  auto sensor = self->state.sensors.find(key);
                  if (sensor == self->state.sensors.end()) {
                    promise.deliver(make_error(errc::not_found, "the sensor is gone"));
                    return;
                  }
                  sensor->second.config = wanted;
                  sensor->second.reported = false;  // the next value is news under new rules
                  promise.deliver(
                      sensor_reading{wanted, sensor->second.has_value, sensor->second.latest});
                },
                [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
        return promise;
      },
      [self](caf::get_atom, actuators_atom) {
        std::vector<actuator_state> out;
        for (const auto& [slot, a] : self->state.actuators)
          out.push_back(actuator_view(a));
        return out;
      },
      [self](command_atom, const actuator_command& cmd,
             const request_origin& origin) -> caf::result<actuator_state> {
        auto& st = self->state;
        const auto where =
            "slot " + std::to_string(cmd.slot) + " of RTU '" + st.rtu.station_name + "'";
        auto found = st.actuators.find(cmd.slot);
        if (found == st.actuators.end())
          return make_error(errc::not_found, where + " is not an actuator");
        if (st.link.state() != rtu_state::running)
          return make_error(errc::conflict, "RTU '" + st.rtu.station_name + "' is " +
                                                std::string(to_string(st.link.state())) +
                                                ": commands need a RUNNING RTU");
        if (cmd.command == command_kind::pwm && found->second.config.control_type == "discrete")
          return make_error(errc::bad_request, where + " is a discrete output: use ON or OFF");
        if (found->second.latest.interlocked && cmd.command != command_kind::off) {
          nlohmann::json details{{"station", st.rtu.station_name},
                                 {"slot", cmd.slot},
                                 {"command", to_string(cmd.command)},
                                 {"refused", "interlocked"}};
          auto storage = origin.control_loop ? storage_api{} : storage_of(self);
          if (storage)
            caf::anon_send(
                storage, audit_atom::value,
                audit_of(origin, "actuator_command_refused", "actuator",
                         st.rtu.station_name + "/" + std::to_string(cmd.slot), details.dump()));
          return make_error(errc::forbidden, where + " is interlocked by the RTU");
        }
        const auto key = ++st.command_counter;
        st.pending_commands.emplace(key, self->make_response_promise());
        st.command_origins.emplace(key, origin);
        self->send(st.io, io_write{st.seq, cmd});
        return caf::delegated<actuator_state>{};
      },
  };
}

}  // namespace wtc
