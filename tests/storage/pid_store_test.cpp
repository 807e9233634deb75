// The storage contract of PID loops, run against both backends: the loops' configuration and the
// state a restart resumes from, cascades, the audit trail, the schema's constraints, and the
// migration that added the columns (0003).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <string>
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
  entry.resource_type = "pid_loop";
  entry.resource_id = resource_id;
  entry.details = "{\"why\": \"test\"}";
  entry.ip_address = "10.0.0.1";
  return entry;
}

// Every field set, none at its default, so that a column mixed up with another shows.
pid_loop_record make_loop(const std::string& name, const std::string& input_rtu = "rtu-a",
                          const std::string& output_rtu = "rtu-b") {
  pid_loop_record loop;
  loop.name = name;
  loop.enabled = false;
  loop.input_rtu = input_rtu;
  loop.input_slot = 3;
  loop.output_rtu = output_rtu;
  loop.output_slot = 9;
  loop.kp = 1.5;
  loop.ki = 0.25;
  loop.kd = 0.125;
  loop.setpoint = 7.25;
  loop.output_min = 5.0;
  loop.output_max = 95.0;
  loop.deadband = 0.05;
  loop.integral_limit = 80.0;
  loop.derivative_filter = 0.2;
  loop.mode = "MANUAL";
  loop.scan_period_ms = 500;
  loop.has_output = true;
  loop.output = 42.5;
  loop.on_bad_measurement = "SAFE_OUTPUT";
  loop.safe_output = 12.5;
  loop.created_at = t0;
  loop.updated_at = t0 + 1;
  return loop;
}

void expect_same_loop(const pid_loop_record& actual, const pid_loop_record& expected) {
  EXPECT_EQ(actual.id, expected.id);
  EXPECT_EQ(actual.name, expected.name);
  EXPECT_EQ(actual.enabled, expected.enabled);
  EXPECT_EQ(actual.input_rtu, expected.input_rtu);
  EXPECT_EQ(actual.input_slot, expected.input_slot);
  EXPECT_EQ(actual.output_rtu, expected.output_rtu);
  EXPECT_EQ(actual.output_slot, expected.output_slot);
  EXPECT_EQ(actual.kp, expected.kp);
  EXPECT_EQ(actual.ki, expected.ki);
  EXPECT_EQ(actual.kd, expected.kd);
  EXPECT_EQ(actual.setpoint, expected.setpoint);
  EXPECT_EQ(actual.output_min, expected.output_min);
  EXPECT_EQ(actual.output_max, expected.output_max);
  EXPECT_EQ(actual.deadband, expected.deadband);
  EXPECT_EQ(actual.integral_limit, expected.integral_limit);
  EXPECT_EQ(actual.derivative_filter, expected.derivative_filter);
  EXPECT_EQ(actual.mode, expected.mode);
  EXPECT_EQ(actual.scan_period_ms, expected.scan_period_ms);
  EXPECT_EQ(actual.has_output, expected.has_output);
  EXPECT_EQ(actual.output, expected.output);
  EXPECT_EQ(actual.on_bad_measurement, expected.on_bad_measurement);
  EXPECT_EQ(actual.safe_output, expected.safe_output);
  EXPECT_EQ(actual.cascade_from, expected.cascade_from);
  EXPECT_EQ(actual.created_at, expected.created_at);
  EXPECT_EQ(actual.updated_at, expected.updated_at);
}

std::vector<std::int64_t> ids_of(const std::vector<pid_loop_record>& loops) {
  std::vector<std::int64_t> ids;
  for (const pid_loop_record& loop : loops)
    ids.push_back(loop.id);
  return ids;
}

class pid_store_test : public ::testing::TestWithParam<backend_kind> {
 protected:
  void SetUp() override {
    database_ = std::make_unique<test_database>(GetParam());
    store_ = storage::open_store(database_->config());
    store_->migrate();
    raw_ = database_->raw();
    for (const char* station : {"rtu-a", "rtu-b", "rtu-c"})
      add_rtu(station);
  }

  void add_rtu(const std::string& station) {
    rtu_record rtu;
    rtu.station_name = station;
    rtu.ip_address = "10.0.0." + std::to_string(++rtus_);
    rtu.vendor_id = "0x002A";
    rtu.device_id = "0x0405";
    rtu.state_since = t0;
    rtu.created_at = t0;
    rtu.updated_at = t0;
    store_->create_rtu(rtu, make_audit("rtu_create", station));
  }

  std::int64_t audit_rows() { return raw_->scalar("SELECT count(*) FROM audit_log"); }
  std::int64_t loop_rows() { return raw_->scalar("SELECT count(*) FROM pid_loops"); }

  pid_loop_record create(const pid_loop_record& loop) {
    return store_->create_pid_loop(loop, make_audit("pid_create", loop.name));
  }

  // Declared first: the database outlives the connections to it.
  std::unique_ptr<test_database> database_;
  std::unique_ptr<storage::store> store_;
  std::unique_ptr<raw_database> raw_;
  int rtus_ = 0;
};

