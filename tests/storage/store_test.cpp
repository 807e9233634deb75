// The storage contract, run against both backends: every test here must pass on SQLite and on
// PostgreSQL alike.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
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

// The contract's tables and their columns (seeds/wtc-api-v1.md), plus schema_version and the
// columns later migrations added.
const std::map<std::string, std::vector<std::string>> expected_tables = {
    {"users",
     {"id", "username", "password_hash", "role", "active", "sync_to_rtus", "created_at",
      "updated_at", "last_login"}},
    {"user_sessions",
     {"token", "username", "role", "groups", "created_at", "last_activity", "expires_at",
      "ip_address", "user_agent"}},
    {"audit_log",
     {"id", "timestamp", "user", "action", "resource_type", "resource_id", "details",
      "ip_address"}},
    {"rtus",
     {"id", "station_name", "ip_address", "vendor_id", "device_id", "slot_count", "state",
      "state_since", "transition_reason", "last_error", "rtu_version", "version_mismatch",
      "created_at", "updated_at",
      // migration 0002
      "port", "unit_id", "profile", "cycle_time_ms", "auto_connect",
      // migration 0008
      "node"}},
    {"slots",
     {"id", "rtu_id", "slot_number", "module_id", "module_type", "status", "created_at",
      "updated_at"}},
    {"sensors",
     {"id", "rtu_id", "slot_id", "tag", "channel", "sensor_type", "unit", "scale_min", "scale_max",
      "eng_min", "eng_max", "created_at", "updated_at", "deadband"}},
    {"controls",
     {"id", "rtu_id", "slot_id", "tag", "channel", "control_type", "equipment_type", "min_value",
      "max_value", "unit", "created_at", "updated_at"}},
    {"alarm_rules",
     {"id", "name", "rtu_station", "slot", "condition", "threshold", "severity", "delay_ms",
      "message", "enabled", "created_at", "updated_at",
      // migration 0004
      "deadband"}},
    {"alarm_events",
     {"id", "alarm_rule_id", "rtu_station", "slot", "state", "value_at_activation", "message",
      "activated_at", "acknowledged_at", "acknowledged_by", "cleared_at", "note",
      // migration 0004
      "severity", "origin", "source_rule_id", "listed", "suppressed_by"}},
    {"shelved_alarms",
     {"id", "rtu_station", "slot", "shelved_by", "shelved_at", "shelf_duration_minutes",
      "expires_at", "reason", "active",
      // migration 0004
      "alarm_rule_id"}},
    {"scheduled_maintenance",
     {"id", "rtu_station", "slot", "scheduled_by", "scheduled_at", "start_time", "end_time",
      "reason", "work_order", "status", "activated_at", "completed_at", "cancelled_by",
      "cancelled_at"}},
    // migration 0005 rebuilt it: tag_id instead of sensor_id, no id
    {"historian_samples", {"tag_id", "timestamp", "value", "quality"}},
    {"historian_tags",
     {"id", "rtu_station", "slot", "tag_name", "unit", "sample_rate_ms", "deadband", "compression",
      "created_at",
      // migration 0005
      "max_interval_ms", "enabled", "updated_at"}},
    // migration 0005
    {"historian_rollups",
     {"tag_id", "width_ms", "bucket_start", "count", "uncertain", "bad", "sum", "min", "max",
      "first", "last", "first_time", "last_time"}},
    // migration 0007
    {"historian_row_counts", {"tag_id", "sample_rows", "rollup_rows"}},
    {"slot_configs", {"id",          "rtu_station",      "slot",
                      "subslot",     "slot_type",        "name",
                      "unit",        "measurement_type", "actuator_type",
                      "scale_min",   "scale_max",        "alarm_low",
                      "alarm_high",  "alarm_low_low",    "alarm_high_high",
                      "warning_low", "warning_high",     "deadband",
                      "enabled",     "created_at"}},
    {"pid_loops",
     {"id", "name", "enabled", "input_rtu", "input_slot", "output_rtu", "output_slot", "kp", "ki",
      "kd", "setpoint", "output_min", "output_max", "deadband", "integral_limit",
      "derivative_filter", "mode", "created_at", "updated_at",
      // migration 0003
      "scan_period_ms", "output", "on_bad_measurement", "safe_output", "cascade_from"}},
    {"profinet_diagnostics",
     {"id", "rtu_id", "timestamp", "level", "source", "message", "details"}},
    {"schema_version", {"version", "applied_at", "description"}},
};

