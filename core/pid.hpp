#pragma once

// The PID algorithm of a pid_loops row, pure: the caller supplies the measurement, its quality
// and the time since the last step, and writes the output to the actuator. docs/pid.md gives the
// equations and the reasons behind every choice.

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "messages/field_types.hpp"

namespace wtc::core {

/// The contract's loop modes. MANUAL: the operator sets the output and the setpoint follows the
/// measurement. AUTO: the loop drives the measurement to its own setpoint. CASCADE: as AUTO, with
/// the setpoint taken from an outer loop's output; the local setpoint follows it.
enum class pid_mode : std::uint8_t { manual, automatic, cascade };

/// "MANUAL", "AUTO", "CASCADE".
std::string_view to_string(pid_mode m);
/// Parses the contract's names, exactly; returns false on anything else.
bool parse_pid_mode(std::string_view text, pid_mode& out);

/// What the loop does with its output in AUTO and CASCADE while the measurement is BAD.
enum class bad_measurement_action : std::uint8_t { hold, safe_output };

/// The contract's columns of a pid_loops row that the algorithm uses, plus three of ours the
/// contract lacks (on_bad_measurement, safe_output, max_dt). Gains act on the error
/// setpoint − measurement: positive gains raise the output while the measurement is below the
/// setpoint (reverse acting), negative gains lower it (direct acting).
struct pid_settings {
  double kp = 1.0;  // output units per measurement unit
  double ki = 0.0;  // output units per (measurement unit × second)
  double kd = 0.0;  // output units × seconds per measurement unit
  double setpoint = 0.0;
  double output_min = 0.0;
  double output_max = 100.0;
  double deadband = 0.0;  // measurement units; 0: none
  // Output units: the integral term's contribution stays within ±integral_limit.
  double integral_limit = 100.0;
  // The derivative filter's time constant as a fraction of the derivative time kd/kp: the
  // ISA form's 1/N, so the default 0.1 is the textbook N = 10. 0: no filter.
  double derivative_filter = 0.1;
  pid_mode mode = pid_mode::automatic;
  bad_measurement_action on_bad_measurement = bad_measurement_action::hold;
  double safe_output = 0.0;  // output units
  // A step that comes longer than this after the previous one restarts the loop bumplessly
  // instead of integrating over the gap. The loop's owner sets it to a few scan periods.
  std::chrono::duration<double> max_dt{60.0};
};

/// Why `s` cannot drive a loop, naming the field, or an empty string when it can.
std::string validate(const pid_settings& s);

/// One scan of the loop.
struct pid_input {
  double measurement = 0.0;
  quality measurement_quality = quality::good;  // UNCERTAIN controls, BAD does not
  std::chrono::duration<double> dt{0.0};        // since the previous step
  // CASCADE: the outer loop's output, the setpoint of this step; ignored in other modes. Not a
  // finite number: the last setpoint stays.
  double external_setpoint = std::numeric_limits<double>::quiet_NaN();
};

/// What the output of a step is based on.
enum class pid_status : std::uint8_t {
  normal,    // AUTO, CASCADE: the PID law; MANUAL: the operator
  bad_hold,  // the measurement is BAD: the last output is held
  bad_safe,  // the measurement is BAD: the output is the safe output
};

/// "NORMAL", "BAD_HOLD", "BAD_SAFE".
std::string_view to_string(pid_status s);

struct pid_result {
  double output = 0.0;
  pid_status status = pid_status::normal;
  double setpoint = 0.0;  // the setpoint this step worked with (tracked in MANUAL and CASCADE)
  double error = 0.0;     // setpoint − measurement; 0 while the measurement is BAD
  // The three terms, in output units. Their sum is the output, except where a limit cut it and
  // while the measurement is BAD (P and D are 0 then, and I is the integral as it was).
  double p = 0.0;
  double i = 0.0;
  double d = 0.0;
  bool in_deadband = false;     // the error is inside the deadband: the output holds
  bool output_limited = false;  // the law asked for more than output_min/output_max allow
  bool restarted = false;       // dt was longer than max_dt: the loop restarted
};

/// What the loop remembers between steps, exposed for diagnostics and tests.
struct pid_state {
  double integral = 0.0;  // the integral term, output units
  // The low-pass filtered rate of change of the measurement, measurement units per second: the
  // derivative term is −kd × this, so a change of kd does not disturb the filter.
  double measurement_rate = 0.0;
  double last_measurement = 0.0;
  bool has_measurement = false;  // last_measurement and measurement_rate hold a GOOD history
  double last_output = 0.0;
  bool has_output = false;        // last_output is a real output: a step or an initialisation
  bool transfer_pending = false;  // the next AUTO or CASCADE step continues from last_output
};

/// One PID loop. Every mode change, tuning change, initialisation and return of a GOOD
/// measurement is bumpless: the next computed step outputs the last output exactly, with the
/// integral back-calculated to make it so, and the loop acts from there.
class pid_controller {
 public:
  pid_controller() = default;
  /// Throws std::invalid_argument with validate()'s message when `settings` are invalid.
  explicit pid_controller(const pid_settings& settings);

  /// The settings in force, with the setpoint as tracked in MANUAL and CASCADE: the loop's owner
  /// stores it, so a restart in AUTO starts from the setpoint the loop last worked with.
  const pid_settings& settings() const { return settings_; }
  const pid_state& state() const { return state_; }

  /// Applies new settings (tuning, limits, setpoint, mode) bumplessly, or changes nothing and
  /// returns validate()'s message. The last output is brought inside new output limits.
  std::string configure(const pid_settings& next);

  /// The operator's output, in MANUAL only (false otherwise, or when `value` is not finite);
  /// clamped to the output limits.
  bool set_manual_output(double value);

  /// Makes `value` (clamped) the last output and the next computed step continue from it, in any
  /// mode. At start-up: the actuator's position. For an outer loop whose inner loop goes into
  /// CASCADE: the inner loop's setpoint, so the cascade closes without a step. False when
  /// `value` is not finite.
  bool initialise_output(double value);

  pid_result step(const pid_input& in);

 private:
  pid_result step_without_measurement(pid_result r);
  void update_measurement_rate(double measurement, double dt_s);
  void forget_measurement();
  double clamp_output(double value) const;
  double clamp_integral(double value) const;

  pid_settings settings_;
  pid_state state_;
};

}  // namespace wtc::core
