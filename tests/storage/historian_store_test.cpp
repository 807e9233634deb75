// The storage contract of the historian, run against both backends: tags (with their audit rows),
// batches of points and rollup rows (inserted or replacing), the range queries, the point before
// a window, purging, the statistics, and the migration that made the tables (0005).

#include <gtest/gtest.h>

#include <cmath>
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

// The code of the storage_error a call throws ("none" if it throws none).
template <class Call>
std::string failure_of(Call&& call) {
  try {
    call();
  } catch (const storage_error& e) {
    return to_string(e.code());
  }
  return "none";
}

audit_entry make_audit(const std::string& action, const std::string& resource_id = "") {
  audit_entry entry;
  entry.timestamp = t0;
  entry.user = "engineer";
  entry.action = action;
  entry.resource_type = "historian_tag";
  entry.resource_id = resource_id;
  entry.ip_address = "10.0.0.1";
  return entry;
}

// Every field set, none at its default, so that a column mixed up with another shows.
historian_tag_record make_tag(const std::string& name, const std::string& station = "rtu-a",
                              std::int32_t slot = 3) {
  historian_tag_record tag;
  tag.rtu_station = station;
  tag.slot = slot;
  tag.tag_name = name;
  tag.unit = "m³/h";
  tag.sample_rate_ms = 250;
  tag.deadband = 0.125;
  tag.compression = "deadband";
  tag.max_interval_ms = 90000;
  tag.enabled = false;
  tag.created_at = t0;
  tag.updated_at = t0 + 1;
  return tag;
}

void expect_same_tag(const historian_tag_record& actual, const historian_tag_record& expected) {
  EXPECT_EQ(actual.rtu_station, expected.rtu_station);
  EXPECT_EQ(actual.slot, expected.slot);
  EXPECT_EQ(actual.tag_name, expected.tag_name);
  EXPECT_EQ(actual.unit, expected.unit);
  EXPECT_EQ(actual.sample_rate_ms, expected.sample_rate_ms);
  EXPECT_EQ(actual.deadband, expected.deadband);
  EXPECT_EQ(actual.compression, expected.compression);
  EXPECT_EQ(actual.max_interval_ms, expected.max_interval_ms);
  EXPECT_EQ(actual.enabled, expected.enabled);
  EXPECT_EQ(actual.created_at, expected.created_at);
  EXPECT_EQ(actual.updated_at, expected.updated_at);
}

historian_point point(std::int64_t tag, timestamp_ms at, double value,
                      std::uint8_t quality = historian_good) {
  return historian_point{tag, at, value, quality};
}

historian_rollup_row rollup(std::int64_t tag, timestamp_ms start, std::int64_t count, double sum) {
  historian_rollup_row row;
  row.tag_id = tag;
  row.width_ms = 60000;
  row.bucket_start = start;
  row.count = count;
  row.uncertain = 1;
  row.bad = 2;
  row.sum = sum;
  row.min = -1.5;
  row.max = 7.25;
  row.first = 0.1;
  row.last = 3.3;
  row.first_time = start + 10;
  row.last_time = start + 59000;
  return row;
}

std::vector<timestamp_ms> times_of(const std::vector<historian_point>& points) {
  std::vector<timestamp_ms> times;
  for (const historian_point& p : points)
    times.push_back(p.timestamp);
  return times;
}

using times = std::vector<timestamp_ms>;

class historian_store_test : public ::testing::TestWithParam<backend_kind> {
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

  historian_tag_record create(const historian_tag_record& tag) {
    return store_->create_historian_tag(tag, make_audit("historian_tag_create", tag.tag_name));
  }

  void append(std::vector<historian_point> points, std::vector<historian_rollup_row> rollups = {}) {
    historian_batch batch;
    batch.points = std::move(points);
    batch.rollups = std::move(rollups);
    store_->append_historian(batch);
  }

