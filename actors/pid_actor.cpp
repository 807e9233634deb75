#include "actors/pid_actor.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

#include <spdlog/spdlog.h>
#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <nlohmann/json.hpp>

#include "actors/storage_access.hpp"
#include "core/time.hpp"
#include "messages/live.hpp"

namespace wtc {
namespace {

using self_ptr = caf::stateful_actor<pid_actor_state>*;

std::int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::int64_t us_of(std::chrono::milliseconds d) {
  return static_cast<std::int64_t>(d.count()) * 1000;
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
  if (!bus)
    return retry_subscription(self);
  st.bus = caf::actor_cast<caf::actor>(bus);
  self->monitor(st.bus);
  self->send(bus, subscribe_atom::value, caf::actor_cast<caf::actor>(self),
             st.config.loop.input_rtu, topics::samples);
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
      return;  // a slot's first channel is the measurement
    }
}

/// Writes `output` to the output slot as a PWM duty. The rtu_actor refuses a command while the
/// RTU is not running or reports an interlock; the loop then tries again at the next change or
/// refresh.
void write_output(self_ptr self, double output) {
  auto& st = self->state;
  auto rtus = lookup<rtus_api>(self->system(), names::rtus);
  if (!rtus)
    return;
  actuator_command cmd;
  cmd.slot = st.config.loop.output_slot;
  cmd.command = command_kind::pwm;
  cmd.pwm_duty = output;
  request_origin origin;
  origin.username = "pid:" + st.config.loop.name;
  origin.user_role = role::operator_;
  self->request(rtus, std::chrono::seconds(5), command_atom::value, st.config.loop.output_rtu, cmd,
                origin)
      .then([](const actuator_state&) {},
            [self](const caf::error& err) {
              spdlog::debug("pid loop '{}': output not written: {}", self->state.config.loop.name,
                            self->system().render(err));
              self->state.has_written = false;  // try again at the next scan
            });
  st.written_output = output;
  st.written_at_us = steady_us();
  st.has_written = true;
}

void publish(self_ptr self, const core::pid_result& r) {
  auto& st = self->state;
  pid_snapshot snap;
  snap.loop_id = st.config.loop.id;
  snap.pv = st.pv;
  snap.has_pv = st.has_pv;
  snap.sp = r.setpoint;
  snap.cv = r.output;
  snap.mode = std::string(core::to_string(st.controller.settings().mode));
  snap.status = std::string(core::to_string(r.status));
  snap.at = core::now_ms();
  st.last = snap;

  if (auto hub = lookup<live_hub_api>(self->system(), names::live_hub)) {
    live_message msg;
    msg.type = "pid_update";
    msg.rtu = st.config.loop.input_rtu;
    msg.key = "p|" + std::to_string(st.config.loop.id);
    nlohmann::ordered_json data{{"loop_id", snap.loop_id},
                                {"name", st.config.loop.name},
                                {"pv", snap.has_pv ? nlohmann::json(snap.pv) : nlohmann::json()},
                                {"sp", snap.sp},
                                {"cv", snap.cv},
                                {"mode", snap.mode},
                                {"status", snap.status},
                                {"timestamp", core::format_iso8601(snap.at)}};
    msg.data = data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    msg.produced_at_us = steady_us();
    caf::anon_send(hub, std::move(msg));
  }
}

/// Saves the output, setpoint and mode when one of them changed (the output by more than 0.1% of
/// its span), at most once per save_interval: storage then holds what a restart continues from.
void save_state(self_ptr self, const core::pid_result& r) {
  auto& st = self->state;
  const auto now_us = steady_us();
  const auto& settings = st.controller.settings();
  const std::string mode(core::to_string(settings.mode));
  const double span = settings.output_max - settings.output_min;
  const bool changed = std::abs(r.output - st.saved_output) > 0.001 * span ||
                       r.setpoint != st.saved_setpoint || mode != st.saved_mode;
  if (!changed || now_us - st.saved_at_us < us_of(st.config.save_interval))
    return;
  auto storage = storage_of(self);
  if (!storage)
    return;
  caf::anon_send(storage, pid_output_atom::value, st.config.loop.id, r.output, r.setpoint, mode);
  st.saved_output = r.output;
  st.saved_setpoint = r.setpoint;
  st.saved_mode = mode;
  st.saved_at_us = now_us;
}

void scan(self_ptr self) {
  auto& st = self->state;
  const auto now_us = steady_us();
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

  const bool changed = !st.has_written || std::abs(r.output - st.written_output) > 1e-6;
  const bool due = now_us - st.written_at_us >= us_of(st.config.refresh_output);
  if (st.config.loop.enabled && (changed || due))
    write_output(self, r.output);
  save_state(self, r);
  publish(self, r);

  const auto next = st.schedule.next_deadline(steady_us());
  self->delayed_send(self, std::chrono::microseconds(std::max<std::int64_t>(0, next - steady_us())),
                     scan_atom::value);
}

}  // namespace

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
  st.saved_output = st.config.loop.output;
  st.saved_setpoint = st.config.loop.setpoint;
  st.saved_mode = st.config.loop.mode;
  self->set_down_handler([self](caf::down_msg& down) {
    auto& s = self->state;
    if (s.bus && down.source == s.bus.address()) {
      s.bus = nullptr;
      retry_subscription(self);
    }
  });
  subscribe_to_bus(self);
  st.schedule.start(steady_us(), us_of(st.config.scan_period));
  self->delayed_send(self, st.config.scan_period, scan_atom::value);
  return {
      [self](const sample_batch& batch) { on_samples(self, batch); },
      [self](scan_atom) { scan(self); },
      [self](subscribe_atom) { subscribe_to_bus(self); },
      [self](setpoint_atom, double sp) -> caf::result<caf::ok_atom> {
        auto next = self->state.controller.settings();
        next.setpoint = sp;
        if (auto error = self->state.controller.configure(next); !error.empty())
          return caf::make_error(caf::sec::invalid_argument, error);
        return caf::ok_atom::value;
      },
      [self](mode_atom, const std::string& mode,
             double manual_output) -> caf::result<caf::ok_atom> {
        auto next = self->state.controller.settings();
        if (!core::parse_pid_mode(mode, next.mode))
          return caf::make_error(caf::sec::invalid_argument,
                                 "mode must be MANUAL, AUTO or CASCADE");
        if (auto error = self->state.controller.configure(next); !error.empty())
          return caf::make_error(caf::sec::invalid_argument, error);
        if (std::isfinite(manual_output) &&
            !self->state.controller.set_manual_output(manual_output))
          return caf::make_error(caf::sec::invalid_argument,
                                 "a manual output is only taken in MANUAL mode");
        return caf::ok_atom::value;
      },
      [self](cascade_atom, double outer_output) {
        self->state.external_setpoint = outer_output;
        self->state.has_external_setpoint = true;
      },
      [self](caf::get_atom) { return self->state.last.cv; },
  };
}

}  // namespace wtc