TEST_P(pid_store_test, creates_gets_lists_updates_and_deletes_loops) {
  pid_loop_record wanted = make_loop("pH control");
  pid_loop_record ph = create(wanted);
  EXPECT_GT(ph.id, 0);
  wanted.id = ph.id;
  expect_same_loop(ph, wanted);
  std::optional<pid_loop_record> found = store_->get_pid_loop(ph.id);
  ASSERT_TRUE(found);
  expect_same_loop(*found, wanted);
  EXPECT_FALSE(store_->get_pid_loop(ph.id + 100));

  // Defaults, and the nullable columns left unset: NULL in the database, unset again on reading.
  pid_loop_record plain;
  plain.name = "level";
  plain.input_rtu = "rtu-c";
  plain.input_slot = 1;
  plain.output_rtu = "rtu-c";
  plain.output_slot = 2;
  plain.created_at = t0;
  plain.updated_at = t0;
  pid_loop_record level = create(plain);
  plain.id = level.id;
  expect_same_loop(level, plain);
  EXPECT_EQ(level.mode, "AUTO");
  EXPECT_EQ(level.on_bad_measurement, "HOLD");
  EXPECT_EQ(level.scan_period_ms, 0);
  EXPECT_FALSE(level.has_output);
  EXPECT_EQ(level.cascade_from, 0);
  EXPECT_EQ(raw_->scalar("SELECT count(*) FROM pid_loops WHERE scan_period_ms IS NULL AND "
                         "output IS NULL AND cascade_from IS NULL"),
            1);

  // A name need not be unique (the contract's ix_pid_loops_name is not a unique index).
  pid_loop_record twin = create(make_loop("pH control", "rtu-b", "rtu-a"));

  // Ordered by id; by station: the loops that read from it or write to it.
  EXPECT_EQ(ids_of(store_->list_pid_loops("")),
            (std::vector<std::int64_t>{ph.id, level.id, twin.id}));
  EXPECT_EQ(ids_of(store_->list_pid_loops("rtu-a")), (std::vector<std::int64_t>{ph.id, twin.id}));
  EXPECT_EQ(ids_of(store_->list_pid_loops("rtu-b")), (std::vector<std::int64_t>{ph.id, twin.id}));
  EXPECT_EQ(ids_of(store_->list_pid_loops("rtu-c")), (std::vector<std::int64_t>{level.id}));
  EXPECT_TRUE(store_->list_pid_loops("rtu-x").empty());
  EXPECT_TRUE(store_->list_pid_loops("RTU-A").empty());
  expect_same_loop(store_->list_pid_loops("rtu-c").at(0), plain);

  // A whole-row update: every column but id and created_at, updated_at = now.
  pid_loop_record changed = ph;
  changed.name = "pH control 2";
  changed.enabled = true;
  changed.input_rtu = "rtu-c";
  changed.input_slot = 4;
  changed.output_rtu = "rtu-a";
  changed.output_slot = 10;
  changed.kp = -2.0;
  changed.ki = -0.5;
  changed.kd = 0.0;
  changed.setpoint = 6.5;
  changed.output_min = -10.0;
  changed.output_max = 10.0;
  changed.deadband = 0.0;
  changed.integral_limit = 10.0;
  changed.derivative_filter = 0.0;
  changed.mode = "AUTO";
  changed.scan_period_ms = 0;
  changed.has_output = false;
  changed.output = 0.0;
  changed.on_bad_measurement = "HOLD";
  changed.safe_output = -3.0;
  changed.created_at = t0 + 999;  // ignored
  changed.updated_at = 0;         // ignored
  pid_loop_record updated = store_->update_pid_loop(changed, t0 + 5000, make_audit("pid_update"));
  pid_loop_record expected = changed;
  expected.created_at = t0;
  expected.updated_at = t0 + 5000;
  expect_same_loop(updated, expected);
  expect_same_loop(*store_->get_pid_loop(ph.id), expected);
  EXPECT_EQ(ids_of(store_->list_pid_loops("rtu-b")), (std::vector<std::int64_t>{twin.id}));

  store_->delete_pid_loop(ph.id, make_audit("pid_delete"));
  EXPECT_FALSE(store_->get_pid_loop(ph.id));
  EXPECT_EQ(ids_of(store_->list_pid_loops("")), (std::vector<std::int64_t>{level.id, twin.id}));
  // Ids are not reused.
  EXPECT_GT(create(make_loop("next")).id, twin.id);
}

TEST_P(pid_store_test, every_change_writes_exactly_one_audit_row_and_a_failed_one_none) {
  std::int64_t before = audit_rows();
  pid_loop_record loop = create(make_loop("flow"));
  EXPECT_EQ(audit_rows(), before + 1);
  loop.setpoint = 8.0;
  store_->update_pid_loop(loop, t0 + 1000, make_audit("pid_update", std::to_string(loop.id)));
  EXPECT_EQ(audit_rows(), before + 2);
  // The runtime state is no configuration change: not audited.
  EXPECT_TRUE(store_->save_pid_output(loop.id, 50.0, 7.0, "AUTO"));
  EXPECT_EQ(audit_rows(), before + 2);

  // Failures leave no audit row.
  pid_loop_record missing = loop;
  missing.id = loop.id + 100;
  EXPECT_EQ(
      failure_of([&] { store_->update_pid_loop(missing, t0, make_audit("pid_update")); }).code,
      "not_found");
  EXPECT_EQ(failure_of([&] { create(make_loop("bad", "rtu-x")); }).code, "not_found");
  EXPECT_EQ(failure_of([&] { store_->delete_pid_loop(missing.id, make_audit("pid_delete")); }).code,
            "not_found");
  EXPECT_EQ(audit_rows(), before + 2);

  store_->delete_pid_loop(loop.id, make_audit("pid_delete", std::to_string(loop.id)));
  EXPECT_EQ(audit_rows(), before + 3);
  audit_filter filter;
  filter.resource_type = "pid_loop";
  filter.resource_id = std::to_string(loop.id);
  std::vector<std::string> actions;
  for (const audit_entry& entry : store_->query_audit(filter).items)
    actions.push_back(entry.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"pid_delete", "pid_update"}));
}