  std::vector<historian_point> range(std::int64_t tag, timestamp_ms start, timestamp_ms end,
                                     std::int64_t limit = 10000) {
    historian_filter filter;
    filter.tag_id = tag;
    filter.start = start;
    filter.end = end;
    filter.limit = limit;
    return store_->query_historian(filter);
  }

  // Declared first: the database outlives the connections to it.
  std::unique_ptr<test_database> database_;
  std::unique_ptr<storage::store> store_;
  std::unique_ptr<raw_database> raw_;
};

TEST_P(historian_store_test, tags_are_created_got_listed_updated_and_deleted_with_audit_rows) {
  std::int64_t audits = audit_rows();
  historian_tag_record flow = create(make_tag("FT-101"));
  EXPECT_GT(flow.id, 0);
  expect_same_tag(flow, make_tag("FT-101"));
  EXPECT_EQ(audit_rows(), audits + 1);

  historian_tag_record plain;
  plain.rtu_station = "rtu-b";
  plain.slot = 1;
  plain.tag_name = "LT-1";
  plain.created_at = t0;
  plain.updated_at = t0;
  historian_tag_record level = create(plain);
  expect_same_tag(level, plain);  // the defaults, unit empty (NULL)
  EXPECT_EQ(raw_->scalar("SELECT count(*) FROM historian_tags WHERE unit IS NULL"), 1);

  std::vector<historian_tag_record> all = store_->list_historian_tags();
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[0].id, flow.id);
  EXPECT_EQ(all[1].id, level.id);
  ASSERT_TRUE(store_->get_historian_tag(level.id).has_value());
  expect_same_tag(*store_->get_historian_tag(level.id), plain);
  EXPECT_FALSE(store_->get_historian_tag(level.id + 100).has_value());

  historian_tag_record changed = flow;
  changed.tag_name = "FT-101-A";
  changed.slot = 4;
  changed.compression = "swinging_door";
  changed.enabled = true;
  changed.created_at = t0 + 77;  // not written
  historian_tag_record stored =
      store_->update_historian_tag(changed, t0 + 5000, make_audit("historian_tag_update"));
  changed.created_at = t0;
  changed.updated_at = t0 + 5000;
  expect_same_tag(stored, changed);
  expect_same_tag(*store_->get_historian_tag(flow.id), changed);
  EXPECT_EQ(audit_rows(), audits + 3);

  store_->delete_historian_tag(flow.id, make_audit("historian_tag_delete"));
  EXPECT_FALSE(store_->get_historian_tag(flow.id).has_value());
  EXPECT_EQ(audit_rows(), audits + 4);
  audit_filter filter;
  filter.action = "historian_tag_delete";
  ASSERT_EQ(store_->query_audit(filter).items.size(), 1U);
}

TEST_P(historian_store_test, refusals_are_classified_and_change_nothing) {
  historian_tag_record tag = create(make_tag("FT-101"));
  std::int64_t audits = audit_rows();

  EXPECT_EQ(failure_of([&] { create(make_tag("FT-101", "rtu-z", 9)); }), "conflict");
  EXPECT_EQ(failure_of([&] { create(make_tag("OTHER")); }), "conflict");  // same station, slot
  historian_tag_record wrong = make_tag("X-1", "rtu-x");
  wrong.compression = "zip";
  EXPECT_EQ(failure_of([&] { create(wrong); }), "bad_request");
  wrong = make_tag("X-2", "rtu-x");
  wrong.deadband = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(failure_of([&] { create(wrong); }), "bad_request");
  wrong = make_tag("X-3", "rtu-x");
  wrong.sample_rate_ms = 0;
  EXPECT_EQ(failure_of([&] { create(wrong); }), "bad_request");
  wrong = make_tag("X-4", "rtu-x");
  wrong.max_interval_ms = -1;
  EXPECT_EQ(failure_of([&] { create(wrong); }), "bad_request");

  historian_tag_record bad_update = tag;
  bad_update.compression = "gzip";
  EXPECT_EQ(failure_of([&] {
              store_->update_historian_tag(bad_update, t0, make_audit("historian_tag_update"));
            }),
            "bad_request");
  historian_tag_record missing = tag;
  missing.id = tag.id + 100;
  EXPECT_EQ(failure_of([&] {
              store_->update_historian_tag(missing, t0, make_audit("historian_tag_update"));
            }),
            "not_found");
  EXPECT_EQ(failure_of([&] {
              store_->delete_historian_tag(missing.id, make_audit("historian_tag_delete"));
            }),
            "not_found");
  EXPECT_EQ(audit_rows(), audits);
  EXPECT_EQ(rows("historian_tags"), 1);
  expect_same_tag(*store_->get_historian_tag(tag.id), make_tag("FT-101"));
}

