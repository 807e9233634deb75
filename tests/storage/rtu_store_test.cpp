// The storage contract of the field side, run against both backends: RTUs, their slots, sensors
// and controls, discovery, state transitions, diagnostics, and the migration that gave RTUs their
// endpoints (0002).

#include <gtest/gtest.h>

#include <algorithm>
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

// Every field set, none at its default, so that a column mixed up with another shows.
rtu_record make_rtu(const std::string& station, const std::string& ip, std::int32_t port = 5020,
                    std::int32_t unit_id = 7) {
  rtu_record rtu;
  rtu.station_name = station;
  rtu.ip_address = ip;
  rtu.port = port;
  rtu.unit_id = unit_id;
  rtu.profile = "generic-modbus";
  rtu.vendor_id = "0x002A";
  rtu.device_id = "0x0405";
  rtu.slot_count = 8;
  rtu.cycle_time_ms = 250;
  rtu.auto_connect = true;
  rtu.state = rtu_state::error;
  rtu.state_since = t0 - 60'000;
  rtu.transition_reason = "connection refused";
  rtu.last_error = "connect: Connection refused";
  rtu.rtu_version = "1.2.0";
  rtu.version_mismatch = true;
  rtu.created_at = t0;
  rtu.updated_at = t0 + 1;
  return rtu;
}

audit_entry make_audit(const std::string& action, const std::string& resource_id = "",
                       timestamp_ms at = t0) {
  audit_entry entry;
  entry.timestamp = at;
  entry.user = "admin";
  entry.action = action;
  entry.resource_type = "rtu";
  entry.resource_id = resource_id;
  entry.details = "{\"why\": \"test\"}";
  entry.ip_address = "10.0.0.1";
  return entry;
}

diagnostic_record make_diagnostic(const std::string& message, timestamp_ms at,
                                  const std::string& level = "INFO",
                                  const std::string& source = "AR",
                                  const std::string& details = "") {
  diagnostic_record diagnostic;
  diagnostic.timestamp = at;
  diagnostic.level = level;
  diagnostic.source = source;
  diagnostic.message = message;
  diagnostic.details = details;
  return diagnostic;
}

slot_record found_slot(std::int32_t number, const std::string& module_type,
                       const std::string& status = "OK") {
  slot_record slot;
  slot.slot_number = number;
  slot.module_type = module_type;
  slot.module_id = module_type == "AI" ? "0x0001" : module_type == "DO" ? "0x0002" : "0x0003";
  if (module_type == "EMPTY")
    slot.module_id.clear();
  slot.status = status;
  return slot;
}

sensor_record found_sensor(std::int32_t slot, const std::string& tag,
                           const std::string& type = "level", const std::string& unit = "m") {
  sensor_record sensor;
  sensor.slot_number = slot;
  sensor.tag = tag;
  sensor.channel = 0;
  sensor.sensor_type = type;
  sensor.unit = unit;
  sensor.scale_min = 4.0;
  sensor.scale_max = 20.0;
  sensor.eng_min = 0.0;
  sensor.eng_max = 5.0;
  sensor.deadband = 0.01;
  return sensor;
}

control_record found_control(std::int32_t slot, const std::string& tag,
                             const std::string& control_type = "discrete",
                             const std::string& equipment = "pump") {
  control_record control;
  control.slot_number = slot;
  control.tag = tag;
  control.channel = 0;
  control.control_type = control_type;
  control.equipment_type = equipment;
  control.has_range = control_type == "analog";
  control.min_value = control.has_range ? 10.0 : 0.0;
  control.max_value = control.has_range ? 90.0 : 0.0;
  control.unit = control.has_range ? "%" : "";
  return control;
}

// A small plant on one RTU: two analog inputs, a pump, a dosing pump and an empty slot.
discovery_result plant_discovery(std::int64_t rtu_id, const std::string& prefix = "") {
  discovery_result found;
  found.rtu_id = rtu_id;
  found.vendor_id = "0x0B0B";
  found.device_id = "0x0C0C";
  found.rtu_version = "2.0.1";
  found.version_mismatch = false;
  found.slot_count = 5;
  found.slots = {found_slot(1, "AI"), found_slot(2, "AI"), found_slot(3, "DO"),
                 found_slot(4, "PWM"), found_slot(5, "EMPTY", "EMPTY")};
  found.sensors = {found_sensor(1, prefix + "LT-101"),
                   found_sensor(2, prefix + "FT-101", "flow", "m3/h")};
  found.controls = {found_control(3, prefix + "P-101"),
                    found_control(4, prefix + "DP-101", "analog", "dosing_pump")};
  return found;
}

void expect_same_rtu(const rtu_record& actual, const rtu_record& expected) {
  EXPECT_EQ(actual.id, expected.id);
  EXPECT_EQ(actual.station_name, expected.station_name);
  EXPECT_EQ(actual.ip_address, expected.ip_address);
  EXPECT_EQ(actual.port, expected.port);
  EXPECT_EQ(actual.unit_id, expected.unit_id);
  EXPECT_EQ(actual.profile, expected.profile);
  EXPECT_EQ(actual.vendor_id, expected.vendor_id);
  EXPECT_EQ(actual.device_id, expected.device_id);
  EXPECT_EQ(actual.slot_count, expected.slot_count);
  EXPECT_EQ(actual.cycle_time_ms, expected.cycle_time_ms);
  EXPECT_EQ(actual.auto_connect, expected.auto_connect);
  EXPECT_EQ(actual.state, expected.state);
  EXPECT_EQ(actual.state_since, expected.state_since);
  EXPECT_EQ(actual.transition_reason, expected.transition_reason);
  EXPECT_EQ(actual.last_error, expected.last_error);
  EXPECT_EQ(actual.rtu_version, expected.rtu_version);
  EXPECT_EQ(actual.version_mismatch, expected.version_mismatch);
  EXPECT_EQ(actual.created_at, expected.created_at);
  EXPECT_EQ(actual.updated_at, expected.updated_at);
}

// All but the ids and timestamps, which the store assigns.
void expect_same_sensor(const sensor_record& actual, const sensor_record& expected) {
  EXPECT_EQ(actual.slot_number, expected.slot_number);
  EXPECT_EQ(actual.tag, expected.tag);
  EXPECT_EQ(actual.channel, expected.channel);
  EXPECT_EQ(actual.sensor_type, expected.sensor_type);
  EXPECT_EQ(actual.unit, expected.unit);
  EXPECT_EQ(actual.scale_min, expected.scale_min);
  EXPECT_EQ(actual.scale_max, expected.scale_max);
  EXPECT_EQ(actual.eng_min, expected.eng_min);
  EXPECT_EQ(actual.eng_max, expected.eng_max);
  EXPECT_EQ(actual.deadband, expected.deadband);
}

void expect_same_control(const control_record& actual, const control_record& expected) {
  EXPECT_EQ(actual.slot_number, expected.slot_number);
  EXPECT_EQ(actual.tag, expected.tag);
  EXPECT_EQ(actual.channel, expected.channel);
  EXPECT_EQ(actual.control_type, expected.control_type);
  EXPECT_EQ(actual.equipment_type, expected.equipment_type);
  EXPECT_EQ(actual.has_range, expected.has_range);
  if (expected.has_range) {
    EXPECT_EQ(actual.min_value, expected.min_value);
    EXPECT_EQ(actual.max_value, expected.max_value);
  }
  EXPECT_EQ(actual.unit, expected.unit);
}

