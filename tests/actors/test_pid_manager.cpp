// The PID manager with the real storage actor on SQLite, the real field bus and real loops; the
// test stands in for the RTU fleet (it sees every command and can kill the loop that sent it).

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/field_bus.hpp"
#include "actors/pid_manager.hpp"
#include "actors/root_supervisor.hpp"
#include "actors/storage_actor.hpp"
#include "core/time.hpp"
#include "messages/errors.hpp"
#include "messages/health_board.hpp"
#include "messages/register_types.hpp"
#include "storage/store.hpp"

namespace wtc {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct config : caf::actor_system_config {
  config() { register_types(*this); }
};

/// A command as the test sees it: who sent it (the loop's actor) and what it asked.
struct seen_command {
  caf::actor_addr loop;
  std::string by;
  actuator_command cmd;
};

/// Stands in for the RTU fleet: one RTU, 'rtu-1', cycling at 50 ms; every command is accepted
/// and passed on to the test with its sender.
caf::behavior fake_rtus(caf::event_based_actor* self, caf::actor observer) {
  return {
      [](caf::get_atom, rtus_atom) {
        rtu_record rtu;
        rtu.station_name = "rtu-1";
        rtu.cycle_time_ms = 50;
        return std::vector<rtu_record>{rtu};
      },
      [self, observer](command_atom, const std::string&, const actuator_command& cmd,
                       const request_origin& origin) {
        caf::anon_send(observer, caf::actor_cast<caf::actor>(self->current_sender()),
                       origin.username, cmd);
        actuator_state out;
        out.slot = cmd.slot;
        out.command = cmd.command;
        out.pwm_duty = cmd.pwm_duty;
        return out;
      },
      [](stats_atom) {
        return actor_stats{"rtus", 0, 0};
      },
  };
}

class PidManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("wtc-pid-manager-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    db = storage::db_config{"", dir.string()};
    auto store = storage::open_store(db);
    store->migrate();
    rtu_record rtu;
    rtu.station_name = "rtu-1";
    rtu.ip_address = "127.0.0.1";
    rtu.created_at = rtu.updated_at = rtu.state_since = core::now_ms();
    store->create_rtu(rtu, audit_entry{});
    auto board = std::make_shared<health_board>();
    restart_policy policy;
    policy.initial_backoff = 10ms;
    pid_manager_config pc;
    pc.persist_interval = 100ms;
    pc.respawn_delay = 100ms;
    pc.report_interval = 50ms;
    pc.timing = timing;
    auto storage_db = db;
    supervisor = sys.spawn(
        root_supervisor,
        std::vector<child_spec>{
            {names::storage,
             [storage_db, board](caf::actor_system& s) {
               return caf::actor_cast<caf::actor>(
                   s.spawn<caf::detached>(storage_actor, storage_db, board));
             }},
            {names::field_bus,
             [](caf::actor_system& s) {
               return caf::actor_cast<caf::actor>(s.spawn(field_bus, field_bus_config{}));
             }},
            {names::rtus, [observer = caf::actor_cast<caf::actor>(self)](
                              caf::actor_system& s) { return s.spawn(fake_rtus, observer); }}},
        policy);
    self->request(supervisor, 10s, stats_atom::value)
        .receive([](std::vector<actor_stats>&) {},
                 [](caf::error& err) { FAIL() << to_string(err); });
    admin.username = "admin";
    admin.user_role = role::admin;
  }

  void TearDown() override {
    if (manager)
      self->send_exit(manager, caf::exit_reason::user_shutdown);
    auto storage = lookup<storage_api>(sys, names::storage);
    self->monitor(storage);
    self->send_exit(supervisor, caf::exit_reason::user_shutdown);
    self->receive([](caf::down_msg&) {},
                  caf::after(10s) >> [] { ADD_FAILURE() << "storage did not stop"; });
    fs::remove_all(dir);
  }