TEST_P(pid_store_test, a_loop_must_name_existing_rtus) {
  failure input = failure_of([&] { create(make_loop("x", "rtu-x", "rtu-a")); });
  EXPECT_EQ(input.code, "not_found");
  EXPECT_TRUE(contains(input.message, "input_rtu 'rtu-x'")) << input.message;
  failure output = failure_of([&] { create(make_loop("x", "rtu-a", "rtu-y")); });
  EXPECT_EQ(output.code, "not_found");
  EXPECT_TRUE(contains(output.message, "output_rtu 'rtu-y'")) << output.message;
  EXPECT_EQ(loop_rows(), 0);

  pid_loop_record loop = create(make_loop("x"));
  pid_loop_record moved = loop;
  moved.output_rtu = "rtu-z";
  EXPECT_EQ(failure_of([&] { store_->update_pid_loop(moved, t0, make_audit("pid_update")); }).code,
            "not_found");
  expect_same_loop(*store_->get_pid_loop(loop.id), loop);
  // A missing loop is reported as such before its references.
  moved.id = loop.id + 100;
  failure gone = failure_of([&] { store_->update_pid_loop(moved, t0, make_audit("pid_update")); });
  EXPECT_EQ(gone.code, "not_found");
  EXPECT_TRUE(contains(gone.message, "PID loop " + std::to_string(moved.id) + " not found"))
      << gone.message;
}

TEST_P(pid_store_test, values_outside_the_schema_are_bad_requests_that_change_nothing) {
  pid_loop_record loop = create(make_loop("x"));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<std::pair<std::string, pid_loop_record>> bad;
  auto with = [&](const std::string& what, auto change) {
    pid_loop_record wrong = loop;
    change(wrong);
    bad.emplace_back(what, wrong);
  };
  with("mode", [](pid_loop_record& l) { l.mode = "AUTOMATIC"; });
  with("lower-case mode", [](pid_loop_record& l) { l.mode = "auto"; });
  with("on_bad_measurement", [](pid_loop_record& l) { l.on_bad_measurement = "SAFE"; });
  with("scan period", [](pid_loop_record& l) { l.scan_period_ms = 5; });
  with("negative scan period", [](pid_loop_record& l) { l.scan_period_ms = -100; });
  with("limits", [](pid_loop_record& l) {
    l.output_min = 60;
    l.output_max = 40;
  });
  with("NaN kp", [nan](pid_loop_record& l) { l.kp = nan; });
  with("infinite setpoint", [inf](pid_loop_record& l) { l.setpoint = inf; });
  with("NaN output", [nan](pid_loop_record& l) { l.output = nan; });
  with("NaN safe output", [nan](pid_loop_record& l) { l.safe_output = nan; });
  with("CASCADE without a source", [](pid_loop_record& l) { l.mode = "CASCADE"; });
  with("negative cascade_from", [](pid_loop_record& l) { l.cascade_from = -1; });

  std::int64_t audits = audit_rows();
  for (const auto& [what, wrong] : bad) {
    EXPECT_EQ(failure_of([&] { create(wrong); }).code, "bad_request") << what;
    EXPECT_EQ(
        failure_of([&] { store_->update_pid_loop(wrong, t0 + 9, make_audit("pid_update")); }).code,
        "bad_request")
        << what;
  }
  EXPECT_EQ(loop_rows(), 1);
  EXPECT_EQ(audit_rows(), audits);
  expect_same_loop(*store_->get_pid_loop(loop.id), loop);

  // The schema itself refuses them too, whoever writes.
  EXPECT_ANY_THROW(raw_->exec("UPDATE pid_loops SET mode = 'AUTOMATIC'"));
  EXPECT_ANY_THROW(raw_->exec("UPDATE pid_loops SET on_bad_measurement = 'hold'"));
  EXPECT_ANY_THROW(raw_->exec("UPDATE pid_loops SET scan_period_ms = 9"));
  EXPECT_ANY_THROW(raw_->exec("UPDATE pid_loops SET cascade_from = id"));
  EXPECT_ANY_THROW(raw_->exec("UPDATE pid_loops SET cascade_from = id + 100"));
  EXPECT_ANY_THROW(raw_->exec("UPDATE pid_loops SET on_bad_measurement = NULL"));
  expect_same_loop(*store_->get_pid_loop(loop.id), loop);
}

