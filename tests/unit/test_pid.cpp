#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <limits>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "core/pid.hpp"

namespace {

using wtc::quality;
using wtc::core::bad_measurement_action;
using wtc::core::parse_pid_mode;
using wtc::core::pid_controller;
using wtc::core::pid_input;
using wtc::core::pid_mode;
using wtc::core::pid_result;
using wtc::core::pid_settings;
using wtc::core::pid_status;
using wtc::core::validate;
using seconds = std::chrono::duration<double>;

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

pid_input good(double measurement, double dt_s = 1.0) {
  return {measurement, quality::good, seconds(dt_s)};
}

pid_input bad(double dt_s = 1.0) {
  return {0.0, quality::bad, seconds(dt_s)};
}

pid_input cascade(double measurement, double external_setpoint, double dt_s = 1.0) {
  return {measurement, quality::good, seconds(dt_s), external_setpoint};
}

pid_settings pi(double kp, double ki, double setpoint) {
  pid_settings s;
  s.kp = kp;
  s.ki = ki;
  s.setpoint = setpoint;
  return s;
}

pid_settings with_mode(pid_settings s, pid_mode m) {
  s.mode = m;
  return s;
}

// y' = (gain × u(t − dead_time) − y) / time_constant, discretised exactly for an input held over
// each scan, as the plant simulator does.
class fopdt_plant {
 public:
  fopdt_plant(double gain, double time_constant, double dead_time, double dt_s)
      : gain_(gain),
        keep_(std::exp(-dt_s / time_constant)),
        delay_(static_cast<std::size_t>(std::lround(dead_time / dt_s)), 0.0) {}

  double measurement() const { return y_; }

  void advance(double input) {
    delay_.push_back(input);
    const double target = gain_ * delay_.front();
    delay_.pop_front();
    y_ = target + (y_ - target) * keep_;
  }