// Every index the contract names, plus the three of its "critical indexes" note, plus ours.
const std::vector<std::string> expected_indexes = {
    "ix_users_username",
    "ix_user_sessions_expires",
    "ix_user_sessions_username",
    "ix_audit_log_user",
    "ix_audit_log_action",
    "ix_audit_log_resource",
    "ix_rtus_station_name",
    "idx_rtus_node",  // migration 0008
    "ix_slots_rtu_id",
    "ix_sensors_tag",
    "ix_sensors_rtu_id",
    "ix_sensors_slot_id",
    "ix_controls_tag",
    "ix_controls_rtu_id",
    "ix_controls_slot_id",
    "ix_alarm_rules_rtu_station",
    "ix_alarm_events_state",
    "ix_alarm_events_activated_at",
    "ix_alarm_events_rtu_station",
    "ix_shelved_alarms_active_expires",
    "ix_shelved_alarms_rtu_slot",
    "ix_scheduled_maintenance_status",
    "ix_scheduled_maintenance_start",
    "ix_scheduled_maintenance_rtu",
    "ix_historian_tags_tag_name",
    "ix_historian_tags_rtu_station",
    "ix_slot_configs_rtu_station",
    "ix_pid_loops_name",
    "ix_pid_loops_input_rtu",
    "ix_pid_loops_output_rtu",
    "ix_profinet_diag_rtu_time",
    "ix_profinet_diag_level",
    "ix_alarm_events_state_activated_at",
    "ix_audit_log_timestamp_user",
    // migration 0003
    "ix_pid_loops_cascade_from",
    // migration 0004
    "ix_alarm_events_listed",
};

std::vector<std::string> sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  return names;
}

// The error code a call fails with, or "none".
template <class Call>
std::string failure_of(Call&& call) {
  try {
    call();
  } catch (const storage_error& e) {
    return to_string(e.code());
  }
  return "none";
}

user_record make_user(const std::string& username, role user_role = role::operator_) {
  user_record user;
  user.username = username;
  user.password_hash = "$2b$12$hash-of-" + username;
  user.user_role = user_role;
  user.created_at = t0;
  user.updated_at = t0;
  return user;
}

audit_entry make_audit(const std::string& action, const std::string& resource_id = "",
                       timestamp_ms at = t0) {
  audit_entry entry;
  entry.timestamp = at;
  entry.user = "admin";
  entry.action = action;
  entry.resource_type = "user";
  entry.resource_id = resource_id;
  entry.details = "{\"why\": \"test\"}";
  entry.ip_address = "10.0.0.1";
  return entry;
}

// 64 lower-case hex digits, as the SHA-256 of a token is stored.
std::string token_hash(int n) {
  char text[65];
  std::snprintf(text, sizeof text, "%064x", n);
  return text;
}

session_record make_session(const std::string& username, int n, timestamp_ms expires_at,
                            role user_role = role::operator_) {
  session_record session;
  session.token_hash = token_hash(n);
  session.username = username;
  session.user_role = user_role;
  session.groups = "[\"shift-a\"]";
  session.created_at = t0;
  session.last_activity = t0;
  session.expires_at = expires_at;
  session.ip_address = "192.168.1.20";
  session.user_agent = "Mozilla/5.0 (X11; Linux x86_64)";
  return session;
}

void expect_same_user(const user_record& actual, const user_record& expected) {
  EXPECT_EQ(actual.id, expected.id);
  EXPECT_EQ(actual.username, expected.username);
  EXPECT_EQ(actual.password_hash, expected.password_hash);
  EXPECT_EQ(actual.user_role, expected.user_role);
  EXPECT_EQ(actual.active, expected.active);
  EXPECT_EQ(actual.sync_to_rtus, expected.sync_to_rtus);
  EXPECT_EQ(actual.created_at, expected.created_at);
  EXPECT_EQ(actual.updated_at, expected.updated_at);
  EXPECT_EQ(actual.last_login, expected.last_login);
}