TEST_P(historian_store_test, points_come_back_in_time_order_whatever_order_they_came_in) {
  std::int64_t a = create(make_tag("A", "rtu-a", 1)).id;
  std::int64_t b = create(make_tag("B", "rtu-a", 2)).id;
  append({point(a, t0 + 3000, 3.0), point(a, t0 + 1000, 1.0), point(b, t0 + 1500, 15.0),
          point(a, t0 + 2000, 0.1, historian_uncertain)});
  // Late: an edge node backfills what it held during a link loss.
  append({point(a, t0 + 500, 0.5, historian_bad), point(a, t0 + 2500, 2.5, historian_not_connected),
          point(a, t0 + 9000, 9.0)});

  std::vector<historian_point> got = range(a, t0, t0 + 10000);
  EXPECT_EQ(times_of(got),
            (times{t0 + 500, t0 + 1000, t0 + 2000, t0 + 2500, t0 + 3000, t0 + 9000}));
  ASSERT_EQ(got.size(), 6U);
  EXPECT_EQ(got[0].tag_id, a);
  EXPECT_EQ(got[0].value, 0.5);
  EXPECT_EQ(got[0].quality, historian_bad);
  EXPECT_EQ(got[2].value, 0.1);  // exact: the value round-trips
  EXPECT_EQ(got[2].quality, historian_uncertain);
  EXPECT_EQ(got[3].quality, historian_not_connected);

  // [start, end), and the limit keeps the oldest.
  EXPECT_EQ(times_of(range(a, t0 + 1000, t0 + 3000)), (times{t0 + 1000, t0 + 2000, t0 + 2500}));
  EXPECT_EQ(times_of(range(a, t0, t0 + 10000, 2)), (times{t0 + 500, t0 + 1000}));
  EXPECT_EQ(range(a, t0, t0 + 10000, 0).size(), 1U);  // clamped to 1
  EXPECT_EQ(times_of(range(b, t0, t0 + 10000)), (times{t0 + 1500}));
  EXPECT_TRUE(range(a + b + 10, t0, t0 + 10000).empty());
}

TEST_P(historian_store_test, a_point_written_again_replaces_the_stored_one) {
  std::int64_t a = create(make_tag("A")).id;
  append({point(a, t0, 1.0), point(a, t0 + 1000, 2.0)});
  // A replayed backfill, and a batch holding one time twice: the later one wins.
  append(
      {point(a, t0, 1.5, historian_uncertain), point(a, t0 + 1000, 7.0), point(a, t0 + 1000, 8.0)});
  std::vector<historian_point> got = range(a, t0, t0 + 2000);
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0].value, 1.5);
  EXPECT_EQ(got[0].quality, historian_uncertain);
  EXPECT_EQ(got[1].value, 8.0);
  EXPECT_EQ(rows("historian_samples"), 2);
}