std::vector<std::string> tags_of(const std::vector<sensor_record>& sensors) {
  std::vector<std::string> tags;
  for (const sensor_record& sensor : sensors)
    tags.push_back(sensor.tag);
  return tags;
}

std::vector<std::string> tags_of(const std::vector<control_record>& controls) {
  std::vector<std::string> tags;
  for (const control_record& control : controls)
    tags.push_back(control.tag);
  return tags;
}

class rtu_store_test : public ::testing::TestWithParam<backend_kind> {
 protected:
  void SetUp() override {
    database_ = std::make_unique<test_database>(GetParam());
    store_ = storage::open_store(database_->config());
    store_->migrate();
    raw_ = database_->raw();
  }

  std::int64_t audit_rows() { return raw_->scalar("SELECT count(*) FROM audit_log"); }
  std::int64_t count(const std::string& table, std::int64_t rtu_id) {
    return raw_->scalar("SELECT count(*) FROM " + table +
                        " WHERE rtu_id = " + std::to_string(rtu_id));
  }
  std::vector<std::string> diagnostic_messages(std::int64_t rtu_id) {
    std::vector<std::string> messages;
    for (const diagnostic_record& d : store_->list_diagnostics(rtu_id, {0, 1000}).items)
      messages.push_back(d.message);
    return messages;
  }

  rtu_record create(const std::string& station, const std::string& ip, std::int32_t port = 5020,
                    std::int32_t unit_id = 7) {
    return store_->create_rtu(make_rtu(station, ip, port, unit_id),
                              make_audit("rtu_create", station));
  }

  // Declared first: the database outlives the connections to it.
  std::unique_ptr<test_database> database_;
  std::unique_ptr<storage::store> store_;
  std::unique_ptr<raw_database> raw_;
};

TEST_P(rtu_store_test, creates_finds_lists_updates_and_deletes_rtus) {
  rtu_record wanted = make_rtu("rtu-b", "10.0.0.2");
  rtu_record b = store_->create_rtu(wanted, make_audit("rtu_create", "rtu-b"));
  EXPECT_GT(b.id, 0);
  wanted.id = b.id;
  expect_same_rtu(b, wanted);
  auto found = store_->find_rtu("rtu-b");
  ASSERT_TRUE(found);
  expect_same_rtu(*found, wanted);
  EXPECT_FALSE(store_->find_rtu("rtu-x"));
  EXPECT_FALSE(store_->find_rtu("RTU-B"));

  // Defaults, and optional text left empty: NULL in the database, empty again on reading.
  rtu_record plain;
  plain.station_name = "rtu-a";
  plain.ip_address = "10.0.0.1";
  plain.vendor_id = "0x002A";
  plain.device_id = "0x0405";
  plain.state_since = t0;
  plain.created_at = t0;
  plain.updated_at = t0;
  rtu_record a = store_->create_rtu(plain, make_audit("rtu_create", "rtu-a"));
  plain.id = a.id;
  expect_same_rtu(a, plain);
  EXPECT_EQ(a.port, 502);
  EXPECT_EQ(a.unit_id, 1);
  EXPECT_EQ(a.profile, "wtc-rtu");
  EXPECT_EQ(a.cycle_time_ms, 1000);
  EXPECT_EQ(raw_->scalar("SELECT count(*) FROM rtus WHERE last_error IS NULL AND "
                         "transition_reason IS NULL AND rtu_version IS NULL"),
            1);

  // Ordered by station name.
  std::vector<rtu_record> all = store_->list_rtus();
  ASSERT_EQ(all.size(), 2U);
  expect_same_rtu(all[0], plain);
  expect_same_rtu(all[1], wanted);

  rtu_update update;
  update.set_ip_address = true;
  update.ip_address = "10.0.0.22";
  update.set_port = true;
  update.port = 1502;
  update.set_unit_id = true;
  update.unit_id = 255;
  update.set_profile = true;
  update.profile = "wtc-rtu";
  update.set_vendor_id = true;
  update.vendor_id = "0x0001";
  update.set_device_id = true;
  update.device_id = "0x0002";
  update.set_slot_count = true;
  update.slot_count = 16;
  update.set_cycle_time_ms = true;
  update.cycle_time_ms = 10;
  rtu_record updated = store_->update_rtu(b.id, update, t0 + 5000, make_audit("rtu_update"));
  rtu_record expected = wanted;
  expected.ip_address = "10.0.0.22";
  expected.port = 1502;
  expected.unit_id = 255;
  expected.profile = "wtc-rtu";
  expected.vendor_id = "0x0001";
  expected.device_id = "0x0002";
  expected.slot_count = 16;
  expected.cycle_time_ms = 10;
  expected.updated_at = t0 + 5000;
  expect_same_rtu(updated, expected);
  expect_same_rtu(*store_->find_rtu("rtu-b"), expected);

  // Unset fields keep their value.
  rtu_update only_port;
  only_port.set_port = true;
  only_port.port = 1503;
  expected.port = 1503;
  expected.updated_at = t0 + 6000;
  expect_same_rtu(store_->update_rtu(b.id, only_port, t0 + 6000, make_audit("rtu_update")),
                  expected);

  store_->delete_rtu(a.id, make_audit("rtu_delete"));
  EXPECT_FALSE(store_->find_rtu("rtu-a"));
  ASSERT_EQ(store_->list_rtus().size(), 1U);
  EXPECT_EQ(store_->count_system().total_rtus, 1);
}

TEST_P(rtu_store_test, values_round_trip_unchanged) {
  rtu_record rtu = make_rtu("o'brien\"; --", "10.0.0.9");
  rtu.profile = "profile 'quoted' \\ 100% _ Zoë";
  rtu.last_error = "read: \"timeout\" 'x' \n 水処理 🚰";
  rtu.transition_reason = "reason with ' and \"";
  rtu_record stored = store_->create_rtu(rtu, make_audit("rtu_create"));
  rtu.id = stored.id;
  expect_same_rtu(*store_->find_rtu("o'brien\"; --"), rtu);
  EXPECT_FALSE(store_->find_rtu("o'brien%"));

  discovery_result found = plant_discovery(stored.id);
  found.sensors[0].scale_min = 0.1;
  found.sensors[0].scale_max = 1e-7;
  found.sensors[0].eng_min = -123456.789012345;
  found.sensors[0].eng_max = 2.0 / 3.0;
  found.sensors[0].deadband = 0.3;
  found.sensors[0].tag = "tag 'with' \"quotes\"";
  found.sensors[0].unit = "µS/cm";
  store_->apply_discovery(found, t0, make_diagnostic("discovered", t0, "INFO", "DISCOVERY"));
  std::vector<sensor_record> sensors = store_->list_sensors(stored.id);
  ASSERT_EQ(sensors.size(), 2U);
  expect_same_sensor(sensors[0], found.sensors[0]);
}

