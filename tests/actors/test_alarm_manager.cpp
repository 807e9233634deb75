// The alarm manager with the real storage actor on SQLite and the real field bus; the test stands
// in for the live hub (it sees every announcement) and publishes the samples an RTU would.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/alarm_manager.hpp"
#include "actors/field_bus.hpp"
#include "actors/root_supervisor.hpp"
#include "actors/storage_actor.hpp"
#include "core/time.hpp"
#include "messages/errors.hpp"
#include "messages/health_board.hpp"
#include "messages/live.hpp"
#include "messages/register_types.hpp"
#include "storage/store.hpp"

namespace wtc {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct config : caf::actor_system_config {
  config() { register_types(*this); }
};

/// Stands in for the live hub: every announcement goes to the test.
caf::behavior fake_hub(caf::event_based_actor*, caf::actor observer) {
  return {
      [observer](live_message& msg) { caf::anon_send(observer, std::move(msg)); },
      [](stats_atom) {
        return actor_stats{"livehub", 0, 0};
      },
  };
}

/// Stands in for the RTU fleet: one RTU, RUNNING. (It takes its station as an argument: CAF 0.17
/// breaks on a function actor spawned without one.)
caf::behavior fake_rtus(caf::event_based_actor*, std::string station) {
  return {
      [station](caf::get_atom, rtus_atom) {
        rtu_record rtu;
        rtu.station_name = station;
        rtu.state = rtu_state::running;
        return std::vector<rtu_record>{rtu};
      },
      [](stats_atom) {
        return actor_stats{"rtus", 0, 0};
      },
  };
}

class AlarmManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("wtc-alarm-manager-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    db = storage::db_config{"", dir.string()};
    storage::open_store(db)->migrate();
    auto board = std::make_shared<health_board>();
    restart_policy policy;
    policy.initial_backoff = 10ms;
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
            {names::rtus,
             [](caf::actor_system& s) { return s.spawn(fake_rtus, std::string("rtu-1")); }},
            {names::live_hub, [observer = caf::actor_cast<caf::actor>(self)](
                                  caf::actor_system& s) { return s.spawn(fake_hub, observer); }}},
        policy);
    self->request(supervisor, 10s, stats_atom::value)
        .receive([](std::vector<actor_stats>&) {},
                 [](caf::error& err) { FAIL() << to_string(err); });
    operator_.username = "op";
    operator_.user_role = role::operator_;
    admin.username = "admin";
    admin.user_role = role::admin;
  }

  void TearDown() override {
    stop_manager();
    auto storage = lookup<storage_api>(sys, names::storage);
    self->monitor(storage);
    self->send_exit(supervisor, caf::exit_reason::user_shutdown);
    self->receive([](caf::down_msg&) {},
                  caf::after(10s) >> [] { ADD_FAILURE() << "storage did not stop"; });
    fs::remove_all(dir);
  }

  void start_manager() {
    alarm_manager_config c;
    c.tick_interval = 20ms;
    c.policy.comm_delay_ms = 200;
    manager = sys.spawn(alarm_manager, c);
  }

  void stop_manager() {
    if (!manager)
      return;
    self->monitor(manager);
    self->send_exit(manager, caf::exit_reason::user_shutdown);
    self->receive([](caf::down_msg&) {},
                  caf::after(10s) >> [] { ADD_FAILURE() << "the alarm manager did not stop"; });
    manager = nullptr;
  }

  alarm_api alarms() { return caf::actor_cast<alarm_api>(manager); }

  template <class T, class Handle, class... Ts>
  caf::expected<T> ask_of(const Handle& target, Ts&&... xs) {
    caf::expected<T> result{make_error(errc::internal, "no answer")};
    self->request(target, 10s, std::forward<Ts>(xs)...)
        .receive([&](T& value) { result = std::move(value); },
                 [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  template <class T, class... Ts>
  caf::expected<T> ask(Ts&&... xs) {
    return ask_of<T>(alarms(), std::forward<Ts>(xs)...);
  }

  alarm_rule_record ph_high() {
    alarm_rule_record r;
    r.name = "pH high";
    r.rtu_station = "rtu-1";
    r.slot = 5;
    r.condition = ">";
    r.threshold = 8.5;
    r.severity = "HIGH";
    r.has_deadband = true;
    r.deadband = 0.1;
    return r;
  }

  /// Publishes a value of `slot` of rtu-1 on the field bus.
  void measure(std::int32_t slot, double value, quality q = quality::good) {
    sample s;
    s.slot = slot;
    s.value = value;
    s.q = q;
    sample_batch b;
    b.station = "rtu-1";
    b.samples = {s};
    b.produced_at_us = core::steady_us();
    self->send(lookup<field_bus_api>(sys, names::field_bus), b);
  }

  /// The next announcement of `type` within `timeout`, measuring `slot` at `value` meanwhile
  /// (unless slot is 0); nothing if none came.
  std::optional<nlohmann::json> next(const std::string& type, std::int32_t slot = 0,
                                     double value = 0.0, std::chrono::milliseconds timeout = 3s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (slot != 0)
        measure(slot, value);
      std::optional<nlohmann::json> got;
      bool more = true;
      while (more && !got)
        self->receive(
            [&](live_message& msg) {
              if (msg.type == type)
                got = nlohmann::json::parse(msg.data);
            },
            caf::after(50ms) >> [&] { more = false; });
      if (got)
        return got;
    }
    return std::nullopt;
  }

  /// What the node registry sends when an edge node's link is lost (reachable false) or back: a
  /// dynamically typed message to the actor registered as names::alarms.
  void link(const std::string& node, bool reachable, const std::string& reason = "") {
    caf::anon_send(manager, node_atom::value, node, reachable, reason);
  }

  /// The next live message of `type` within `timeout`, whole (with the station it is filtered by).
  std::optional<live_message> next_message(const std::string& type,
                                           std::chrono::milliseconds timeout = 3s) {
    std::optional<live_message> got;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!got && std::chrono::steady_clock::now() < deadline)
      self->receive(
          [&](live_message& msg) {
            if (msg.type == type)
              got = std::move(msg);
          },
          caf::after(50ms) >> [] {});
    return got;
  }

  std::vector<alarm_event_record> list() {
    auto rows = ask<std::vector<alarm_event_record>>(caf::get_atom::value, alarms_atom::value,
                                                     std::string(), std::string(), std::string());
    EXPECT_TRUE(rows) << to_string(rows.error());
    return rows ? *rows : std::vector<alarm_event_record>{};
  }

  /// The stored row `id` once `done` holds for it (the manager writes with its next tick).
  std::optional<alarm_event_record> stored(
      std::int64_t id, const std::function<bool(const alarm_event_record&)>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (std::chrono::steady_clock::now() < deadline) {
      for (const auto& row : history())
        if (row.id == id && done(row))
          return row;
      std::this_thread::sleep_for(20ms);
    }
    return std::nullopt;
  }

  std::vector<alarm_event_record> history() {
    alarm_history_filter filter;
    auto rows =
        ask_of<std::vector<alarm_event_record>>(lookup<storage_api>(sys, names::storage),
                                                caf::get_atom::value, history_atom::value, filter);
    EXPECT_TRUE(rows) << to_string(rows.error());
    return rows ? *rows : std::vector<alarm_event_record>{};
  }

  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  fs::path dir;
  storage::db_config db;
  supervisor_api supervisor;
  caf::actor manager;
  request_origin operator_;
  request_origin admin;
};

