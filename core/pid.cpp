#include "core/pid.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace wtc::core {
namespace {

constexpr std::array<std::pair<std::string_view, pid_mode>, 3> mode_names{{
    {"MANUAL", pid_mode::manual},
    {"AUTO", pid_mode::automatic},
    {"CASCADE", pid_mode::cascade},
}};

// Shortest form ("0.1", "100"), not std::to_string's "0.100000": the message goes to a client.
std::string number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

bool tuning_differs(const pid_settings& a, const pid_settings& b) {
  return a.kp != b.kp || a.ki != b.ki || a.kd != b.kd;
}

}  // namespace

std::string_view to_string(pid_mode m) {
  return mode_names[static_cast<std::size_t>(m)].first;
}

bool parse_pid_mode(std::string_view text, pid_mode& out) {
  for (const auto& [name, value] : mode_names)
    if (name == text) {
      out = value;
      return true;
    }
  return false;
}

std::string_view to_string(pid_status s) {
  switch (s) {
    case pid_status::normal:
      return "NORMAL";
    case pid_status::bad_hold:
      return "BAD_HOLD";
    case pid_status::bad_safe:
      break;
  }
  return "BAD_SAFE";
}

std::string validate(const pid_settings& s) {
  const std::pair<std::string_view, double> numbers[] = {
      {"kp", s.kp},
      {"ki", s.ki},
      {"kd", s.kd},
      {"setpoint", s.setpoint},
      {"output_min", s.output_min},
      {"output_max", s.output_max},
      {"deadband", s.deadband},
      {"integral_limit", s.integral_limit},
      {"derivative_filter", s.derivative_filter},
      {"safe_output", s.safe_output},
  };
  for (const auto& [name, value] : numbers)
    if (!std::isfinite(value))
      return std::string(name) + " must be a finite number";
  if (!(s.output_min < s.output_max))
    return "output_min (" + number(s.output_min) + ") must be below output_max (" +
           number(s.output_max) + ")";
  if (s.deadband < 0.0)
    return "deadband (" + number(s.deadband) + ") must not be negative";
  if (s.integral_limit < 0.0)
    return "integral_limit (" + number(s.integral_limit) + ") must not be negative";
  // A value above 1 is most likely N (the filter's gain limit) given where 1/N belongs.
  if (s.derivative_filter < 0.0 || s.derivative_filter > 1.0)
    return "derivative_filter (" + number(s.derivative_filter) +
           ") must be between 0 and 1: it is the filter time as a fraction of kd/kp (0.1 is "
           "N = 10)";
  const bool any_positive = s.kp > 0.0 || s.ki > 0.0 || s.kd > 0.0;
  const bool any_negative = s.kp < 0.0 || s.ki < 0.0 || s.kd < 0.0;
  if (any_positive && any_negative)
    return "kp, ki and kd must not have opposite signs: all >= 0 for a reverse-acting loop, all "
           "<= 0 for a direct-acting one";
  if (s.kd != 0.0 && s.kp == 0.0)
    return "kd needs a non-zero kp: the derivative filter time is derivative_filter * kd / kp";
  if (s.on_bad_measurement == bad_measurement_action::safe_output &&
      (s.safe_output < s.output_min || s.safe_output > s.output_max))
    return "safe_output (" + number(s.safe_output) + ") must lie between output_min (" +
           number(s.output_min) + ") and output_max (" + number(s.output_max) + ")";
  if (!(s.max_dt.count() > 0.0) || !std::isfinite(s.max_dt.count()))
    return "max_dt must be a positive number of seconds";
  return {};
}

pid_controller::pid_controller(const pid_settings& settings) : settings_(settings) {
  if (auto why = validate(settings); !why.empty())
    throw std::invalid_argument(why);
}

std::string pid_controller::configure(const pid_settings& next) {
  if (auto why = validate(next); !why.empty())
    return why;
  // The integral is kept in output units, so a new ki alone would not move the output; a new kp
  // or kd would. Either way the next step re-bases the integral on the last output.
  if (next.mode != settings_.mode || tuning_differs(next, settings_))
    state_.transfer_pending = true;
  settings_ = next;
  state_.last_output = clamp_output(state_.last_output);
  state_.integral = clamp_integral(state_.integral);
  return {};
}

bool pid_controller::set_manual_output(double value) {
  if (settings_.mode != pid_mode::manual)
    return false;
  return initialise_output(value);
}

bool pid_controller::initialise_output(double value) {
  if (!std::isfinite(value))
    return false;
  state_.last_output = clamp_output(value);
  state_.has_output = true;
  state_.transfer_pending = true;
  return true;
}