TEST_P(rtu_store_test, a_duplicate_station_or_endpoint_is_a_conflict_that_changes_nothing) {
  rtu_record first = create("rtu-1", "10.0.0.1", 502, 1);
  std::int64_t audits = audit_rows();

  failure station = failure_of([&] { create("rtu-1", "10.0.0.99"); });
  EXPECT_EQ(station.code, "conflict");
  EXPECT_TRUE(contains(station.message, "station_name")) << station.message;
  EXPECT_TRUE(contains(station.message, "rtu-1")) << station.message;

  failure endpoint = failure_of([&] { create("rtu-2", "10.0.0.1", 502, 1); });
  EXPECT_EQ(endpoint.code, "conflict");
  EXPECT_TRUE(contains(endpoint.message, "ip_address, port and unit_id")) << endpoint.message;
  EXPECT_TRUE(contains(endpoint.message, "'rtu-1'")) << endpoint.message;

  EXPECT_EQ(audit_rows(), audits);
  EXPECT_EQ(store_->list_rtus().size(), 1U);
  expect_same_rtu(*store_->find_rtu("rtu-1"), first);

  // One Modbus TCP gateway, many unit ids; one simulator address, many ports.
  EXPECT_NO_THROW(create("rtu-2", "10.0.0.1", 502, 2));
  EXPECT_NO_THROW(create("rtu-3", "10.0.0.1", 503, 1));
  EXPECT_NO_THROW(create("rtu-4", "10.0.0.2", 502, 1));
  EXPECT_EQ(store_->list_rtus().size(), 4U);
  EXPECT_EQ(audit_rows(), audits + 3);
}

TEST_P(rtu_store_test, an_update_that_would_duplicate_an_endpoint_is_a_conflict) {
  create("rtu-1", "10.0.0.1", 502, 1);
  rtu_record second = create("rtu-2", "10.0.0.1", 503, 1);
  std::int64_t audits = audit_rows();

  rtu_update to_first;
  to_first.set_port = true;
  to_first.port = 502;
  to_first.set_slot_count = true;
  to_first.slot_count = 32;
  failure clash = failure_of([&] { store_->update_rtu(second.id, to_first, t0 + 1, {}); });
  EXPECT_EQ(clash.code, "conflict");
  EXPECT_TRUE(contains(clash.message, "'rtu-1'")) << clash.message;
  expect_same_rtu(*store_->find_rtu("rtu-2"), second);
  EXPECT_EQ(audit_rows(), audits);

  // Keeping its own endpoint is no conflict with itself.
  rtu_update same;
  same.set_ip_address = true;
  same.ip_address = "10.0.0.1";
  same.set_port = true;
  same.port = 503;
  EXPECT_NO_THROW(store_->update_rtu(second.id, same, t0 + 2, make_audit("rtu_update")));
  // Another unit id behind the same address and port is fine.
  to_first.set_unit_id = true;
  to_first.unit_id = 2;
  EXPECT_EQ(store_->update_rtu(second.id, to_first, t0 + 3, make_audit("rtu_update")).port, 502);
}

TEST_P(rtu_store_test, values_outside_the_schema_are_bad_requests) {
  auto create_with = [&](auto&& change) {
    rtu_record rtu = make_rtu("rtu-x", "10.0.0.1");
    change(rtu);
    return failure_of([&] { store_->create_rtu(rtu, make_audit("rtu_create")); }).code;
  };
  EXPECT_EQ(create_with([](rtu_record& r) { r.port = 0; }), "bad_request");
  EXPECT_EQ(create_with([](rtu_record& r) { r.port = 65536; }), "bad_request");
  EXPECT_EQ(create_with([](rtu_record& r) { r.unit_id = 248; }), "bad_request");
  EXPECT_EQ(create_with([](rtu_record& r) { r.unit_id = -1; }), "bad_request");
  EXPECT_EQ(create_with([](rtu_record& r) { r.cycle_time_ms = 9; }), "bad_request");
  EXPECT_EQ(create_with([](rtu_record& r) { r.slot_count = -1; }), "bad_request");
  EXPECT_EQ(audit_rows(), 0);
  EXPECT_TRUE(store_->list_rtus().empty());
  EXPECT_EQ(create_with([](rtu_record& r) { r.unit_id = 255; }), "none");

  rtu_record rtu = *store_->find_rtu("rtu-x");
  rtu_update update;
  update.set_cycle_time_ms = true;
  update.cycle_time_ms = 0;
  EXPECT_EQ(failure_of([&] { store_->update_rtu(rtu.id, update, t0, make_audit("u")); }).code,
            "bad_request");
  expect_same_rtu(*store_->find_rtu("rtu-x"), rtu);

  diagnostic_record bad_json = make_diagnostic("m", t0, "INFO", "AR", "{not json");
  bad_json.rtu_id = rtu.id;
  EXPECT_EQ(failure_of([&] { store_->append_diagnostic(bad_json); }).code, "bad_request");
  diagnostic_record bad_level = make_diagnostic("m", t0, "DEBUG");
  bad_level.rtu_id = rtu.id;
  EXPECT_EQ(failure_of([&] { store_->append_diagnostic(bad_level); }).code, "bad_request");
  EXPECT_EQ(store_->list_diagnostics(rtu.id, {}).total, 0);

  store_->apply_discovery(plant_discovery(rtu.id), t0, make_diagnostic("d", t0));
  EXPECT_ANY_THROW(raw_->exec("UPDATE sensors SET deadband = -0.5"));
}

TEST_P(rtu_store_test, a_missing_rtu_is_not_found_and_changes_nothing) {
  const std::int64_t missing = 4242;
  create("rtu-1", "10.0.0.1");
  std::int64_t audits = audit_rows();
  EXPECT_EQ(failure_of([&] { store_->update_rtu(missing, {}, t0, make_audit("u")); }).code,
            "not_found");
  EXPECT_EQ(failure_of([&] { store_->delete_rtu(missing, make_audit("d")); }).code, "not_found");
  EXPECT_EQ(failure_of([&] { store_->set_rtu_auto_connect(missing, true, make_audit("c")); }).code,
            "not_found");
  rtu_transition transition;
  transition.rtu_id = missing;
  transition.state = rtu_state::connecting;
  EXPECT_EQ(
      failure_of([&] { store_->record_rtu_transition(transition, make_diagnostic("m", t0)); }).code,
      "not_found");
  EXPECT_EQ(failure_of([&] {
              store_->apply_discovery(plant_discovery(missing), t0, make_diagnostic("m", t0));
            }).code,
            "not_found");
  diagnostic_record diagnostic = make_diagnostic("m", t0);
  diagnostic.rtu_id = missing;
  EXPECT_EQ(failure_of([&] { store_->append_diagnostic(diagnostic); }).code, "not_found");
  EXPECT_EQ(audit_rows(), audits);
  EXPECT_EQ(raw_->scalar("SELECT count(*) FROM profinet_diagnostics"), 0);
  EXPECT_EQ(raw_->scalar("SELECT count(*) FROM slots"), 0);
  EXPECT_TRUE(store_->list_slots(missing).empty());
  EXPECT_TRUE(store_->list_sensors(missing).empty());
  EXPECT_TRUE(store_->list_controls(missing).empty());
  EXPECT_EQ(store_->list_diagnostics(missing, {}).total, 0);
}