  void start_manager() {
    pid_manager_config pc;
    pc.persist_interval = 100ms;
    pc.respawn_delay = 100ms;
    pc.report_interval = 50ms;
    pc.timing = timing;
    manager = sys.spawn(pid_manager, pc);
  }

  pid_api loops() { return caf::actor_cast<pid_api>(manager); }

  pid_loop_record loop(const std::string& name, std::int32_t input_slot, std::int32_t output_slot) {
    pid_loop_record r;
    r.name = name;
    r.input_rtu = r.output_rtu = "rtu-1";
    r.input_slot = input_slot;
    r.output_slot = output_slot;
    r.kp = 1.0;
    r.setpoint = 5.0;
    return r;
  }

  template <class T, class... Ts>
  caf::expected<T> ask(Ts&&... xs) {
    caf::expected<T> result{make_error(errc::internal, "no answer")};
    self->request(loops(), 10s, std::forward<Ts>(xs)...)
        .receive([&](T& value) { result = std::move(value); },
                 [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  /// Publishes a measurement for `slot` of rtu-1 on the field bus.
  void measure(std::int32_t slot, double value) {
    sample s;
    s.slot = slot;
    s.value = value;
    s.q = quality::good;
    sample_batch b;
    b.station = "rtu-1";
    b.samples = {s};
    self->send(lookup<field_bus_api>(sys, names::field_bus), b);
  }

  /// The next command within `timeout`, measuring `slots` meanwhile; nothing if none came.
  std::optional<seen_command> next_command(std::vector<std::pair<std::int32_t, double>> slots = {},
                                           std::chrono::milliseconds timeout = 3s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      for (auto [slot, value] : slots)
        measure(slot, value);
      std::optional<seen_command> got;
      self->receive(
          [&](caf::actor& from, std::string& by, actuator_command& cmd) {
            got = seen_command{from.address(), std::move(by), cmd};
          },
          caf::after(50ms) >> [] {});
      if (got)
        return got;
    }
    return std::nullopt;
  }

  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  fs::path dir;
  storage::db_config db;
  std::shared_ptr<loop_timing> timing = std::make_shared<loop_timing>();
  supervisor_api supervisor;
  caf::actor manager;
  request_origin admin;
};

TEST_F(PidManagerTest, RestartsACrashedLoopFromItsOutputAndPersistsWhatItRunsWith) {
  auto manual = loop("valve", 1, 13);
  manual.mode = "MANUAL";
  manual.has_output = true;
  manual.output = 42.0;
  {
    auto store = storage::open_store(db);
    manual = store->create_pid_loop(manual, audit_entry{});
  }
  start_manager();
  auto first = next_command({{1, 5.0}});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->by, "pid:valve");
  EXPECT_EQ(first->cmd.slot, 13);
  EXPECT_DOUBLE_EQ(first->cmd.pwm_duty, 42.0) << "a loaded loop starts from its stored output";

  // The loop crashes: the manager starts it again, and the actuator does not move.
  self->send_exit(first->loop, caf::exit_reason::unhandled_exception);
  std::optional<seen_command> again;
  for (int i = 0; i < 20 && !again; ++i) {
    auto c = next_command({{1, 5.0}});
    ASSERT_TRUE(c);
    if (c->loop != first->loop)
      again = c;
  }
  ASSERT_TRUE(again) << "a new loop actor writes";
  EXPECT_DOUBLE_EQ(again->cmd.pwm_duty, 42.0);
  self->request(manager, 5s, stats_atom::value)
      .receive([](const actor_stats& s) { EXPECT_EQ(s.restarts, 1u); },
               [](caf::error& e) { FAIL() << to_string(e); });

  // An operator's output goes to the actuator and, within a persist interval, to storage.
  pid_loop_patch change;
  change.fields = pid_field::output;
  change.values.output = 55.0;
  auto view = ask<pid_loop_view>(caf::update_atom::value, "rtu-1", manual.id, change,
                                 std::string("pid_mode"), admin);
  ASSERT_TRUE(view) << to_string(view.error());
  EXPECT_DOUBLE_EQ(view->live.cv, 55.0);
  bool stored = false;
  for (int i = 0; i < 40 && !stored; ++i) {
    next_command({{1, 5.0}}, 100ms);
    auto store = storage::open_store(db);
    auto row = store->get_pid_loop(manual.id);
    stored = row && row->has_output && row->output == 55.0;
  }
  EXPECT_TRUE(stored) << "what a restart of wtcd resumes from";
}

TEST_F(PidManagerTest, AnOuterLoopDrivesItsInnerLoopsSetpointAndNoActuator) {
  start_manager();
  auto outer = ask<pid_loop_view>(create_atom::value, loop("level", 1, 13), admin);
  ASSERT_TRUE(outer) << to_string(outer.error());
  auto inner_record = loop("flow", 2, 13);
  inner_record.mode = "CASCADE";
  inner_record.cascade_from = outer->loop.id;
  auto inner = ask<pid_loop_view>(create_atom::value, inner_record, admin);
  ASSERT_TRUE(inner) << to_string(inner.error());

  // Level 3 under a setpoint of 5, kp 1: the outer loop asks for 2 more than it had.
  for (int i = 0; i < 30; ++i) {
    auto c = next_command({{1, 3.0}, {2, 0.0}}, 200ms);
    if (c) {
      EXPECT_EQ(c->by, "pid:flow") << "only the inner loop writes to the actuator";
    }
  }
  auto shown =
      ask<std::vector<pid_loop_view>>(caf::get_atom::value, pid_atom::value, std::string("rtu-1"));
  ASSERT_TRUE(shown);
  ASSERT_EQ(shown->size(), 2u);
  const auto& outer_now = (*shown)[0].live;
  const auto& inner_now = (*shown)[1].live;
  EXPECT_EQ(inner_now.mode, "CASCADE");
  EXPECT_NEAR(inner_now.sp, outer_now.cv, 0.5) << "the inner setpoint is the outer output";

  // The cascade's rules: no deleting the outer loop under its inner loop, no CASCADE without a
  // source, no loop under an RTU it does not use.
  auto refused = ask<caf::ok_atom>(caf::delete_atom::value, "rtu-1", outer->loop.id, admin);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), make_error(errc::conflict, "").code());
  pid_loop_patch to_cascade;
  to_cascade.fields = pid_field::mode;
  to_cascade.values.mode = "CASCADE";
  auto no_source = ask<pid_loop_view>(caf::update_atom::value, "rtu-1", outer->loop.id, to_cascade,
                                      std::string("pid_mode"), admin);
  ASSERT_FALSE(no_source);
  EXPECT_NE(to_string(no_source.error()).find("cascade_from"), std::string::npos);
  auto elsewhere =
      ask<pid_loop_view>(caf::get_atom::value, pid_atom::value, "rtu-2", outer->loop.id);
  ASSERT_FALSE(elsewhere);
  EXPECT_EQ(elsewhere.error().code(), make_error(errc::not_found, "").code());
  // After the inner loop goes, the outer one can.
  EXPECT_TRUE(ask<caf::ok_atom>(caf::delete_atom::value, "rtu-1", inner->loop.id, admin));
  EXPECT_TRUE(ask<caf::ok_atom>(caf::delete_atom::value, "rtu-1", outer->loop.id, admin));
}

TEST_F(PidManagerTest, ScansAreTimedAgainstTheirDeadlines) {
  start_manager();
  ASSERT_TRUE(ask<pid_loop_view>(create_atom::value, loop("timed", 1, 11), admin));
  for (int i = 0; i < 10; ++i)
    next_command({{1, 4.0}}, 100ms);
  const auto lateness = timing->scan_jitter.read();
  EXPECT_GE(lateness.count, 5u);
  EXPECT_GE(timing->sample_to_command.read().count, 1u);
}

}  // namespace
}  // namespace wtc