TEST_P(historian_store_test, rollup_rows_are_inserted_replaced_and_read_by_range_and_key) {
  std::int64_t a = create(make_tag("A")).id;
  std::int64_t b = create(make_tag("B", "rtu-b")).id;
  historian_rollup_row only_bad = rollup(a, t0 + 120000, 0, 0.0);
  only_bad.min = std::numeric_limits<double>::infinity();
  only_bad.max = -std::numeric_limits<double>::infinity();
  historian_rollup_row hourly = rollup(a, t0, 3600, 360.0);
  hourly.width_ms = 3600000;
  append({}, {rollup(a, t0 + 60000, 5, 10.0), rollup(a, t0, 4, 8.0), only_bad, hourly,
              rollup(b, t0, 1, 1.0)});

  historian_filter filter;
  filter.tag_id = a;
  filter.width_ms = 60000;
  filter.start = t0;
  filter.end = t0 + 180000;
  std::vector<historian_rollup_row> got = store_->query_historian_rollups(filter);
  ASSERT_EQ(got.size(), 3U);
  EXPECT_EQ(got[0].bucket_start, t0);
  EXPECT_EQ(got[0].count, 4);
  EXPECT_EQ(got[0].uncertain, 1);
  EXPECT_EQ(got[0].bad, 2);
  EXPECT_EQ(got[0].sum, 8.0);
  EXPECT_EQ(got[0].min, -1.5);
  EXPECT_EQ(got[0].max, 7.25);
  EXPECT_EQ(got[0].first, 0.1);
  EXPECT_EQ(got[0].last, 3.3);
  EXPECT_EQ(got[0].first_time, t0 + 10);
  EXPECT_EQ(got[0].last_time, t0 + 59000);
  EXPECT_EQ(got[1].bucket_start, t0 + 60000);
  // Without a counted sample min and max read back empty, as core::rollup has them.
  EXPECT_EQ(got[2].count, 0);
  EXPECT_EQ(got[2].min, std::numeric_limits<double>::infinity());
  EXPECT_EQ(got[2].max, -std::numeric_limits<double>::infinity());
  filter.limit = 1;
  EXPECT_EQ(store_->query_historian_rollups(filter).size(), 1U);
  filter.limit = 100;
  filter.width_ms = 3600000;
  ASSERT_EQ(store_->query_historian_rollups(filter).size(), 1U);
  EXPECT_EQ(store_->query_historian_rollups(filter)[0].count, 3600);

  // A late sample corrected a bucket: the row is read by key and written back whole.
  std::vector<historian_rollup_row> stored = store_->get_historian_rollups(
      {{a, 60000, t0 + 60000}, {a, 60000, t0 + 999}, {b, 60000, t0}, {a, 3600000, t0}});
  ASSERT_EQ(stored.size(), 3U);
  EXPECT_EQ(stored[0].sum, 10.0);
  EXPECT_EQ(stored[1].tag_id, b);
  EXPECT_EQ(stored[2].width_ms, 3600000);
  stored[0].count = 6;
  stored[0].sum = 17.5;
  stored[0].min = -9.0;
  append({}, {stored[0]});
  std::vector<historian_rollup_row> again = store_->get_historian_rollups({{a, 60000, t0 + 60000}});
  ASSERT_EQ(again.size(), 1U);
  EXPECT_EQ(again[0].count, 6);
  EXPECT_EQ(again[0].sum, 17.5);
  EXPECT_EQ(again[0].min, -9.0);
  EXPECT_EQ(rows("historian_rollups"), 5);
}