TEST_P(rtu_store_test, every_rtu_change_writes_exactly_one_audit_row) {
  auto audited = [&](const audit_entry& expected, auto&& change) {
    std::int64_t before = audit_rows();
    change();
    EXPECT_EQ(audit_rows(), before + 1) << expected.action;
    paged<audit_entry> newest = store_->query_audit({});
    ASSERT_FALSE(newest.items.empty());
    EXPECT_EQ(newest.items.front().action, expected.action);
    EXPECT_EQ(newest.items.front().timestamp, expected.timestamp);
    EXPECT_EQ(newest.items.front().resource_id, expected.resource_id);
  };
  rtu_record rtu;
  audit_entry entry = make_audit("rtu_create", "rtu-1", t0 + 1);
  audited(entry, [&] { rtu = store_->create_rtu(make_rtu("rtu-1", "10.0.0.1"), entry); });
  entry = make_audit("rtu_update", "rtu-1", t0 + 2);
  audited(entry, [&] { store_->update_rtu(rtu.id, {}, t0 + 2, entry); });
  entry = make_audit("rtu_connect", "rtu-1", t0 + 3);
  audited(entry, [&] { store_->set_rtu_auto_connect(rtu.id, true, entry); });

  // What the rtu_actor records carries no audit entry and writes none.
  std::int64_t before = audit_rows();
  rtu_transition transition;
  transition.rtu_id = rtu.id;
  transition.state = rtu_state::connecting;
  transition.since = t0 + 4;
  store_->record_rtu_transition(transition, make_diagnostic("connecting", t0 + 4));
  store_->apply_discovery(plant_discovery(rtu.id), t0 + 5, make_diagnostic("discovered", t0 + 5));
  diagnostic_record diagnostic = make_diagnostic("cycle overrun", t0 + 6, "WARNING", "CYCLE");
  diagnostic.rtu_id = rtu.id;
  store_->append_diagnostic(diagnostic);
  EXPECT_EQ(audit_rows(), before);

  entry = make_audit("rtu_delete", "rtu-1", t0 + 7);
  audited(entry, [&] { store_->delete_rtu(rtu.id, entry); });
}

TEST_P(rtu_store_test, auto_connect_is_set_and_cleared) {
  rtu_record rtu = store_->create_rtu(make_rtu("rtu-1", "10.0.0.1"), make_audit("rtu_create"));
  ASSERT_TRUE(rtu.auto_connect);
  store_->set_rtu_auto_connect(rtu.id, false, make_audit("rtu_disconnect"));
  EXPECT_FALSE(store_->find_rtu("rtu-1")->auto_connect);
  // updated_at is the configuration's time: connect and disconnect do not move it.
  EXPECT_EQ(store_->find_rtu("rtu-1")->updated_at, rtu.updated_at);
  store_->set_rtu_auto_connect(rtu.id, true, make_audit("rtu_connect"));
  EXPECT_TRUE(store_->find_rtu("rtu-1")->auto_connect);
}

TEST_P(rtu_store_test, an_engineer_configures_a_sensor_and_the_change_is_audited) {
  rtu_record rtu = create("rtu-1", "10.0.0.1");
  store_->apply_discovery(plant_discovery(rtu.id), t0 + 100,
                          make_diagnostic("discovered", t0 + 100, "INFO", "DISCOVERY"));
  sensor_record sensor = store_->list_sensors(rtu.id).front();
  sensor.unit = "mA";
  sensor.scale_min = 3.5;
  sensor.scale_max = 20.5;
  sensor.eng_min = -1;
  sensor.eng_max = 6;
  sensor.deadband = 0.25;
  sensor.sensor_type = "level";
  const auto audits = audit_rows();
  store_->update_sensor(sensor, t0 + 200, make_audit("sensor_update"));
  EXPECT_EQ(audit_rows(), audits + 1);
  const sensor_record stored = store_->list_sensors(rtu.id).front();
  EXPECT_EQ(stored.tag, sensor.tag);
  EXPECT_EQ(stored.unit, "mA");
  EXPECT_DOUBLE_EQ(stored.scale_min, 3.5);
  EXPECT_DOUBLE_EQ(stored.scale_max, 20.5);
  EXPECT_DOUBLE_EQ(stored.eng_min, -1);
  EXPECT_DOUBLE_EQ(stored.eng_max, 6);
  EXPECT_DOUBLE_EQ(stored.deadband, 0.25);
  EXPECT_EQ(stored.updated_at, t0 + 200);

  // A later discovery keeps it.
  store_->apply_discovery(plant_discovery(rtu.id), t0 + 300,
                          make_diagnostic("discovered", t0 + 300, "INFO", "DISCOVERY"));
  EXPECT_DOUBLE_EQ(store_->list_sensors(rtu.id).front().deadband, 0.25);

  sensor.id = 999'999;
  EXPECT_EQ(failure_of([&] { store_->update_sensor(sensor, t0, make_audit("x")); }).code,
            "not_found");
  EXPECT_EQ(audit_rows(), audits + 1);
}

TEST_P(rtu_store_test, transitions_persist_state_reason_and_last_error) {
  rtu_record plain = make_rtu("rtu-1", "10.0.0.1");
  plain.state = rtu_state::offline;
  plain.last_error.clear();
  plain.transition_reason.clear();
  rtu_record rtu = store_->create_rtu(plain, make_audit("rtu_create"));
  create("rtu-2", "10.0.0.2");

  auto transition = [&](rtu_state state, timestamp_ms since, const std::string& reason,
                        const std::string& last_error = "", bool clear_error = false) {
    rtu_transition t;
    t.rtu_id = rtu.id;
    t.state = state;
    t.since = since;
    t.reason = reason;
    t.last_error = last_error;
    t.clear_error = clear_error;
    store_->record_rtu_transition(
        t, make_diagnostic(std::string(to_string(state)) + ": " + reason, since));
    return *store_->find_rtu("rtu-1");
  };

  rtu_record now = transition(rtu_state::connecting, t0 + 10, "connect requested");
  EXPECT_EQ(now.state, rtu_state::connecting);
  EXPECT_EQ(now.state_since, t0 + 10);
  EXPECT_EQ(now.transition_reason, "connect requested");
  EXPECT_EQ(now.last_error, "");

  now = transition(rtu_state::error, t0 + 20, "connection lost", "read: timeout");
  EXPECT_EQ(now.state, rtu_state::error);
  EXPECT_EQ(now.last_error, "read: timeout");

  // An empty last_error keeps the stored one...
  now = transition(rtu_state::discovery, t0 + 30, "reconnected");
  EXPECT_EQ(now.state, rtu_state::discovery);
  EXPECT_EQ(now.last_error, "read: timeout");
  // ... a new one replaces it, even with clear_error ...
  now = transition(rtu_state::error, t0 + 35, "protocol error", "bad unit id", true);
  EXPECT_EQ(now.last_error, "bad unit id");
  // ... and clear_error alone clears it.
  now = transition(rtu_state::running, t0 + 40, "", "", true);
  EXPECT_EQ(now.state, rtu_state::running);
  EXPECT_EQ(now.state_since, t0 + 40);
  EXPECT_EQ(now.transition_reason, "");
  EXPECT_EQ(now.last_error, "");
  // The configuration is untouched.
  EXPECT_EQ(now.updated_at, rtu.updated_at);
  EXPECT_EQ(now.port, rtu.port);

  EXPECT_EQ(
      diagnostic_messages(rtu.id),
      (std::vector<std::string>{"RUNNING: ", "ERROR: protocol error", "DISCOVERY: reconnected",
                                "ERROR: connection lost", "CONNECTING: connect requested"}));
  // The diagnostic takes the transition's RTU.
  EXPECT_EQ(count("profinet_diagnostics", rtu.id), 5);

  system_counts counts = store_->count_system();
  EXPECT_EQ(counts.total_rtus, 2);
  EXPECT_EQ(counts.running_rtus, 1);

  // A diagnostic of another RTU is refused, and the transition with it.
  rtu_transition t;
  t.rtu_id = rtu.id;
  t.state = rtu_state::offline;
  diagnostic_record elsewhere = make_diagnostic("m", t0 + 50);
  elsewhere.rtu_id = store_->find_rtu("rtu-2")->id;
  EXPECT_EQ(failure_of([&] { store_->record_rtu_transition(t, elsewhere); }).code, "bad_request");
  EXPECT_EQ(store_->find_rtu("rtu-1")->state, rtu_state::running);
  EXPECT_EQ(count("profinet_diagnostics", rtu.id), 5);
}