pid_result pid_controller::step(const pid_input& in) {
  // Zero, negative or not a number: no time has passed. Nothing integrates and the derivative
  // keeps its last measurement, so the next real step sees the whole change over its interval.
  const double dt_s = std::isfinite(in.dt.count()) && in.dt.count() > 0.0 ? in.dt.count() : 0.0;
  pid_result r;
  if (dt_s > settings_.max_dt.count()) {
    // Nothing is known about the gap: integrating over it or differentiating across it would
    // move the output by an amount no scan asked for.
    r.restarted = true;
    forget_measurement();
    state_.transfer_pending = true;
  }
  if (settings_.mode == pid_mode::cascade && std::isfinite(in.external_setpoint))
    settings_.setpoint = in.external_setpoint;
  if (in.measurement_quality == quality::bad || !std::isfinite(in.measurement))
    return step_without_measurement(r);

  update_measurement_rate(in.measurement, dt_s);
  // Setpoint tracking: AUTO starts with no error, whenever the operator switches to it.
  if (settings_.mode == pid_mode::manual)
    settings_.setpoint = in.measurement;
  r.setpoint = settings_.setpoint;
  r.error = r.setpoint - in.measurement;
  r.p = settings_.kp * r.error;
  r.d = -settings_.kd * state_.measurement_rate;

  double output = 0.0;
  if (settings_.mode == pid_mode::manual) {
    output = clamp_output(state_.has_output ? state_.last_output : settings_.safe_output);
    // The integral tracks the operator's output, so P + I + D describe what the output is.
    state_.integral = clamp_integral(output - r.p - r.d);
  } else if (!state_.has_output) {
    // The first step with nothing to continue from: the integral starts where it is (0).
    output = clamp_output(r.p + state_.integral + r.d);
    r.output_limited = output != r.p + state_.integral + r.d;
    state_.transfer_pending = false;
  } else if (state_.transfer_pending) {
    output = state_.last_output;
    state_.integral = clamp_integral(output - r.p - r.d);
    // Equal to the last output unless the integral limit forbids the integral it would take.
    output = clamp_output(r.p + state_.integral + r.d);
    state_.transfer_pending = false;
  } else if (settings_.deadband > 0.0 && std::fabs(r.error) <= settings_.deadband) {
    r.in_deadband = true;
    output = state_.last_output;
    // No integration. The integral is re-expressed so that P + I + D is the held output: the
    // step that leaves the band then moves the output by the change of P and D and one
    // increment of I from the held value, as the incremental form of the law would.
    state_.integral = clamp_integral(output - r.p - r.d);
  } else {
    const double increment = settings_.ki * r.error * dt_s;
    double integral = state_.integral + increment;
    // Conditional integration: the integral may bring the output up to a limit, never beyond.
    if (increment > 0.0)
      integral = std::max(state_.integral, std::min(integral, settings_.output_max - r.p - r.d));
    else if (increment < 0.0)
      integral = std::min(state_.integral, std::max(integral, settings_.output_min - r.p - r.d));
    state_.integral = clamp_integral(integral);
    const double unlimited = r.p + state_.integral + r.d;
    output = clamp_output(unlimited);
    r.output_limited = output != unlimited;
  }
  r.i = state_.integral;
  r.output = output;
  state_.last_output = output;
  state_.has_output = true;
  return r;
}

pid_result pid_controller::step_without_measurement(pid_result r) {
  // Differentiating across the outage would kick the output when the measurement returns.
  forget_measurement();
  state_.transfer_pending = true;
  r.setpoint = settings_.setpoint;
  if (settings_.mode == pid_mode::manual) {
    r.output = clamp_output(state_.has_output ? state_.last_output : settings_.safe_output);
  } else if (settings_.on_bad_measurement == bad_measurement_action::hold && state_.has_output) {
    r.status = pid_status::bad_hold;
    r.output = clamp_output(state_.last_output);
  } else {
    // With nothing to hold yet, the safe output is the only defined choice.
    r.status = pid_status::bad_safe;
    r.output = clamp_output(settings_.safe_output);
  }
  r.i = state_.integral;
  state_.last_output = r.output;
  state_.has_output = true;
  return r;
}

void pid_controller::update_measurement_rate(double measurement, double dt_s) {
  if (!state_.has_measurement) {
    state_.last_measurement = measurement;
    state_.measurement_rate = 0.0;
    state_.has_measurement = true;
    return;
  }
  if (dt_s == 0.0)
    return;
  const double raw_rate = (measurement - state_.last_measurement) / dt_s;
  // Tf = derivative_filter × Td with Td = kd/kp (validate() makes kp non-zero when kd is, and
  // the ratio positive). The exact discretisation of dr/dt = (raw − r)/Tf for a rate constant
  // over the scan: the filter's time constant is Tf whatever the scan period.
  const double filter_time =
      settings_.kd == 0.0 ? 0.0 : settings_.derivative_filter * settings_.kd / settings_.kp;
  const double keep = filter_time > 0.0 ? std::exp(-dt_s / filter_time) : 0.0;
  state_.measurement_rate = keep * state_.measurement_rate + (1.0 - keep) * raw_rate;
  state_.last_measurement = measurement;
}

void pid_controller::forget_measurement() {
  state_.has_measurement = false;
  state_.measurement_rate = 0.0;
}

double pid_controller::clamp_output(double value) const {
  return std::clamp(value, settings_.output_min, settings_.output_max);
}

double pid_controller::clamp_integral(double value) const {
  return std::clamp(value, -settings_.integral_limit, settings_.integral_limit);
}

}  // namespace wtc::core