TEST_F(AlarmManagerTest, RaisesAcknowledgesAndClearsAnAlarmAndStoresEveryStep) {
  start_manager();
  auto rule = ask<alarm_rule_record>(create_atom::value, ph_high(), admin);
  ASSERT_TRUE(rule) << to_string(rule.error());

  auto raised = next("alarm_raised", 5, 9.0);
  ASSERT_TRUE(raised);
  const auto id = (*raised)["alarm_id"].get<std::int64_t>();
  EXPECT_EQ((*raised)["severity"], "HIGH");
  EXPECT_EQ((*raised)["alarm_rule_id"], rule->id);
  EXPECT_DOUBLE_EQ((*raised)["value"].get<double>(), 9.0);

  auto listed = ask<std::vector<alarm_event_record>>(caf::get_atom::value, alarms_atom::value,
                                                     std::string(), std::string(), std::string());
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().id, id);
  EXPECT_EQ(listed->front().state, "ACTIVE");

  auto acked =
      ask<alarm_event_record>(ack_atom::value, id, std::string("checking the probe"), operator_);
  ASSERT_TRUE(acked) << to_string(acked.error());
  EXPECT_EQ(acked->state, "ACKNOWLEDGED");
  EXPECT_EQ(acked->acknowledged_by, "op");
  ASSERT_TRUE(next("alarm_acknowledged"));
  // Acknowledged once is enough: a second one is a 400, an unknown id a 404.
  auto again = ask<alarm_event_record>(ack_atom::value, id, std::string(), operator_);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), static_cast<std::uint8_t>(errc::bad_request));
  auto unknown = ask<alarm_event_record>(ack_atom::value, id + 100, std::string(), operator_);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), static_cast<std::uint8_t>(errc::not_found));

  // Inside the deadband nothing happens; below it the alarm clears.
  EXPECT_FALSE(next("alarm_cleared", 5, 8.45, 300ms));
  auto cleared = next("alarm_cleared", 5, 8.0);
  ASSERT_TRUE(cleared);
  EXPECT_EQ((*cleared)["alarm_id"], id);

  listed = ask<std::vector<alarm_event_record>>(caf::get_atom::value, alarms_atom::value,
                                                std::string(), std::string(), std::string());
  ASSERT_TRUE(listed);
  EXPECT_TRUE(listed->empty());
  // Written with the next tick's batch.
  auto rows = history();
  for (int i = 0; i < 100 && (rows.empty() || rows[0].state != "CLEARED"); ++i) {
    std::this_thread::sleep_for(20ms);
    rows = history();
  }
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].id, id);
  EXPECT_EQ(rows[0].state, "CLEARED");
  EXPECT_EQ(rows[0].acknowledged_by, "op");
  EXPECT_EQ(rows[0].note, "checking the probe");
  EXPECT_NE(rows[0].cleared_at, 0);
  EXPECT_FALSE(rows[0].listed);
}