TEST_P(pid_store_test, an_inner_loop_cascades_from_an_outer_loop) {
  pid_loop_record outer = create(make_loop("level (outer)"));
  pid_loop_record inner_wanted = make_loop("flow (inner)");
  inner_wanted.mode = "CASCADE";
  inner_wanted.cascade_from = outer.id + 100;
  failure unknown = failure_of([&] { create(inner_wanted); });
  EXPECT_EQ(unknown.code, "not_found");
  EXPECT_TRUE(contains(unknown.message, "cascade_from")) << unknown.message;

  inner_wanted.cascade_from = outer.id;
  pid_loop_record inner = create(inner_wanted);
  EXPECT_EQ(inner.cascade_from, outer.id);
  EXPECT_EQ(inner.mode, "CASCADE");
  EXPECT_EQ(store_->get_pid_loop(inner.id)->cascade_from, outer.id);

  // No loop is its own cascade source, directly or through others.
  pid_loop_record self = inner;
  self.cascade_from = inner.id;
  EXPECT_EQ(failure_of([&] { store_->update_pid_loop(self, t0, make_audit("pid_update")); }).code,
            "bad_request");
  pid_loop_record cycle = outer;
  cycle.cascade_from = inner.id;
  EXPECT_EQ(failure_of([&] { store_->update_pid_loop(cycle, t0, make_audit("pid_update")); }).code,
            "bad_request");
  pid_loop_record third = create(make_loop("third"));
  pid_loop_record chain = third;
  chain.cascade_from = inner.id;  // third <- inner <- outer: no cycle
  EXPECT_EQ(store_->update_pid_loop(chain, t0, make_audit("pid_update")).cascade_from, inner.id);
  cycle.cascade_from = third.id;  // outer <- third <- inner <- outer: a cycle
  EXPECT_EQ(failure_of([&] { store_->update_pid_loop(cycle, t0, make_audit("pid_update")); }).code,
            "bad_request");
  EXPECT_EQ(store_->get_pid_loop(outer.id)->cascade_from, 0);

  // An outer loop cannot go while an inner loop takes its setpoint from it.
  std::int64_t audits = audit_rows();
  failure in_use = failure_of([&] { store_->delete_pid_loop(outer.id, make_audit("pid_delete")); });
  EXPECT_EQ(in_use.code, "conflict");
  EXPECT_TRUE(contains(in_use.message, std::to_string(inner.id) + " ('flow (inner)')"))
      << in_use.message;
  EXPECT_TRUE(store_->get_pid_loop(outer.id));
  EXPECT_EQ(audit_rows(), audits);
  // The foreign key stands behind the check (ON DELETE RESTRICT).
  EXPECT_ANY_THROW(raw_->exec("DELETE FROM pid_loops WHERE id = " + std::to_string(outer.id)));
  EXPECT_TRUE(store_->get_pid_loop(outer.id));

  // Once the inner loop no longer cascades from it, it can.
  pid_loop_record released = inner;
  released.mode = "AUTO";
  released.cascade_from = 0;
  EXPECT_EQ(store_->update_pid_loop(released, t0, make_audit("pid_update")).cascade_from, 0);
  EXPECT_EQ(raw_->scalar("SELECT count(*) FROM pid_loops WHERE cascade_from IS NULL"), 2);
  store_->delete_pid_loop(outer.id, make_audit("pid_delete"));
  EXPECT_FALSE(store_->get_pid_loop(outer.id));
}

TEST_P(pid_store_test, save_pid_output_persists_the_runtime_state_cheaply) {
  pid_loop_record loop = create(make_loop("dosing"));
  std::int64_t audits = audit_rows();

  EXPECT_TRUE(store_->save_pid_output(loop.id, 33.0, 6.75, "AUTO"));
  pid_loop_record expected = loop;
  expected.has_output = true;
  expected.output = 33.0;
  expected.setpoint = 6.75;
  expected.mode = "AUTO";
  expect_same_loop(*store_->get_pid_loop(loop.id), expected);  // updated_at unchanged
  // The same values again: nothing to write.
  EXPECT_FALSE(store_->save_pid_output(loop.id, 33.0, 6.75, "AUTO"));
  EXPECT_TRUE(store_->save_pid_output(loop.id, 33.0, 6.5, "AUTO"));
  EXPECT_TRUE(store_->save_pid_output(loop.id, 34.0, 6.5, "AUTO"));
  EXPECT_TRUE(store_->save_pid_output(loop.id, 34.0, 6.5, "MANUAL"));
  expected.output = 34.0;
  expected.setpoint = 6.5;
  expected.mode = "MANUAL";
  expect_same_loop(*store_->get_pid_loop(loop.id), expected);
  EXPECT_EQ(audit_rows(), audits);

  // A loop that has no output yet gets one.
  pid_loop_record fresh_wanted = make_loop("fresh");
  fresh_wanted.has_output = false;
  pid_loop_record fresh = create(fresh_wanted);
  EXPECT_TRUE(store_->save_pid_output(fresh.id, 0.0, fresh.setpoint, fresh.mode));
  EXPECT_TRUE(store_->get_pid_loop(fresh.id)->has_output);
  EXPECT_EQ(store_->get_pid_loop(fresh.id)->output, 0.0);
  audits = audit_rows();

  EXPECT_EQ(failure_of([&] { store_->save_pid_output(loop.id + 100, 1.0, 1.0, "AUTO"); }).code,
            "not_found");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(failure_of([&] { store_->save_pid_output(loop.id, nan, 1.0, "AUTO"); }).code,
            "bad_request");
  EXPECT_EQ(failure_of([&] { store_->save_pid_output(loop.id, 1.0, nan, "AUTO"); }).code,
            "bad_request");
  EXPECT_EQ(failure_of([&] { store_->save_pid_output(loop.id, 1.0, 1.0, "BOGUS"); }).code,
            "bad_request");
  // CASCADE only for a loop that has a cascade source, changed or not.
  EXPECT_EQ(failure_of([&] { store_->save_pid_output(loop.id, 1.0, 1.0, "CASCADE"); }).code,
            "bad_request");
  EXPECT_EQ(failure_of([&] { store_->save_pid_output(loop.id, 34.0, 6.5, "CASCADE"); }).code,
            "bad_request");
  expect_same_loop(*store_->get_pid_loop(loop.id), expected);

  pid_loop_record inner = loop;
  inner.cascade_from = fresh.id;
  store_->update_pid_loop(inner, t0 + 10, make_audit("pid_update"));
  EXPECT_TRUE(store_->save_pid_output(loop.id, 34.0, 6.5, "CASCADE"));
  EXPECT_FALSE(store_->save_pid_output(loop.id, 34.0, 6.5, "CASCADE"));
  EXPECT_EQ(store_->get_pid_loop(loop.id)->mode, "CASCADE");
  EXPECT_EQ(store_->get_pid_loop(loop.id)->updated_at, t0 + 10);
  EXPECT_EQ(audit_rows(), audits + 1);
}