TEST_P(rtu_store_test, the_first_discovery_creates_slots_sensors_and_controls) {
  rtu_record rtu = create("rtu-1", "10.0.0.1");
  discovery_result found = plant_discovery(rtu.id);
  found.version_mismatch = true;
  store_->apply_discovery(
      found, t0 + 100, make_diagnostic("5 slots", t0 + 100, "INFO", "DISCOVERY", "{\"slots\": 5}"));

  rtu_record identified = *store_->find_rtu("rtu-1");
  EXPECT_EQ(identified.vendor_id, "0x0B0B");
  EXPECT_EQ(identified.device_id, "0x0C0C");
  EXPECT_EQ(identified.rtu_version, "2.0.1");
  EXPECT_TRUE(identified.version_mismatch);
  EXPECT_EQ(identified.slot_count, 5);
  EXPECT_EQ(identified.updated_at, t0 + 100);
  EXPECT_EQ(identified.state, rtu.state);

  std::vector<slot_record> slots = store_->list_slots(rtu.id);
  ASSERT_EQ(slots.size(), 5U);
  for (std::size_t i = 0; i < slots.size(); ++i) {
    EXPECT_GT(slots[i].id, 0);
    EXPECT_EQ(slots[i].rtu_id, rtu.id);
    EXPECT_EQ(slots[i].slot_number, found.slots[i].slot_number);
    EXPECT_EQ(slots[i].module_id, found.slots[i].module_id);
    EXPECT_EQ(slots[i].module_type, found.slots[i].module_type);
    EXPECT_EQ(slots[i].status, found.slots[i].status);
    EXPECT_EQ(slots[i].created_at, t0 + 100);
    EXPECT_EQ(slots[i].updated_at, t0 + 100);
  }
  EXPECT_EQ(raw_->scalar("SELECT count(*) FROM slots WHERE module_id IS NULL"), 1);

  std::vector<sensor_record> sensors = store_->list_sensors(rtu.id);
  ASSERT_EQ(sensors.size(), 2U);
  for (std::size_t i = 0; i < sensors.size(); ++i) {
    expect_same_sensor(sensors[i], found.sensors[i]);
    EXPECT_EQ(sensors[i].rtu_id, rtu.id);
    EXPECT_EQ(sensors[i].slot_id, slots[i].id);
    EXPECT_EQ(sensors[i].created_at, t0 + 100);
    EXPECT_EQ(sensors[i].updated_at, t0 + 100);
  }
  std::vector<control_record> controls = store_->list_controls(rtu.id);
  ASSERT_EQ(controls.size(), 2U);
  for (std::size_t i = 0; i < controls.size(); ++i) {
    expect_same_control(controls[i], found.controls[i]);
    EXPECT_EQ(controls[i].rtu_id, rtu.id);
    EXPECT_EQ(controls[i].slot_id, slots[2 + i].id);
    EXPECT_EQ(controls[i].created_at, t0 + 100);
  }
  EXPECT_EQ(raw_->scalar("SELECT count(*) FROM controls WHERE min_value IS NULL AND "
                         "max_value IS NULL AND unit IS NULL"),
            1);

  paged<diagnostic_record> diagnostics = store_->list_diagnostics(rtu.id, {});
  ASSERT_EQ(diagnostics.total, 1);
  EXPECT_EQ(diagnostics.items[0].rtu_id, rtu.id);
  EXPECT_EQ(diagnostics.items[0].source, "DISCOVERY");
  EXPECT_EQ(diagnostics.items[0].message, "5 slots");
  EXPECT_EQ(diagnostics.items[0].details, "{\"slots\": 5}");
  EXPECT_EQ(diagnostics.items[0].timestamp, t0 + 100);
}

TEST_P(rtu_store_test, a_later_discovery_keeps_an_engineers_edits_and_pulls_missing_slots) {
  rtu_record rtu = create("rtu-1", "10.0.0.1");
  store_->apply_discovery(plant_discovery(rtu.id), t0, make_diagnostic("first", t0));
  const std::string id = std::to_string(rtu.id);
  // The engineer renames and rescales the level transmitter and the pump.
  raw_->exec(
      "UPDATE sensors SET tag = 'LIT-101-A', scale_min = 0, scale_max = 10, eng_min = 1, "
      "eng_max = 4, deadband = 0.25, unit = 'ft', sensor_type = 'level_radar' "
      "WHERE tag = 'LT-101'");
  raw_->exec(
      "UPDATE controls SET tag = 'PUMP-1', equipment_type = 'booster', unit = 'rpm' "
      "WHERE tag = 'P-101'");
  std::vector<sensor_record> edited_sensors = store_->list_sensors(rtu.id);
  std::vector<control_record> edited_controls = store_->list_controls(rtu.id);
  std::vector<slot_record> first_slots = store_->list_slots(rtu.id);

  // Slot 2 (the flow transmitter) has gone; the rest is what it was.
  discovery_result second = plant_discovery(rtu.id);
  second.slots.erase(second.slots.begin() + 1);
  second.sensors.erase(second.sensors.begin() + 1);
  second.slot_count = 4;
  store_->apply_discovery(second, t0 + 1000, make_diagnostic("second", t0 + 1000));

  std::vector<sensor_record> sensors = store_->list_sensors(rtu.id);
  ASSERT_EQ(sensors.size(), 2U);
  for (std::size_t i = 0; i < sensors.size(); ++i) {
    expect_same_sensor(sensors[i], edited_sensors[i]);
    EXPECT_EQ(sensors[i].id, edited_sensors[i].id);
    EXPECT_EQ(sensors[i].updated_at, edited_sensors[i].updated_at);
  }
  EXPECT_EQ(sensors[0].tag, "LIT-101-A");
  EXPECT_EQ(sensors[0].deadband, 0.25);
  std::vector<control_record> controls = store_->list_controls(rtu.id);
  ASSERT_EQ(controls.size(), 2U);
  for (std::size_t i = 0; i < controls.size(); ++i) {
    expect_same_control(controls[i], edited_controls[i]);
    EXPECT_EQ(controls[i].id, edited_controls[i].id);
  }
  EXPECT_EQ(controls[0].tag, "PUMP-1");

  std::vector<slot_record> slots = store_->list_slots(rtu.id);
  ASSERT_EQ(slots.size(), 5U);
  EXPECT_EQ(slots[1].slot_number, 2);
  EXPECT_EQ(slots[1].status, "PULLED");
  EXPECT_EQ(slots[1].updated_at, t0 + 1000);
  EXPECT_EQ(slots[1].module_type, "AI");  // what was there when it was last seen
  for (std::size_t i : {0U, 2U, 3U, 4U}) {
    EXPECT_EQ(slots[i].id, first_slots[i].id);
    EXPECT_EQ(slots[i].status, first_slots[i].status);
    EXPECT_EQ(slots[i].updated_at, t0) << "slot " << slots[i].slot_number << " did not change";
  }
  EXPECT_EQ(store_->find_rtu("rtu-1")->slot_count, 4);

  // The module comes back, and slot 5 gets a module: no duplicate point, the edits stay.
  discovery_result third = plant_discovery(rtu.id);
  third.slots[4] = found_slot(5, "AI");
  third.sensors.push_back(found_sensor(5, "LT-102"));
  store_->apply_discovery(third, t0 + 2000, make_diagnostic("third", t0 + 2000));
  slots = store_->list_slots(rtu.id);
  EXPECT_EQ(slots[1].status, "OK");
  EXPECT_EQ(slots[1].updated_at, t0 + 2000);
  EXPECT_EQ(slots[4].module_type, "AI");
  EXPECT_EQ(slots[4].module_id, "0x0001");
  EXPECT_EQ(tags_of(store_->list_sensors(rtu.id)),
            (std::vector<std::string>{"LIT-101-A", "FT-101", "LT-102"}));
  EXPECT_EQ(tags_of(store_->list_controls(rtu.id)), (std::vector<std::string>{"PUMP-1", "DP-101"}));
  EXPECT_EQ(diagnostic_messages(rtu.id), (std::vector<std::string>{"third", "second", "first"}));
}