TEST_F(AlarmManagerTest, ARestartLosesNoAlarmAndRaisesNoneTwice) {
  start_manager();
  ASSERT_TRUE(ask<alarm_rule_record>(create_atom::value, ph_high(), admin));
  auto raised = next("alarm_raised", 5, 9.2);
  ASSERT_TRUE(raised);
  const auto id = (*raised)["alarm_id"].get<std::int64_t>();
  // Wait until it is stored: an acknowledgment is answered only after a write.
  ASSERT_TRUE(ask<std::vector<alarm_rule_record>>(caf::get_atom::value, alarm_rule_atom::value));
  for (int i = 0; i < 100 && history().empty(); ++i)
    std::this_thread::sleep_for(20ms);

  stop_manager();
  start_manager();
  auto listed = ask<std::vector<alarm_event_record>>(caf::get_atom::value, alarms_atom::value,
                                                     std::string(), std::string(), std::string());
  ASSERT_TRUE(listed) << to_string(listed.error());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().id, id);
  EXPECT_EQ(listed->front().state, "ACTIVE");
  // Still high: not raised again.
  EXPECT_FALSE(next("alarm_raised", 5, 9.2, 300ms));
  auto acked = ask<alarm_event_record>(ack_atom::value, id, std::string(), operator_);
  ASSERT_TRUE(acked) << to_string(acked.error());
  auto cleared = next("alarm_cleared", 5, 7.0);
  ASSERT_TRUE(cleared);
  EXPECT_EQ((*cleared)["alarm_id"], id);
  EXPECT_EQ(history().size(), 1u);
}