TEST_P(pid_store_test, save_pid_outputs_persists_many_loops_in_one_call) {
  std::vector<pid_loop_record> loops;
  for (const char* name : {"one", "two", "three"})
    loops.push_back(create(make_loop(name)));
  std::int64_t audits = audit_rows();
  EXPECT_EQ(store_->save_pid_outputs({}), 0U);

  std::vector<pid_runtime> states = {{loops[0].id, 10.0, 1.5, "AUTO"},
                                     {loops[1].id, 20.0, 2.5, "AUTO"},
                                     {loops[2].id, 30.0, 3.5, "MANUAL"}};
  EXPECT_EQ(store_->save_pid_outputs(states), 3U);
  for (std::size_t i = 0; i < loops.size(); ++i) {
    pid_loop_record expected = loops[i];
    expected.has_output = true;
    expected.output = states[i].output;
    expected.setpoint = states[i].setpoint;
    expected.mode = states[i].mode;
    expect_same_loop(*store_->get_pid_loop(loops[i].id), expected);  // updated_at unchanged
  }
  EXPECT_EQ(audit_rows(), audits);

  // Unchanged rows are not counted (nor written).
  EXPECT_EQ(store_->save_pid_outputs(states), 0U);
  states[1].output = 21.0;
  EXPECT_EQ(store_->save_pid_outputs(states), 1U);
  EXPECT_EQ(store_->get_pid_loop(loops[1].id)->output, 21.0);
  EXPECT_EQ(store_->get_pid_loop(loops[0].id)->output, 10.0);
  EXPECT_EQ(audit_rows(), audits);
}

TEST_P(pid_store_test, save_pid_outputs_skips_loops_that_are_gone_or_no_longer_cascade) {
  pid_loop_record first = create(make_loop("first"));
  pid_loop_record doomed = create(make_loop("doomed"));
  pid_loop_record last = create(make_loop("last"));
  store_->delete_pid_loop(doomed.id, make_audit("pid_delete"));

  std::vector<pid_runtime> states = {{first.id, 11.0, 1.0, "AUTO"},
                                     {doomed.id, 22.0, 2.0, "AUTO"},
                                     {last.id, 33.0, 3.0, "AUTO"},
                                     {last.id + 100, 44.0, 4.0, "AUTO"}};
  EXPECT_EQ(store_->save_pid_outputs(states), 2U);
  EXPECT_EQ(store_->get_pid_loop(first.id)->output, 11.0);
  EXPECT_EQ(store_->get_pid_loop(last.id)->output, 33.0);
  EXPECT_FALSE(store_->get_pid_loop(doomed.id));
  EXPECT_EQ(loop_rows(), 2);

  // CASCADE for a loop without cascade_from: skipped, the row keeps its mode and values.
  states = {{first.id, 12.0, 1.0, "CASCADE"}, {last.id, 34.0, 3.0, "AUTO"}};
  EXPECT_EQ(store_->save_pid_outputs(states), 1U);
  pid_loop_record kept = *store_->get_pid_loop(first.id);
  EXPECT_EQ(kept.mode, "AUTO");
  EXPECT_EQ(kept.output, 11.0);
  EXPECT_EQ(store_->get_pid_loop(last.id)->output, 34.0);
}

TEST_P(pid_store_test, save_pid_outputs_with_a_bad_value_writes_nothing) {
  pid_loop_record first = create(make_loop("first"));
  pid_loop_record second = create(make_loop("second"));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();

  // The bad state last: a batch written row by row outside one transaction would keep the first.
  std::vector<pid_runtime> states = {{first.id, 50.0, 5.0, "AUTO"}, {second.id, 60.0, nan, "AUTO"}};
  failure refused = failure_of([&] { store_->save_pid_outputs(states); });
  EXPECT_EQ(refused.code, "bad_request");
  EXPECT_TRUE(contains(refused.message, "PID loop " + std::to_string(second.id)))
      << refused.message;
  states[1] = {second.id, inf, 6.0, "AUTO"};
  EXPECT_EQ(failure_of([&] { store_->save_pid_outputs(states); }).code, "bad_request");
  // A mode the CHECK refuses is caught while writing: the transaction takes the others back.
  states[1] = {second.id, 60.0, 6.0, "BOGUS"};
  EXPECT_EQ(failure_of([&] { store_->save_pid_outputs(states); }).code, "bad_request");
  expect_same_loop(*store_->get_pid_loop(first.id), first);
  expect_same_loop(*store_->get_pid_loop(second.id), second);

  // The store is usable afterwards (no transaction left open).
  states[1].mode = "AUTO";
  EXPECT_EQ(store_->save_pid_outputs(states), 2U);
  EXPECT_EQ(store_->get_pid_loop(first.id)->output, 50.0);
  EXPECT_EQ(store_->get_pid_loop(second.id)->output, 60.0);
}

TEST_P(pid_store_test, loops_of_a_deleted_rtu_stay) {
  pid_loop_record loop = create(make_loop("orphan", "rtu-c", "rtu-c"));
  std::int64_t rtu_c = store_->find_rtu("rtu-c")->id;
  store_->delete_rtu(rtu_c, make_audit("rtu_delete"));
  ASSERT_TRUE(store_->get_pid_loop(loop.id));
  EXPECT_EQ(ids_of(store_->list_pid_loops("rtu-c")), (std::vector<std::int64_t>{loop.id}));
  // Its runtime state can still be saved; a configuration change must name RTUs that exist.
  EXPECT_TRUE(store_->save_pid_output(loop.id, 1.0, 1.0, "MANUAL"));
  EXPECT_EQ(failure_of([&] { store_->update_pid_loop(loop, t0, make_audit("pid_update")); }).code,
            "not_found");
  store_->delete_pid_loop(loop.id, make_audit("pid_delete"));
}