TEST_P(historian_store_test, grouped_rollups_are_merged_per_group_by_the_database) {
  std::int64_t a = create(make_tag("A")).id;
  constexpr std::int64_t minute = 60000;
  constexpr std::int64_t group = 3 * minute;
  const timestamp_ms g0 = t0 - t0 % group;  // a group's start
  // Group 1: two counted rows around one of BAD samples only; its first value comes from the
  // second row (earlier first_time), its last from the third. Group 2: BAD samples only.
  historian_rollup_row early = rollup(a, g0 + minute, 2, 4.0);
  early.first_time = g0 + minute + 1;
  early.first = -8.0;
  early.min = -8.0;
  historian_rollup_row empty = rollup(a, g0, 0, 0.0);
  empty.min = std::numeric_limits<double>::infinity();
  empty.max = -std::numeric_limits<double>::infinity();
  historian_rollup_row late = rollup(a, g0 + 2 * minute, 3, 6.0);
  late.last = 11.0;
  late.max = 11.0;
  late.last_time = g0 + 2 * minute + 59999;
  historian_rollup_row bad_only = rollup(a, g0 + group, 0, 0.0);
  bad_only.min = std::numeric_limits<double>::infinity();
  bad_only.max = -std::numeric_limits<double>::infinity();
  append({}, {empty, early, late, bad_only});

  historian_filter filter;
  filter.tag_id = a;
  filter.width_ms = minute;
  filter.start = g0;
  filter.end = g0 + 2 * group;
  filter.group_ms = group;
  std::vector<historian_rollup_row> got = store_->query_historian_rollups(filter);
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0].bucket_start, g0);
  EXPECT_EQ(got[0].count, 5);
  EXPECT_EQ(got[0].uncertain, 2);
  EXPECT_EQ(got[0].bad, 6);
  EXPECT_EQ(got[0].sum, 10.0);
  EXPECT_EQ(got[0].min, -8.0);
  EXPECT_EQ(got[0].max, 11.0);
  EXPECT_EQ(got[0].first, -8.0);
  EXPECT_EQ(got[0].first_time, g0 + minute + 1);
  EXPECT_EQ(got[0].last, 11.0);
  EXPECT_EQ(got[0].last_time, g0 + 2 * minute + 59999);
  EXPECT_EQ(got[1].bucket_start, g0 + group);
  EXPECT_EQ(got[1].count, 0);
  EXPECT_EQ(got[1].bad, 2);
  EXPECT_EQ(got[1].min, std::numeric_limits<double>::infinity());

  // The window cuts the first group: its row is stamped with the first row inside.
  filter.start = g0 + minute;
  got = store_->query_historian_rollups(filter);
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0].bucket_start, g0 + minute);
  EXPECT_EQ(got[0].count, 5);
  filter.limit = 1;
  EXPECT_EQ(store_->query_historian_rollups(filter).size(), 1U);
  filter.group_ms = minute + 1;
  EXPECT_EQ(failure_of([&] { store_->query_historian_rollups(filter); }), "bad_request");
}

TEST_P(historian_store_test, the_point_before_a_window_is_found_within_the_max_age) {
  std::int64_t a = create(make_tag("A")).id;
  std::int64_t b = create(make_tag("B", "rtu-b")).id;
  append({point(a, t0 - 5000, 1.0), point(a, t0 - 2000, 2.0), point(a, t0, 3.0),
          point(b, t0 - 1000, 9.0)});
  std::optional<historian_point> before = store_->historian_point_before(a, t0, 60000);
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(before->timestamp, t0 - 2000);
  EXPECT_EQ(before->value, 2.0);
  EXPECT_FALSE(store_->historian_point_before(a, t0, 1000).has_value());
  EXPECT_EQ(store_->historian_point_before(a, t0, 2000)->timestamp, t0 - 2000);
  EXPECT_FALSE(store_->historian_point_before(a, t0 - 5000, 60000).has_value());
}

TEST_P(historian_store_test, purge_deletes_what_is_older_and_counts_it) {
  std::int64_t a = create(make_tag("A")).id;
  std::int64_t b = create(make_tag("B", "rtu-b")).id;
  append({point(a, t0, 1.0), point(a, t0 + 1000, 2.0), point(a, t0 + 2000, 3.0),
          point(b, t0 + 500, 4.0), point(b, t0 + 5000, 5.0)},
         {rollup(a, t0, 3, 6.0), rollup(a, t0 + 60000, 1, 1.0)});
  EXPECT_EQ(store_->purge_historian(t0 + 1000, 0), 2);  // rollups kept
  EXPECT_EQ(times_of(range(a, 0, t0 + 10000)), (times{t0 + 1000, t0 + 2000}));
  EXPECT_EQ(times_of(range(b, 0, t0 + 10000)), (times{t0 + 5000}));
  EXPECT_EQ(rows("historian_rollups"), 2);
  EXPECT_EQ(store_->purge_historian(t0 + 1000, t0 + 60000), 1);
  EXPECT_EQ(rows("historian_rollups"), 1);
  EXPECT_EQ(store_->purge_historian(t0, 0), 0);
}

