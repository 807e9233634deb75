// The historian with the real storage actor, on SQLite and on the throwaway PostgreSQL cluster:
// the same tests on both backends. The test sends the historian the sample batches an RTU would
// publish (and once goes through the real field bus), and checks what a trend query answers
// against a brute-force computation over the samples it sent.

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "actors/field_bus.hpp"
#include "actors/historian.hpp"
#include "actors/root_supervisor.hpp"
#include "actors/storage_actor.hpp"
#include "core/rollup.hpp"
#include "core/time.hpp"
#include "messages/errors.hpp"
#include "messages/health_board.hpp"
#include "messages/register_types.hpp"
#include "tests/storage/test_backends.hpp"

namespace wtc {
namespace {

using namespace std::chrono_literals;
using test::backend_kind;

struct config : caf::actor_system_config {
  config() { register_types(*this); }
};

constexpr char station[] = "rtu-1";

class HistorianTest : public ::testing::TestWithParam<backend_kind> {
 protected:
  void SetUp() override {
    database = std::make_unique<test::test_database>(GetParam());
    const auto db = database->config();
    storage::open_store(db)->migrate();
    auto board = std::make_shared<health_board>();
    supervisor = sys.spawn(
        root_supervisor,
        std::vector<child_spec>{
            {names::storage,
             [db, board](caf::actor_system& s) {
               return caf::actor_cast<caf::actor>(s.spawn<caf::detached>(storage_actor, db, board));
             }},
            {names::field_bus,
             [](caf::actor_system& s) {
               return caf::actor_cast<caf::actor>(s.spawn(field_bus, field_bus_config{}));
             }}},
        restart_policy{});
    self->request(supervisor, 10s, stats_atom::value)
        .receive([](std::vector<actor_stats>&) {},
                 [](caf::error& err) { FAIL() << to_string(err); });
    admin.username = "admin";
    admin.user_role = role::admin;
    // Samples from the start of this hour on: the test runs ahead of the clock.
    settings.future_tolerance_ms = core::day_ms;
    settings.flush_interval = 50ms;
    base = core::bucket_start(core::now_ms(), core::hour_ms);
  }

  void TearDown() override {
    stop_historian();
    auto storage = lookup<storage_api>(sys, names::storage);
    self->monitor(storage);
    self->send_exit(supervisor, caf::exit_reason::user_shutdown);
    self->receive([](caf::down_msg&) {},
                  caf::after(10s) >> [] { ADD_FAILURE() << "storage did not stop"; });
  }

  void start_historian() {
    historian_ = caf::actor_cast<historian_api>(sys.spawn(historian, settings));
  }

  void stop_historian() {
    if (!historian_)
      return;
    self->monitor(historian_);
    self->send_exit(historian_, caf::exit_reason::user_shutdown);
    self->receive([](caf::down_msg&) {},
                  caf::after(15s) >> [] { ADD_FAILURE() << "the historian did not stop"; });
    historian_ = nullptr;
  }