void expect_same_session(const session_record& actual, const session_record& expected) {
  EXPECT_EQ(actual.token_hash, expected.token_hash);
  EXPECT_EQ(actual.username, expected.username);
  EXPECT_EQ(actual.user_role, expected.user_role);
  EXPECT_EQ(actual.groups, expected.groups);
  EXPECT_EQ(actual.created_at, expected.created_at);
  EXPECT_EQ(actual.last_activity, expected.last_activity);
  EXPECT_EQ(actual.expires_at, expected.expires_at);
  EXPECT_EQ(actual.ip_address, expected.ip_address);
  EXPECT_EQ(actual.user_agent, expected.user_agent);
}

// All but the id, which the database assigns.
void expect_same_audit(const audit_entry& actual, const audit_entry& expected) {
  EXPECT_GT(actual.id, 0);
  EXPECT_EQ(actual.timestamp, expected.timestamp);
  EXPECT_EQ(actual.user, expected.user);
  EXPECT_EQ(actual.action, expected.action);
  EXPECT_EQ(actual.resource_type, expected.resource_type);
  EXPECT_EQ(actual.resource_id, expected.resource_id);
  EXPECT_EQ(actual.details, expected.details);
  EXPECT_EQ(actual.ip_address, expected.ip_address);
}

class store_test : public ::testing::TestWithParam<backend_kind> {
 protected:
  void SetUp() override {
    database_ = std::make_unique<test_database>(GetParam());
    store_ = storage::open_store(database_->config());
    store_->migrate();
    raw_ = database_->raw();
  }

  std::int64_t audit_rows() { return raw_->scalar("SELECT count(*) FROM audit_log"); }

  std::optional<session_record> stored_session(const std::string& hash) {
    for (session_record& session : store_->load_sessions(0)) {
      if (session.token_hash == hash)
        return session;
    }
    return std::nullopt;
  }

  std::vector<std::string> session_owners() {
    std::vector<std::string> owners;
    for (const session_record& session : store_->load_sessions(0))
      owners.push_back(session.username);
    return sorted(owners);
  }

  const std::vector<storage::migration>& migrations() const {
    return GetParam() == backend_kind::sqlite ? storage::sqlite_migrations()
                                              : storage::postgresql_migrations();
  }

  // Declared first: the database outlives the connections to it.
  std::unique_ptr<test_database> database_;
  std::unique_ptr<storage::store> store_;
  std::unique_ptr<raw_database> raw_;
};

TEST_P(store_test, reports_its_backend_and_answers_a_ping) {
  EXPECT_EQ(store_->backend(), to_string(GetParam()));
  EXPECT_NO_THROW(store_->ping());
}

TEST_P(store_test, migrate_creates_the_whole_schema_once) {
  test_database empty(GetParam());
  auto fresh = storage::open_store(empty.config());
  auto raw = empty.raw();
  EXPECT_EQ(fresh->schema_version(), 0);
  const int latest = static_cast<int>(migrations().size());
  ASSERT_EQ(fresh->migrate(), latest);
  EXPECT_EQ(fresh->schema_version(), latest);

  std::vector<std::string> table_names;
  for (const auto& [table, columns] : expected_tables) {
    table_names.push_back(table);
    EXPECT_EQ(sorted(raw->columns(table)), sorted(columns)) << "columns of " << table;
  }
  EXPECT_EQ(sorted(raw->tables()), sorted(table_names));
  EXPECT_EQ(sorted(raw->indexes()), sorted(expected_indexes));
  // ix_historian_sensor_time went with migration 0005: the primary key (tag_id, timestamp) is
  // the samples' index (historian_store_test.cpp).
  EXPECT_EQ(raw->index_columns("ix_alarm_events_state_activated_at"),
            (std::vector<std::string>{"state", "activated_at"}));
  EXPECT_EQ(raw->index_columns("ix_audit_log_timestamp_user"),
            (std::vector<std::string>{"timestamp", "user"}));

  EXPECT_EQ(raw->scalar("SELECT count(*) FROM schema_version"), latest);
  EXPECT_EQ(raw->strings("SELECT description FROM schema_version WHERE version = 1"),
            std::vector<std::string>{"initial schema"});

  // Again: nothing to do, nothing recorded.
  EXPECT_EQ(fresh->migrate(), latest);
  EXPECT_EQ(raw->scalar("SELECT count(*) FROM schema_version"), latest);
  EXPECT_EQ(sorted(raw->tables()), sorted(table_names));
}