TEST_P(historian_store_test, statistics_count_rows_per_tag_and_in_all) {
  historian_stats empty = store_->historian_statistics();
  EXPECT_EQ(empty.sample_rows, 0);
  EXPECT_EQ(empty.rollup_rows, 0);
  EXPECT_EQ(empty.oldest, 0);
  EXPECT_EQ(empty.newest, 0);
  EXPECT_TRUE(empty.per_tag.empty());
  EXPECT_GT(empty.bytes, 0);

  std::int64_t a = create(make_tag("A")).id;
  std::int64_t b = create(make_tag("B", "rtu-b")).id;
  create(make_tag("C", "rtu-c"));  // no samples: not listed
  append({point(a, t0, 1.0), point(a, t0 + 1000, 2.0), point(b, t0 - 500, 4.0),
          point(b, t0 + 5000, 5.0), point(b, t0 + 6000, 5.0)},
         {rollup(a, t0, 2, 3.0)});
  historian_stats stats = store_->historian_statistics();
  EXPECT_EQ(stats.sample_rows, 5);
  EXPECT_EQ(stats.rollup_rows, 1);
  EXPECT_EQ(stats.oldest, t0 - 500);
  EXPECT_EQ(stats.newest, t0 + 6000);
  ASSERT_EQ(stats.per_tag.size(), 2U);
  EXPECT_EQ(stats.per_tag[0].tag_id, a);
  EXPECT_EQ(stats.per_tag[0].rows, 2);
  EXPECT_EQ(stats.per_tag[0].oldest, t0);
  EXPECT_EQ(stats.per_tag[0].newest, t0 + 1000);
  EXPECT_EQ(stats.per_tag[1].tag_id, b);
  EXPECT_EQ(stats.per_tag[1].rows, 3);
  EXPECT_GT(stats.bytes, 0);

  // The counts are kept as rows change, not counted by a scan: a point written again replaces
  // one (a repeat within a batch too, PostgreSQL's merge), a purge and a tag's deletion take
  // theirs away.
  append({point(a, t0, 9.0), point(a, t0 + 2000, 3.0), point(a, t0 + 2000, 3.5)});
  append({point(b, t0 + 7000, 6.0)}, {rollup(a, t0, 3, 4.0), rollup(b, t0, 1, 6.0)});
  stats = store_->historian_statistics();
  EXPECT_EQ(stats.rollup_rows, 2);
  EXPECT_EQ(stats.per_tag[0].rows, 3);
  EXPECT_EQ(stats.per_tag[1].rows, 4);
  EXPECT_EQ(store_->purge_historian(t0 + 1000, 0), 2);
  stats = store_->historian_statistics();
  EXPECT_EQ(stats.sample_rows, 5);
  EXPECT_EQ(stats.per_tag[0].rows, 2);
  EXPECT_EQ(stats.per_tag[0].oldest, t0 + 1000);
  EXPECT_EQ(stats.per_tag[1].rows, 3);
  store_->delete_historian_tag(a, make_audit("historian_tag_delete"));
  stats = store_->historian_statistics();
  EXPECT_EQ(stats.sample_rows, 3);
  EXPECT_EQ(stats.rollup_rows, 1);
  ASSERT_EQ(stats.per_tag.size(), 1U);
  EXPECT_EQ(stats.per_tag[0].tag_id, b);
}