// A loop as the central node assigns it to an edge node: its id, and RTUs of the central node.
pid_loop_record assigned(std::int64_t id, const std::string& name, std::int64_t cascade_from = 0) {
  pid_loop_record loop = make_loop(name, "central-rtu-1", "central-rtu-2");
  loop.id = id;
  loop.cascade_from = cascade_from;
  if (cascade_from != 0)
    loop.mode = "CASCADE";
  loop.created_at = t0 + 10 * id;
  loop.updated_at = t0 + 10 * id + 5;
  return loop;
}

void expect_same_loops(const std::vector<pid_loop_record>& actual,
                       std::vector<pid_loop_record> expected) {
  std::sort(expected.begin(), expected.end(),
            [](const pid_loop_record& a, const pid_loop_record& b) { return a.id < b.id; });
  ASSERT_EQ(ids_of(actual), ids_of(expected));
  for (std::size_t i = 0; i < actual.size(); ++i)
    expect_same_loop(actual[i], expected[i]);
}

TEST_P(pid_store_test, replace_pid_loops_keeps_the_given_rows_as_they_are_and_drops_the_rest) {
  // What the edge node had: its own loops, one cascading from another (the foreign key would stop
  // a plain DELETE of the outer one).
  pid_loop_record old_outer = create(make_loop("old outer"));
  pid_loop_record old_inner_wanted = make_loop("old inner");
  old_inner_wanted.mode = "CASCADE";
  old_inner_wanted.cascade_from = old_outer.id;
  pid_loop_record old_inner = create(old_inner_wanted);
  std::int64_t audits = audit_rows();

  // Ids out of order and apart from the old ones; the runtime state as the central node has it.
  pid_loop_record dosing = assigned(12, "dosing");
  dosing.mode = "AUTO";
  dosing.setpoint = 6.75;
  dosing.output = 61.25;
  pid_loop_record plain = assigned(7, "plain");
  plain.has_output = false;
  plain.output = 0.0;
  plain.scan_period_ms = 0;
  plain.mode = "AUTO";
  plain.enabled = true;
  pid_loop_record manual = assigned(old_inner.id, "takes an old id");
  manual.output = 3.5;
  const std::vector<pid_loop_record> given = {dosing, plain, manual};
  store_->replace_pid_loops(given, make_audit("pid_assign", "edge-1"));

  expect_same_loops(store_->list_pid_loops(""), given);
  expect_same_loop(*store_->get_pid_loop(12), dosing);
  EXPECT_FALSE(store_->get_pid_loop(old_outer.id));
  EXPECT_EQ(loop_rows(), 3);
  EXPECT_EQ(raw_->scalar("SELECT count(*) FROM pid_loops WHERE scan_period_ms IS NULL AND "
                         "output IS NULL AND cascade_from IS NULL"),
            1);  // plain's unset columns are NULL, as create_pid_loop writes them
  EXPECT_EQ(ids_of(store_->list_pid_loops("central-rtu-1")),
            (std::vector<std::int64_t>{manual.id, 7, 12}));

  // One audit row, the one given.
  EXPECT_EQ(audit_rows(), audits + 1);
  audit_filter filter;
  filter.resource_type = "pid_loop";
  filter.resource_id = "edge-1";
  std::vector<audit_entry> written = store_->query_audit(filter).items;
  ASSERT_EQ(written.size(), 1U);
  EXPECT_EQ(written[0].action, "pid_assign");
  EXPECT_EQ(written[0].user, "engineer");

  // The runtime state carries on from what was given.
  EXPECT_TRUE(store_->save_pid_output(12, 62.0, 6.75, "AUTO"));
  EXPECT_EQ(store_->get_pid_loop(12)->output, 62.0);

  // An empty set: no loops at all.
  store_->replace_pid_loops({}, make_audit("pid_assign", "edge-1"));
  EXPECT_EQ(loop_rows(), 0);
  EXPECT_EQ(audit_rows(), audits + 2);
}

TEST_P(pid_store_test, replace_pid_loops_needs_no_rtus_in_this_store) {
  pid_loop_record loop = assigned(5, "remote");
  loop.input_rtu = "not-here-1";
  loop.output_rtu = "not-here-2";
  store_->replace_pid_loops({loop}, make_audit("pid_assign"));
  expect_same_loop(*store_->get_pid_loop(5), loop);
  EXPECT_EQ(ids_of(store_->list_pid_loops("not-here-2")), (std::vector<std::int64_t>{5}));
  EXPECT_EQ(raw_->scalar("SELECT count(*) FROM rtus WHERE station_name LIKE 'not-here%'"), 0);
}