TEST_F(AlarmManagerTest, AShelvedSlotRaisesNothingAndIsJudgedAgainWhenUnshelved) {
  start_manager();
  ASSERT_TRUE(ask<alarm_rule_record>(create_atom::value, ph_high(), admin));
  auto first = next("alarm_raised", 5, 9.0);
  ASSERT_TRUE(first);

  alarm_shelf_record request;
  request.rtu_station = "rtu-1";
  request.slot = 5;
  request.shelf_duration_minutes = 30;
  request.reason = "probe being recalibrated";
  auto shelf = ask<alarm_shelf_record>(shelf_atom::value, request, operator_);
  ASSERT_TRUE(shelf) << to_string(shelf.error());
  EXPECT_EQ(shelf->shelved_by, "op");
  EXPECT_EQ(shelf->expires_at - shelf->shelved_at, 30 * 60'000);
  // The listed alarm leaves the list; a new excursion is recorded, not announced.
  auto withdrawn = next("alarm_cleared");
  ASSERT_TRUE(withdrawn);
  EXPECT_EQ((*withdrawn)["alarm_id"], (*first)["alarm_id"]);
  EXPECT_FALSE(next("alarm_raised", 5, 7.0, 200ms));
  EXPECT_FALSE(next("alarm_raised", 5, 9.5, 300ms));
  auto shelves = ask<std::vector<alarm_shelf_record>>(caf::get_atom::value, shelf_atom::value);
  ASSERT_TRUE(shelves);
  ASSERT_EQ(shelves->size(), 1u);

  // Unshelved while still high: raised at once.
  auto ended = ask<alarm_shelf_record>(unshelve_atom::value, shelf->id, operator_);
  ASSERT_TRUE(ended) << to_string(ended.error());
  EXPECT_FALSE(ended->active);
  ASSERT_TRUE(next("alarm_unshelved"));
  auto again = next("alarm_raised", 5, 9.5);
  ASSERT_TRUE(again);
  EXPECT_NE((*again)["alarm_id"], (*first)["alarm_id"]);
  bool suppressed_recorded = false;
  for (const auto& row : history())
    suppressed_recorded = suppressed_recorded || row.suppressed_by == "shelf";
  EXPECT_TRUE(suppressed_recorded);
  auto missing = ask<alarm_shelf_record>(unshelve_atom::value, shelf->id, operator_);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), static_cast<std::uint8_t>(errc::not_found));
}

TEST_F(AlarmManagerTest, AMaintenanceWindowSuppressesItsAlarmsAndTheyAreJudgedAtItsEnd) {
  start_manager();
  ASSERT_TRUE(ask<alarm_rule_record>(create_atom::value, ph_high(), admin));
  maintenance_record request;
  request.rtu_station = "rtu-1";
  request.slot = -1;
  request.start_time = core::now_ms();
  request.end_time = request.start_time + 1500;
  request.reason = "replace the pH probe";
  request.work_order = "WO-1234";
  auto window = ask<maintenance_record>(maintenance_atom::value, request, operator_);
  ASSERT_TRUE(window) << to_string(window.error());
  EXPECT_EQ(window->scheduled_by, "op");

  // In the window: nothing is announced.
  EXPECT_FALSE(next("alarm_raised", 5, 9.0, 800ms));
  // At its end the slot is still high: raised then.
  auto raised = next("alarm_raised", 5, 9.0, 3s);
  ASSERT_TRUE(raised);
  // The window's end is written with the tick's batch, which may land after the announcement.
  auto stored_windows = [this] {
    return ask_of<std::vector<maintenance_record>>(lookup<storage_api>(sys, names::storage),
                                                   caf::get_atom::value, maintenance_atom::value,
                                                   false);
  };
  auto windows = stored_windows();
  for (int i = 0; i < 100 && windows && !windows->empty() && windows->front().completed_at == 0;
       ++i) {
    std::this_thread::sleep_for(20ms);
    windows = stored_windows();
  }
  ASSERT_TRUE(windows);
  ASSERT_EQ(windows->size(), 1u);
  EXPECT_EQ(windows->front().status, "COMPLETED");
  EXPECT_NE(windows->front().activated_at, 0);
  EXPECT_NE(windows->front().completed_at, 0);
  bool suppressed_recorded = false;
  for (const auto& row : history())
    suppressed_recorded =
        suppressed_recorded || row.suppressed_by == "maintenance " + std::to_string(window->id);
  EXPECT_TRUE(suppressed_recorded);
}

