#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/field_bus.hpp"
#include "actors/pid_actor.hpp"
#include "actors/scan_clock.hpp"
#include "messages/live.hpp"
#include "messages/register_types.hpp"

namespace wtc {
namespace {

using namespace std::chrono_literals;

struct config : caf::actor_system_config {
  config() { register_types(*this); }
};

/// Stands in for the RTU fleet: answers every actuator command and tells the test about it.
caf::behavior fake_rtus(caf::event_based_actor*, caf::actor observer) {
  return {
      [observer](command_atom, const std::string& station, const actuator_command& cmd,
                 const request_origin& origin) {
        caf::anon_send(observer, station, cmd, origin.username);
        actuator_state out;
        out.slot = cmd.slot;
        out.command = cmd.command;
        out.pwm_duty = cmd.pwm_duty;
        return out;
      },
  };
}

class PidActorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bus = sys.spawn(field_bus, field_bus_config{});
    sys.registry().put(names::field_bus, caf::actor_cast<caf::strong_actor_ptr>(bus));
    rtus = sys.spawn(fake_rtus, caf::actor_cast<caf::actor>(self));
    sys.registry().put(names::rtus, caf::actor_cast<caf::strong_actor_ptr>(rtus));
    // The test stands in for the live hub, to see each scan's pid_update.
    sys.registry().put(names::live_hub, caf::actor_cast<caf::strong_actor_ptr>(self.ptr()));
  }

  void TearDown() override {
    for (auto& a : {loop, rtus, clock, caf::actor_cast<caf::actor>(bus)})
      if (a)
        self->send_exit(a, caf::exit_reason::user_shutdown);
  }

  pid_loop_record ph_loop() {
    pid_loop_record r;
    r.id = 1;
    r.name = "pH";
    r.input_rtu = "rtu-1";
    r.input_slot = 1;
    r.output_rtu = "rtu-1";
    r.output_slot = 11;
    r.kp = 10.0;
    r.ki = 0.0;
    r.kd = 0.0;
    r.setpoint = 7.5;
    r.mode = "AUTO";
    // As stored by a previous run: the loop continues bumplessly from 0, whether its first scan
    // has a measurement or not.
    r.has_output = true;
    r.output = 0.0;
    return r;
  }

  void start(const pid_loop_record& r, bool follow_input = false,
             std::chrono::milliseconds period = 50ms) {
    pid_actor_config c;
    c.loop = r;
    c.scan_period = period;
    c.follow_input = follow_input;
    c.scan_clock = clock;
    c.stale_after = 5s;  // long: a loaded test machine must not make the measurement stale
    c.report_interval = 100ms;
    c.owner = caf::actor_cast<caf::actor>(self);  // the test stands in for the manager
    loop = sys.spawn(pid_actor, c);
  }

  void measure(double ph, quality q = quality::good) {
    sample s;
    s.slot = 1;
    s.tag = "PH_1";
    s.value = ph;
    s.q = q;
    sample_batch b;
    b.station = "rtu-1";
    b.samples = {s};
    self->send(bus, b);
  }

  /// Keeps measuring `ph` until the loop reports a scan that used it (true), or 2 s pass. The
  /// loop subscribes to the bus when it starts: a measurement sent before that is lost.
  bool wait_for_scan_of(double ph) {
    for (int i = 0; i < 40; ++i) {
      measure(ph);
      bool seen = false;
      self->receive(
          [&](const live_message& m) {
            auto data = nlohmann::json::parse(m.data);
            seen = m.type == "pid_update" && data["pv"] == ph && data["status"] == "NORMAL";
          },
          [](pid_atom, const pid_snapshot&) {},
          [&](const std::string&, const actuator_command& cmd, const std::string&) {
            commands.push_back(cmd);
          },
          caf::after(100ms) >> [] {});
      if (seen)
        return true;
    }
    return false;
  }