TEST_P(pid_store_test, replace_pid_loops_stores_cascades_given_in_either_order) {
  // Inner before outer, then outer before inner: neither order trips the foreign key.
  const std::vector<pid_loop_record> inner_first = {assigned(21, "inner", 20),
                                                    assigned(20, "outer")};
  store_->replace_pid_loops(inner_first, make_audit("pid_assign"));
  expect_same_loops(store_->list_pid_loops(""), inner_first);
  EXPECT_EQ(store_->get_pid_loop(21)->cascade_from, 20);
  EXPECT_EQ(store_->get_pid_loop(21)->mode, "CASCADE");

  // The cascade turned round, and a chain of three: the stored cascades do not stand in the way.
  const std::vector<pid_loop_record> outer_first = {
      assigned(21, "outer now"), assigned(20, "middle", 21), assigned(30, "innermost", 20)};
  store_->replace_pid_loops(outer_first, make_audit("pid_assign"));
  expect_same_loops(store_->list_pid_loops(""), outer_first);

  // The foreign key holds for what was stored.
  EXPECT_EQ(failure_of([&] { store_->delete_pid_loop(21, make_audit("pid_delete")); }).code,
            "conflict");
  EXPECT_ANY_THROW(raw_->exec("DELETE FROM pid_loops WHERE id = 20"));
  EXPECT_EQ(loop_rows(), 3);
}

TEST_P(pid_store_test, replace_pid_loops_refuses_a_bad_set_and_changes_nothing) {
  const std::vector<pid_loop_record> stored = {assigned(1, "outer"), assigned(2, "inner", 1),
                                               assigned(3, "other")};
  store_->replace_pid_loops(stored, make_audit("pid_assign"));
  std::int64_t audits = audit_rows();
  const double nan = std::numeric_limits<double>::quiet_NaN();

  struct bad_set {
    std::string what;
    std::vector<pid_loop_record> loops;
    std::string named;  // what the message must name
  };
  std::vector<bad_set> bad;
  auto with_last = [&](const std::string& what, pid_loop_record last, std::string named) {
    // Good rows first: a failure while writing must take them back.
    bad.push_back({what,
                   {assigned(10, "good"), assigned(11, "good too", 10), std::move(last)},
                   std::move(named)});
  };
  with_last("a duplicate id", assigned(10, "twin"), "PID loop 10 ('twin')");
  with_last("id 0", assigned(0, "zero"), "PID loop 0 ('zero')");
  with_last("a negative id", assigned(-4, "negative"), "PID loop -4 ('negative')");
  with_last("a cascade_from outside the set", assigned(12, "stray", 1), "PID loop 12 ('stray')");
  with_last("its own cascade source", assigned(12, "self", 12), "PID loop 12 ('self')");
  pid_loop_record not_finite = assigned(12, "not finite");
  not_finite.kp = nan;
  with_last("a NaN kp", not_finite, "PID loop 12 ('not finite')");
  pid_loop_record sourceless = assigned(12, "sourceless");
  sourceless.mode = "CASCADE";
  with_last("CASCADE without a source", sourceless, "PID loop 12 ('sourceless')");
  pid_loop_record no_output = assigned(12, "bad output");
  no_output.output = std::numeric_limits<double>::infinity();
  with_last("an infinite output", no_output, "PID loop 12 ('bad output')");
  bad.push_back(
      {"a cycle of two", {assigned(10, "a", 11), assigned(11, "b", 10)}, "PID loop 10 ('a')"});
  bad.push_back({"a chain into a cycle",
                 {assigned(9, "lead-in", 10), assigned(10, "a", 11), assigned(11, "b", 10)},
                 "cycle of cascades"});
  // What only the schema's CHECKs refuse, found while writing the last row.
  pid_loop_record bad_mode = assigned(12, "bad mode");
  bad_mode.mode = "AUTOMATIC";
  with_last("a mode the CHECK refuses", bad_mode, "");
  pid_loop_record bad_period = assigned(12, "bad period");
  bad_period.scan_period_ms = 5;
  with_last("a scan period the CHECK refuses", bad_period, "");
  pid_loop_record bad_limits = assigned(12, "bad limits");
  bad_limits.output_min = 60;
  bad_limits.output_max = 40;
  with_last("output limits the CHECK refuses", bad_limits, "");

  for (const bad_set& set : bad) {
    failure refused =
        failure_of([&] { store_->replace_pid_loops(set.loops, make_audit("pid_assign")); });
    EXPECT_EQ(refused.code, "bad_request") << set.what << ": " << refused.message;
    EXPECT_TRUE(contains(refused.message, set.named)) << set.what << ": " << refused.message;
    expect_same_loops(store_->list_pid_loops(""), stored);
  }
  EXPECT_EQ(audit_rows(), audits);

  // The store is usable afterwards (no transaction left open).
  store_->replace_pid_loops({assigned(10, "good")}, make_audit("pid_assign"));
  EXPECT_EQ(ids_of(store_->list_pid_loops("")), (std::vector<std::int64_t>{10}));
}

TEST_P(pid_store_test, create_pid_loop_after_replace_pid_loops_gets_a_fresh_id) {
  // On a store that never created a loop, and on one that did.
  store_->replace_pid_loops({assigned(40, "forty"), assigned(41, "forty-one")},
                            make_audit("pid_assign"));
  pid_loop_record fresh = create(make_loop("local"));
  EXPECT_GT(fresh.id, 41);
  EXPECT_EQ(loop_rows(), 3);

  store_->replace_pid_loops({assigned(fresh.id + 50, "far"), assigned(2, "near")},
                            make_audit("pid_assign"));
  pid_loop_record next = create(make_loop("local 2"));
  EXPECT_GT(next.id, fresh.id + 50);
  EXPECT_EQ(ids_of(store_->list_pid_loops("")),
            (std::vector<std::int64_t>{2, fresh.id + 50, next.id}));
}

// A database of version 2 with pid_loops rows written as that version's program would have;
// migrate() then takes it to the latest version.
class pid_migration_test : public ::testing::TestWithParam<backend_kind> {
 protected:
  void SetUp() override {
    database_ = std::make_unique<test_database>(GetParam());
    store_ = storage::open_store(database_->config());  // creates the SQLite file
    raw_ = database_->raw();
    migrate_to(*raw_, GetParam(), 2, t0);
  }