TEST_P(store_test, creates_finds_lists_updates_and_deletes_users) {
  user_record alice = store_->create_user(make_user("alice", role::admin), make_audit("create"));
  EXPECT_GT(alice.id, 0);
  EXPECT_EQ(alice.username, "alice");
  EXPECT_EQ(alice.user_role, role::admin);
  EXPECT_TRUE(alice.active);
  EXPECT_TRUE(alice.sync_to_rtus);
  EXPECT_EQ(alice.created_at, t0);
  EXPECT_EQ(alice.last_login, 0);

  auto found = store_->find_user("alice");
  ASSERT_TRUE(found);
  expect_same_user(*found, alice);
  found = store_->find_user_by_id(alice.id);
  ASSERT_TRUE(found);
  expect_same_user(*found, alice);
  EXPECT_FALSE(store_->find_user("nobody"));
  EXPECT_FALSE(store_->find_user("ALICE"));
  EXPECT_FALSE(store_->find_user_by_id(alice.id + 1000));

  user_record bob = store_->create_user(make_user("bob"), make_audit("create"));
  user_record carol = store_->create_user(make_user("carol", role::viewer), make_audit("create"));
  EXPECT_EQ(store_->count_users(), 3);
  paged<user_record> first = store_->list_users({0, 2});
  EXPECT_EQ(first.total, 3);
  ASSERT_EQ(first.items.size(), 2U);
  expect_same_user(first.items[0], alice);
  expect_same_user(first.items[1], bob);
  paged<user_record> second = store_->list_users({2, 2});
  EXPECT_EQ(second.total, 3);
  ASSERT_EQ(second.items.size(), 1U);
  expect_same_user(second.items[0], carol);
  EXPECT_TRUE(store_->list_users({5, 2}).items.empty());
  EXPECT_EQ(failure_of([&] { store_->list_users({-1, 2}); }), "bad_request");
  EXPECT_EQ(failure_of([&] { store_->list_users({0, -2}); }), "bad_request");

  user_update update;
  update.set_role = true;
  update.user_role = role::admin;
  update.set_sync_to_rtus = true;
  update.sync_to_rtus = false;
  user_record updated = store_->update_user(bob.id, update, t0 + 1000, make_audit("update"));
  EXPECT_EQ(updated.user_role, role::admin);
  EXPECT_FALSE(updated.sync_to_rtus);
  EXPECT_TRUE(updated.active);
  EXPECT_EQ(updated.created_at, t0);
  EXPECT_EQ(updated.updated_at, t0 + 1000);
  expect_same_user(*store_->find_user("bob"), updated);

  store_->record_login(alice.id, t0 + 5000);
  EXPECT_EQ(store_->find_user("alice")->last_login, t0 + 5000);

  store_->delete_user(carol.id, make_audit("delete"));
  EXPECT_FALSE(store_->find_user("carol"));
  EXPECT_EQ(store_->count_users(), 2);
}

TEST_P(store_test, a_missing_user_is_not_found_and_changes_nothing) {
  const std::int64_t missing = 4242;
  std::int64_t before = audit_rows();
  EXPECT_EQ(failure_of([&] { store_->delete_user(missing, make_audit("delete")); }), "not_found");
  EXPECT_EQ(failure_of([&] { store_->update_user(missing, {}, t0, make_audit("update")); }),
            "not_found");
  EXPECT_EQ(failure_of([&] { store_->set_password(missing, "h", t0, make_audit("password")); }),
            "not_found");
  EXPECT_EQ(failure_of([&] { store_->record_login(missing, t0); }), "not_found");
  EXPECT_EQ(audit_rows(), before);
}

TEST_P(store_test, a_duplicate_username_is_a_conflict_without_an_audit_row) {
  store_->create_user(make_user("alice"), make_audit("create"));
  std::int64_t before = audit_rows();
  EXPECT_EQ(failure_of([&] { store_->create_user(make_user("alice"), make_audit("create")); }),
            "conflict");
  EXPECT_EQ(audit_rows(), before);
  EXPECT_EQ(store_->count_users(), 1);
  // The failed transaction left the connection usable.
  EXPECT_NO_THROW(store_->create_user(make_user("bob"), make_audit("create")));
}