TEST_F(AlarmManagerTest, BadDataRaisesACommunicationAlarmNotAProcessAlarm) {
  start_manager();
  ASSERT_TRUE(ask<alarm_rule_record>(create_atom::value, ph_high(), admin));
  measure(5, 7.0);
  // A broken probe reading 14 with BAD quality.
  std::optional<nlohmann::json> raised;
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (!raised && std::chrono::steady_clock::now() < deadline) {
    measure(5, 14.0, quality::bad);
    raised = next("alarm_raised", 0, 0.0, 50ms);
  }
  ASSERT_TRUE(raised);
  EXPECT_EQ((*raised)["origin"], "point_comm");
  EXPECT_TRUE((*raised)["value"].is_null());
  auto cleared = next("alarm_cleared", 5, 7.0);
  ASSERT_TRUE(cleared);
  EXPECT_EQ((*cleared)["alarm_id"], (*raised)["alarm_id"]);
}

TEST_F(AlarmManagerTest, RefusesAnInvalidRuleAndKeepsTheRulesAsTheyWere) {
  start_manager();
  auto bad = ph_high();
  bad.condition = "=>";
  auto refused = ask<alarm_rule_record>(create_atom::value, bad, admin);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), static_cast<std::uint8_t>(errc::bad_request));
  auto rules = ask<std::vector<alarm_rule_record>>(caf::get_atom::value, alarm_rule_atom::value);
  ASSERT_TRUE(rules);
  EXPECT_TRUE(rules->empty());
  auto stored = ask<alarm_rule_record>(create_atom::value, ph_high(), admin);
  ASSERT_TRUE(stored);
  auto changed = *stored;
  changed.threshold = 9.0;
  auto updated = ask<alarm_rule_record>(caf::update_atom::value, changed, admin);
  ASSERT_TRUE(updated) << to_string(updated.error());
  EXPECT_DOUBLE_EQ(updated->threshold, 9.0);
  // 8.8 is now normal.
  EXPECT_FALSE(next("alarm_raised", 5, 8.8, 300ms));
  ASSERT_TRUE(
      ask<caf::ok_atom>(caf::delete_atom::value, alarm_rule_atom::value, stored->id, admin));
  auto missing = ask<alarm_rule_record>(caf::get_atom::value, alarm_rule_atom::value, stored->id);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), static_cast<std::uint8_t>(errc::not_found));
}