 private:
  double gain_;
  double keep_;
  std::deque<double> delay_;
  double y_ = 0.0;
};

TEST(PidMode, NamesAreTheContracts) {
  for (pid_mode m : {pid_mode::manual, pid_mode::automatic, pid_mode::cascade}) {
    pid_mode parsed = pid_mode::manual;
    ASSERT_TRUE(parse_pid_mode(to_string(m), parsed));
    EXPECT_EQ(parsed, m);
  }
  EXPECT_EQ(to_string(pid_mode::automatic), "AUTO");
  pid_mode untouched = pid_mode::cascade;
  EXPECT_FALSE(parse_pid_mode("auto", untouched));
  EXPECT_FALSE(parse_pid_mode("AUTOMATIC", untouched));
  EXPECT_FALSE(parse_pid_mode("", untouched));
  EXPECT_EQ(untouched, pid_mode::cascade);
  EXPECT_EQ(to_string(pid_status::bad_hold), "BAD_HOLD");
}

TEST(PidLaw, PiStepResponseMatchesTheHandComputation) {
  pid_controller c(pi(2.0, 0.5, 10.0));
  // First step, nothing to continue from: the integral starts at 0 and nothing integrates.
  // e = 10 − 8 = 2, P = 2 × 2 = 4, I = 0 → 4.
  pid_result r = c.step(good(8.0));
  EXPECT_DOUBLE_EQ(r.error, 2.0);
  EXPECT_DOUBLE_EQ(r.p, 4.0);
  EXPECT_DOUBLE_EQ(r.i, 0.0);
  EXPECT_DOUBLE_EQ(r.output, 4.0);
  // I = 0 + 0.5 × 2 × 1 s = 1 → 4 + 1 = 5.
  EXPECT_DOUBLE_EQ(c.step(good(8.0)).output, 5.0);
  // dt 0.5 s: e = 1, P = 2, I = 1 + 0.5 × 1 × 0.5 = 1.25 → 3.25.
  r = c.step(good(9.0, 0.5));
  EXPECT_DOUBLE_EQ(r.i, 1.25);
  EXPECT_DOUBLE_EQ(r.output, 3.25);
  // On the setpoint: P = 0, nothing integrates → I alone, 1.25.
  EXPECT_DOUBLE_EQ(c.step(good(10.0)).output, 1.25);
}

TEST(PidLaw, PidStepResponseMatchesTheHandComputation) {
  pid_settings s = pi(2.0, 0.0, 5.0);
  s.kd = 4.0;
  s.derivative_filter = 0.25;  // Td = kd/kp = 2 s, Tf = 0.25 × 2 = 0.5 s
  pid_controller c(s);
  ASSERT_TRUE(c.initialise_output(50.0));
  EXPECT_DOUBLE_EQ(c.step(good(5.0, 0.5)).output, 50.0);  // transfer: I = 50
  // The measurement steps by 1 in a 0.5 s scan: raw rate 2/s; filter keeps e^(−0.5/0.5) = e^−1.
  // rate = (1 − e^−1) × 2 = 1.264241, D = −4 × 1.264241 = −5.056964, P = 2 × (5 − 6) = −2,
  // output = −2 + 50 − 5.056964 = 42.943036.
  const double decay = std::exp(-1.0);
  pid_result r = c.step(good(6.0, 0.5));
  EXPECT_NEAR(r.d, -4.0 * (1.0 - decay) * 2.0, 1e-12);
  EXPECT_NEAR(r.output, 42.943036, 1e-6);
  // No further change: rate = e^−1 × 1.264241 = 0.465088, D = −1.860353 → 46.139647.
  r = c.step(good(6.0, 0.5));
  EXPECT_NEAR(r.d, -4.0 * decay * (1.0 - decay) * 2.0, 1e-12);
  EXPECT_NEAR(r.output, 46.139647, 1e-6);
}

TEST(PidLaw, ASetpointStepKicksProportionallyButNotThroughTheDerivative) {
  pid_settings s = pi(2.0, 0.5, 5.0);
  s.kd = 4.0;
  s.derivative_filter = 0.25;
  pid_controller c(s);
  c.initialise_output(50.0);
  c.step(good(5.0, 0.5));
  EXPECT_DOUBLE_EQ(c.step(good(5.0, 0.5)).output, 50.0);
  s.setpoint = 7.0;
  ASSERT_EQ(c.configure(s), "");
  // A setpoint change alone is no transfer. e = 2: P = 4, I = 50 + 0.5 × 2 × 0.5 = 50.5, and
  // D = 0 since the measurement did not move → 54.5. On the error, D would add
  // 4 × (1 − e^−1) × 2/0.5 ≈ 10.1.
  pid_result r = c.step(good(5.0, 0.5));
  EXPECT_DOUBLE_EQ(r.p, 4.0);
  EXPECT_DOUBLE_EQ(r.d, 0.0);
  EXPECT_DOUBLE_EQ(r.output, 54.5);
}

TEST(PidLaw, NegativeGainsActDirectly) {
  pid_controller c(pi(-2.0, -0.5, 10.0));
  // Measurement above the setpoint: e = −2, P = −2 × −2 = 4; I = −0.5 × −2 × 1 = 1.
  EXPECT_DOUBLE_EQ(c.step(good(12.0)).output, 4.0);
  EXPECT_DOUBLE_EQ(c.step(good(12.0)).output, 5.0);
}

TEST(PidLimits, TheOutputIsClampedAndSaysSo) {
  pid_controller c(pi(10.0, 0.0, 50.0));
  pid_result r = c.step(good(30.0));  // P = 200
  EXPECT_DOUBLE_EQ(r.output, 100.0);
  EXPECT_TRUE(r.output_limited);
  r = c.step(good(70.0));  // P = −200
  EXPECT_DOUBLE_EQ(r.output, 0.0);
  EXPECT_TRUE(r.output_limited);
  r = c.step(good(48.0));
  EXPECT_DOUBLE_EQ(r.output, 20.0);
  EXPECT_FALSE(r.output_limited);
}

TEST(PidWindup, SaturationStopsIntegrationSoAReversalActsAtOnce) {
  pid_controller c(pi(1.0, 0.5, 50.0));
  // The measurement is stuck at 20 (a pump that does not run): e = 30, P = 30. The integral
  // climbs by 15 a scan: 0, 15, … 60 (output 90); the next increment would take the output to
  // 105, so the integral stops where the output reaches 100: I = 100 − 30 = 70.
  c.step(good(20.0));
  for (int scan = 0; scan < 1000; ++scan)
    c.step(good(20.0));
  EXPECT_DOUBLE_EQ(c.state().integral, 70.0);
  EXPECT_DOUBLE_EQ(c.state().last_output, 100.0);
  // The measurement overshoots to 60: e = −10, P = −10, I = 70 − 0.5 × 10 = 65 → 55 at once.
  // With the integral wound up to the integral limit it would be −10 + 95 = 85.
  const pid_result r = c.step(good(60.0));
  EXPECT_DOUBLE_EQ(r.i, 65.0);
  EXPECT_DOUBLE_EQ(r.output, 55.0);
  EXPECT_FALSE(r.output_limited);
}

TEST(PidWindup, TheIntegralTermStaysWithinTheIntegralLimit) {
  pid_settings s = pi(1.0, 1.0, 50.0);
  s.output_min = -100.0;  // a bipolar output, so the negative limit is reached before 0 is
  s.integral_limit = 30.0;
  pid_controller c(s);
  // e = 10: P = 10, I climbs by 10 a scan and stops at 30 though the output (40) is not limited.
  c.step(good(40.0));
  for (int scan = 0; scan < 10; ++scan)
    c.step(good(40.0));
  pid_result r = c.step(good(40.0));
  EXPECT_DOUBLE_EQ(r.i, 30.0);
  EXPECT_DOUBLE_EQ(r.output, 40.0);
  EXPECT_FALSE(r.output_limited);
  // e = −5: I falls by 5 a scan to −30 and stops there: output −5 − 30 = −35.
  for (int scan = 0; scan < 100; ++scan)
    r = c.step(good(55.0));
  EXPECT_DOUBLE_EQ(r.i, -30.0);
  EXPECT_DOUBLE_EQ(r.output, -35.0);
}

TEST(PidWindup, AnOutputAtItsLimitStopsIntegrationInThatDirectionOnly) {
  pid_controller c(pi(1.0, 1.0, 50.0));
  c.initialise_output(20.0);
  c.step(good(50.0));  // transfer at e = 0: I = 20
  // e = −50: P alone takes the output below 0, so the integral must not fall at all.
  for (int scan = 0; scan < 10; ++scan) {
    const pid_result r = c.step(good(100.0));
    ASSERT_DOUBLE_EQ(r.output, 0.0);
    ASSERT_DOUBLE_EQ(r.i, 20.0);
  }
  // The error reverses (e = 10): the integral rises at once, P = 10, I = 20 + 10 → 40.
  EXPECT_DOUBLE_EQ(c.step(good(40.0)).output, 40.0);
}

TEST(PidDeadband, InsideTheBandTheOutputHoldsAndNothingIntegrates) {
  pid_settings s = pi(2.0, 1.0, 10.0);
  s.deadband = 0.5;
  pid_controller c(s);
  c.initialise_output(40.0);
  c.step(good(10.0));  // transfer at e = 0: I = 40
  // e = −0.3 for 100 s: integrating would have moved the output by 1 × −0.3 × 100 = −30.
  for (int scan = 0; scan < 100; ++scan) {
    const pid_result r = c.step(good(10.3));
    ASSERT_TRUE(r.in_deadband);
    ASSERT_DOUBLE_EQ(r.output, 40.0);
  }
  // The edge belongs to the band: e = −0.5, output held, I = 40 − P = 40 + 1 = 41.
  pid_result r = c.step(good(10.5));
  EXPECT_TRUE(r.in_deadband);
  EXPECT_DOUBLE_EQ(r.output, 40.0);
  EXPECT_DOUBLE_EQ(r.p + r.i + r.d, 40.0);
  // Leaving the band moves the output from the held value by the change of P (−1 → −2) and one
  // increment of I (1 × −1 × 1 s): 40 − 1 − 1 = 38. No step back to where the law "was".
  r = c.step(good(11.0));
  EXPECT_FALSE(r.in_deadband);
  EXPECT_DOUBLE_EQ(r.output, 38.0);
}

TEST(PidDerivative, TheFilterDecaysWithItsTimeConstantWhateverTheScanPeriod) {
  pid_settings s = pi(1.0, 0.0, 0.0);
  s.kd = 2.0;
  s.derivative_filter = 0.5;  // Tf = 0.5 × kd/kp = 1 s
  for (double dt : {0.01, 0.1, 0.25}) {
    SCOPED_TRACE(dt);
    pid_controller c(s);
    c.initialise_output(50.0);
    c.step(good(0.0, dt));
    // A unit step of the measurement: rate = (1 − e^(−dt/Tf)) / dt, D = −kd × rate.
    const double kick = c.step(good(1.0, dt)).d;
    EXPECT_NEAR(kick, -2.0 * (1.0 - std::exp(-dt)) / dt, 1e-12);
    const int scans_per_second = static_cast<int>(std::lround(1.0 / dt));
    pid_result r;
    for (int scan = 0; scan < scans_per_second; ++scan)
      r = c.step(good(1.0, dt));
    EXPECT_NEAR(r.d / kick, std::exp(-1.0), 1e-9);  // one time constant later
    for (int scan = 0; scan < scans_per_second; ++scan)
      r = c.step(good(1.0, dt));
    EXPECT_NEAR(r.d / kick, std::exp(-2.0), 1e-9);
  }
}

TEST(PidDerivative, TheKickOfAMeasurementStepIsBoundedByKpOverTheFilterCoefficient) {
  pid_settings s = pi(1.0, 0.0, 0.0);
  s.kd = 2.0;
  s.derivative_filter = 0.5;
  // However short the scan, a unit step moves D by less than kd/Tf = kp/derivative_filter = 2.
  pid_controller filtered(s);
  filtered.step(good(0.0, 0.001));
  const double kick = filtered.step(good(1.0, 0.001)).d;
  EXPECT_LT(std::fabs(kick), 2.0);
  EXPECT_GT(std::fabs(kick), 1.99);
  // Without the filter the same step is a kick of kd/dt = 2000.
  s.derivative_filter = 0.0;
  pid_controller unfiltered(s);
  unfiltered.step(good(0.0, 0.001));
  EXPECT_NEAR(unfiltered.step(good(1.0, 0.001)).d, -2000.0, 1e-6);
}

TEST(PidScanPeriod, TheIntegralAndTheDerivativeUseEachStepsDt) {
  pid_controller integrator(pi(0.0, 1.0, 2.0));
  EXPECT_DOUBLE_EQ(integrator.step(good(0.0)).output, 0.0);
  EXPECT_DOUBLE_EQ(integrator.step(good(0.0, 1.0)).output, 2.0);   // + 1 × 2 × 1
  EXPECT_DOUBLE_EQ(integrator.step(good(0.0, 0.25)).output, 2.5);  // + 1 × 2 × 0.25
  EXPECT_DOUBLE_EQ(integrator.step(good(0.0, 3.0)).output, 8.5);   // + 1 × 2 × 3

  pid_settings s = pi(1.0, 0.0, 0.0);
  s.kd = 1.0;
  s.derivative_filter = 0.0;
  pid_controller differentiator(s);
  differentiator.initialise_output(50.0);
  // A ramp of 1 unit/s sampled at uneven intervals: D = −kd × 1 on every scan.
  differentiator.step(good(0.0));
  double t = 0.0;
  for (double dt : {1.0, 0.5, 0.25, 2.0}) {
    t += dt;
    EXPECT_DOUBLE_EQ(differentiator.step(good(t, dt)).d, -1.0);
  }
}

TEST(PidScanPeriod, ZeroNegativeOrNanDtIntegratesNothingAndKeepsTheDerivativeHistory) {
  pid_settings s = pi(1.0, 1.0, 0.0);
  s.kd = 1.0;
  s.derivative_filter = 0.0;
  pid_controller c(s);
  c.initialise_output(50.0);
  c.step(good(0.0));  // transfer: I = 50
  // No time passed: P follows the measurement (−1), I and D do not move.
  for (double dt : {0.0, -1.0, nan, std::numeric_limits<double>::infinity()}) {
    SCOPED_TRACE(dt);
    const pid_result r = c.step(good(1.0, dt));
    EXPECT_DOUBLE_EQ(r.i, 50.0);
    EXPECT_DOUBLE_EQ(r.d, 0.0);
    EXPECT_DOUBLE_EQ(r.output, 49.0);
    EXPECT_FALSE(r.restarted);
  }
  // The next real scan sees the whole change: rate (1 − 0)/1 → D = −1; I = 50 − 1 → 47.
  const pid_result r = c.step(good(1.0, 1.0));
  EXPECT_DOUBLE_EQ(r.d, -1.0);
  EXPECT_DOUBLE_EQ(r.output, 47.0);
}

TEST(PidScanPeriod, AGapLongerThanMaxDtRestartsBumplessly) {
  pid_settings s = pi(1.0, 1.0, 10.0);
  s.max_dt = seconds(5.0);
  pid_controller c(s);
  c.initialise_output(50.0);
  c.step(good(8.0));                                 // transfer: I = 48
  EXPECT_DOUBLE_EQ(c.step(good(8.0)).output, 52.0);  // I = 50
  // An hour without a scan: integrating would add 6 × 3600. The loop restarts from 52 instead.
  pid_result r = c.step(good(4.0, 3600.0));
  EXPECT_TRUE(r.restarted);
  EXPECT_DOUBLE_EQ(r.output, 52.0);
  EXPECT_DOUBLE_EQ(r.i, 46.0);
  r = c.step(good(4.0));
  EXPECT_FALSE(r.restarted);
  EXPECT_DOUBLE_EQ(r.output, 58.0);  // I = 46 + 6
}

TEST(PidTransfer, ManualToAutoIsBumplessAndTheSetpointTrackedThePv) {
  pid_controller c(with_mode(pi(60.0, 2.0, 7.0), pid_mode::manual));
  ASSERT_TRUE(c.set_manual_output(30.0));
  for (int scan = 0; scan < 5; ++scan)
    EXPECT_DOUBLE_EQ(c.step(good(7.2)).output, 30.0);
  EXPECT_DOUBLE_EQ(c.settings().setpoint, 7.2);
  ASSERT_EQ(c.configure(with_mode(c.settings(), pid_mode::automatic)), "");
  // With the setpoint left at 7.0 the output would ramp by 2 × −0.2 a scan after the transfer.
  for (int scan = 0; scan < 10; ++scan)
    EXPECT_DOUBLE_EQ(c.step(good(7.2)).output, 30.0);
  // And the loop is live: e = 0.1, P = 6, I = 30 + 2 × 0.1 × 1 = 30.2 → 36.2.
  EXPECT_NEAR(c.step(good(7.1)).output, 36.2, 1e-9);
}

TEST(PidTransfer, AutoToManualHoldsTheOutputUntilTheOperatorMovesIt) {
  pid_controller c(pi(2.0, 0.5, 10.0));
  c.step(good(8.0));
  EXPECT_DOUBLE_EQ(c.step(good(8.0)).output, 5.0);
  EXPECT_FALSE(c.set_manual_output(20.0));  // the operator sets the output in MANUAL only
  ASSERT_EQ(c.configure(with_mode(c.settings(), pid_mode::manual)), "");
  pid_result r = c.step(good(8.5));
  EXPECT_DOUBLE_EQ(r.output, 5.0);
  EXPECT_EQ(r.status, pid_status::normal);
  EXPECT_DOUBLE_EQ(r.setpoint, 8.5);
  ASSERT_TRUE(c.set_manual_output(20.0));
  EXPECT_DOUBLE_EQ(c.step(good(8.5)).output, 20.0);
  EXPECT_FALSE(c.set_manual_output(nan));
  ASSERT_TRUE(c.set_manual_output(150.0));
  EXPECT_DOUBLE_EQ(c.step(good(8.5)).output, 100.0);
}

TEST(PidTransfer, AutoToCascadeAndBackIsBumpless) {
  pid_controller c(pi(3.0, 0.2, 50.0));
  c.initialise_output(40.0);
  c.step(good(48.0));                                  // transfer: P = 6, I = 34
  EXPECT_NEAR(c.step(good(48.0)).output, 40.4, 1e-9);  // I = 34 + 0.2 × 2
  ASSERT_EQ(c.configure(with_mode(c.settings(), pid_mode::cascade)), "");
  // The outer loop asks for 52 at once (it was not initialised): the transfer absorbs it.
  pid_result r = c.step(cascade(48.0, 52.0));
  EXPECT_NEAR(r.output, 40.4, 1e-9);
  EXPECT_DOUBLE_EQ(r.setpoint, 52.0);
  // e = 4: P = 12, I = (40.4 − 12) + 0.2 × 4 = 29.2 → 41.2.
  EXPECT_NEAR(c.step(cascade(48.0, 52.0)).output, 41.2, 1e-9);
  // The local setpoint followed the outer loop, so AUTO carries on with 52.
  EXPECT_DOUBLE_EQ(c.settings().setpoint, 52.0);
  ASSERT_EQ(c.configure(with_mode(c.settings(), pid_mode::automatic)), "");
  r = c.step(good(48.0));
  EXPECT_NEAR(r.output, 41.2, 1e-9);
  EXPECT_DOUBLE_EQ(r.setpoint, 52.0);
  EXPECT_NEAR(c.step(good(48.0)).output, 42.0, 1e-9);  // I = 29.2 + 0.8
}

TEST(PidTransfer, ATuningChangeIsBumpless) {
  pid_settings s = pi(2.0, 0.5, 10.0);
  s.kd = 1.0;
  pid_controller c(s);
  c.initialise_output(50.0);
  c.step(good(8.0));                                 // transfer: P = 4, I = 46
  EXPECT_DOUBLE_EQ(c.step(good(8.0)).output, 51.0);  // I = 47
  s.kp = 5.0;
  s.ki = 1.0;
  s.kd = 3.0;
  ASSERT_EQ(c.configure(s), "");
  // Unchanged integral, the output would jump to 5 × 2 + 47 + 1 × 2 = 59. Instead: 51, with
  // I = 51 − 10 = 41, then 41 + 1 × 2 × 1 = 43 → 53.
  pid_result r = c.step(good(8.0));
  EXPECT_DOUBLE_EQ(r.output, 51.0);
  EXPECT_DOUBLE_EQ(r.p, 10.0);
  EXPECT_DOUBLE_EQ(r.i, 41.0);
  EXPECT_DOUBLE_EQ(c.step(good(8.0)).output, 53.0);
}

TEST(PidCascade, InitialisingTheOuterLoopClosesTheCascadeWithoutAStep) {
  // Outer: clear-well level (m) → outlet flow setpoint (m³/h). Inner: flow → valve opening (%).
  pid_settings level = pi(4.0, 0.1, 2.5);
  level.output_max = 120.0;
  level.integral_limit = 120.0;  // else the integral could not carry the top of the range
  pid_controller outer(level);
  pid_controller inner(pi(0.5, 0.2, 40.0));
  inner.initialise_output(35.0);
  EXPECT_DOUBLE_EQ(inner.step(good(38.0)).output, 35.0);
  const double valve = inner.step(good(38.0)).output;  // 35 + 0.2 × 2

  // The inner loop goes into CASCADE; the outer one starts from the inner setpoint.
  ASSERT_EQ(inner.configure(with_mode(inner.settings(), pid_mode::cascade)), "");
  ASSERT_TRUE(outer.initialise_output(inner.settings().setpoint));
  // Level 2.3: e = 0.2, P = 0.8, the transfer sets I = 39.2 so the flow setpoint is still 40.
  const double flow_setpoint = outer.step(good(2.3)).output;
  EXPECT_DOUBLE_EQ(flow_setpoint, 40.0);
  const pid_result r = inner.step(cascade(38.0, flow_setpoint));
  EXPECT_DOUBLE_EQ(r.setpoint, 40.0);
  EXPECT_DOUBLE_EQ(r.output, valve);
  // From there the outer loop moves smoothly: I = 39.2 + 0.1 × 0.2 × 1 = 39.22 → 40.02.
  EXPECT_NEAR(outer.step(good(2.3)).output, 40.02, 1e-9);

  // The value is clamped to the outer loop's limits; a non-number is refused.
  ASSERT_TRUE(outer.initialise_output(150.0));
  EXPECT_DOUBLE_EQ(outer.step(good(2.3)).output, 120.0);
  EXPECT_FALSE(outer.initialise_output(nan));
}

TEST(PidBadMeasurement, HoldsTheLastOutputAndResumesBumplessly) {
  pid_settings s = pi(2.0, 0.5, 10.0);
  s.kd = 4.0;
  s.derivative_filter = 0.25;
  pid_controller c(s);
  c.initialise_output(50.0);
  c.step(good(9.0, 0.5));                                  // transfer: I = 48
  EXPECT_DOUBLE_EQ(c.step(good(9.0, 0.5)).output, 50.25);  // I = 48 + 0.5 × 1 × 0.5
  for (int scan = 0; scan < 5; ++scan) {
    const pid_result r = c.step(bad(0.5));
    EXPECT_EQ(r.status, pid_status::bad_hold);
    EXPECT_DOUBLE_EQ(r.output, 50.25);
    EXPECT_DOUBLE_EQ(r.i, 48.25);
  }
  // The measurement is back 0.5 higher: no derivative kick across the outage, no step.
  pid_result r = c.step(good(9.5, 0.5));
  EXPECT_EQ(r.status, pid_status::normal);
  EXPECT_DOUBLE_EQ(r.d, 0.0);
  EXPECT_DOUBLE_EQ(r.output, 50.25);
  // P = 1, I = (50.25 − 1) + 0.5 × 0.5 × 0.5 = 49.375 → 50.375.
  EXPECT_DOUBLE_EQ(c.step(good(9.5, 0.5)).output, 50.375);
}

TEST(PidBadMeasurement, DrivesToTheSafeOutputWhenConfiguredAndResumesFromIt) {
  pid_settings s = pi(2.0, 0.5, 10.0);
  s.on_bad_measurement = bad_measurement_action::safe_output;
  s.safe_output = 0.0;
  pid_controller c(s);
  c.initialise_output(50.0);
  c.step(good(9.0, 0.5));
  c.step(good(9.0, 0.5));
  const pid_result during = c.step(bad(0.5));
  EXPECT_EQ(during.status, pid_status::bad_safe);
  EXPECT_DOUBLE_EQ(during.output, 0.0);
  // Back: from the safe output (where the actuator is), not a jump to 50.25.
  EXPECT_DOUBLE_EQ(c.step(good(9.0, 0.5)).output, 0.0);
  // P = 2, I = (0 − 2) + 0.5 × 1 × 0.5 = −1.75 → 0.25.
  EXPECT_DOUBLE_EQ(c.step(good(9.0, 0.5)).output, 0.25);
}

TEST(PidBadMeasurement, ManualIgnoresItAndWithNothingToHoldTheSafeOutputApplies) {
  pid_controller manual(with_mode(pi(2.0, 0.5, 10.0), pid_mode::manual));
  manual.set_manual_output(30.0);
  manual.step(good(9.0));
  const pid_result r = manual.step(bad());
  EXPECT_EQ(r.status, pid_status::normal);
  EXPECT_DOUBLE_EQ(r.output, 30.0);
  EXPECT_DOUBLE_EQ(r.setpoint, 9.0);  // not tracked to a BAD value

  pid_settings s = pi(2.0, 0.5, 10.0);
  s.output_min = 4.0;
  s.output_max = 20.0;
  s.safe_output = 0.0;  // below the range: clamped
  pid_controller fresh(s);
  const pid_result first = fresh.step(bad());
  EXPECT_EQ(first.status, pid_status::bad_safe);
  EXPECT_DOUBLE_EQ(first.output, 4.0);
  pid_controller fresh_manual(with_mode(s, pid_mode::manual));
  EXPECT_DOUBLE_EQ(fresh_manual.step(good(9.0)).output, 4.0);
}

TEST(PidBadMeasurement, UncertainControlsANonFiniteValueIsBad) {
  pid_controller c(pi(2.0, 0.0, 10.0));
  pid_result r = c.step({8.0, quality::uncertain, seconds(1.0)});
  EXPECT_EQ(r.status, pid_status::normal);
  EXPECT_DOUBLE_EQ(r.output, 4.0);
  r = c.step({nan, quality::good, seconds(1.0)});
  EXPECT_EQ(r.status, pid_status::bad_hold);
  EXPECT_DOUBLE_EQ(r.output, 4.0);
}

TEST(PidValidation, TheDefaultsAreValid) {
  EXPECT_EQ(validate(pid_settings{}), "");
  pid_settings direct = pi(-1.0, -0.1, 3.0);
  direct.kd = -0.5;
  EXPECT_EQ(validate(direct), "");
}

TEST(PidValidation, NamesWhatIsWrong) {
  struct bad_case {
    void (*spoil)(pid_settings&);
    const char* message;
  };
  const bad_case cases[] = {
      {[](pid_settings& s) { s.kp = nan; }, "kp must be a finite number"},
      {[](pid_settings& s) { s.ki = std::numeric_limits<double>::infinity(); },
       "ki must be a finite number"},
      {[](pid_settings& s) { s.setpoint = nan; }, "setpoint must be a finite number"},
      {[](pid_settings& s) {
         s.output_min = 10.0;
         s.output_max = 5.0;
       },
       "output_min (10) must be below output_max (5)"},
      {[](pid_settings& s) { s.output_min = s.output_max = 5.0; },
       "output_min (5) must be below output_max (5)"},
      {[](pid_settings& s) { s.deadband = -0.1; }, "deadband (-0.1) must not be negative"},
      {[](pid_settings& s) { s.integral_limit = -1.0; },
       "integral_limit (-1) must not be negative"},
      {[](pid_settings& s) { s.derivative_filter = 10.0; }, "derivative_filter (10) must be"},
      {[](pid_settings& s) { s.derivative_filter = -0.1; }, "derivative_filter (-0.1) must be"},
      {[](pid_settings& s) {
         s.kp = 1.0;
         s.ki = -0.1;
       },
       "kp, ki and kd must not have opposite signs"},
      {[](pid_settings& s) {
         s.kp = 0.0;
         s.kd = 1.0;
       },
       "kd needs a non-zero kp"},
      {[](pid_settings& s) {
         s.on_bad_measurement = bad_measurement_action::safe_output;
         s.safe_output = 101.0;
       },
       "safe_output (101) must lie between output_min (0) and output_max (100)"},
      {[](pid_settings& s) { s.max_dt = seconds(0.0); },
       "max_dt must be a positive number of seconds"},
  };
  for (const bad_case& c : cases) {
    pid_settings s;
    c.spoil(s);
    const std::string why = validate(s);
    EXPECT_EQ(why.rfind(c.message, 0), 0u) << why;
  }
}

TEST(PidValidation, InvalidSettingsChangeNothing) {
  pid_settings broken;
  broken.output_max = -1.0;
  EXPECT_THROW(pid_controller{broken}, std::invalid_argument);
  pid_controller c(pi(2.0, 0.5, 10.0));
  c.step(good(8.0));
  EXPECT_NE(c.configure(broken), "");
  EXPECT_DOUBLE_EQ(c.settings().output_max, 100.0);
  EXPECT_DOUBLE_EQ(c.step(good(8.0)).output, 5.0);  // carries on, no transfer
}

// The plant: gain 2, time constant 20 s, dead time 4 s, scanned every 0.5 s. SIMC PI tuning
// with τc = θ: kp = τ / (K × (τc + θ)) = 20 / (2 × 8) = 1.25, Ti = min(τ, 4 (τc + θ)) = 20 s,
// ki = kp / Ti = 0.0625. Holding 10 takes an output of 5.
constexpr double plant_dt = 0.5;
pid_settings simc_pi() {
  return pi(1.25, 0.0625, 10.0);
}

TEST(PidClosedLoop, APiLoopSettlesAFirstOrderPlusDeadTimePlant) {
  fopdt_plant plant(2.0, 20.0, 4.0, plant_dt);
  pid_controller c(simc_pi());
  c.initialise_output(0.0);
  double peak = 0.0;
  double disturbance = 0.0;
  for (double t = 0.0; t < 600.0; t += plant_dt) {
    if (t >= 300.0)
      disturbance = -2.0;  // a load step at the plant's input: holding 10 now takes 7
    const double u = c.step(good(plant.measurement(), plant_dt)).output;
    plant.advance(u + disturbance);
    peak = std::max(peak, plant.measurement());
    if ((t >= 150.0 && t < 300.0) || t >= 500.0) {
      ASSERT_NEAR(plant.measurement(), 10.0, 0.1) << "at t = " << t;  // within 1 %
    }
  }
  EXPECT_LT(peak, 10.1);  // SIMC with τc = θ barely overshoots
  EXPECT_NEAR(c.state().last_output, 7.0, 0.01);
}

TEST(PidClosedLoop, RecoversFromALongActuatorFailureWithoutWindup) {
  fopdt_plant plant(2.0, 20.0, 4.0, plant_dt);
  pid_settings s = simc_pi();
  s.integral_limit = 10.0;  // twice what holding the setpoint takes
  pid_controller c(s);
  c.initialise_output(0.0);
  double peak_after_recovery = 0.0;
  for (double t = 0.0; t < 1200.0; t += plant_dt) {
    const bool failed = t >= 300.0 && t < 900.0;  // ten minutes of a pump that does not run
    const pid_result r = c.step(good(plant.measurement(), plant_dt));
    ASSERT_LE(r.i, 10.0);
    plant.advance(failed ? 0.0 : r.output);
    if (t >= 900.0)
      peak_after_recovery = std::max(peak_after_recovery, plant.measurement());
    if (t >= 1050.0) {
      ASSERT_NEAR(plant.measurement(), 10.0, 0.1) << "at t = " << t;
    }
  }
  // A plain PI would have integrated 0.0625 × 10 × 600 = 375 and driven the plant towards 200
  // after the repair; limited to 10, the integral costs less than a 50 % overshoot.
  EXPECT_LT(peak_after_recovery, 15.0);
}

}  // namespace