  /// The PWM duties written from now on until `duty` is written (true), or 2 s pass.
  bool wait_for_duty(double duty) {
    for (int i = 0; i < 40; ++i) {
      for (const auto& c : commands) {
        EXPECT_EQ(c.slot, 11);
        EXPECT_EQ(c.command, command_kind::pwm);
        if (std::abs(c.pwm_duty - duty) < 1e-9)
          return true;
      }
      commands.clear();
      self->receive(
          [](const live_message&) {}, [](pid_atom, const pid_snapshot&) {},
          [&](const std::string& station, const actuator_command& cmd, const std::string& who) {
            EXPECT_EQ(station, "rtu-1");
            EXPECT_EQ(who, "pid:pH");
            commands.push_back(cmd);
          },
          caf::after(100ms) >> [] {});
    }
    return false;
  }

  std::vector<actuator_command> commands;
  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  field_bus_api bus;
  caf::actor rtus;
  caf::actor clock = sys.spawn(scan_clock, scan_grid_us);
  caf::actor loop;
};

TEST_F(PidActorTest, StartsBumplesslyAndMovesTheOutputWithTheError) {
  start(ph_loop());
  // The loop continues from its stored output, 0: the first good measurement does not step it.
  ASSERT_TRUE(wait_for_scan_of(7.0));
  EXPECT_TRUE(wait_for_duty(0.0));
  // From there the P term acts on the change of the error: kp 10 × 0.1.
  ASSERT_TRUE(wait_for_scan_of(6.9));
  EXPECT_TRUE(wait_for_duty(1.0));
}

TEST_F(PidActorTest, HoldsTheOutputWhenTheMeasurementGoesBad) {
  start(ph_loop());
  ASSERT_TRUE(wait_for_scan_of(7.0));
  ASSERT_TRUE(wait_for_scan_of(6.9));
  ASSERT_TRUE(wait_for_duty(1.0));
  commands.clear();
  measure(3.0, quality::bad);
  bool held = false;
  for (int i = 0; i < 20 && !held; ++i)
    self->receive(
        [&](const live_message& m) {
          auto data = nlohmann::json::parse(m.data);
          held = data["status"] == "BAD_HOLD";
          if (held) {
            EXPECT_NEAR(data["cv"].get<double>(), 1.0, 1e-9);
          }
        },
        [&](const std::string&, const actuator_command& c, const std::string&) {
          ADD_FAILURE() << "the output moved to " << c.pwm_duty << " on a BAD measurement";
        },
        [](pid_atom, const pid_snapshot&) {}, caf::after(100ms) >> [] {});
  EXPECT_TRUE(held) << "the loop reports that it holds";
}

TEST_F(PidActorTest, ASetpointChangeMovesTheOutput) {
  start(ph_loop());
  ASSERT_TRUE(wait_for_scan_of(7.0));
  pid_loop_patch change;
  change.fields = pid_field::setpoint;
  change.values.setpoint = 7.6;
  self->request(loop, 2s, caf::update_atom::value, change)
      .receive([](const pid_snapshot& snap) { EXPECT_EQ(snap.sp, 7.6); },
               [](caf::error& e) { FAIL() << to_string(e); });
  ASSERT_TRUE(wait_for_scan_of(7.0));
  EXPECT_TRUE(wait_for_duty(1.0)) << "kp 10 × the setpoint's step of 0.1";
}

TEST_F(PidActorTest, RefusesAChangeItCannotRunAndKeepsItsSettings) {
  start(ph_loop());
  ASSERT_TRUE(wait_for_scan_of(7.0));
  pid_loop_patch change;
  change.fields = pid_field::kp | pid_field::ki;
  change.values.kp = 1.0;
  change.values.ki = -1.0;  // opposite signs fight each other
  self->request(loop, 2s, caf::update_atom::value, change)
      .receive([](const pid_snapshot&) { ADD_FAILURE() << "mixed gain signs were taken"; },
               [](caf::error& e) { EXPECT_NE(to_string(e).find("sign"), std::string::npos); });
  pid_loop_patch manual_output;
  manual_output.fields = pid_field::output;
  manual_output.values.output = 50.0;
  self->request(loop, 2s, caf::update_atom::value, manual_output)
      .receive([](const pid_snapshot&) { ADD_FAILURE() << "an output was taken in AUTO"; },
               [](caf::error& e) { EXPECT_NE(to_string(e).find("MANUAL"), std::string::npos); });
  // Still the loop it was: kp 10 on a change of the error of 0.1.
  ASSERT_TRUE(wait_for_scan_of(6.9));
  EXPECT_TRUE(wait_for_duty(1.0));
}