TEST_P(store_test, a_role_change_updates_sessions_and_deactivation_deletes_them) {
  user_record alice = store_->create_user(make_user("alice"), make_audit("create"));
  store_->create_user(make_user("bob"), make_audit("create"));
  store_->create_session(make_session("alice", 1, t0 + 60'000), make_audit("login"));
  store_->create_session(make_session("alice", 2, t0 + 60'000), make_audit("login"));
  store_->create_session(make_session("bob", 3, t0 + 60'000), make_audit("login"));

  user_update demote;
  demote.set_role = true;
  demote.user_role = role::viewer;
  store_->update_user(alice.id, demote, t0 + 1, make_audit("update"));
  EXPECT_EQ(stored_session(token_hash(1))->user_role, role::viewer);
  EXPECT_EQ(stored_session(token_hash(2))->user_role, role::viewer);
  EXPECT_EQ(stored_session(token_hash(3))->user_role, role::operator_);

  user_update deactivate;
  deactivate.set_active = true;
  deactivate.active = false;
  user_record inactive = store_->update_user(alice.id, deactivate, t0 + 2, make_audit("update"));
  EXPECT_FALSE(inactive.active);
  EXPECT_EQ(session_owners(), std::vector<std::string>{"bob"});
}

TEST_P(store_test, set_password_stores_the_hash_and_deletes_the_sessions) {
  user_record alice = store_->create_user(make_user("alice"), make_audit("create"));
  store_->create_user(make_user("bob"), make_audit("create"));
  store_->create_session(make_session("alice", 1, t0 + 60'000), make_audit("login"));
  store_->create_session(make_session("bob", 2, t0 + 60'000), make_audit("login"));

  store_->set_password(alice.id, "$2b$12$new", t0 + 10, make_audit("password"));
  user_record stored = *store_->find_user("alice");
  EXPECT_EQ(stored.password_hash, "$2b$12$new");
  EXPECT_EQ(stored.updated_at, t0 + 10);
  EXPECT_EQ(session_owners(), std::vector<std::string>{"bob"});
}

TEST_P(store_test, deleting_a_user_deletes_its_sessions) {
  user_record alice = store_->create_user(make_user("alice"), make_audit("create"));
  store_->create_user(make_user("bob"), make_audit("create"));
  store_->create_session(make_session("alice", 1, t0 + 60'000), make_audit("login"));
  store_->create_session(make_session("bob", 2, t0 + 60'000), make_audit("login"));
  store_->delete_user(alice.id, make_audit("delete"));
  EXPECT_EQ(session_owners(), std::vector<std::string>{"bob"});
}

TEST_P(store_test, sessions_are_created_loaded_touched_replaced_deleted_and_purged) {
  store_->create_user(make_user("alice"), make_audit("create"));
  session_record first = make_session("alice", 1, t0 + 1000);
  session_record second = make_session("alice", 2, t0 + 2000, role::admin);
  second.ip_address.clear();
  second.user_agent.clear();
  store_->create_session(first, make_audit("login"));
  store_->create_session(second, make_audit("login"));

  std::vector<session_record> live = store_->load_sessions(t0);
  ASSERT_EQ(live.size(), 2U);
  expect_same_session(live[0], first);
  expect_same_session(live[1], second);
  // A session has expired at its expires_at.
  live = store_->load_sessions(t0 + 1000);
  ASSERT_EQ(live.size(), 1U);
  EXPECT_EQ(live[0].token_hash, second.token_hash);

  store_->touch_sessions({{first.token_hash, t0 + 500}, {token_hash(99), t0 + 600}});
  EXPECT_EQ(stored_session(first.token_hash)->last_activity, t0 + 500);
  EXPECT_FALSE(stored_session(token_hash(99)));

  session_record third = make_session("alice", 3, t0 + 3000);
  store_->replace_session(first.token_hash, third, make_audit("refresh"));
  EXPECT_FALSE(stored_session(first.token_hash));
  expect_same_session(*stored_session(third.token_hash), third);

  // Refreshing a session that is gone fails whole: the new one is not stored, nothing audited.
  std::int64_t before = audit_rows();
  session_record fourth = make_session("alice", 4, t0 + 4000);
  EXPECT_EQ(
      failure_of([&] { store_->replace_session(first.token_hash, fourth, make_audit("refresh")); }),
      "not_found");
  EXPECT_FALSE(stored_session(fourth.token_hash));
  EXPECT_EQ(audit_rows(), before);

  EXPECT_EQ(failure_of([&] { store_->create_session(third, make_audit("login")); }), "conflict");
  EXPECT_EQ(failure_of([&] {
              store_->create_session(make_session("nobody", 5, t0 + 9000), make_audit("login"));
            }),
            "conflict");
  session_record raw_token = make_session("alice", 6, t0 + 9000);
  raw_token.token_hash = "a-bearer-token-that-is-not-a-sha256";
  EXPECT_EQ(failure_of([&] { store_->create_session(raw_token, make_audit("login")); }),
            "bad_request");

  store_->delete_session(second.token_hash, make_audit("logout"));
  EXPECT_FALSE(stored_session(second.token_hash));
  EXPECT_NO_THROW(store_->delete_session(second.token_hash, make_audit("logout")));

  store_->create_session(make_session("alice", 7, t0 + 100), make_audit("login"));
  store_->create_session(make_session("alice", 8, t0 + 200), make_audit("login"));
  EXPECT_EQ(store_->purge_expired_sessions(t0 + 200), 2);
  EXPECT_EQ(store_->purge_expired_sessions(t0 + 200), 0);
  ASSERT_EQ(store_->load_sessions(0).size(), 1U);
  EXPECT_EQ(store_->load_sessions(0)[0].token_hash, third.token_hash);
}

TEST_P(store_test, the_audit_log_is_filtered_paged_and_newest_first) {
  struct row {
    const char* user;
    const char* action;
    const char* type;
    const char* id;
    timestamp_ms at;
  };
  const std::vector<row> rows = {
      {"alice", "login", "session", "", t0 + 1},   {"bob", "login", "session", "", t0 + 2},
      {"alice", "create", "user", "7", t0 + 3},    {"alice", "update", "user", "7", t0 + 4},
      {"bob", "delete", "user", "8", t0 + 5},      {"", "login_failed", "", "", t0 + 6},
      {"carol", "create", "rtu", "rtu-1", t0 + 7}, {"alice", "update", "rtu", "rtu-1", t0 + 8},
      {"bob", "create", "user", "9", t0 + 9},      {"alice", "logout", "session", "", t0 + 9},
  };
  std::vector<audit_entry> appended;
  for (const row& r : rows) {
    audit_entry entry{0, r.at, r.user, r.action, r.type, r.id, "details", "10.1.1.1"};
    store_->append_audit(entry);
    appended.push_back(entry);
  }

  paged<audit_entry> all = store_->query_audit({});
  EXPECT_EQ(all.total, 10);
  ASSERT_EQ(all.items.size(), 10U);
  // Newest first; the two entries of the same millisecond in reverse order of appending.
  for (std::size_t i = 0; i < appended.size(); ++i)
    expect_same_audit(all.items[i], appended[appended.size() - 1 - i]);

  auto total = [&](audit_filter filter) { return store_->query_audit(filter).total; };
  audit_filter by_user;
  by_user.user = "alice";
  EXPECT_EQ(total(by_user), 5);
  audit_filter by_action;
  by_action.action = "create";
  EXPECT_EQ(total(by_action), 3);
  audit_filter by_type;
  by_type.resource_type = "user";
  EXPECT_EQ(total(by_type), 4);
  audit_filter by_id;
  by_id.resource_type = "rtu";
  by_id.resource_id = "rtu-1";
  EXPECT_EQ(total(by_id), 2);
  audit_filter combined;
  combined.user = "alice";
  combined.action = "update";
  combined.resource_type = "user";
  paged<audit_entry> one = store_->query_audit(combined);
  ASSERT_EQ(one.items.size(), 1U);
  expect_same_audit(one.items[0], appended[3]);

  // The time range includes both ends.
  audit_filter range;
  range.start = t0 + 3;
  range.end = t0 + 5;
  paged<audit_entry> ranged = store_->query_audit(range);
  EXPECT_EQ(ranged.total, 3);
  ASSERT_EQ(ranged.items.size(), 3U);
  EXPECT_EQ(ranged.items.front().timestamp, t0 + 5);
  EXPECT_EQ(ranged.items.back().timestamp, t0 + 3);
  audit_filter from;
  from.start = t0 + 8;
  EXPECT_EQ(total(from), 3);
  audit_filter until;
  until.end = t0 + 2;
  EXPECT_EQ(total(until), 2);

  audit_filter window;
  window.window = {2, 3};
  paged<audit_entry> paged_items = store_->query_audit(window);
  EXPECT_EQ(paged_items.total, 10);
  ASSERT_EQ(paged_items.items.size(), 3U);
  for (std::size_t i = 0; i < 3; ++i)
    expect_same_audit(paged_items.items[i], all.items[2 + i]);
  window.window = {9, 5};
  EXPECT_EQ(store_->query_audit(window).items.size(), 1U);
  window.window = {0, -1};
  EXPECT_EQ(failure_of([&] { store_->query_audit(window); }), "bad_request");
}

TEST_P(store_test, every_change_writes_exactly_one_audit_row) {
  // Runs one change and checks that it wrote `expected` and nothing more.
  auto audited = [&](const audit_entry& expected, auto&& change) {
    std::int64_t before = audit_rows();
    change();
    EXPECT_EQ(audit_rows(), before + 1) << expected.action;
    paged<audit_entry> newest = store_->query_audit({});
    ASSERT_FALSE(newest.items.empty());
    expect_same_audit(newest.items.front(), expected);
  };
  audit_entry entry = make_audit("create_user", "alice", t0 + 1);
  user_record alice;
  audited(entry, [&] { alice = store_->create_user(make_user("alice"), entry); });
  entry = make_audit("update_user", std::to_string(alice.id), t0 + 2);
  audited(entry, [&] { store_->update_user(alice.id, {}, t0 + 2, entry); });
  entry = make_audit("change_password", std::to_string(alice.id), t0 + 3);
  audited(entry, [&] { store_->set_password(alice.id, "h", t0 + 3, entry); });
  entry = make_audit("login", "alice", t0 + 4);
  entry.resource_type = "session";
  audited(entry, [&] { store_->create_session(make_session("alice", 1, t0 + 9000), entry); });
  entry = make_audit("refresh", "alice", t0 + 5);
  audited(entry, [&] {
    store_->replace_session(token_hash(1), make_session("alice", 2, t0 + 9000), entry);
  });
  entry = make_audit("logout", "alice", t0 + 6);
  audited(entry, [&] { store_->delete_session(token_hash(2), entry); });
  entry = make_audit("login_failed", "", t0 + 7);
  entry.user.clear();
  entry.resource_type.clear();
  entry.details.clear();
  audited(entry, [&] { store_->append_audit(entry); });
  entry = make_audit("delete_user", std::to_string(alice.id), t0 + 8);
  audited(entry, [&] { store_->delete_user(alice.id, entry); });

  // The bookkeeping that carries no audit entry writes none.
  user_record bob = store_->create_user(make_user("bob"), make_audit("create_user"));
  store_->create_session(make_session("bob", 3, t0 + 100), make_audit("login"));
  std::int64_t before = audit_rows();
  store_->record_login(bob.id, t0 + 9);
  store_->touch_sessions({{token_hash(3), t0 + 10}});
  store_->purge_expired_sessions(t0 + 100);
  EXPECT_EQ(audit_rows(), before);
}

TEST_P(store_test, values_round_trip_unchanged) {
  const std::string nasty_name = "O'Brien\"; DROP TABLE users; -- Zoë 水処理 🚰";
  const std::string nasty_hash = "$2b$12$a\\b'c\"d%e_f;g\n\th";
  user_record user = make_user(nasty_name);
  user.password_hash = nasty_hash;
  user_record stored = store_->create_user(user, make_audit("create"));
  EXPECT_EQ(stored.username, nasty_name);
  auto found = store_->find_user(nasty_name);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->password_hash, nasty_hash);
  EXPECT_FALSE(store_->find_user("O'Brien"));
  EXPECT_FALSE(store_->find_user("%"));

  session_record session = make_session(nasty_name, 1, t0 + 1000);
  session.groups = "[\"o'neil\", \"ünïcode\", \"back\\\\slash\"]";
  session.user_agent = "Agent/1.0 (\"quoted\"; 'single'; ; DROP TABLE user_sessions)";
  session.ip_address = "::ffff:10.0.0.1";
  store_->create_session(session, make_audit("login"));
  expect_same_session(*stored_session(session.token_hash), session);

  audit_entry entry{0,
                    t0 + 5,
                    nasty_name,
                    "update",
                    "rtu",
                    "station'1",
                    "before: 'a' -> after: \"b\" 100% _ \\ \n€ 𝄞",
                    "fe80::1"};
  store_->append_audit(entry);
  audit_filter filter;
  filter.user = nasty_name;
  filter.resource_id = "station'1";
  paged<audit_entry> result = store_->query_audit(filter);
  ASSERT_EQ(result.items.size(), 1U);
  expect_same_audit(result.items[0], entry);
  // Filters match exactly, never as LIKE patterns.
  filter.user = "%";
  filter.resource_id.clear();
  EXPECT_EQ(store_->query_audit(filter).total, 0);

  EXPECT_EQ(store_->count_users(), 1);
}

TEST_P(store_test, the_schema_rejects_values_outside_the_contract) {
  auto insert_user = [&](const std::string& user_role) {
    raw_->exec(
        "INSERT INTO users (username, password_hash, role, created_at, updated_at) VALUES ('x', "
        "'h', '" +
        user_role + "', " + raw_->timestamp_sql(t0) + ", " + raw_->timestamp_sql(t0) + ")");
  };
  EXPECT_ANY_THROW(insert_user("superuser"));
  EXPECT_ANY_THROW(insert_user("Admin"));
  EXPECT_NO_THROW(insert_user("operator"));

  auto insert_rtu = [&](const std::string& name, const std::string& ip, const std::string& state) {
    raw_->exec(
        "INSERT INTO rtus (station_name, ip_address, vendor_id, device_id, slot_count, state, "
        "state_since, created_at, updated_at) VALUES ('" +
        name + "', '" + ip + "', '0x1234', '0x0001', 8, '" + state + "', " +
        raw_->timestamp_sql(t0) + ", " + raw_->timestamp_sql(t0) + ", " + raw_->timestamp_sql(t0) +
        ")");
  };
  EXPECT_NO_THROW(insert_rtu("rtu-1", "10.0.0.11", "DISCOVERY"));
  EXPECT_ANY_THROW(insert_rtu("rtu-2", "10.0.0.12", "BOGUS"));
  EXPECT_ANY_THROW(insert_rtu("rtu-1", "10.0.0.13", "OFFLINE"));  // station_name is unique
  EXPECT_ANY_THROW(insert_rtu("rtu-3", "10.0.0.11", "OFFLINE"));  // and so is the endpoint

  auto insert_rule = [&](const std::string& condition, const std::string& severity) {
    raw_->exec(
        "INSERT INTO alarm_rules (name, rtu_station, slot, condition, threshold, severity, "
        "created_at, updated_at) VALUES ('high level', 'rtu-1', 1, '" +
        condition + "', 4.5, '" + severity + "', " + raw_->timestamp_sql(t0) + ", " +
        raw_->timestamp_sql(t0) + ")");
  };
  EXPECT_NO_THROW(insert_rule(">=", "CRITICAL"));
  EXPECT_ANY_THROW(insert_rule("!=", "HIGH"));
  EXPECT_ANY_THROW(insert_rule(">", "SEVERE"));

  // The children of an RTU go with it: foreign keys are enforced and cascade.
  std::int64_t rtu = raw_->scalar("SELECT id FROM rtus WHERE station_name = 'rtu-1'");
  raw_->exec("INSERT INTO slots (rtu_id, slot_number, created_at, updated_at) VALUES (" +
             std::to_string(rtu) + ", 1, " + raw_->timestamp_sql(t0) + ", " +
             raw_->timestamp_sql(t0) + ")");
  EXPECT_EQ(raw_->scalar("SELECT count(*) FROM slots WHERE status = 'EMPTY'"), 1);
  EXPECT_ANY_THROW(
      raw_->exec("INSERT INTO slots (rtu_id, slot_number, created_at, updated_at) "
                 "VALUES (9999, 1, " +
                 raw_->timestamp_sql(t0) + ", " + raw_->timestamp_sql(t0) + ")"));
  raw_->exec("DELETE FROM rtus WHERE id = " + std::to_string(rtu));
  EXPECT_EQ(raw_->scalar("SELECT count(*) FROM slots"), 0);
}

INSTANTIATE_TEST_SUITE_P(backends, store_test,
                         ::testing::Values(backend_kind::sqlite, backend_kind::postgresql),
                         [](const ::testing::TestParamInfo<backend_kind>& param) {
                           return to_string(param.param);
                         });

}  // namespace
}  // namespace wtc::test