TEST_P(rtu_store_test, a_point_that_changes_kind_follows_the_discovery) {
  rtu_record rtu = create("rtu-1", "10.0.0.1");
  store_->apply_discovery(plant_discovery(rtu.id), t0, make_diagnostic("first", t0));
  // The level transmitter's history (slot 1), kept by its historian tag since migration 0005.
  raw_->exec(
      "INSERT INTO historian_tags (rtu_station, slot, tag_name, created_at, updated_at) VALUES "
      "('rtu-1', 1, 'LIT-101-A', " +
      raw_->timestamp_sql(t0) + ", " + raw_->timestamp_sql(t0) + ")");
  raw_->exec("INSERT INTO historian_samples (tag_id, timestamp, value) SELECT id, " +
             std::to_string(t0) + ", 1.5 FROM historian_tags");

  // Slot 1 now holds a valve, slot 3 a pressure transmitter, and the pump of slot 4 became a
  // discrete one.
  discovery_result changed = plant_discovery(rtu.id);
  changed.slots[0] = found_slot(1, "DO");
  changed.slots[2] = found_slot(3, "AI");
  changed.slots[3] = found_slot(4, "DO");
  changed.sensors = {found_sensor(2, "FT-101", "flow", "m3/h"),
                     found_sensor(3, "PT-103", "pressure", "bar")};
  changed.controls = {found_control(1, "XV-101", "discrete", "valve"), found_control(4, "DP-101")};
  store_->apply_discovery(changed, t0 + 1000, make_diagnostic("changed", t0 + 1000));

  std::vector<sensor_record> sensors = store_->list_sensors(rtu.id);
  ASSERT_EQ(sensors.size(), 2U);
  EXPECT_EQ(sensors[0].tag, "FT-101");
  expect_same_sensor(sensors[1], changed.sensors[1]);
  std::vector<control_record> controls = store_->list_controls(rtu.id);
  ASSERT_EQ(controls.size(), 2U);
  expect_same_control(controls[0], changed.controls[0]);
  // Retyped in place: the id and the tag stay, the type and range follow the module.
  EXPECT_EQ(controls[1].tag, "DP-101");
  EXPECT_EQ(controls[1].equipment_type, "dosing_pump");
  EXPECT_EQ(controls[1].control_type, "discrete");
  EXPECT_FALSE(controls[1].has_range);
  EXPECT_EQ(controls[1].updated_at, t0 + 1000);
  // The level transmitter's history stays with its tag (rtu_station, slot), not with the sensor.
  EXPECT_EQ(raw_->scalar("SELECT count(*) FROM historian_samples"), 1);

  std::vector<std::string> messages = diagnostic_messages(rtu.id);
  ASSERT_EQ(messages.size(), 5U);
  EXPECT_EQ(messages[0], "changed");
  std::vector<std::string> warnings(messages.begin() + 1, messages.end() - 1);
  std::sort(warnings.begin(), warnings.end());
  EXPECT_EQ(warnings,
            (std::vector<std::string>{
                "control 'DP-101' on slot 4 channel 0 is now discrete (was analog)",
                "control 'P-101' on slot 3 channel 0 is now a sensor: replaced by sensor 'PT-103'",
                "sensor 'LT-101' on slot 1 channel 0 is now an actuator: replaced by control "
                "'XV-101'"}));
  EXPECT_EQ(raw_->scalar("SELECT count(*) FROM profinet_diagnostics WHERE level = 'WARNING' "
                         "AND source = 'DISCOVERY'"),
            3);
}

TEST_P(rtu_store_test, a_tag_taken_elsewhere_gets_a_deterministic_suffix) {
  rtu_record one = create("rtu-1", "10.0.0.1");
  rtu_record two = create("rtu-2", "10.0.0.2");
  store_->apply_discovery(plant_discovery(one.id), t0, make_diagnostic("d", t0));

  // The same default tags on a second RTU, and a long one twice within this discovery.
  const std::string long_tag(32, 'L');
  discovery_result found = plant_discovery(two.id);
  found.slots.push_back(found_slot(6, "AI"));
  found.slots.push_back(found_slot(7, "AI"));
  found.sensors.push_back(found_sensor(7, long_tag));
  found.sensors.push_back(found_sensor(6, long_tag));
  found.controls[1].tag = "LT-101";  // a control named like a sensor of rtu-1
  store_->apply_discovery(found, t0 + 1, make_diagnostic("d", t0 + 1));

  const std::string long_2 = std::string(30, 'L') + "_2";
  EXPECT_EQ(tags_of(store_->list_sensors(two.id)),
            (std::vector<std::string>{"LT-101_2", "FT-101_2", long_tag, long_2}));
  EXPECT_EQ(tags_of(store_->list_controls(two.id)),
            (std::vector<std::string>{"P-101_2", "LT-101_3"}));
  // rtu-1 keeps its tags.
  EXPECT_EQ(tags_of(store_->list_sensors(one.id)), (std::vector<std::string>{"LT-101", "FT-101"}));
  // A new discovery creates nothing: the points exist, whatever their tags.
  store_->apply_discovery(found, t0 + 2, make_diagnostic("d", t0 + 2));
  EXPECT_EQ(store_->list_sensors(two.id).size(), 4U);
  EXPECT_EQ(store_->list_controls(two.id).size(), 2U);

  // A third RTU with the same defaults takes the next free suffixes.
  rtu_record three = create("rtu-3", "10.0.0.3");
  found.rtu_id = three.id;
  store_->apply_discovery(found, t0 + 3, make_diagnostic("d", t0 + 3));
  EXPECT_EQ(tags_of(store_->list_sensors(three.id)),
            (std::vector<std::string>{"LT-101_4", "FT-101_3", long_2.substr(0, 30) + "_3",
                                      std::string(30, 'L') + "_4"}));
}