TEST_F(PidActorTest, TakesTheOperatorsOutputInManual) {
  start(ph_loop());
  ASSERT_TRUE(wait_for_scan_of(7.0));
  pid_loop_patch change;
  change.fields = pid_field::mode | pid_field::output;
  change.values.mode = "MANUAL";
  change.values.output = 42.0;
  self->request(loop, 2s, caf::update_atom::value, change)
      .receive(
          [](const pid_snapshot& snap) {
            EXPECT_EQ(snap.mode, "MANUAL");
            EXPECT_EQ(snap.cv, 42.0);
          },
          [](caf::error& e) { FAIL() << to_string(e); });
  EXPECT_TRUE(wait_for_duty(42.0));
}

TEST_F(PidActorTest, ReportsWhatItDoesToItsOwner) {
  auto r = ph_loop();
  r.id = 42;
  start(r);
  ASSERT_TRUE(wait_for_scan_of(7.0));
  ASSERT_TRUE(wait_for_scan_of(6.9));
  ASSERT_TRUE(wait_for_duty(1.0));
  bool reported = false;
  for (int i = 0; i < 40 && !reported; ++i)
    self->receive(
        [&](pid_atom, const pid_snapshot& snap) {
          EXPECT_EQ(snap.loop_id, 42);
          reported = std::abs(snap.cv - 1.0) < 1e-9;
          if (reported) {
            EXPECT_EQ(snap.sp, 7.5);
            EXPECT_EQ(snap.mode, "AUTO");
            EXPECT_EQ(snap.status, "NORMAL");
          }
        },
        [](const live_message&) {},
        [](const std::string&, const actuator_command&, const std::string&) {},
        caf::after(100ms) >> [] {});
  EXPECT_TRUE(reported) << "the manager persists the output a restart continues from";
}

TEST_F(PidActorTest, AnOuterLoopFeedsItsInnerLoopAndFollowsItUntilTheCascadeCloses) {
  // The test plays the inner loop: the outer loop's output comes to it, and while "not in
  // CASCADE" it answers with its setpoint, which the outer loop then outputs.
  start(ph_loop());
  self->send(loop, cascade_atom::value, false,
             std::vector<caf::actor>{caf::actor_cast<caf::actor>(self)});
  bool fed = false;
  bool followed = false;
  for (int i = 0; i < 60 && !followed; ++i) {
    measure(7.0);
    self->receive(
        [&](cascade_atom, double outer_output) {
          if (fed && std::abs(outer_output - 33.0) < 1e-9)
            followed = true;
          fed = true;
          self->send(loop, track_atom::value, 33.0);
        },
        [](const live_message&) {}, [](pid_atom, const pid_snapshot&) {},
        [&](const std::string&, const actuator_command& c, const std::string&) {
          ADD_FAILURE() << "an outer loop wrote " << c.pwm_duty << " to an actuator";
        },
        caf::after(100ms) >> [] {});
  }
  EXPECT_TRUE(followed) << "the outer loop's output is the inner loop's setpoint";
}

TEST_F(PidActorTest, FollowingItsInputItScansWhenAMeasurementArrivesAndNotTwiceInAPeriod) {
  // A minute's period: any scan within seconds is one the measurement caused.
  start(ph_loop(), true, 60s);
  ASSERT_TRUE(wait_for_scan_of(7.0)) << "the measurement triggers the scan";
  // Within half a period of that scan, another measurement waits for the next period.
  measure(6.0);
  bool scanned_again = false;
  for (int i = 0; i < 10; ++i)
    self->receive(
        [&](const live_message& m) { scanned_again |= nlohmann::json::parse(m.data)["pv"] == 6.0; },
        [](pid_atom, const pid_snapshot&) {},
        [](const std::string&, const actuator_command&, const std::string&) {},
        caf::after(100ms) >> [] {});
  EXPECT_FALSE(scanned_again);
}

}  // namespace
}  // namespace wtc