  template <class T, class Handle, class... Ts>
  caf::expected<T> ask_of(const Handle& target, Ts&&... xs) {
    caf::expected<T> result{make_error(errc::internal, "no answer")};
    self->request(target, 30s, std::forward<Ts>(xs)...)
        .receive([&](T& value) { result = std::move(value); },
                 [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  template <class T, class... Ts>
  caf::expected<T> ask(Ts&&... xs) {
    return ask_of<T>(historian_, std::forward<Ts>(xs)...);
  }

  historian_tag_record make_tag(const std::string& name, std::int32_t slot,
                                const std::string& compression = "none") {
    historian_tag_record tag;
    tag.rtu_station = station;
    tag.slot = slot;
    tag.tag_name = name;
    tag.unit = "pH";
    tag.sample_rate_ms = 1000;
    tag.deadband = 0.05;
    tag.compression = compression;
    return tag;
  }

  historian_tag_record create(const historian_tag_record& tag) {
    auto created = ask<historian_tag_record>(create_atom::value, tag, admin);
    EXPECT_TRUE(created) << to_string(created.error());
    return created ? *created : historian_tag_record{};
  }

  /// Sends one sample of `slot` of rtu-1, as its rtu_actor would.
  void send(std::int32_t slot, const core::historian_sample& s) {
    sample one;
    one.slot = slot;
    one.value = s.value;
    one.q = s.q;
    one.timestamp = s.timestamp;
    sample_batch batch;
    batch.station = station;
    batch.samples = {one};
    self->send(historian_, batch);
  }

  void flush() {
    auto done = ask<caf::ok_atom>(flush_atom::value, historian_atom::value);
    ASSERT_TRUE(done) << to_string(done.error());
  }

  caf::expected<trend_series> trend(std::int64_t tag_id, timestamp_ms start, timestamp_ms end,
                                    const std::string& aggregation = "none",
                                    std::int64_t interval_ms = core::minute_ms) {
    return ask<trend_series>(caf::get_atom::value, trend_atom::value,
                             trend_query{tag_id, start, end, aggregation, interval_ms});
  }

  /// The trend of `q` over `sent` worked out from the samples alone, as storage rows read back.
  static std::vector<historian_point> brute_force(std::int64_t tag_id,
                                                  const std::vector<core::historian_sample>& sent,
                                                  const core::series_query& q) {
    std::vector<historian_point> out;
    for (const auto& s : core::aggregate(sent, q))
      out.push_back({tag_id, s.timestamp, s.value,
                     static_cast<std::uint8_t>(s.q == quality::good        ? historian_good
                                               : s.q == quality::uncertain ? historian_uncertain
                                                                           : historian_bad)});
    return out;
  }

  static void expect_same(const std::vector<historian_point>& got,
                          const std::vector<historian_point>& want, const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].timestamp, want[i].timestamp) << what << " point " << i;
      EXPECT_EQ(got[i].quality, want[i].quality) << what << " point " << i;
      if (std::isnan(want[i].value))
        EXPECT_TRUE(std::isnan(got[i].value)) << what << " point " << i;
      else
        EXPECT_NEAR(got[i].value, want[i].value, 1e-9 * std::max(1.0, std::abs(want[i].value)))
            << what << " point " << i;
    }
  }

  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::unique_ptr<test::test_database> database;
  supervisor_api supervisor;
  historian_config settings;
  historian_api historian_;
  request_origin admin;
  timestamp_ms base = 0;
};

TEST_P(HistorianTest, AggregatesEqualABruteForceComputationAtEdgesAndAcrossGaps) {
  settings.batch_points = 1000;  // the samples go to storage in several batches
  start_historian();
  const auto tag = create(make_tag("pH", 5));
  // Two hours of a noisy signal at 1 s with gaps of 7 minutes and of 70 minutes' worth of
  // seconds missing, BAD and UNCERTAIN stretches: buckets that are partial, empty or doubtful.
  std::mt19937_64 rng(42);
  std::normal_distribution<double> noise(0.0, 0.2);
  std::vector<core::historian_sample> sent;
  for (std::int64_t t = 0; t < 2 * core::hour_ms + 10 * core::minute_ms; t += 1000) {
    if ((t >= 13 * core::minute_ms && t < 20 * core::minute_ms) ||
        (t >= 61 * core::minute_ms + 5000 && t < 64 * core::minute_ms))
      continue;
    quality q = quality::good;
    if (t >= 30 * core::minute_ms && t < 30 * core::minute_ms + 90'000)
      q = quality::bad;
    if (t >= 45 * core::minute_ms && t < 46 * core::minute_ms)
      q = quality::uncertain;
    const core::historian_sample s{base + t, 7.0 + std::sin(t / 600000.0) + noise(rng), q};
    sent.push_back(s);
    send(5, s);
  }
  flush();

  auto raw = trend(tag.id, base, base + 3 * core::hour_ms);
  ASSERT_TRUE(raw) << to_string(raw.error());
  EXPECT_EQ(raw->source, "samples");
  // BAD samples are stored as they came; values read back exact.
  expect_same(
      raw->points,
      brute_force(tag.id, sent, {base, base + 3 * core::hour_ms, 0, core::aggregation::none}),
      "raw");

  // Windows aligned and not, intervals served by minute rollups, hour rollups and samples.
  struct window {
    timestamp_ms start, end;
    std::int64_t interval;
  };
  for (const auto& w :
       {window{base, base + 3 * core::hour_ms, core::minute_ms},
        window{base + 17'300, base + 2 * core::hour_ms - 4'100, core::minute_ms},
        window{base - core::hour_ms, base + 3 * core::hour_ms, core::hour_ms},
        window{base + 59 * core::minute_ms + 30'000, base + 2 * core::hour_ms + 1,
               5 * core::minute_ms},
        window{base + 29 * core::minute_ms, base + 47 * core::minute_ms, 10'000},
        window{base + 12 * core::minute_ms, base + 21 * core::minute_ms, 2 * core::hour_ms},
        // hour rollups that the database merges into the query's longer buckets, whole and
        // with raw edges
        window{base - core::hour_ms, base + 3 * core::hour_ms, 2 * core::hour_ms},
        window{base + 17'300, base + 3 * core::hour_ms, 3 * core::hour_ms}}) {
    for (const std::string agg : {"avg", "min", "max", "first", "last", "count"}) {
      core::series_query q{w.start, w.end, w.interval, core::aggregation::none};
      ASSERT_TRUE(core::parse_aggregation(agg, q.agg));
      auto got = trend(tag.id, w.start, w.end, agg, w.interval);
      ASSERT_TRUE(got) << to_string(got.error());
      expect_same(got->points, brute_force(tag.id, sent, q),
                  agg + " over [" + std::to_string(w.start - base) + ", " +
                      std::to_string(w.end - base) + ") every " + std::to_string(w.interval) +
                      " ms from " + got->source);
    }
  }
  auto hourly = trend(tag.id, base, base + 3 * core::hour_ms, "avg", core::hour_ms);
  ASSERT_TRUE(hourly);
  EXPECT_EQ(hourly->source, "rollups_1h");
  auto minutely = trend(tag.id, base, base + 3 * core::hour_ms, "avg", 5 * core::minute_ms);
  ASSERT_TRUE(minutely);
  EXPECT_EQ(minutely->source, "rollups_1m");
}

TEST_P(HistorianTest, LateSamplesCorrectTheirBucketsAndACleanRestartLosesNothing) {
  start_historian();
  const auto tag = create(make_tag("Level", 2));
  std::vector<core::historian_sample> sent;
  // In order: minutes 10 to 13 of the hour.
  for (std::int64_t t = 10 * core::minute_ms; t < 13 * core::minute_ms; t += 1000) {
    sent.push_back({base + t, 2.0 + t / 1e6, quality::good});
    send(2, sent.back());
  }
  flush();
  // Late, as an edge node's backfill would come: into minutes already written (10), into one
  // never seen (5); and a repeat of the newest time, which is refused.
  for (std::int64_t t : {5 * core::minute_ms + 500, 10 * core::minute_ms + 500,
                         10 * core::minute_ms + 1500, 5 * core::minute_ms + 20'500}) {
    sent.push_back({base + t, 9.5, quality::good});
    send(2, sent.back());
  }
  send(2, {base + 13 * core::minute_ms - 1000, 100.0, quality::good});
  flush();
  auto status =
      ask<historian_status>(caf::get_atom::value, stats_atom::value, historian_atom::value);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->late_samples, 4);
  EXPECT_EQ(status->samples_rejected, 1);

  std::sort(sent.begin(), sent.end(),
            [](const auto& a, const auto& b) { return a.timestamp < b.timestamp; });
  for (const std::string agg : {"avg", "count", "max", "first"})
    for (auto interval : {core::minute_ms, core::hour_ms}) {
      core::series_query q{base, base + core::hour_ms, interval, core::aggregation::none};
      ASSERT_TRUE(core::parse_aggregation(agg, q.agg));
      auto got = trend(tag.id, base, base + core::hour_ms, agg, interval);
      ASSERT_TRUE(got) << to_string(got.error());
      expect_same(got->points, brute_force(tag.id, sent, q), agg + " after the late samples");
    }

  // A clean stop writes what is open; the restarted historian goes on in the same buckets.
  stop_historian();
  start_historian();
  for (std::int64_t t = 13 * core::minute_ms; t < 14 * core::minute_ms; t += 1000) {
    sent.push_back({base + t, 3.0, quality::good});
    send(2, sent.back());
  }
  flush();
  core::series_query q{base, base + core::hour_ms, core::hour_ms, core::aggregation::count};
  auto got = trend(tag.id, base, base + core::hour_ms, "count", core::hour_ms);
  ASSERT_TRUE(got) << to_string(got.error());
  expect_same(got->points, brute_force(tag.id, sent, q), "the hour's count after a restart");
  auto raw = trend(tag.id, base, base + core::hour_ms);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->points.size(), sent.size());
}

TEST_P(HistorianTest, TheSampleRateThinsAndSwingingDoorCompressesWhileRollupsStayExact) {
  auto tag = make_tag("Flow", 4, "swinging_door");
  tag.deadband = 0.01;
  tag.max_interval_ms = core::hour_ms;
  start_historian();
  tag = create(tag);
  std::vector<core::historian_sample> taken;
  // Every 100 ms, a ramp: one sample a second is taken, and the straight line needs two points.
  for (std::int64_t t = 0; t < 10 * core::minute_ms; t += 100) {
    const core::historian_sample s{base + t, 10.0 + t / 60000.0, quality::good};
    if (t % 1000 == 0)
      taken.push_back(s);
    send(4, s);
  }
  // While compression holds the newest sample back, a raw query gives it apart from the data.
  caf::expected<trend_series> live{make_error(errc::internal, "none")};
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    live = trend(tag.id, base, base + core::hour_ms);
    if (live && !live->current.empty())
      break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(live) << to_string(live.error());
  ASSERT_EQ(live->current.size(), 1u);
  EXPECT_EQ(live->current[0].timestamp, taken.back().timestamp);
  for (const auto& p : live->points)
    EXPECT_LT(p.timestamp, taken.back().timestamp);
  // A change of quality is taken at once, between two ticks of the sample rate.
  const core::historian_sample bad{base + 10 * core::minute_ms + 300, 0.0, quality::bad};
  taken.push_back(bad);
  send(4, bad);
  flush();
  auto raw = trend(tag.id, base, base + core::hour_ms);
  ASSERT_TRUE(raw) << to_string(raw.error());
  EXPECT_LE(raw->points.size(), 4u) << "a ramp is two points and the BAD one";
  EXPECT_EQ(raw->points.back().quality, historian_bad);
  for (const std::string agg : {"avg", "count", "min", "last"}) {
    core::series_query q{base, base + core::hour_ms, core::minute_ms, core::aggregation::none};
    ASSERT_TRUE(core::parse_aggregation(agg, q.agg));
    auto got = trend(tag.id, base, base + core::hour_ms, agg, core::minute_ms);
    ASSERT_TRUE(got) << to_string(got.error());
    expect_same(got->points, brute_force(tag.id, taken, q), agg + " from the rollups");
  }
}

TEST_P(HistorianTest, ATagAtItsRtusRateKeepsEveryCycleThoughTheCyclesJitter) {
  auto tag = make_tag("Level", 2, "none");
  tag.sample_rate_ms = 200;
  start_historian();
  tag = create(tag);
  // A 200 ms cycle as an RTU delivers it: a little early or late, one cycle 130 ms late and the
  // next on its schedule (70 ms after it); and, in the same stream, a sample 100 ms after one
  // that the rate must thin.
  const std::vector<std::int64_t> kept{0,    198,  401,  599,  930,  1000, 1203,
                                       1397, 1600, 1801, 2000, 2199, 2400};
  std::vector<std::int64_t> sent = kept;
  sent.push_back(2500);
  std::sort(sent.begin(), sent.end());
  for (auto t : sent)
    send(2, {base + t, 1.0 + static_cast<double>(t) / 1000.0, quality::good});
  flush();
  auto raw = trend(tag.id, base, base + core::minute_ms);
  ASSERT_TRUE(raw) << to_string(raw.error());
  std::vector<std::int64_t> got;
  for (const auto& p : raw->points)
    got.push_back(p.timestamp - base);
  for (const auto& p : raw->current)
    got.push_back(p.timestamp - base);
  EXPECT_EQ(got, kept);
}

TEST_P(HistorianTest, SamplesComeFromTheFieldBus) {
  start_historian();
  const auto tag = create(make_tag("Chlorine", 7));
  const auto bus = lookup<field_bus_api>(sys, names::field_bus);
  const auto now = core::now_ms();
  caf::expected<trend_series> got{make_error(errc::internal, "none")};
  for (int i = 0; i < 100; ++i) {
    sample s;
    s.slot = 7;
    s.value = 1.25;
    s.q = quality::good;
    s.timestamp = now + i * 1000;
    sample_batch batch;
    batch.station = station;
    batch.samples = {s};
    self->send(bus, batch);
    flush();
    got = trend(tag.id, now, now + core::hour_ms);
    if (got && !got->points.empty())
      break;
  }
  ASSERT_TRUE(got) << to_string(got.error());
  ASSERT_FALSE(got->points.empty()) << "the historian never got a sample from the bus";
  EXPECT_DOUBLE_EQ(got->points.front().value, 1.25);
}

TEST_P(HistorianTest, RefusesBadTagsAndQueriesAndLeavesThemAsTheyWere) {
  settings.max_points = 500;
  settings.max_raw_rows = 2000;
  start_historian();
  const auto tag = create(make_tag("pH", 5));
  auto code = [](const caf::error& err) { return static_cast<errc>(err.code()); };

  auto bad = make_tag("other", 6);
  bad.compression = "zip";
  auto refused = ask<historian_tag_record>(create_atom::value, bad, admin);
  ASSERT_FALSE(refused);
  EXPECT_EQ(code(refused.error()), errc::bad_request);
  EXPECT_NE(to_string(refused.error()).find("compression"), std::string::npos);
  refused = ask<historian_tag_record>(create_atom::value, make_tag("pH", 9), admin);
  ASSERT_FALSE(refused);
  EXPECT_EQ(code(refused.error()), errc::conflict) << "the name is taken";
  refused = ask<historian_tag_record>(create_atom::value, make_tag("pH 2", 5), admin);
  ASSERT_FALSE(refused);
  EXPECT_EQ(code(refused.error()), errc::conflict) << "the slot is recorded";
  auto changed = tag;
  changed.sample_rate_ms = 5;
  refused = ask<historian_tag_record>(caf::update_atom::value, changed, admin);
  ASSERT_FALSE(refused);
  EXPECT_EQ(code(refused.error()), errc::bad_request);
  auto tags = ask<std::vector<historian_tag_record>>(caf::get_atom::value, hist_tag_atom::value);
  ASSERT_TRUE(tags);
  ASSERT_EQ(tags->size(), 1u);
  EXPECT_EQ(tags->front().sample_rate_ms, 1000);

  for (std::int64_t t = 0; t < 1000 * 1000; t += 1000)
    send(5, {base + t, 7.0, quality::good});
  flush();
  auto q = trend(tag.id, base, base + core::hour_ms);
  ASSERT_FALSE(q) << "1,000 samples over a cap of 500";
  EXPECT_EQ(code(q.error()), errc::bad_request);
  q = trend(tag.id, base, base + 400'000);
  ASSERT_TRUE(q) << to_string(q.error());
  EXPECT_EQ(q->points.size(), 400u);
  q = trend(tag.id, base, base + core::day_ms, "avg", core::minute_ms);
  ASSERT_FALSE(q) << "1,440 points over a cap of 500";
  q = trend(tag.id, base, base + core::day_ms, "avg", core::hour_ms);
  ASSERT_TRUE(q) << to_string(q.error());
  q = trend(tag.id, base, base + 30 * core::minute_ms, "avg", 10'000);
  ASSERT_TRUE(q) << to_string(q.error()) << ": 180 points from 1,000 samples";
  q = trend(tag.id, base, base + 30 * core::minute_ms, "median");
  ASSERT_FALSE(q);
  EXPECT_EQ(code(q.error()), errc::bad_request);
  q = trend(tag.id, base + 10, base);
  ASSERT_FALSE(q);
  EXPECT_EQ(code(q.error()), errc::bad_request);
  q = trend(tag.id + 100, base, base + 10);
  ASSERT_FALSE(q);
  EXPECT_EQ(code(q.error()), errc::not_found);

  // Deleting the tag deletes its data; the samples still coming for its slot are ignored.
  ASSERT_TRUE(ask<caf::ok_atom>(caf::delete_atom::value, hist_tag_atom::value, tag.id, admin));
  send(5, {base + 2000 * 1000, 7.0, quality::good});
  flush();
  q = trend(tag.id, base, base + core::hour_ms);
  ASSERT_FALSE(q);
  EXPECT_EQ(code(q.error()), errc::not_found);
  auto status =
      ask<historian_status>(caf::get_atom::value, stats_atom::value, historian_atom::value);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->stored.sample_rows, 0);
  EXPECT_EQ(status->tags, 0);
  EXPECT_EQ(status->points_dropped, 0);
}

TEST_P(HistorianTest, PurgesSamplesPastTheRetentionAndKeepsTheRollups) {
  settings.retention_ms = core::day_ms;
  settings.first_purge_delay = 3s;
  start_historian();
  const auto tag = create(make_tag("pH", 5));
  const auto old = core::bucket_start(core::now_ms(), core::hour_ms) - 3 * core::day_ms;
  for (std::int64_t t = 0; t < 120 * 1000; t += 1000)
    send(5, {old + t, 7.0, quality::good});
  for (std::int64_t t = 0; t < 10 * 1000; t += 1000)
    send(5, {base + t, 7.5, quality::good});
  flush();
  auto before = trend(tag.id, old, base + core::hour_ms);
  ASSERT_TRUE(before);
  EXPECT_EQ(before->points.size(), 130u);
  caf::expected<trend_series> after{make_error(errc::internal, "none")};
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    after = trend(tag.id, old, base + core::hour_ms);
    if (after && after->points.size() == 10u)
      break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(after);
  EXPECT_EQ(after->points.size(), 10u) << "the samples of three days ago are purged";
  auto rollups = trend(tag.id, old, old + core::hour_ms, "count", core::hour_ms);
  ASSERT_TRUE(rollups);
  ASSERT_EQ(rollups->points.size(), 1u) << "their hour's rollup stays";
  EXPECT_EQ(rollups->points[0].value, 120.0);
  auto status =
      ask<historian_status>(caf::get_atom::value, stats_atom::value, historian_atom::value);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->rows_purged >= 120, true);
  EXPECT_EQ(status->retention_days, 1);
}

TEST_P(HistorianTest, PurgesTheOldestSamplesOverTheSizeCap) {
  settings.max_bytes = 1;  // whatever is stored is over it
  settings.first_purge_delay = 2s;
  start_historian();
  const auto tag = create(make_tag("pH", 5));
  for (std::int64_t t = 0; t < 100 * 1000; t += 1000)
    send(5, {base + t, 7.0, quality::good});
  flush();
  caf::expected<trend_series> after{make_error(errc::internal, "none")};
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    after = trend(tag.id, base, base + core::hour_ms);
    if (after && after->points.size() < 100u)
      break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(after) << to_string(after.error());
  // The oldest go, a share of the stored span matching the excess: all but the newest.
  ASSERT_EQ(after->points.size(), 1u);
  EXPECT_EQ(after->points[0].timestamp, base + 99 * 1000);
  auto status =
      ask<historian_status>(caf::get_atom::value, stats_atom::value, historian_atom::value);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->rows_purged, 99);
  EXPECT_EQ(status->max_bytes, 1);
  EXPECT_GT(status->stored.bytes, 0);
}

INSTANTIATE_TEST_SUITE_P(backends, HistorianTest,
                         ::testing::Values(backend_kind::sqlite, backend_kind::postgresql),
                         [](const ::testing::TestParamInfo<backend_kind>& param) {
                           return test::to_string(param.param);
                         });

}  // namespace
}  // namespace wtc