TEST_P(rtu_store_test, an_overlong_discovered_tag_is_shortened_to_the_column) {
  rtu_record rtu = create("rtu-1", "10.0.0.1");
  discovery_result found = plant_discovery(rtu.id);
  found.sensors[0].tag = std::string(40, 'M');
  found.sensors[1].tag = "Überlänge-" + std::string(30, 'x');  // shortened by characters
  store_->apply_discovery(found, t0, make_diagnostic("d", t0));
  EXPECT_EQ(tags_of(store_->list_sensors(rtu.id)),
            (std::vector<std::string>{std::string(32, 'M'), "Überlänge-" + std::string(22, 'x')}));
}

TEST_P(rtu_store_test, a_discovery_that_contradicts_itself_is_a_bad_request) {
  rtu_record rtu = create("rtu-1", "10.0.0.1");
  auto code_of = [&](const discovery_result& found) {
    return failure_of([&] { store_->apply_discovery(found, t0 + 1, make_diagnostic("d", t0)); })
        .code;
  };
  discovery_result twice = plant_discovery(rtu.id);
  twice.slots.push_back(found_slot(1, "AI"));
  EXPECT_EQ(code_of(twice), "bad_request");
  discovery_result crowded = plant_discovery(rtu.id);
  crowded.controls.push_back(found_control(1, "P-999"));
  EXPECT_EQ(code_of(crowded), "bad_request");
  discovery_result orphan = plant_discovery(rtu.id);
  orphan.sensors.push_back(found_sensor(9, "LT-999"));
  EXPECT_EQ(code_of(orphan), "bad_request");
  discovery_result bad_status = plant_discovery(rtu.id);
  bad_status.slots[0].status = "BROKEN";
  EXPECT_EQ(code_of(bad_status), "bad_request");

  expect_same_rtu(*store_->find_rtu("rtu-1"), rtu);
  EXPECT_TRUE(store_->list_slots(rtu.id).empty());
  EXPECT_EQ(store_->list_diagnostics(rtu.id, {}).total, 0);
}

TEST_P(rtu_store_test, deleting_an_rtu_deletes_its_slots_sensors_controls_and_diagnostics) {
  rtu_record one = create("rtu-1", "10.0.0.1");
  rtu_record two = create("rtu-2", "10.0.0.2");
  store_->apply_discovery(plant_discovery(one.id), t0, make_diagnostic("d", t0));
  store_->apply_discovery(plant_discovery(two.id, "B-"), t0, make_diagnostic("d", t0));
  raw_->exec(
      "INSERT INTO historian_tags (rtu_station, slot, tag_name, created_at, updated_at) VALUES "
      "('rtu-1', 1, 'LIT-101-A', " +
      raw_->timestamp_sql(t0) + ", " + raw_->timestamp_sql(t0) + ")");
  raw_->exec("INSERT INTO historian_samples (tag_id, timestamp, value) SELECT id, " +
             std::to_string(t0) + ", 2.5 FROM historian_tags");

  store_->delete_rtu(one.id, make_audit("rtu_delete"));
  for (const char* table : {"slots", "sensors", "controls", "profinet_diagnostics"}) {
    EXPECT_EQ(count(table, one.id), 0) << table;
    EXPECT_GT(count(table, two.id), 0) << table;
  }
  // Since migration 0005 the history belongs to the historian tag, which outlives the RTU.
  EXPECT_EQ(raw_->scalar("SELECT count(*) FROM historian_samples"), 1);
  EXPECT_EQ(store_->list_sensors(two.id).size(), 2U);
}

TEST_P(rtu_store_test, diagnostics_are_paged_newest_first) {
  rtu_record rtu = create("rtu-1", "10.0.0.1");
  rtu_record other = create("rtu-2", "10.0.0.2");
  std::vector<diagnostic_record> appended;
  const std::vector<timestamp_ms> times = {t0 + 1, t0 + 5, t0 + 3, t0 + 5, t0 + 2};
  for (std::size_t i = 0; i < times.size(); ++i) {
    diagnostic_record d =
        make_diagnostic("event " + std::to_string(i), times[i], i % 2 == 0 ? "INFO" : "ERROR",
                        "CYCLE", i % 2 == 0 ? "" : "{\"n\": " + std::to_string(i) + "}");
    d.rtu_id = rtu.id;
    store_->append_diagnostic(d);
    appended.push_back(d);
  }
  diagnostic_record elsewhere = make_diagnostic("elsewhere", t0 + 9);
  elsewhere.rtu_id = other.id;
  store_->append_diagnostic(elsewhere);

  // By time, newest first; the two of the same millisecond in reverse order of appending.
  const std::vector<std::size_t> order = {3, 1, 2, 4, 0};
  paged<diagnostic_record> all = store_->list_diagnostics(rtu.id, {0, 100});
  EXPECT_EQ(all.total, 5);
  ASSERT_EQ(all.items.size(), 5U);
  for (std::size_t i = 0; i < order.size(); ++i) {
    const diagnostic_record& expected = appended[order[i]];
    EXPECT_GT(all.items[i].id, 0);
    EXPECT_EQ(all.items[i].rtu_id, rtu.id);
    EXPECT_EQ(all.items[i].timestamp, expected.timestamp);
    EXPECT_EQ(all.items[i].level, expected.level);
    EXPECT_EQ(all.items[i].source, expected.source);
    EXPECT_EQ(all.items[i].message, expected.message);
    EXPECT_EQ(all.items[i].details, expected.details);
  }
  paged<diagnostic_record> second = store_->list_diagnostics(rtu.id, {2, 2});
  EXPECT_EQ(second.total, 5);
  ASSERT_EQ(second.items.size(), 2U);
  EXPECT_EQ(second.items[0].id, all.items[2].id);
  EXPECT_EQ(second.items[1].id, all.items[3].id);
  EXPECT_EQ(store_->list_diagnostics(rtu.id, {4, 2}).items.size(), 1U);
  EXPECT_TRUE(store_->list_diagnostics(rtu.id, {5, 2}).items.empty());
  EXPECT_EQ(store_->list_diagnostics(other.id, {}).total, 1);
  EXPECT_EQ(failure_of([&] { store_->list_diagnostics(rtu.id, {-1, 2}); }).code, "bad_request");
  EXPECT_EQ(failure_of([&] { store_->list_diagnostics(rtu.id, {0, -2}); }).code, "bad_request");
}

// What a database of version 1 (before the RTU endpoints) holds, written as that version's
// program did; migrate() then takes it to the latest version.
class migration_test : public rtu_store_test {
 protected:
  void SetUp() override {
    old_ = std::make_unique<test_database>(GetParam());
    // Opening a store creates the SQLite file; it does not migrate.
    store_ = storage::open_store(old_->config());
    old_raw_ = old_->raw();
    migrate_to(*old_raw_, GetParam(), 1, t0);
  }

  std::string ts(timestamp_ms ms) { return old_raw_->timestamp_sql(ms); }

  std::unique_ptr<test_database> old_;
  std::unique_ptr<raw_database> old_raw_;
};

