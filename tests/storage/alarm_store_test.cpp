// The storage contract of the alarm system, run against both backends: alarm rules and slot
// configs (with their audit rows), the state the alarm manager writes whole and restores at
// start-up (events, shelves, maintenance windows), the history, the alarm rate, the migration
// that added the columns (0004) and the one that allows edge nodes' alarms (0009).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/migrations.hpp"
#include "storage/store.hpp"
#include "test_backends.hpp"

namespace wtc::test {
namespace {

using storage::storage_error;

constexpr timestamp_ms t0 = 1'700'000'000'000;  // 2023-11-14T22:13:20Z

// The code of the storage_error a call throws ("none" if it throws none), and its message.
struct failure {
  std::string code = "none";
  std::string message;
};

template <class Call>
failure failure_of(Call&& call) {
  try {
    call();
  } catch (const storage_error& e) {
    return {to_string(e.code()), e.what()};
  }
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

audit_entry make_audit(const std::string& action, const std::string& resource_id = "") {
  audit_entry entry;
  entry.timestamp = t0;
  entry.user = "engineer";
  entry.action = action;
  entry.resource_type = "alarm";
  entry.resource_id = resource_id;
  entry.details = "{\"why\": \"test\"}";
  entry.ip_address = "10.0.0.1";
  return entry;
}

// Every field set, none at its default, so that a column mixed up with another shows.
alarm_rule_record make_rule(const std::string& name, const std::string& station = "rtu-a",
                            std::int32_t slot = 3) {
  alarm_rule_record rule;
  rule.name = name;
  rule.rtu_station = station;
  rule.slot = slot;
  rule.condition = ">=";
  rule.threshold = 7.25;
  rule.severity = "CRITICAL";
  rule.delay_ms = 1500;
  rule.message = "pH {value} above {threshold} — it's \"high\"";
  rule.enabled = false;
  rule.has_deadband = true;
  rule.deadband = 0.125;
  rule.created_at = t0;
  rule.updated_at = t0 + 1;
  return rule;
}

void expect_same_rule(const alarm_rule_record& actual, const alarm_rule_record& expected) {
  EXPECT_EQ(actual.id, expected.id);
  EXPECT_EQ(actual.name, expected.name);
  EXPECT_EQ(actual.rtu_station, expected.rtu_station);
  EXPECT_EQ(actual.slot, expected.slot);
  EXPECT_EQ(actual.condition, expected.condition);
  EXPECT_EQ(actual.threshold, expected.threshold);
  EXPECT_EQ(actual.severity, expected.severity);
  EXPECT_EQ(actual.delay_ms, expected.delay_ms);
  EXPECT_EQ(actual.message, expected.message);
  EXPECT_EQ(actual.enabled, expected.enabled);
  EXPECT_EQ(actual.has_deadband, expected.has_deadband);
  EXPECT_EQ(actual.deadband, expected.deadband);
  EXPECT_EQ(actual.created_at, expected.created_at);
  EXPECT_EQ(actual.updated_at, expected.updated_at);
}

slot_config_record make_config(const std::string& station, std::int32_t slot) {
  slot_config_record config;
  config.rtu_station = station;
  config.slot = slot;
  config.subslot = 2;
  config.slot_type = "AO";
  config.name = "level of tank 1";
  config.unit = "m";
  config.measurement_type = "level";
  config.actuator_type = "valve";
  config.scale_min = -5.0;
  config.scale_max = 12.5;
  config.has_alarm_low_low = true;
  config.alarm_low_low = -4.0;
  config.has_alarm_low = true;
  config.alarm_low = -3.0;
  config.has_warning_low = true;
  config.warning_low = -2.0;
  config.has_warning_high = true;
  config.warning_high = 10.0;
  config.has_alarm_high = true;
  config.alarm_high = 11.0;
  config.has_alarm_high_high = true;
  config.alarm_high_high = 12.0;
  config.deadband = 0.25;
  config.enabled = false;
  config.created_at = t0 + 2;
  return config;
}

void expect_same_config(const slot_config_record& actual, const slot_config_record& expected) {
  EXPECT_EQ(actual.id, expected.id);
  EXPECT_EQ(actual.rtu_station, expected.rtu_station);
  EXPECT_EQ(actual.slot, expected.slot);
  EXPECT_EQ(actual.subslot, expected.subslot);
  EXPECT_EQ(actual.slot_type, expected.slot_type);
  EXPECT_EQ(actual.name, expected.name);
  EXPECT_EQ(actual.unit, expected.unit);
  EXPECT_EQ(actual.measurement_type, expected.measurement_type);
  EXPECT_EQ(actual.actuator_type, expected.actuator_type);
  EXPECT_EQ(actual.scale_min, expected.scale_min);
  EXPECT_EQ(actual.scale_max, expected.scale_max);
  EXPECT_EQ(actual.has_alarm_low_low, expected.has_alarm_low_low);
  EXPECT_EQ(actual.alarm_low_low, expected.alarm_low_low);
  EXPECT_EQ(actual.has_alarm_low, expected.has_alarm_low);
  EXPECT_EQ(actual.alarm_low, expected.alarm_low);
  EXPECT_EQ(actual.has_warning_low, expected.has_warning_low);
  EXPECT_EQ(actual.warning_low, expected.warning_low);
  EXPECT_EQ(actual.has_warning_high, expected.has_warning_high);
  EXPECT_EQ(actual.warning_high, expected.warning_high);
  EXPECT_EQ(actual.has_alarm_high, expected.has_alarm_high);
  EXPECT_EQ(actual.alarm_high, expected.alarm_high);
  EXPECT_EQ(actual.has_alarm_high_high, expected.has_alarm_high_high);
  EXPECT_EQ(actual.alarm_high_high, expected.alarm_high_high);
  EXPECT_EQ(actual.deadband, expected.deadband);
  EXPECT_EQ(actual.enabled, expected.enabled);
  EXPECT_EQ(actual.created_at, expected.created_at);
}

// An acknowledged, cleared, listed event with every field set.
alarm_event_record make_event(std::int64_t id, std::int64_t rule_id, timestamp_ms activated_at) {
  alarm_event_record event;
  event.id = id;
  event.alarm_rule_id = rule_id;
  event.source_rule_id = rule_id;
  event.origin = "rule";
  event.rtu_station = "rtu-a";
  event.slot = 3;
  event.state = "CLEARED";
  event.severity = "HIGH";
  event.has_value = true;
  event.value_at_activation = -7.5;
  event.message = "pH 'high': 7.5 > 7.25 — \"bad\"";
  event.activated_at = activated_at;
  event.acknowledged_at = activated_at + 10;
  event.acknowledged_by = "operator-1";
  event.cleared_at = activated_at + 20;
  event.note = "checked the probe";
  event.listed = true;
  event.suppressed_by = "";
  return event;
}

// An event just raised: nothing acknowledged or cleared, its nullable columns NULL.
alarm_event_record raised_event(std::int64_t id, timestamp_ms activated_at,
                                const std::string& station = "rtu-a",
                                const std::string& severity = "MEDIUM") {
  alarm_event_record event;
  event.id = id;
  event.source_rule_id = -1;
  event.rtu_station = station;
  event.slot = 1;
  event.severity = severity;
  event.activated_at = activated_at;
  event.listed = true;
  return event;
}

void expect_same_event(const alarm_event_record& actual, const alarm_event_record& expected) {
  EXPECT_EQ(actual.id, expected.id);
  EXPECT_EQ(actual.alarm_rule_id, expected.alarm_rule_id);
  EXPECT_EQ(actual.source_rule_id, expected.source_rule_id);
  EXPECT_EQ(actual.origin, expected.origin);
  EXPECT_EQ(actual.rtu_station, expected.rtu_station);
  EXPECT_EQ(actual.slot, expected.slot);
  EXPECT_EQ(actual.state, expected.state);
  EXPECT_EQ(actual.severity, expected.severity);
  EXPECT_EQ(actual.has_value, expected.has_value);
  EXPECT_EQ(actual.value_at_activation, expected.value_at_activation);
  EXPECT_EQ(actual.message, expected.message);
  EXPECT_EQ(actual.activated_at, expected.activated_at);
  EXPECT_EQ(actual.acknowledged_at, expected.acknowledged_at);
  EXPECT_EQ(actual.acknowledged_by, expected.acknowledged_by);
  EXPECT_EQ(actual.cleared_at, expected.cleared_at);
  EXPECT_EQ(actual.note, expected.note);
  EXPECT_EQ(actual.listed, expected.listed);
  EXPECT_EQ(actual.suppressed_by, expected.suppressed_by);
}

alarm_shelf_record make_shelf(std::int64_t id, timestamp_ms shelved_at, bool active = true) {
  alarm_shelf_record shelf;
  shelf.id = id;
  shelf.rtu_station = "rtu-b";
  shelf.slot = 4;
  shelf.alarm_rule_id = -7;
  shelf.shelved_by = "operator-2";
  shelf.shelved_at = shelved_at;
  shelf.shelf_duration_minutes = 30;
  shelf.expires_at = shelved_at + 30 * 60'000;
  shelf.reason = "sensor under repair";
  shelf.active = active;
  return shelf;
}

void expect_same_shelf(const alarm_shelf_record& actual, const alarm_shelf_record& expected) {
  EXPECT_EQ(actual.id, expected.id);
  EXPECT_EQ(actual.rtu_station, expected.rtu_station);
  EXPECT_EQ(actual.slot, expected.slot);
  EXPECT_EQ(actual.alarm_rule_id, expected.alarm_rule_id);
  EXPECT_EQ(actual.shelved_by, expected.shelved_by);
  EXPECT_EQ(actual.shelved_at, expected.shelved_at);
  EXPECT_EQ(actual.shelf_duration_minutes, expected.shelf_duration_minutes);
  EXPECT_EQ(actual.expires_at, expected.expires_at);
  EXPECT_EQ(actual.reason, expected.reason);
  EXPECT_EQ(actual.active, expected.active);
}

maintenance_record make_window(std::int64_t id, timestamp_ms start,
                               const std::string& status = "SCHEDULED") {
  maintenance_record window;
  window.id = id;
  window.rtu_station = "rtu-c";
  window.slot = -1;
  window.scheduled_by = "engineer";
  window.scheduled_at = start - 1000;
  window.start_time = start;
  window.end_time = start + 3'600'000;
  window.reason = "pump replacement";
  window.status = status;
  return window;
}

void expect_same_window(const maintenance_record& actual, const maintenance_record& expected) {
  EXPECT_EQ(actual.id, expected.id);
  EXPECT_EQ(actual.rtu_station, expected.rtu_station);
  EXPECT_EQ(actual.slot, expected.slot);
  EXPECT_EQ(actual.scheduled_by, expected.scheduled_by);
  EXPECT_EQ(actual.scheduled_at, expected.scheduled_at);
  EXPECT_EQ(actual.start_time, expected.start_time);
  EXPECT_EQ(actual.end_time, expected.end_time);
  EXPECT_EQ(actual.reason, expected.reason);
  EXPECT_EQ(actual.work_order, expected.work_order);
  EXPECT_EQ(actual.status, expected.status);
  EXPECT_EQ(actual.activated_at, expected.activated_at);
  EXPECT_EQ(actual.completed_at, expected.completed_at);
  EXPECT_EQ(actual.cancelled_by, expected.cancelled_by);
  EXPECT_EQ(actual.cancelled_at, expected.cancelled_at);
}

template <class Record>
std::vector<std::int64_t> ids_of(const std::vector<Record>& records) {
  std::vector<std::int64_t> ids;
  for (const Record& record : records)
    ids.push_back(record.id);
  return ids;
}

using ids = std::vector<std::int64_t>;

class alarm_store_test : public ::testing::TestWithParam<backend_kind> {
 protected:
  void SetUp() override {
    database_ = std::make_unique<test_database>(GetParam());
    store_ = storage::open_store(database_->config());
    store_->migrate();
    raw_ = database_->raw();
  }

  std::int64_t audit_rows() { return raw_->scalar("SELECT count(*) FROM audit_log"); }
  std::int64_t rows(const std::string& table) {
    return raw_->scalar("SELECT count(*) FROM " + table);
  }

  alarm_rule_record create(const alarm_rule_record& rule) {
    return store_->create_alarm_rule(rule, make_audit("alarm_rule_create", rule.name));
  }

  void save(const alarm_state_batch& batch) { store_->save_alarm_state(batch); }
  void save_events(std::vector<alarm_event_record> events) {
    alarm_state_batch batch;
    batch.events = std::move(events);
    save(batch);
  }

  std::vector<alarm_event_record> history(alarm_history_filter filter = {}) {
    return store_->query_alarm_history(filter);
  }

  std::optional<alarm_event_record> event(std::int64_t id) {
    alarm_history_filter all;
    all.limit = 10000;
    for (alarm_event_record& found : history(all)) {
      if (found.id == id)
        return found;
    }
    return std::nullopt;
  }

  // Declared first: the database outlives the connections to it.
  std::unique_ptr<test_database> database_;
  std::unique_ptr<storage::store> store_;
  std::unique_ptr<raw_database> raw_;
};

TEST_P(alarm_store_test, rules_are_created_got_listed_updated_and_deleted_with_audit_rows) {
  std::int64_t audits = audit_rows();
  alarm_rule_record wanted = make_rule("pH high");
  wanted.id = 999;  // ignored
  alarm_rule_record ph = create(wanted);
  EXPECT_GT(ph.id, 0);
  wanted.id = ph.id;
  expect_same_rule(ph, wanted);
  expect_same_rule(*store_->get_alarm_rule(ph.id), wanted);
  EXPECT_FALSE(store_->get_alarm_rule(ph.id + 100));
  EXPECT_EQ(audit_rows(), audits + 1);

  // The defaults, and the nullable columns unset: NULL in the database, unset again on reading.
  alarm_rule_record plain;
  plain.name = "level low";
  plain.rtu_station = "rtu-b";
  plain.slot = 1;
  plain.created_at = t0;
  plain.updated_at = t0;
  alarm_rule_record level = create(plain);
  plain.id = level.id;
  expect_same_rule(level, plain);
  EXPECT_EQ(raw_->scalar("SELECT count(*) FROM alarm_rules WHERE message IS NULL AND "
                         "deadband IS NULL"),
            1);
  // A deadband of 0 is a deadband, not NULL.
  alarm_rule_record zero = make_rule("zero deadband");
  zero.deadband = 0.0;
  alarm_rule_record stored_zero = create(zero);
  EXPECT_TRUE(stored_zero.has_deadband);
  EXPECT_EQ(stored_zero.deadband, 0.0);

  EXPECT_EQ(ids_of(store_->list_alarm_rules()), (ids{ph.id, level.id, stored_zero.id}));
  EXPECT_EQ(audit_rows(), audits + 3);

  // A whole-row update: every column but id and created_at, updated_at = now.
  alarm_rule_record changed = ph;
  changed.name = "pH very high";
  changed.rtu_station = "rtu-c";
  changed.slot = 8;
  changed.condition = "<";
  changed.threshold = -1.5;
  changed.severity = "LOW";
  changed.delay_ms = 0;
  changed.message = "";
  changed.enabled = true;
  changed.has_deadband = false;
  changed.deadband = 0.0;
  changed.created_at = t0 + 999;  // ignored
  changed.updated_at = 0;         // ignored
  alarm_rule_record updated =
      store_->update_alarm_rule(changed, t0 + 5000, make_audit("alarm_rule_update"));
  alarm_rule_record expected = changed;
  expected.created_at = t0;
  expected.updated_at = t0 + 5000;
  expect_same_rule(updated, expected);
  expect_same_rule(*store_->get_alarm_rule(ph.id), expected);
  EXPECT_EQ(audit_rows(), audits + 4);

  store_->delete_alarm_rule(ph.id, make_audit("alarm_rule_delete", std::to_string(ph.id)));
  EXPECT_FALSE(store_->get_alarm_rule(ph.id));
  EXPECT_EQ(ids_of(store_->list_alarm_rules()), (ids{level.id, stored_zero.id}));
  EXPECT_EQ(audit_rows(), audits + 5);
  audit_filter filter;
  filter.resource_id = std::to_string(ph.id);
  ASSERT_EQ(store_->query_audit(filter).items.size(), 1U);
  EXPECT_EQ(store_->query_audit(filter).items[0].action, "alarm_rule_delete");
}

TEST_P(alarm_store_test, a_missing_rule_is_not_found_and_writes_no_audit_row) {
  alarm_rule_record rule = create(make_rule("x"));
  std::int64_t audits = audit_rows();
  alarm_rule_record missing = rule;
  missing.id = rule.id + 100;
  failure update =
      failure_of([&] { store_->update_alarm_rule(missing, t0, make_audit("alarm_rule_update")); });
  EXPECT_EQ(update.code, "not_found");
  EXPECT_TRUE(contains(update.message, "alarm rule " + std::to_string(missing.id) + " not found"))
      << update.message;
  EXPECT_EQ(failure_of([&] {
              store_->delete_alarm_rule(missing.id, make_audit("alarm_rule_delete"));
            }).code,
            "not_found");
  EXPECT_EQ(audit_rows(), audits);
  EXPECT_EQ(rows("alarm_rules"), 1);
}

TEST_P(alarm_store_test, values_outside_the_schema_are_bad_requests_that_change_nothing) {
  alarm_rule_record rule = create(make_rule("x"));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<std::pair<std::string, alarm_rule_record>> bad;
  auto with = [&](const std::string& what, const std::function<void(alarm_rule_record&)>& change) {
    alarm_rule_record wrong = rule;
    change(wrong);
    bad.emplace_back(what, wrong);
  };
  with("condition", [](alarm_rule_record& r) { r.condition = "!="; });
  with("severity", [](alarm_rule_record& r) { r.severity = "SEVERE"; });
  with("lower-case severity", [](alarm_rule_record& r) { r.severity = "high"; });
  with("negative deadband", [](alarm_rule_record& r) { r.deadband = -0.5; });
  with("negative delay", [](alarm_rule_record& r) { r.delay_ms = -1; });
  with("NaN threshold", [nan](alarm_rule_record& r) { r.threshold = nan; });
  with("infinite threshold", [inf](alarm_rule_record& r) { r.threshold = -inf; });
  with("NaN deadband", [nan](alarm_rule_record& r) { r.deadband = nan; });
  with("infinite deadband", [inf](alarm_rule_record& r) { r.deadband = inf; });

  std::int64_t audits = audit_rows();
  for (const auto& [what, wrong] : bad) {
    EXPECT_EQ(failure_of([&] { create(wrong); }).code, "bad_request") << what;
    EXPECT_EQ(failure_of([&] {
                store_->update_alarm_rule(wrong, t0 + 9, make_audit("alarm_rule_update"));
              }).code,
              "bad_request")
        << what;
  }
  EXPECT_EQ(rows("alarm_rules"), 1);
  EXPECT_EQ(audit_rows(), audits);
  expect_same_rule(*store_->get_alarm_rule(rule.id), rule);

  // A deadband that is not set is not checked: it is written NULL.
  alarm_rule_record unset = rule;
  unset.has_deadband = false;
  unset.deadband = -1.0;
  EXPECT_FALSE(store_->update_alarm_rule(unset, t0, make_audit("alarm_rule_update")).has_deadband);

  // The schema itself refuses them too, whoever writes.
  EXPECT_ANY_THROW(raw_->exec("UPDATE alarm_rules SET deadband = -0.001"));
  EXPECT_NO_THROW(raw_->exec("UPDATE alarm_rules SET deadband = 0"));
}

TEST_P(alarm_store_test, a_deleted_rule_keeps_its_events_with_alarm_rule_id_null) {
  alarm_rule_record rule = create(make_rule("pH high"));
  alarm_rule_record other = create(make_rule("pH low"));
  save_events({make_event(1, rule.id, t0), make_event(2, rule.id, t0 + 1),
               make_event(3, other.id, t0 + 2)});
  EXPECT_EQ(event(1)->alarm_rule_id, rule.id);

  store_->delete_alarm_rule(rule.id, make_audit("alarm_rule_delete"));
  EXPECT_EQ(rows("alarm_events"), 3);
  EXPECT_EQ(raw_->scalar("SELECT count(*) FROM alarm_events WHERE alarm_rule_id IS NULL"), 2);
  for (std::int64_t id : {1, 2}) {
    alarm_event_record expected = make_event(id, rule.id, t0 + id - 1);
    expected.alarm_rule_id = 0;  // NULL; the evaluator's rule id stays
    expect_same_event(*event(id), expected);
  }
  EXPECT_EQ(event(3)->alarm_rule_id, other.id);
}

TEST_P(alarm_store_test, save_alarm_state_inserts_then_replaces_rows_by_id) {
  alarm_rule_record rule = create(make_rule("pH high"));
  std::int64_t audits = audit_rows();

  alarm_state_batch first;
  alarm_event_record full = make_event(5, rule.id, t0);
  full.suppressed_by = "maintenance 12";
  full.listed = false;
  alarm_event_record bare = raised_event(6, t0 + 1);
  bare.origin = "rtu_comm";
  bare.slot = -1;
  bare.source_rule_id = 0;
  first.events = {full, bare};
  alarm_shelf_record shelf = make_shelf(3, t0);
  alarm_shelf_record whole_slot = make_shelf(4, t0 + 1);
  whole_slot.alarm_rule_id = 0;
  whole_slot.reason = "";
  first.shelves = {shelf, whole_slot};
  maintenance_record window = make_window(7, t0 + 60'000);
  maintenance_record done = make_window(8, t0, "COMPLETED");
  done.work_order = "WO-42";
  done.activated_at = t0 + 1;
  done.completed_at = t0 + 2;
  done.cancelled_by = "nobody";
  done.cancelled_at = t0 + 3;
  first.windows = {window, done};
  first.audits = {make_audit("alarm_shelve", "3"), make_audit("maintenance_schedule", "7")};
  save(first);

  EXPECT_EQ(rows("alarm_events"), 2);
  EXPECT_EQ(rows("shelved_alarms"), 2);
  EXPECT_EQ(rows("scheduled_maintenance"), 2);
  EXPECT_EQ(audit_rows(), audits + 2);
  expect_same_event(*event(5), full);
  expect_same_event(*event(6), bare);
  EXPECT_EQ(raw_->scalar("SELECT count(*) FROM alarm_events WHERE id = 6 AND "
                         "alarm_rule_id IS NULL AND value_at_activation IS NULL AND message IS "
                         "NULL AND acknowledged_at IS NULL AND acknowledged_by IS NULL AND "
                         "cleared_at IS NULL AND note IS NULL AND suppressed_by IS NULL"),
            1);
  std::vector<alarm_shelf_record> shelves = store_->list_shelves(false);
  ASSERT_EQ(shelves.size(), 2U);
  expect_same_shelf(shelves[0], whole_slot);  // newest first
  expect_same_shelf(shelves[1], shelf);
  EXPECT_EQ(raw_->scalar("SELECT count(*) FROM shelved_alarms WHERE reason IS NULL"), 1);
  std::vector<maintenance_record> windows = store_->list_maintenance(false);
  ASSERT_EQ(windows.size(), 2U);
  expect_same_window(windows[0], done);  // by start time
  expect_same_window(windows[1], window);
  EXPECT_EQ(raw_->scalar("SELECT count(*) FROM scheduled_maintenance WHERE work_order IS NULL "
                         "AND activated_at IS NULL AND completed_at IS NULL AND cancelled_by IS "
                         "NULL AND cancelled_at IS NULL"),
            1);

  // The same ids again: the rows are replaced whole, nullable columns back to NULL included.
  alarm_state_batch second;
  alarm_event_record acknowledged = bare;
  acknowledged.state = "ACKNOWLEDGED";
  acknowledged.acknowledged_at = t0 + 50;
  acknowledged.acknowledged_by = "operator-3";
  acknowledged.note = "on it";
  alarm_event_record emptied = raised_event(5, t0 + 7, "rtu-z", "LOW");
  emptied.origin = "point_comm";
  emptied.state = "ACTIVE";
  emptied.listed = false;
  second.events = {acknowledged, emptied};
  alarm_shelf_record unshelved = shelf;
  unshelved.active = false;
  unshelved.reason = "";
  second.shelves = {unshelved};
  maintenance_record started = window;
  started.status = "ACTIVE";
  started.activated_at = t0 + 60'000;
  started.work_order = "WO-43";
  maintenance_record reset = make_window(8, t0 + 5, "CANCELLED");
  second.windows = {started, reset};
  second.audits = {make_audit("alarm_ack", "6")};
  save(second);

  EXPECT_EQ(rows("alarm_events"), 2);
  EXPECT_EQ(rows("shelved_alarms"), 2);
  EXPECT_EQ(rows("scheduled_maintenance"), 2);
  EXPECT_EQ(audit_rows(), audits + 3);
  expect_same_event(*event(5), emptied);
  expect_same_event(*event(6), acknowledged);
  shelves = store_->list_shelves(false);
  ASSERT_EQ(shelves.size(), 2U);
  expect_same_shelf(shelves[1], unshelved);
  expect_same_shelf(shelves[0], whole_slot);
  windows = store_->list_maintenance(false);
  ASSERT_EQ(windows.size(), 2U);
  expect_same_window(windows[0], reset);
  expect_same_window(windows[1], started);

  // An audit row alone is a batch too; an empty batch writes nothing.
  alarm_state_batch audit_only;
  audit_only.audits = {make_audit("alarm_ack_all")};
  save(audit_only);
  EXPECT_EQ(audit_rows(), audits + 4);
  save(alarm_state_batch{});
  EXPECT_EQ(audit_rows(), audits + 4);
}

TEST_P(alarm_store_test, a_batch_with_a_bad_row_writes_nothing) {
  alarm_state_batch stored;
  stored.events = {raised_event(1, t0)};
  stored.shelves = {make_shelf(1, t0)};
  stored.windows = {make_window(1, t0)};
  save(stored);
  std::int64_t audits = audit_rows();

  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::pair<std::string, std::function<void(alarm_state_batch&)>>> bad = {
      {"event state", [](alarm_state_batch& b) { b.events[1].state = "RAISED"; }},
      {"event severity", [](alarm_state_batch& b) { b.events[1].severity = "high"; }},
      {"event origin", [](alarm_state_batch& b) { b.events[1].origin = "comm"; }},
      {"NaN value",
       [nan](alarm_state_batch& b) {
         b.events[1].has_value = true;
         b.events[1].value_at_activation = nan;
       }},
      {"event id 0", [](alarm_state_batch& b) { b.events[1].id = 0; }},
      {"negative shelf id", [](alarm_state_batch& b) { b.shelves[0].id = -2; }},
      {"window status", [](alarm_state_batch& b) { b.windows[0].status = "DONE"; }},
      // What only the schema's CHECKs refuse fails in the transaction and takes it back.
      {"shelf duration", [](alarm_state_batch& b) { b.shelves[0].shelf_duration_minutes = 0; }},
      {"window end", [](alarm_state_batch& b) { b.windows[0].end_time = b.windows[0].start_time; }},
      {"window slot", [](alarm_state_batch& b) { b.windows[0].slot = -2; }},
  };
  for (const auto& [what, change] : bad) {
    alarm_state_batch batch;
    // A change to stored rows and new rows, then the bad one.
    alarm_event_record changed = raised_event(1, t0);
    changed.state = "CLEARED";
    changed.cleared_at = t0 + 5;
    batch.events = {changed, raised_event(2, t0 + 1)};
    alarm_shelf_record unshelved = make_shelf(1, t0, false);
    batch.shelves = {unshelved, make_shelf(2, t0 + 1)};
    batch.windows = {make_window(2, t0 + 2)};
    batch.audits = {make_audit("alarm_ack")};
    change(batch);
    failure refused = failure_of([&] { save(batch); });
    EXPECT_EQ(refused.code, "bad_request") << what << ": " << refused.message;
    EXPECT_EQ(rows("alarm_events"), 1) << what;
    EXPECT_EQ(rows("shelved_alarms"), 1) << what;
    EXPECT_EQ(rows("scheduled_maintenance"), 1) << what;
    EXPECT_EQ(audit_rows(), audits) << what;
    expect_same_event(*event(1), raised_event(1, t0));
    EXPECT_TRUE(store_->list_shelves(false).at(0).active) << what;
  }
}

TEST_P(alarm_store_test, an_alarm_rule_id_that_names_no_rule_is_written_null) {
  alarm_rule_record rule = create(make_rule("pH high"));
  alarm_event_record known = make_event(1, rule.id, t0);
  alarm_event_record deleted = make_event(2, rule.id + 100, t0 + 1);
  alarm_event_record implied = make_event(3, 0, t0 + 2);
  implied.source_rule_id = -4;
  save_events({known, deleted, implied});
  EXPECT_EQ(event(1)->alarm_rule_id, rule.id);
  EXPECT_EQ(event(2)->alarm_rule_id, 0);
  EXPECT_EQ(event(2)->source_rule_id, rule.id + 100);
  EXPECT_EQ(event(3)->alarm_rule_id, 0);
  EXPECT_EQ(event(3)->source_rule_id, -4);
  EXPECT_EQ(raw_->scalar("SELECT count(*) FROM alarm_events WHERE alarm_rule_id IS NULL"), 2);
  // Shelves carry the evaluator's rule id as it is, without a foreign key.
  alarm_state_batch batch;
  alarm_shelf_record shelf = make_shelf(1, t0);
  shelf.alarm_rule_id = rule.id + 100;
  batch.shelves = {shelf};
  save(batch);
  EXPECT_EQ(store_->list_shelves(true).at(0).alarm_rule_id, rule.id + 100);
}

TEST_P(alarm_store_test, load_alarm_state_of_an_empty_database_starts_the_numbering_at_1) {
  alarm_restore restore = store_->load_alarm_state();
  EXPECT_TRUE(restore.rules.empty());
  EXPECT_TRUE(restore.slot_configs.empty());
  EXPECT_TRUE(restore.open_windows.empty());
  EXPECT_TRUE(restore.active_shelves.empty());
  EXPECT_TRUE(restore.listed_events.empty());
  EXPECT_EQ(restore.next_event_id, 1);
  EXPECT_EQ(restore.next_shelf_id, 1);
  EXPECT_EQ(restore.next_window_id, 1);
}

TEST_P(alarm_store_test, load_alarm_state_returns_what_a_restart_restores) {
  alarm_rule_record second_rule = create(make_rule("b", "rtu-b", 1));
  alarm_rule_record first_rule = create(make_rule("a", "rtu-a", 9));
  slot_config_record config_b = store_->save_slot_config(make_config("rtu-b", 2), make_audit("c"));
  slot_config_record config_a2 = store_->save_slot_config(make_config("rtu-a", 2), make_audit("c"));
  slot_config_record config_a1 = store_->save_slot_config(make_config("rtu-a", 1), make_audit("c"));

  alarm_state_batch batch;
  alarm_event_record listed_cleared = make_event(9, first_rule.id, t0);  // cleared, unacked
  listed_cleared.acknowledged_at = 0;
  listed_cleared.acknowledged_by = "";
  alarm_event_record history = make_event(4, first_rule.id, t0 + 1);
  history.listed = false;
  alarm_event_record suppressed = raised_event(12, t0 + 2);
  suppressed.state = "CLEARED";
  suppressed.cleared_at = t0 + 2;
  suppressed.listed = false;
  suppressed.suppressed_by = "shelf";
  alarm_event_record active = raised_event(2, t0 + 3);
  batch.events = {listed_cleared, history, suppressed, active};
  batch.shelves = {make_shelf(6, t0), make_shelf(2, t0 + 1), make_shelf(11, t0 + 2, false)};
  batch.windows = {make_window(5, t0, "ACTIVE"), make_window(3, t0 + 1),
                   make_window(14, t0 + 2, "COMPLETED"), make_window(13, t0 + 3, "CANCELLED")};
  save(batch);

  alarm_restore restore = store_->load_alarm_state();
  EXPECT_EQ(ids_of(restore.rules), (ids{second_rule.id, first_rule.id}));
  expect_same_rule(restore.rules[1], first_rule);
  // By station and slot.
  EXPECT_EQ(ids_of(restore.slot_configs), (ids{config_a1.id, config_a2.id, config_b.id}));
  expect_same_config(restore.slot_configs[2], config_b);
  EXPECT_EQ(ids_of(restore.listed_events), (ids{2, 9}));
  expect_same_event(restore.listed_events[1], listed_cleared);
  expect_same_event(restore.listed_events[0], active);
  EXPECT_EQ(ids_of(restore.active_shelves), (ids{2, 6}));
  expect_same_shelf(restore.active_shelves[1], make_shelf(6, t0));
  EXPECT_EQ(ids_of(restore.open_windows), (ids{3, 5}));
  expect_same_window(restore.open_windows[1], make_window(5, t0, "ACTIVE"));
  // One more than the largest id, whatever the gaps and whether the row is restored.
  EXPECT_EQ(restore.next_event_id, 13);
  EXPECT_EQ(restore.next_shelf_id, 12);
  EXPECT_EQ(restore.next_window_id, 15);
}

TEST_P(alarm_store_test, the_history_is_newest_first_filtered_and_limited) {
  alarm_event_record a = raised_event(1, t0, "rtu-a", "HIGH");
  alarm_event_record b = raised_event(2, t0 + 1000, "rtu-b", "LOW");
  alarm_event_record c = raised_event(3, t0 + 1000, "rtu-a", "HIGH");  // same time as b
  alarm_event_record d = raised_event(4, t0 + 2000, "rtu-a", "CRITICAL");
  alarm_event_record e = raised_event(5, t0 - 5000, "rtu-b", "HIGH");
  e.listed = false;
  e.suppressed_by = "maintenance 3";  // the history holds suppressed records too
  save_events({a, b, c, d, e});

  EXPECT_EQ(ids_of(history()), (ids{4, 3, 2, 1, 5}));
  alarm_history_filter filter;
  filter.start = t0;  // inclusive
  EXPECT_EQ(ids_of(history(filter)), (ids{4, 3, 2, 1}));
  filter.end = t0 + 2000;  // exclusive
  EXPECT_EQ(ids_of(history(filter)), (ids{3, 2, 1}));
  filter.severity = "HIGH";
  EXPECT_EQ(ids_of(history(filter)), (ids{3, 1}));
  filter.rtu_station = "rtu-b";
  EXPECT_TRUE(history(filter).empty());
  filter = {};
  filter.rtu_station = "rtu-b";
  EXPECT_EQ(ids_of(history(filter)), (ids{2, 5}));
  filter.severity = "'HIGH' OR 1=1";  // matched exactly
  EXPECT_TRUE(history(filter).empty());

  // limit: at most that many, clamped to 1..10000.
  filter = {};
  filter.limit = 2;
  EXPECT_EQ(ids_of(history(filter)), (ids{4, 3}));
  filter.limit = 0;
  EXPECT_EQ(ids_of(history(filter)), (ids{4}));
  filter.limit = -5;
  EXPECT_EQ(ids_of(history(filter)), (ids{4}));
  filter.limit = 1'000'000'000'000;
  EXPECT_EQ(history(filter).size(), 5U);
  expect_same_event(history().at(4), e);
}

TEST_P(alarm_store_test, count_annunciated_alarms_ignores_suppressed_records) {
  EXPECT_EQ(store_->count_annunciated_alarms(0), 0);
  alarm_event_record shelved = raised_event(3, t0 + 10);
  shelved.suppressed_by = "shelf";
  shelved.listed = false;
  alarm_event_record maintained = raised_event(4, t0 + 20);
  maintained.suppressed_by = "maintenance 2";
  maintained.listed = false;
  alarm_event_record cleared = make_event(5, 0, t0 + 30);  // annunciated, cleared since
  save_events({raised_event(1, t0 - 1), raised_event(2, t0), shelved, maintained, cleared});
  EXPECT_EQ(store_->count_annunciated_alarms(0), 3);
  EXPECT_EQ(store_->count_annunciated_alarms(t0), 2);  // activated_at >= since
  EXPECT_EQ(store_->count_annunciated_alarms(t0 + 1), 1);
  EXPECT_EQ(store_->count_annunciated_alarms(t0 + 31), 0);
}

TEST_P(alarm_store_test, shelves_and_maintenance_windows_are_listed_with_their_filters) {
  alarm_state_batch batch;
  batch.shelves = {make_shelf(1, t0 + 2), make_shelf(2, t0, false), make_shelf(3, t0 + 2),
                   make_shelf(4, t0 + 1)};
  batch.windows = {make_window(1, t0 + 3, "COMPLETED"), make_window(2, t0 + 2, "ACTIVE"),
                   make_window(3, t0 + 1, "CANCELLED"), make_window(4, t0 + 2), make_window(5, t0)};
  save(batch);
  // Newest first (shelved_at, then id).
  EXPECT_EQ(ids_of(store_->list_shelves(false)), (ids{3, 1, 4, 2}));
  EXPECT_EQ(ids_of(store_->list_shelves(true)), (ids{3, 1, 4}));
  // By start time, then id.
  EXPECT_EQ(ids_of(store_->list_maintenance(false)), (ids{5, 3, 2, 4, 1}));
  EXPECT_EQ(ids_of(store_->list_maintenance(true)), (ids{5, 2, 4}));
}

TEST_P(alarm_store_test, a_slot_config_is_inserted_or_replaced_keeping_its_id) {
  std::int64_t audits = audit_rows();
  slot_config_record wanted = make_config("rtu-a", 3);
  wanted.id = 77;  // ignored
  slot_config_record stored = store_->save_slot_config(wanted, make_audit("slot_config_save"));
  EXPECT_GT(stored.id, 0);
  wanted.id = stored.id;
  expect_same_config(stored, wanted);
  EXPECT_EQ(audit_rows(), audits + 1);

  // The same (rtu_station, slot): every column replaced, the id and created_at kept; unset limits
  // and empty text are NULL.
  slot_config_record replacement;
  replacement.rtu_station = "rtu-a";
  replacement.slot = 3;
  replacement.has_alarm_high = true;
  replacement.alarm_high = 95.0;
  replacement.created_at = t0 + 999;  // ignored
  slot_config_record replaced =
      store_->save_slot_config(replacement, make_audit("slot_config_save"));
  slot_config_record expected = replacement;
  expected.id = stored.id;
  expected.created_at = stored.created_at;
  expect_same_config(replaced, expected);
  EXPECT_EQ(audit_rows(), audits + 2);
  EXPECT_EQ(rows("slot_configs"), 1);
  EXPECT_EQ(raw_->scalar("SELECT count(*) FROM slot_configs WHERE name IS NULL AND unit IS NULL "
                         "AND measurement_type IS NULL AND actuator_type IS NULL AND "
                         "alarm_low_low IS NULL AND alarm_low IS NULL AND warning_low IS NULL AND "
                         "warning_high IS NULL AND alarm_high = 95 AND alarm_high_high IS NULL"),
            1);

  // Another slot, another station: new rows, listed by station and slot.
  slot_config_record other_slot =
      store_->save_slot_config(make_config("rtu-a", 1), make_audit("slot_config_save"));
  slot_config_record other_station =
      store_->save_slot_config(make_config("rtu-0", 9), make_audit("slot_config_save"));
  EXPECT_EQ(ids_of(store_->list_slot_configs()), (ids{other_station.id, other_slot.id, stored.id}));
  expect_same_config(store_->list_slot_configs().at(2), expected);

  // What the schema refuses, and numbers that are none, change nothing.
  audits = audit_rows();
  slot_config_record bad_type = make_config("rtu-a", 3);
  bad_type.slot_type = "XX";
  EXPECT_EQ(failure_of([&] { store_->save_slot_config(bad_type, make_audit("s")); }).code,
            "bad_request");
  slot_config_record bad_limit = make_config("rtu-a", 3);
  bad_limit.alarm_low = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(failure_of([&] { store_->save_slot_config(bad_limit, make_audit("s")); }).code,
            "bad_request");
  slot_config_record bad_scale = make_config("rtu-new", 3);
  bad_scale.scale_max = std::numeric_limits<double>::infinity();
  EXPECT_EQ(failure_of([&] { store_->save_slot_config(bad_scale, make_audit("s")); }).code,
            "bad_request");
  EXPECT_EQ(audit_rows(), audits);
  EXPECT_EQ(rows("slot_configs"), 3);
  expect_same_config(store_->list_slot_configs().at(2), expected);
}

// What a database of version 3 (before the alarm state) holds, written as that version's program
// or an operator's SQL would; migrate() then takes it to version 4.
class alarm_migration_test : public ::testing::TestWithParam<backend_kind> {
 protected:
  void SetUp() override {
    database_ = std::make_unique<test_database>(GetParam());
    store_ = storage::open_store(database_->config());  // creates the SQLite file
    raw_ = database_->raw();
    migrate_to(*raw_, GetParam(), 3, t0);
  }

  std::string ts(timestamp_ms ms) { return raw_->timestamp_sql(ms); }

  std::unique_ptr<test_database> database_;
  std::unique_ptr<storage::store> store_;
  std::unique_ptr<raw_database> raw_;
};

TEST_P(alarm_migration_test, version_4_keeps_the_rows_and_gives_them_the_defaults) {
  raw_database& db = *raw_;
  db.exec(
      "INSERT INTO alarm_rules (name, rtu_station, slot, condition, threshold, severity, "
      "delay_ms, message, created_at, updated_at) VALUES ('old rule', 'rtu-1', 2, '<', 1.5, "
      "'HIGH', 250, 'low!', " +
      ts(t0) + ", " + ts(t0 + 1) + ")");
  db.exec(
      "INSERT INTO alarm_events (alarm_rule_id, rtu_station, slot, state, value_at_activation, "
      "message, activated_at) VALUES (1, 'rtu-1', 2, 'ACTIVE', 1.25, 'low!', " +
      ts(t0 + 2) + ")");
  db.exec(
      "INSERT INTO alarm_events (rtu_station, slot, state, activated_at) VALUES ('rtu-1', 2, "
      "'CLEARED', " +
      ts(t0 + 3) + ")");
  db.exec(
      "INSERT INTO shelved_alarms (rtu_station, slot, shelved_by, shelved_at, "
      "shelf_duration_minutes, expires_at, reason) VALUES ('rtu-1', 2, 'op', " +
      ts(t0) + ", 60, " + ts(t0 + 3'600'000) + ", 'noisy')");
  db.exec(
      "INSERT INTO scheduled_maintenance (rtu_station, slot, scheduled_by, scheduled_at, "
      "start_time, end_time, reason) VALUES ('rtu-1', -1, 'eng', " +
      ts(t0) + ", " + ts(t0 + 10) + ", " + ts(t0 + 20) + ", 'service')");

  ASSERT_EQ(store_->schema_version(), 3);
  ASSERT_EQ(store_->migrate(), static_cast<int>(storage::sqlite_migrations().size()));
  EXPECT_EQ(db.strings("SELECT description FROM schema_version WHERE version = 4"),
            std::vector<std::string>{"alarm state"});
  EXPECT_EQ(db.index_columns("ix_alarm_events_listed"), std::vector<std::string>{"listed"});

  alarm_rule_record rule = store_->get_alarm_rule(1).value();
  EXPECT_EQ(rule.name, "old rule");
  EXPECT_EQ(rule.condition, "<");
  EXPECT_EQ(rule.threshold, 1.5);
  EXPECT_EQ(rule.severity, "HIGH");
  EXPECT_EQ(rule.delay_ms, 250);
  EXPECT_EQ(rule.message, "low!");
  EXPECT_FALSE(rule.has_deadband);
  EXPECT_EQ(rule.created_at, t0);
  EXPECT_EQ(rule.updated_at, t0 + 1);

  // The old events are history: MEDIUM rule alarms, annunciated, not listed.
  std::vector<alarm_event_record> events = store_->query_alarm_history({});
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[1].id, 1);
  EXPECT_EQ(events[1].alarm_rule_id, 1);
  EXPECT_EQ(events[1].source_rule_id, 0);
  EXPECT_EQ(events[1].origin, "rule");
  EXPECT_EQ(events[1].severity, "MEDIUM");
  EXPECT_TRUE(events[1].has_value);
  EXPECT_EQ(events[1].value_at_activation, 1.25);
  EXPECT_EQ(events[1].activated_at, t0 + 2);
  EXPECT_FALSE(events[1].listed);
  EXPECT_EQ(events[1].suppressed_by, "");
  EXPECT_EQ(events[0].alarm_rule_id, 0);
  EXPECT_FALSE(events[0].has_value);
  EXPECT_EQ(store_->count_annunciated_alarms(0), 2);

  alarm_restore restore = store_->load_alarm_state();
  EXPECT_EQ(restore.rules.size(), 1U);
  EXPECT_TRUE(restore.listed_events.empty());
  ASSERT_EQ(restore.active_shelves.size(), 1U);
  EXPECT_EQ(restore.active_shelves[0].alarm_rule_id, 0);  // the whole slot, as before
  EXPECT_EQ(restore.active_shelves[0].reason, "noisy");
  ASSERT_EQ(restore.open_windows.size(), 1U);
  EXPECT_EQ(restore.open_windows[0].status, "SCHEDULED");
  EXPECT_EQ(restore.next_event_id, 3);
  EXPECT_EQ(restore.next_shelf_id, 2);
  EXPECT_EQ(restore.next_window_id, 2);

  // The manager carries on from there with its own ids; the new CHECKs hold.
  alarm_state_batch batch;
  alarm_event_record next = raised_event(restore.next_event_id, t0 + 100);
  next.alarm_rule_id = 1;
  next.source_rule_id = 1;
  batch.events = {next};
  store_->save_alarm_state(batch);
  EXPECT_EQ(store_->load_alarm_state().next_event_id, 4);
  EXPECT_EQ(store_->load_alarm_state().listed_events.at(0).alarm_rule_id, 1);
  EXPECT_ANY_THROW(db.exec("UPDATE alarm_events SET severity = 'SEVERE' WHERE id = 1"));
  EXPECT_ANY_THROW(db.exec("UPDATE alarm_events SET origin = 'manual' WHERE id = 1"));
  EXPECT_ANY_THROW(db.exec("UPDATE alarm_events SET listed = NULL WHERE id = 1"));
  EXPECT_ANY_THROW(db.exec("UPDATE alarm_rules SET deadband = -1 WHERE id = 1"));
  EXPECT_ANY_THROW(db.exec("UPDATE shelved_alarms SET alarm_rule_id = NULL WHERE id = 1"));
}

// What a database of version 8 (before edge nodes' alarms) holds; migrate() then takes it to
// 0009, which widens alarm_events.origin's CHECK (SQLite by rebuilding the table).
class node_comm_migration_test : public ::testing::TestWithParam<backend_kind> {
 protected:
  void SetUp() override {
    database_ = std::make_unique<test_database>(GetParam());
    store_ = storage::open_store(database_->config());  // creates the SQLite file
    raw_ = database_->raw();
    migrate_to(*raw_, GetParam(), 8, t0);
  }

  std::string ts(timestamp_ms ms) { return raw_->timestamp_sql(ms); }

  std::unique_ptr<test_database> database_;
  std::unique_ptr<storage::store> store_;
  std::unique_ptr<raw_database> raw_;
};

TEST_P(node_comm_migration_test, version_9_keeps_every_event_and_allows_node_comm) {
  raw_database& db = *raw_;
  db.exec(
      "INSERT INTO alarm_rules (id, name, rtu_station, slot, condition, threshold, severity, "
      "delay_ms, message, created_at, updated_at) VALUES (1, 'pH high', 'rtu-a', 3, '>=', "
      "7.25, 'HIGH', 0, 'high', " +
      ts(t0) + ", " + ts(t0) + ")");
  // Every column set (an acknowledged, cleared, listed rule alarm), the nullable ones NULL (an
  // RTU's communication alarm), a suppressed record, and a higher id deleted since.
  db.exec(
      "INSERT INTO alarm_events (id, alarm_rule_id, source_rule_id, origin, rtu_station, slot, "
      "state, severity, value_at_activation, message, activated_at, acknowledged_at, "
      "acknowledged_by, cleared_at, note, listed, suppressed_by) VALUES "
      "(1, 1, 1, 'rule', 'rtu-a', 3, 'CLEARED', 'HIGH', -7.5, 'pH ''high'': 7.5 > 7.25', " +
      ts(t0) + ", " + ts(t0 + 10) + ", 'operator-1', " + ts(t0 + 20) +
      ", 'checked the probe', TRUE, NULL)");
  db.exec(
      "INSERT INTO alarm_events (id, source_rule_id, origin, rtu_station, slot, state, "
      "severity, activated_at, listed) VALUES (2, 0, 'rtu_comm', 'site-a', -1, 'ACTIVE', "
      "'HIGH', " +
      ts(t0 + 1) + ", TRUE)");
  db.exec(
      "INSERT INTO alarm_events (id, source_rule_id, origin, rtu_station, slot, state, "
      "severity, value_at_activation, message, activated_at, cleared_at, listed, "
      "suppressed_by) VALUES (3, -9, 'rule', 'rtu-b', 4, 'CLEARED', 'LOW', 0.5, 'low', " +
      ts(t0 + 2) + ", " + ts(t0 + 2) + ", FALSE, 'maintenance 4')");
  db.exec(
      "INSERT INTO alarm_events (id, rtu_station, slot, state, activated_at) VALUES (40, "
      "'rtu-a', 1, 'CLEARED', " +
      ts(t0 + 3) + ")");
  db.exec("DELETE FROM alarm_events WHERE id = 40");
  // Version 8 refuses the new origin: the migration is what allows it.
  EXPECT_ANY_THROW(db.exec("UPDATE alarm_events SET origin = 'node_comm' WHERE id = 2"));

  ASSERT_EQ(store_->schema_version(), 8);
  std::vector<std::string> columns_before = db.columns("alarm_events");
  std::sort(columns_before.begin(), columns_before.end());
  ASSERT_EQ(columns_before.size(), 17U);
  const int latest = static_cast<int>(GetParam() == backend_kind::sqlite
                                          ? storage::sqlite_migrations().size()
                                          : storage::postgresql_migrations().size());
  ASSERT_EQ(store_->migrate(), latest);
  EXPECT_EQ(db.strings("SELECT description FROM schema_version WHERE version = 9"),
            std::vector<std::string>{"node communication alarms"});

  alarm_event_record full = make_event(1, 1, t0);
  full.message = "pH 'high': 7.5 > 7.25";
  alarm_event_record comm = raised_event(2, t0 + 1, "site-a", "HIGH");
  comm.origin = "rtu_comm";
  comm.slot = -1;
  comm.source_rule_id = 0;
  alarm_event_record held = raised_event(3, t0 + 2, "rtu-b", "LOW");
  held.source_rule_id = -9;
  held.slot = 4;
  held.state = "CLEARED";
  held.has_value = true;
  held.value_at_activation = 0.5;
  held.message = "low";
  held.cleared_at = t0 + 2;
  held.listed = false;
  held.suppressed_by = "maintenance 4";
  std::vector<alarm_event_record> events = store_->query_alarm_history({});
  ASSERT_EQ(events.size(), 3U);
  expect_same_event(events[0], held);  // newest first
  expect_same_event(events[1], comm);
  expect_same_event(events[2], full);
  std::vector<std::string> columns = db.columns("alarm_events");
  std::sort(columns.begin(), columns.end());
  EXPECT_EQ(columns, columns_before);
  EXPECT_EQ(db.index_columns("ix_alarm_events_state"), std::vector<std::string>{"state"});
  EXPECT_EQ(db.index_columns("ix_alarm_events_activated_at"),
            std::vector<std::string>{"activated_at"});
  EXPECT_EQ(db.index_columns("ix_alarm_events_rtu_station"),
            std::vector<std::string>{"rtu_station"});
  EXPECT_EQ(db.index_columns("ix_alarm_events_state_activated_at"),
            (std::vector<std::string>{"state", "activated_at"}));
  EXPECT_EQ(db.index_columns("ix_alarm_events_listed"), std::vector<std::string>{"listed"});
  if (GetParam() == backend_kind::sqlite) {
    // Nothing left of the rebuild, and AUTOINCREMENT's high-water mark carried over.
    const auto tables = db.tables();
    EXPECT_EQ(std::count(tables.begin(), tables.end(), "alarm_events_new"), 0);
    EXPECT_EQ(db.scalar("SELECT seq FROM sqlite_sequence WHERE name = 'alarm_events'"), 40);
    EXPECT_EQ(db.scalar("SELECT count(*) FROM sqlite_sequence WHERE name = 'alarm_events_new'"), 0);
  }

  // An edge node's alarm is stored and restored like any other.
  alarm_event_record node = raised_event(41, t0 + 50, "site-a", "HIGH");
  node.origin = "node_comm";
  node.slot = -1;
  node.source_rule_id = 0;
  node.message = "Edge node 'site-a' is not communicating";
  alarm_state_batch batch;
  batch.events = {node};
  store_->save_alarm_state(batch);
  alarm_restore restore = store_->load_alarm_state();
  ASSERT_EQ(restore.listed_events.size(), 3U);
  EXPECT_EQ(restore.next_event_id, 42);
  bool found = false;
  for (const alarm_event_record& listed : restore.listed_events)
    if (listed.id == 41) {
      expect_same_event(listed, node);
      found = true;
    }
  EXPECT_TRUE(found);

  // The other constraints came through the rebuild: the CHECKs, and the rule reference that is
  // set NULL when its rule goes.
  EXPECT_ANY_THROW(db.exec("UPDATE alarm_events SET origin = 'node' WHERE id = 41"));
  EXPECT_ANY_THROW(db.exec("UPDATE alarm_events SET severity = 'SEVERE' WHERE id = 1"));
  EXPECT_ANY_THROW(db.exec("UPDATE alarm_events SET state = 'RAISED' WHERE id = 1"));
  EXPECT_ANY_THROW(db.exec("UPDATE alarm_events SET listed = NULL WHERE id = 1"));
  EXPECT_ANY_THROW(db.exec("UPDATE alarm_events SET rtu_station = NULL WHERE id = 1"));
  EXPECT_ANY_THROW(db.exec("UPDATE alarm_events SET alarm_rule_id = 99 WHERE id = 1"));
  store_->delete_alarm_rule(1, make_audit("alarm_rule_delete"));
  EXPECT_EQ(db.scalar("SELECT count(*) FROM alarm_events WHERE id = 1 AND alarm_rule_id IS NULL"),
            1);
}

INSTANTIATE_TEST_SUITE_P(backends, alarm_store_test,
                         ::testing::Values(backend_kind::sqlite, backend_kind::postgresql),
                         [](const ::testing::TestParamInfo<backend_kind>& param) {
                           return to_string(param.param);
                         });
INSTANTIATE_TEST_SUITE_P(backends, alarm_migration_test,
                         ::testing::Values(backend_kind::sqlite, backend_kind::postgresql),
                         [](const ::testing::TestParamInfo<backend_kind>& param) {
                           return to_string(param.param);
                         });

INSTANTIATE_TEST_SUITE_P(backends, node_comm_migration_test,
                         ::testing::Values(backend_kind::sqlite, backend_kind::postgresql),
                         [](const ::testing::TestParamInfo<backend_kind>& param) {
                           return to_string(param.param);
                         });

}  // namespace
}  // namespace wtc::test