  std::string ts(timestamp_ms ms) { return raw_->timestamp_sql(ms); }

  std::unique_ptr<test_database> database_;
  std::unique_ptr<storage::store> store_;
  std::unique_ptr<raw_database> raw_;
};

TEST_P(pid_migration_test, version_3_keeps_the_loops_and_gives_them_the_defaults) {
  raw_database& db = *raw_;
  db.exec(
      "INSERT INTO rtus (station_name, ip_address, vendor_id, device_id, slot_count, state, "
      "state_since, created_at, updated_at) VALUES ('rtu-1', '10.0.0.1', '0x002A', '0x0405', 2, "
      "'RUNNING', " +
      ts(t0) + ", " + ts(t0) + ", " + ts(t0) + ")");
  // One loop at the contract's defaults, one with every column set; the highest id is gone.
  db.exec(
      "INSERT INTO pid_loops (name, input_rtu, input_slot, output_rtu, output_slot, created_at, "
      "updated_at) VALUES ('defaults', 'rtu-1', 1, 'rtu-1', 9, " +
      ts(t0) + ", " + ts(t0 + 1) + ")");
  db.exec(
      "INSERT INTO pid_loops (name, enabled, input_rtu, input_slot, output_rtu, output_slot, kp, "
      "ki, kd, setpoint, output_min, output_max, deadband, integral_limit, derivative_filter, "
      "mode, created_at, updated_at) VALUES ('tuned', " +
      std::string(GetParam() == backend_kind::sqlite ? "0" : "FALSE") +
      ", 'rtu-1', 2, 'rtu-2', 10, 2.5, 0.5, 0.25, 7.5, 10, 90, 0.1, 50, 0.2, 'MANUAL', " + ts(t0) +
      ", " + ts(t0 + 2) + ")");
  db.exec(
      "INSERT INTO pid_loops (name, input_rtu, input_slot, output_rtu, output_slot, created_at, "
      "updated_at) VALUES ('gone', 'rtu-1', 3, 'rtu-1', 11, " +
      ts(t0) + ", " + ts(t0) + ")");
  db.exec("DELETE FROM pid_loops WHERE name = 'gone'");

  ASSERT_EQ(store_->schema_version(), 2);
  ASSERT_EQ(store_->migrate(),
            static_cast<int>((GetParam() == backend_kind::sqlite ? storage::sqlite_migrations()
                                                                 : storage::postgresql_migrations())
                                 .size()));
  EXPECT_EQ(db.strings("SELECT description FROM schema_version WHERE version = 3"),
            std::vector<std::string>{"pid loop runtime state"});

  std::vector<pid_loop_record> loops = store_->list_pid_loops("");
  ASSERT_EQ(loops.size(), 2U);
  pid_loop_record defaults;
  defaults.id = 1;
  defaults.name = "defaults";
  defaults.input_rtu = "rtu-1";
  defaults.input_slot = 1;
  defaults.output_rtu = "rtu-1";
  defaults.output_slot = 9;
  defaults.created_at = t0;
  defaults.updated_at = t0 + 1;
  expect_same_loop(loops[0], defaults);  // the record's defaults are the schema's
  pid_loop_record tuned;
  tuned.id = 2;
  tuned.name = "tuned";
  tuned.enabled = false;
  tuned.input_rtu = "rtu-1";
  tuned.input_slot = 2;
  tuned.output_rtu = "rtu-2";
  tuned.output_slot = 10;
  tuned.kp = 2.5;
  tuned.ki = 0.5;
  tuned.kd = 0.25;
  tuned.setpoint = 7.5;
  tuned.output_min = 10;
  tuned.output_max = 90;
  tuned.deadband = 0.1;
  tuned.integral_limit = 50;
  tuned.derivative_filter = 0.2;
  tuned.mode = "MANUAL";
  tuned.created_at = t0;
  tuned.updated_at = t0 + 2;
  expect_same_loop(loops[1], tuned);

  // The migrated rows take the new columns, and the new constraints hold.
  EXPECT_TRUE(store_->save_pid_output(2, 55.0, 7.0, "MANUAL"));
  EXPECT_EQ(store_->get_pid_loop(2)->output, 55.0);
  EXPECT_ANY_THROW(db.exec("UPDATE pid_loops SET cascade_from = 7 WHERE id = 1"));
  db.exec("UPDATE pid_loops SET cascade_from = 2, mode = 'CASCADE' WHERE id = 1");
  EXPECT_EQ(store_->get_pid_loop(1)->cascade_from, 2);
  EXPECT_ANY_THROW(db.exec("DELETE FROM pid_loops WHERE id = 2"));
  // AUTOINCREMENT and IDENTITY carry on past the deleted id.
  pid_loop_record next = defaults;
  next.name = "next";
  EXPECT_GT(store_->create_pid_loop(next, make_audit("pid_create")).id, 3);
}

INSTANTIATE_TEST_SUITE_P(backends, pid_store_test,
                         ::testing::Values(backend_kind::sqlite, backend_kind::postgresql),
                         [](const ::testing::TestParamInfo<backend_kind>& param) {
                           return to_string(param.param);
                         });
INSTANTIATE_TEST_SUITE_P(backends, pid_migration_test,
                         ::testing::Values(backend_kind::sqlite, backend_kind::postgresql),
                         [](const ::testing::TestParamInfo<backend_kind>& param) {
                           return to_string(param.param);
                         });

}  // namespace
}  // namespace wtc::test
