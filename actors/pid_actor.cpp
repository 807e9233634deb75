#include "actors/pid_actor.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

#include <spdlog/spdlog.h>
#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <nlohmann/json.hpp>

#include "core/time.hpp"
#include "messages/errors.hpp"
#include "messages/live.hpp"

namespace wtc {
namespace {

using self_ptr = caf::stateful_actor<pid_actor_state>*;
using watchdog_atom = caf::atom_constant<caf::atom("pidwatch")>;

constexpr auto write_timeout = std::chrono::milliseconds(5000);

using core::steady_us;

std::int64_t us_of(std::chrono::milliseconds d) {
  return static_cast<std::int64_t>(d.count()) * 1000;
}

void scan(self_ptr self);

/// follow_input: how often the loop checks that measurements still come.
std::chrono::milliseconds watchdog_interval(const pid_actor_config& c) {
  return std::max(3 * c.scan_period, c.stale_after / 2);
}

void on_samples(self_ptr self, const sample_batch& batch) {
  auto& st = self->state;
  if (batch.station != st.config.loop.input_rtu)
    return;
  for (const auto& s : batch.samples)
    if (s.slot == st.config.loop.input_slot) {
      st.pv = s.value;
      st.pv_quality = s.q;
      st.pv_at_us = steady_us();
      st.has_pv = true;
      // A measurement that comes sooner than half a period after the last scan waits for the
      // next one: two batches close together (a reconnect) do not make two scans.
      if (st.config.follow_input && st.pv_at_us - st.last_step_us >= st.period_us / 2)
        scan(self);
      return;  // a slot's first channel is the measurement
    }
}

/// Writes `output` to the output slot as a PWM duty (0 to 100 %). The rtu_actor refuses a
/// command while the RTU is not running or reports an interlock; the loop then tries again at the
/// next scan, and logs the reason once. One write at a time: while one is in flight, the scan's
/// output waits for the next scan. The request has no timeout of its own (a timer per write
/// costs more than the write at a thousand loops); a write unanswered for `write_timeout` is
/// given up, and its late answer ignored.
void write_output(self_ptr self, double output, std::int64_t measured_at_us) {
  auto& st = self->state;
  const auto now_us = steady_us();
  if (st.write_sent_at_us != 0 && now_us - st.write_sent_at_us < us_of(write_timeout))
    return;
  auto rtus = lookup<rtus_api>(self->system(), names::rtus);
  if (!rtus)
    return;
  actuator_command cmd;
  cmd.slot = st.config.loop.output_slot;
  cmd.command = command_kind::pwm;
  cmd.pwm_duty = std::clamp(output, 0.0, 100.0);
  request_origin origin;
  origin.username = "pid:" + st.config.loop.name;
  origin.user_role = role::operator_;
  origin.control_loop = true;
  const auto seq = ++st.write_seq;
  self->request(rtus, caf::infinite, command_atom::value, st.config.loop.output_rtu, cmd, origin)
      .then(
          [self, seq, measured_at_us](const actuator_state&) {
            auto& s = self->state;
            if (seq != s.write_seq)
              return;
            s.write_sent_at_us = 0;
            if (s.config.timing && measured_at_us != 0)
              s.config.timing->sample_to_command.record(steady_us() - measured_at_us);
            if (!s.output_error.empty())
              spdlog::info("pid loop '{}': writing its output again", s.config.loop.name);
            s.output_error.clear();
          },
          [self, seq](const caf::error& err) {
            auto& s = self->state;
            if (seq != s.write_seq)
              return;
            s.write_sent_at_us = 0;
            auto why = self->system().render(err);
            if (why != s.output_error)
              spdlog::warn("pid loop '{}': output not written to {} slot {}: {}",
                           s.config.loop.name, s.config.loop.output_rtu, s.config.loop.output_slot,
                           why);
            s.output_error = std::move(why);
            s.has_written = false;  // try again at the next scan
          });
  st.write_sent_at_us = now_us;
  st.written_output = output;
  st.written_at_us = now_us;
  st.has_written = true;
}

/// The loop's row as it runs now: the setpoint it tracks, its mode and its last output.
pid_loop_record current_record(self_ptr self) {
  auto& st = self->state;
  auto loop = st.config.loop;
  const auto& settings = st.controller.settings();
  loop.setpoint = settings.setpoint;
  loop.mode = std::string(core::to_string(settings.mode));
  if (st.controller.state().has_output) {
    loop.has_output = true;
    loop.output = st.controller.state().last_output;
  }
  return loop;
}

/// Tells the owner what the loop does: every report_interval, and at once when asked to.
void report(self_ptr self, bool now) {
  auto& st = self->state;
  const auto at = steady_us();
  if (!st.config.owner || (!now && at - st.reported_at_us < us_of(st.config.report_interval)))
    return;
  self->send(st.config.owner, pid_atom::value, st.last);
  st.reported_at_us = at;
}

void publish(self_ptr self, const core::pid_result& r) {
  auto& st = self->state;
  const auto before = st.last;
  pid_snapshot& snap = st.last;
  snap.loop_id = st.config.loop.id;
  snap.pv = st.pv;
  snap.has_pv = st.has_pv;
  snap.sp = r.setpoint;
  snap.cv = r.output;
  snap.has_cv = true;
  snap.mode = std::string(core::to_string(st.controller.settings().mode));
  snap.status = std::string(core::to_string(r.status));
  snap.at = core::now_ms();
  const bool changed = snap.mode != before.mode || snap.status != before.status;
  report(self, changed);

  const auto now_us = steady_us();
  if (!changed && now_us - st.published_at_us < us_of(st.config.publish_interval))
    return;
  st.published_at_us = now_us;
  if (auto hub = lookup<live_hub_api>(self->system(), names::live_hub))
    caf::anon_send(hub, pid_update_message(st.config.loop, snap));
}

void scan(self_ptr self) {
  auto& st = self->state;
  const auto now_us = steady_us();
  if (st.config.timing && st.last_step_us != 0)
    st.config.timing->scan_jitter.record(std::abs(now_us - st.last_step_us - st.period_us));
  core::pid_input in;
  const bool fresh = st.has_pv && now_us - st.pv_at_us <= us_of(st.config.stale_after);
  in.measurement = st.pv;
  in.measurement_quality = fresh ? st.pv_quality : quality::bad;
  in.dt =
      std::chrono::duration<double>(st.last_step_us == 0 ? 0.0 : (now_us - st.last_step_us) / 1e6);
  if (st.has_external_setpoint)
    in.external_setpoint = st.external_setpoint;
  st.last_step_us = now_us;
  const auto r = st.controller.step(in);

  for (const auto& inner : st.inner_loops)
    self->send(inner, cascade_atom::value, r.output);
  if (st.config.drives_actuator) {
    const bool changed = !st.has_written || std::abs(r.output - st.written_output) > 1e-6;
    const bool due = now_us - st.written_at_us >= us_of(st.config.refresh_output);
    if (changed || due)
      write_output(self, r.output, in.measurement_quality == quality::bad ? 0 : st.pv_at_us);
  }
  publish(self, r);
}

/// Applies an operator's or engineer's change to the running loop, all of it or nothing.
caf::result<pid_snapshot> change(self_ptr self, const pid_loop_patch& patch) {
  auto& st = self->state;
  const auto next = patched(current_record(self), patch);
  core::pid_settings settings;
  try {
    settings = settings_of(next, st.config.scan_period);
  } catch (const std::invalid_argument& e) {
    return make_error(errc::bad_request, e.what());
  }
  if (patch.sets(pid_field::output) && settings.mode != core::pid_mode::manual)
    return make_error(errc::bad_request, "an output is only taken in MANUAL mode");
  if (auto error = st.controller.configure(settings); !error.empty())
    return make_error(errc::bad_request, error);
  if (patch.sets(pid_field::output))
    st.controller.set_manual_output(patch.values.output);
  st.config.loop = current_record(self);
  st.last.loop_id = st.config.loop.id;
  st.last.sp = st.controller.settings().setpoint;
  st.last.mode = st.config.loop.mode;
  if (st.controller.state().has_output) {
    st.last.cv = st.controller.state().last_output;
    st.last.has_cv = true;
  }
  report(self, true);
  return st.last;
}

}  // namespace

live_message pid_update_message(const pid_loop_record& loop, const pid_snapshot& snap) {
  live_message msg;
  msg.type = "pid_update";
  msg.rtu = loop.input_rtu;
  msg.key = "p|" + std::to_string(loop.id);
  nlohmann::ordered_json data{{"loop_id", snap.loop_id},
                              {"name", loop.name},
                              {"pv", snap.has_pv ? nlohmann::json(snap.pv) : nlohmann::json()},
                              {"sp", snap.sp},
                              {"cv", snap.cv},
                              {"mode", snap.mode},
                              {"status", snap.status},
                              {"timestamp", core::format_iso8601(snap.at)}};
  msg.data = data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  msg.produced_at_us = steady_us();
  return msg;
}

core::pid_settings settings_of(const pid_loop_record& loop, std::chrono::milliseconds scan_period) {
  core::pid_settings s;
  s.kp = loop.kp;
  s.ki = loop.ki;
  s.kd = loop.kd;
  s.setpoint = loop.setpoint;
  s.output_min = loop.output_min;
  s.output_max = loop.output_max;
  s.deadband = loop.deadband;
  s.integral_limit = loop.integral_limit;
  s.derivative_filter = loop.derivative_filter;
  if (!core::parse_pid_mode(loop.mode, s.mode))
    throw std::invalid_argument("mode must be MANUAL, AUTO or CASCADE");
  if (loop.on_bad_measurement == "HOLD")
    s.on_bad_measurement = core::bad_measurement_action::hold;
  else if (loop.on_bad_measurement == "SAFE_OUTPUT")
    s.on_bad_measurement = core::bad_measurement_action::safe_output;
  else
    throw std::invalid_argument("on_bad_measurement must be HOLD or SAFE_OUTPUT");
  s.safe_output = loop.safe_output;
  // Longer than a few scans without a step (a stalled scheduler, a suspended host): restart
  // bumplessly rather than integrate over the gap.
  s.max_dt = std::chrono::duration<double>(5.0 * static_cast<double>(scan_period.count()) / 1e3);
  return s;
}

caf::behavior pid_actor(self_ptr self, pid_actor_config config) {
  auto& st = self->state;
  st.config = std::move(config);
  st.controller = core::pid_controller(settings_of(st.config.loop, st.config.scan_period));
  // A restart continues from the output the loop had: bumpless, whatever the mode.
  if (st.config.loop.has_output)
    st.controller.initialise_output(st.config.loop.output);
  st.last.loop_id = st.config.loop.id;
  st.last.mode = st.config.loop.mode;
  st.last.sp = st.config.loop.setpoint;
  st.last.cv = st.config.loop.output;
  st.last.has_cv = st.config.loop.has_output;
  st.bus = bus_subscription(st.config.loop.input_rtu, topics::samples, st.config.resubscribe_delay);
  self->set_down_handler([self](caf::down_msg& down) { self->state.bus.on_down(self, down); });
  st.bus.subscribe(self);
  st.period_us = us_of(st.config.scan_period);
  if (st.config.follow_input) {
    self->delayed_send(self, watchdog_interval(st.config), watchdog_atom::value);
  } else {
    if (!st.config.scan_clock)
      throw std::invalid_argument("a PID loop on its own clock needs a scan clock");
    self->send(st.config.scan_clock, subscribe_atom::value, caf::actor_cast<caf::actor>(self),
               st.period_us);
  }
  return {
      [self](const sample_batch& batch) { on_samples(self, batch); },
      [self](scan_atom) { scan(self); },
      // follow_input: the measurements stopped coming (the RTU is in ERROR, the bus restarted):
      // the loop still scans, and sees its measurement go stale, then BAD.
      [self](watchdog_atom) {
        auto& s = self->state;
        if (steady_us() - s.last_step_us >= us_of(watchdog_interval(s.config)))
          scan(self);
        self->delayed_send(self, watchdog_interval(s.config), watchdog_atom::value);
      },
      [self](subscribe_atom) { self->state.bus.subscribe(self); },
      [self](caf::update_atom, const pid_loop_patch& patch) { return change(self, patch); },
      [self](caf::get_atom) { return self->state.last; },
      [self](cascade_atom, bool drives_actuator, std::vector<caf::actor>& inner_loops) {
        self->state.config.drives_actuator = drives_actuator;
        self->state.inner_loops = std::move(inner_loops);
      },
      [self](cascade_atom, double outer_output) {
        auto& s = self->state;
        if (s.controller.settings().mode == core::pid_mode::cascade) {
          s.external_setpoint = outer_output;
          s.has_external_setpoint = true;
        } else {
          // Not in CASCADE: the outer loop follows this loop's setpoint, so that switching to
          // CASCADE closes the cascade without a step.
          s.has_external_setpoint = false;
          self->send(caf::actor_cast<caf::actor>(self->current_sender()), track_atom::value,
                     s.controller.settings().setpoint);
        }
      },
      [self](track_atom, double inner_setpoint) {
        auto& s = self->state;
        if (s.controller.settings().mode != core::pid_mode::manual)
          s.controller.initialise_output(inner_setpoint);
      },
  };
}

}  // namespace wtc
