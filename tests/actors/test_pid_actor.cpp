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

/// Stands in for storage: passes the loop's saved state on to the test.
caf::behavior fake_storage(caf::event_based_actor*, caf::actor observer) {
  return {
      [observer](pid_output_atom a, std::int64_t id, double output, double setpoint,
                 const std::string& mode) {
        caf::anon_send(observer, a, id, output, setpoint, mode);
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
    storage = sys.spawn(fake_storage, caf::actor_cast<caf::actor>(self));
    sys.registry().put(names::storage, caf::actor_cast<caf::strong_actor_ptr>(storage));
    // The test stands in for the live hub, to see each scan's pid_update.
    sys.registry().put(names::live_hub, caf::actor_cast<caf::strong_actor_ptr>(self.ptr()));
  }

  void TearDown() override {
    for (auto& a : {loop, rtus, storage, caf::actor_cast<caf::actor>(bus)})
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

  void start(const pid_loop_record& r) {
    pid_actor_config c;
    c.loop = r;
    c.scan_period = 50ms;
    c.stale_after = 5s;  // long: a loaded test machine must not make the measurement stale
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
          [](const live_message&) {},
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
  caf::actor storage;
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
        caf::after(100ms) >> [] {});
  EXPECT_TRUE(held) << "the loop reports that it holds";
}

TEST_F(PidActorTest, ASetpointChangeMovesTheOutput) {
  start(ph_loop());
  ASSERT_TRUE(wait_for_scan_of(7.0));
  self->request(loop, 2s, setpoint_atom::value, 7.6)
      .receive([](caf::ok_atom) {}, [](caf::error& e) { FAIL() << to_string(e); });
  ASSERT_TRUE(wait_for_scan_of(7.0));
  EXPECT_TRUE(wait_for_duty(1.0)) << "kp 10 × the setpoint's step of 0.1";
}

TEST_F(PidActorTest, SavesItsOutputSetpointAndModeWhenTheyChange) {
  auto r = ph_loop();
  r.id = 42;
  start(r);
  ASSERT_TRUE(wait_for_scan_of(7.0));
  ASSERT_TRUE(wait_for_scan_of(6.9));
  ASSERT_TRUE(wait_for_duty(1.0));
  bool saved = false;
  self->receive(
      [&](pid_output_atom, std::int64_t id, double output, double setpoint,
          const std::string& mode) {
        EXPECT_EQ(id, 42);
        EXPECT_NEAR(output, 1.0, 1e-9);
        EXPECT_EQ(setpoint, 7.5);
        EXPECT_EQ(mode, "AUTO");
        saved = true;
      },
      caf::after(2s) >> [] {});
  EXPECT_TRUE(saved) << "a restarted loop continues from the saved output";
}

}  // namespace
}  // namespace wtc