TEST_F(AlarmManagerTest, AnEdgeNodesLostLinkRaisesItsAlarmAtOnceAndItsReturnClearsIt) {
  start_manager();
  const auto lost_at = core::now_ms();
  link("site-a", false, "heartbeat timeout");
  auto raised = next_message("alarm_raised");
  ASSERT_TRUE(raised);
  EXPECT_EQ(raised->rtu, "");  // every client sees it, whatever RTUs it follows
  const auto data = nlohmann::json::parse(raised->data);
  const auto id = data["alarm_id"].get<std::int64_t>();
  EXPECT_EQ(data["origin"], "node_comm");
  EXPECT_EQ(data["node"], "site-a");
  EXPECT_EQ(data["rtu_station"], "site-a");
  EXPECT_EQ(data["slot"], -1);
  EXPECT_EQ(data["severity"], "HIGH");
  EXPECT_EQ(data["state"], "ACTIVE");
  EXPECT_EQ(data["message"], "Edge node 'site-a' is not communicating");
  EXPECT_TRUE(data["alarm_rule_id"].is_null());
  EXPECT_TRUE(data["value"].is_null());
  // No on-delay: raised when the registry tells, not seconds later.
  EXPECT_LT(core::now_ms() - lost_at, 1000);

  auto listed = list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id, id);
  EXPECT_EQ(listed[0].origin, "node_comm");
  EXPECT_EQ(listed[0].rtu_station, "site-a");
  EXPECT_EQ(listed[0].slot, -1);
  auto stats = ask<alarm_statistics>(caf::get_atom::value, stats_atom::value, alarm_atom::value);
  ASSERT_TRUE(stats) << to_string(stats.error());
  EXPECT_EQ(stats->unacknowledged, 1);
  EXPECT_TRUE(stats->by_rtu.empty());  // a node is not an RTU
  // Told again: nothing new.
  link("site-a", false, "heartbeat timeout");
  EXPECT_FALSE(next_message("alarm_raised", 300ms));

  auto acked =
      ask<alarm_event_record>(ack_atom::value, id, std::string("router rebooting"), operator_);
  ASSERT_TRUE(acked) << to_string(acked.error());
  EXPECT_EQ(acked->state, "ACKNOWLEDGED");
  EXPECT_EQ(acked->origin, "node_comm");
  auto ack_message = next_message("alarm_acknowledged");
  ASSERT_TRUE(ack_message);
  EXPECT_EQ(ack_message->rtu, "");

  link("site-a", true);
  auto cleared = next_message("alarm_cleared");
  ASSERT_TRUE(cleared);
  EXPECT_EQ(cleared->rtu, "");
  EXPECT_EQ(nlohmann::json::parse(cleared->data)["alarm_id"], id);
  EXPECT_TRUE(list().empty());
  auto row = stored(id, [](const alarm_event_record& r) { return r.state == "CLEARED"; });
  ASSERT_TRUE(row);
  EXPECT_EQ(row->origin, "node_comm");
  EXPECT_EQ(row->rtu_station, "site-a");
  EXPECT_EQ(row->slot, -1);
  EXPECT_EQ(row->severity, "HIGH");
  EXPECT_EQ(row->alarm_rule_id, 0);
  EXPECT_EQ(row->source_rule_id, 0);
  EXPECT_FALSE(row->has_value);
  EXPECT_EQ(row->message, "Edge node 'site-a' is not communicating");
  EXPECT_EQ(row->acknowledged_by, "op");
  EXPECT_EQ(row->note, "router rebooting");
  EXPECT_NE(row->cleared_at, 0);
  EXPECT_FALSE(row->listed);
}

TEST_F(AlarmManagerTest, AnEdgeNodesAlarmSurvivesARestartAndIsNotRaisedTwice) {
  start_manager();
  link("site-a", false, "connection reset");
  auto raised = next_message("alarm_raised");
  ASSERT_TRUE(raised);
  const auto id = nlohmann::json::parse(raised->data)["alarm_id"].get<std::int64_t>();
  ASSERT_TRUE(stored(id, [](const alarm_event_record& r) { return r.listed; }));

  stop_manager();
  start_manager();
  auto listed = list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id, id);
  EXPECT_EQ(listed[0].origin, "node_comm");
  EXPECT_EQ(listed[0].state, "ACTIVE");
  // Still lost: not raised again. Back, then lost again before anyone acknowledged: the same
  // alarm, announced again (RTNUN -> UNACK).
  link("site-a", false, "connection reset");
  EXPECT_FALSE(next_message("alarm_raised", 300ms));
  link("site-a", true);
  auto cleared = next_message("alarm_cleared");
  ASSERT_TRUE(cleared);
  EXPECT_EQ(nlohmann::json::parse(cleared->data)["alarm_id"], id);
  listed = list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].state, "CLEARED");
  link("site-a", false, "connection reset");
  auto again = next_message("alarm_raised");
  ASSERT_TRUE(again);
  EXPECT_EQ(nlohmann::json::parse(again->data)["alarm_id"], id);
  EXPECT_EQ(history().size(), 1u);
}

}  // namespace
}  // namespace wtc