TEST_P(migration_test, version_2_keeps_the_rows_that_reference_rtus) {
  raw_database& db = *old_raw_;
  for (int i = 1; i <= 3; ++i)
    db.exec(
        "INSERT INTO rtus (station_name, ip_address, vendor_id, device_id, slot_count, state, "
        "state_since, last_error, created_at, updated_at) VALUES ('rtu-" +
        std::to_string(i) + "', '10.0.0." + std::to_string(i) + "', '0x002A', '0x0405', 2, " +
        "'RUNNING', " + ts(t0 + i) + ", 'old error', " + ts(t0) + ", " + ts(t0) + ")");
  // The highest id is gone: a new RTU must not take it again.
  db.exec("DELETE FROM rtus WHERE station_name = 'rtu-3'");
  for (int rtu = 1; rtu <= 2; ++rtu) {
    std::string id = std::to_string(rtu);
    db.exec(
        "INSERT INTO slots (rtu_id, slot_number, module_type, status, created_at, "
        "updated_at) VALUES (" +
        id + ", 1, 'AI', 'OK', " + ts(t0) + ", " + ts(t0) + "), (" + id + ", 2, 'DO', 'OK', " +
        ts(t0) + ", " + ts(t0) + ")");
    db.exec(
        "INSERT INTO sensors (rtu_id, slot_id, tag, channel, sensor_type, scale_min, "
        "created_at, updated_at) SELECT rtu_id, id, 'LT-' || rtu_id, 0, 'level', 4, " +
        ts(t0) + ", " + ts(t0) + " FROM slots WHERE rtu_id = " + id + " AND slot_number = 1");
    db.exec(
        "INSERT INTO controls (rtu_id, slot_id, tag, channel, control_type, created_at, "
        "updated_at) SELECT rtu_id, id, 'P-' || rtu_id, 0, 'discrete', " +
        ts(t0) + ", " + ts(t0) + " FROM slots WHERE rtu_id = " + id + " AND slot_number = 2");
    db.exec(
        "INSERT INTO profinet_diagnostics (rtu_id, timestamp, source, message, details) "
        "VALUES (" +
        id + ", " + ts(t0) + ", 'AR', 'connected', '{\"a\": 1}')");
    db.exec("INSERT INTO historian_samples (sensor_id, timestamp, value) SELECT id, " + ts(t0) +
            ", 2.5 FROM sensors WHERE rtu_id = " + id);
  }
  const std::vector<std::string> children = {"slots", "sensors", "controls", "profinet_diagnostics",
                                             "historian_samples"};
  std::vector<std::int64_t> before;
  for (const std::string& table : children)
    before.push_back(db.scalar("SELECT count(*) FROM " + table));
  EXPECT_EQ(before, (std::vector<std::int64_t>{4, 2, 2, 2, 2}));

  storage::store* store = store_.get();
  ASSERT_EQ(store->schema_version(), 1);
  ASSERT_EQ(store->migrate(), static_cast<int>(storage::sqlite_migrations().size()));
  EXPECT_EQ(db.strings("SELECT description FROM schema_version WHERE version = 2"),
            std::vector<std::string>{"rtu endpoints and sensor deadband"});

  for (std::size_t i = 0; i < children.size(); ++i)
    EXPECT_EQ(db.scalar("SELECT count(*) FROM " + children[i]), before[i]) << children[i];
  std::vector<rtu_record> rtus = store->list_rtus();
  ASSERT_EQ(rtus.size(), 2U);
  for (std::size_t i = 0; i < rtus.size(); ++i) {
    EXPECT_EQ(rtus[i].id, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(rtus[i].station_name, "rtu-" + std::to_string(i + 1));
    EXPECT_EQ(rtus[i].state, rtu_state::running);
    EXPECT_EQ(rtus[i].state_since, t0 + static_cast<timestamp_ms>(i + 1));
    EXPECT_EQ(rtus[i].last_error, "old error");
    EXPECT_EQ(rtus[i].port, 502);
    EXPECT_EQ(rtus[i].unit_id, 1);
    EXPECT_EQ(rtus[i].profile, "wtc-rtu");
    EXPECT_EQ(rtus[i].cycle_time_ms, 1000);
    EXPECT_FALSE(rtus[i].auto_connect);
    std::vector<sensor_record> sensors = store->list_sensors(rtus[i].id);
    ASSERT_EQ(sensors.size(), 1U);
    EXPECT_EQ(sensors[0].tag, "LT-" + std::to_string(i + 1));
    EXPECT_EQ(sensors[0].scale_min, 4.0);
    EXPECT_EQ(sensors[0].deadband, 0.0);
    EXPECT_EQ(store->list_controls(rtus[i].id).size(), 1U);
    EXPECT_EQ(store->list_diagnostics(rtus[i].id, {}).items.at(0).details, "{\"a\": 1}");
  }

  // The new uniqueness: same address, another port.
  rtu_record next = make_rtu("rtu-4", "10.0.0.1", 503, 1);
  rtu_record created = store->create_rtu(next, make_audit("rtu_create"));
  EXPECT_GT(created.id, 3);
  EXPECT_EQ(failure_of([&] {
              store->create_rtu(make_rtu("rtu-5", "10.0.0.1", 502, 1), make_audit("rtu_create"));
            }).code,
            "conflict");
  // The children's foreign keys reference the new table: they are enforced and still cascade.
  EXPECT_ANY_THROW(
      db.exec("INSERT INTO slots (rtu_id, slot_number, created_at, updated_at) "
              "VALUES (3, 1, " +
              ts(t0) + ", " + ts(t0) + ")"));
  store->delete_rtu(1, make_audit("rtu_delete"));
  for (const std::string& table : children)
    // The samples belong to their historian tag since migration 0005: they outlive the RTU.
    EXPECT_EQ(db.scalar("SELECT count(*) FROM " + table),
              0 + (table == "slots" || table == "historian_samples" ? 2 : 1))
        << table;
  EXPECT_EQ(store->list_slots(2).size(), 2U);
}

INSTANTIATE_TEST_SUITE_P(backends, rtu_store_test,
                         ::testing::Values(backend_kind::sqlite, backend_kind::postgresql),
                         [](const ::testing::TestParamInfo<backend_kind>& param) {
                           return to_string(param.param);
                         });
INSTANTIATE_TEST_SUITE_P(backends, migration_test,
                         ::testing::Values(backend_kind::sqlite, backend_kind::postgresql),
                         [](const ::testing::TestParamInfo<backend_kind>& param) {
                           return to_string(param.param);
                         });

// SQLite's rebuild of rtus is only safe with foreign keys off (the runner sees to it); run by
// hand with them on, migration 0002 refuses to start instead of cascading deletes.
TEST(sqlite_store_test, migration_2_refuses_to_run_with_foreign_keys_on) {
  test_database database(backend_kind::sqlite);
  auto store = storage::open_store(database.config());  // creates the file
  auto raw = database.raw();                            // foreign keys on
  raw->exec(std::string(storage::sqlite_migrations().at(0).sql));
  raw->exec(
      "INSERT INTO rtus (station_name, ip_address, vendor_id, device_id, slot_count, state, "
      "state_since, created_at, updated_at) VALUES ('rtu-1', '10.0.0.1', '', '', 1, 'OFFLINE', "
      "0, 0, 0)");
  raw->exec("INSERT INTO slots (rtu_id, slot_number, created_at, updated_at) VALUES (1, 1, 0, 0)");
  raw->exec("BEGIN");
  try {
    raw->exec(std::string(storage::sqlite_migrations().at(1).sql));
    ADD_FAILURE() << "migration 2 ran with foreign keys on";
  } catch (const std::exception& e) {
    EXPECT_TRUE(contains(e.what(), "CHECK constraint failed")) << e.what();
  }
  raw->exec("ROLLBACK");
  EXPECT_EQ(raw->scalar("SELECT count(*) FROM slots"), 1);
  EXPECT_EQ(raw->columns("rtus").size(), 14U);
}

}  // namespace
}  // namespace wtc::test