TEST_P(historian_store_test, a_bad_batch_writes_nothing) {
  std::int64_t a = create(make_tag("A")).id;
  append({point(a, t0, 1.0)});
  auto refused = [&](std::vector<historian_point> points,
                     std::vector<historian_rollup_row> rollups = {}) {
    return failure_of([&] { append(std::move(points), std::move(rollups)); });
  };
  EXPECT_EQ(refused({point(a, t0 + 1, 1.0), point(a + 100, t0 + 2, 2.0)}), "not_found");
  EXPECT_EQ(refused({point(a, t0 + 1, 1.0)}, {rollup(a + 100, t0, 1, 1.0)}), "not_found");
  EXPECT_EQ(refused({point(a, t0 + 1, 1.0), point(0, t0 + 2, 2.0)}), "bad_request");
  EXPECT_EQ(refused({point(a, t0 + 1, std::numeric_limits<double>::quiet_NaN())}), "bad_request");
  EXPECT_EQ(refused({point(a, t0 + 1, std::numeric_limits<double>::infinity())}), "bad_request");
  EXPECT_EQ(refused({point(a, t0 + 1, 1.0, 4)}), "bad_request");
  historian_rollup_row wrong = rollup(a, t0, 1, 1.0);
  wrong.max = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(refused({point(a, t0 + 1, 1.0)}, {wrong}), "bad_request");
  wrong = rollup(a, t0, 1, 1.0);
  wrong.width_ms = 0;
  EXPECT_EQ(refused({point(a, t0 + 1, 1.0)}, {wrong}), "bad_request");
  wrong = rollup(a, t0, -1, 1.0);
  EXPECT_EQ(refused({}, {wrong}), "bad_request");
  EXPECT_EQ(rows("historian_samples"), 1);
  EXPECT_EQ(rows("historian_rollups"), 0);
  EXPECT_NO_THROW(append({}, {}));
}

TEST_P(historian_store_test, deleting_a_tag_deletes_its_samples_and_rollups) {
  std::int64_t a = create(make_tag("A")).id;
  std::int64_t b = create(make_tag("B", "rtu-b")).id;
  append({point(a, t0, 1.0), point(b, t0, 2.0)}, {rollup(a, t0, 1, 1.0), rollup(b, t0, 1, 2.0)});
  store_->delete_historian_tag(a, make_audit("historian_tag_delete"));
  EXPECT_EQ(rows("historian_samples"), 1);
  EXPECT_EQ(rows("historian_rollups"), 1);
  EXPECT_EQ(range(b, t0, t0 + 1).size(), 1U);
}

TEST_P(historian_store_test, the_schema_keys_samples_and_rollups_for_their_queries) {
  EXPECT_EQ(raw_->columns("historian_samples").size(), 4U);
  // Without TimescaleDB (neither backend here has it), a plain table with the contract's index.
  EXPECT_EQ(store_->historian_layout(), "table");
  std::string samples_key = GetParam() == backend_kind::sqlite
                                ? "sqlite_autoindex_historian_samples_1"
                                : "historian_samples_pkey";
  std::string rollups_key = GetParam() == backend_kind::sqlite
                                ? "sqlite_autoindex_historian_rollups_1"
                                : "historian_rollups_pkey";
  EXPECT_EQ(raw_->index_columns(samples_key), (std::vector<std::string>{"tag_id", "timestamp"}));
  EXPECT_EQ(raw_->index_columns(rollups_key),
            (std::vector<std::string>{"tag_id", "width_ms", "bucket_start"}));
  std::int64_t a = create(make_tag("A")).id;
  EXPECT_ANY_THROW(
      raw_->exec("INSERT INTO historian_samples (tag_id, timestamp, value, quality) "
                 "VALUES (" +
                 std::to_string(a) + ", 1, 1.0, 4)"));
  EXPECT_ANY_THROW(
      raw_->exec("INSERT INTO historian_samples (tag_id, timestamp, value, quality) "
                 "VALUES (" +
                 std::to_string(a) + ", 1, NULL, 0)"));
}

INSTANTIATE_TEST_SUITE_P(backends, historian_store_test,
                         ::testing::Values(backend_kind::sqlite, backend_kind::postgresql),
                         [](const ::testing::TestParamInfo<backend_kind>& param) {
                           return to_string(param.param);
                         });

}  // namespace
}  // namespace wtc::test
