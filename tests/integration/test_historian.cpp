// The historian on the simulated plant over Modbus TCP: the pH of a wtc-rtu-sim RTU is recorded
// through the REST API's tag, and its trend read back raw, aggregated and as CSV; bad queries and
// writes are refused; and what a trend query returned (it was stored) survives a kill -9 of
// wtcd. The routes' own checks are tested in-process in tests/gateway/test_trend_routes.cpp.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/time.hpp"
#include "field_fixture.hpp"

namespace wtc::test {
namespace {

using namespace std::chrono_literals;
using sim::test::sim_process;

constexpr const char* tags_path = "/api/v1/trends/tags";

std::int64_t ms_of(const nlohmann::json& iso) {
  auto ms = core::parse_iso8601(iso.get<std::string>());
  EXPECT_TRUE(ms) << iso;
  return ms.value_or(0);
}

std::string iso(std::int64_t ms) {
  return core::format_iso8601(ms);
}

std::int64_t floor_to(std::int64_t t, std::int64_t width) {
  return (t / width - (t % width < 0 ? 1 : 0)) * width;
}

/// The aggregate of one bucket of samples, computed here from the raw trend.
struct bucket {
  std::int64_t count = 0;     // GOOD and UNCERTAIN values aggregated
  std::int64_t doubtful = 0;  // UNCERTAIN ones, and BAD ones left out
  bool bad_only() const { return count == 0; }
  /// The rollup's rule (docs/historian.md): BAD with nothing aggregated, UNCERTAIN when a doubtful
  /// value took part or a BAD one was left out.
  std::string quality() const { return count == 0 ? "BAD" : doubtful > 0 ? "UNCERTAIN" : "GOOD"; }
  double sum = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  double first = 0;
  double last = 0;

  double value(const std::string& aggregation) const {
    if (aggregation == "avg")
      return sum / static_cast<double>(count);
    if (aggregation == "min")
      return min;
    if (aggregation == "max")
      return max;
    if (aggregation == "first")
      return first;
    if (aggregation == "last")
      return last;
    return static_cast<double>(count);
  }
};

/// Epoch-aligned buckets of `width` over raw points (oldest first), by bucket start. A loaded
/// machine may miss an RTU cycle and make a value BAD: the buckets follow the rollups' rules.
std::map<std::int64_t, bucket> buckets_of(const nlohmann::json& data, std::int64_t width) {
  std::map<std::int64_t, bucket> out;
  for (const auto& p : data) {
    auto& b = out[floor_to(ms_of(p["time"]), width)];
    if (p["quality"] != "GOOD")
      ++b.doubtful;
    if (p["quality"] == "BAD" || p["quality"] == "NOT_CONNECTED" || !p["value"].is_number())
      continue;
    const auto v = p["value"].get<double>();
    if (b.count == 0)
      b.first = v;
    b.last = v;
    b.sum += v;
    b.min = std::min(b.min, v);
    b.max = std::max(b.max, v);
    ++b.count;
  }
  return out;
}

class HistorianOnTheSimulator : public field_fixture {
 protected:
  /// The simulator's pH (slot 5), every sample kept (compression none), at most 10 a second.
  static nlohmann::json ph_tag() {
    return {{"rtu_station", "plant-1"}, {"slot", 5},     {"tag_name", "pH"},     {"unit", "pH"},
            {"sample_rate_ms", 100},    {"deadband", 0}, {"compression", "none"}};
  }

  http_result trend(std::int64_t id, std::int64_t start, std::int64_t end,
                    const std::string& more = "", const std::string& token = "") const {
    return client().get(
        "/api/v1/trends/" + std::to_string(id) + "?start=" + iso(start) + "&end=" + iso(end) + more,
        token.empty() ? admin_ : token);
  }

  /// The raw points of [start, end), or an empty array when the query fails.
  nlohmann::json points(std::int64_t id, std::int64_t start, std::int64_t end) const {
    auto res = trend(id, start, end);
    return res.status == 200 ? res.json()["data"] : nlohmann::json::array();
  }

  /// Waits until a point at or after `t` is stored: batches are written in order, so every
  /// sample of the tag before `t` is stored too.
  bool stored_past(std::int64_t id, std::int64_t t, std::chrono::milliseconds timeout = 30s) const {
    return wait_for([&] { return !points(id, t, t + 3'600'000).empty(); }, timeout, 200ms);
  }

  std::int64_t create(const nlohmann::json& body) const {
    auto created = client().post(tags_path, body, admin_);
    EXPECT_EQ(created.status, 200) << created.body;
    return created.json().value("id", std::int64_t{0});
  }
};

TEST_F(HistorianOnTheSimulator, RecordsThePhAndAnswersRawAggregatedAndCsvTrends) {
  sim_process plant(WTC_RTU_SIM_PATH, {"--port", "0", "--control-port", "auto"});
  ASSERT_TRUE(plant.started()) << plant.log();
  connect("plant-1", plant.ports().front());
  const auto oscar = make_user("oscar", "operator");
  const auto vera = make_user("vera", "viewer");

  EXPECT_EQ(client().post(tags_path, ph_tag(), oscar).status, 403) << "operators do not write tags";
  EXPECT_EQ(client().post(tags_path, ph_tag(), vera).status, 403);
  auto created = client().post(tags_path, ph_tag(), admin_);
  ASSERT_EQ(created.status, 200) << created.body;
  const auto tag = created.json();
  const auto id = tag["id"].get<std::int64_t>();
  EXPECT_EQ(tag["rtu_station"], "plant-1");
  EXPECT_EQ(tag["slot"], 5);
  EXPECT_EQ(tag["tag_name"], "pH");
  EXPECT_EQ(tag["unit"], "pH");
  EXPECT_EQ(tag["sample_rate_ms"], 100);
  EXPECT_EQ(tag["compression"], "none");
  EXPECT_EQ(tag["enabled"], true);
  EXPECT_FALSE(tag["created_at"].is_null());
  auto listed = client().get(tags_path, vera);
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(listed.json(), nlohmann::json::array({tag}));
  EXPECT_EQ(client().get(std::string(tags_path) + "/" + std::to_string(id), vera).json(), tag);

  // What needs the other tags is the historian's: a name or a point taken twice.
  auto same_name = ph_tag();
  same_name["slot"] = 6;
  EXPECT_EQ(client().post(tags_path, same_name, admin_).status, 409);
  auto same_point = ph_tag();
  same_point["tag_name"] = "pH again";
  EXPECT_EQ(client().post(tags_path, same_point, admin_).status, 409);
  auto unknown_field = ph_tag();
  unknown_field["tag_name"] = "turbidity";
  unknown_field["colour"] = "red";
  EXPECT_EQ(client().post(tags_path, unknown_field, admin_).status, 400);
  EXPECT_EQ(client().get(tags_path, vera).json().size(), 1u);

  // A closed window of the recording (everything in it is stored once a later point is) that
  // holds the whole first minute of the recording: its 1-minute aggregates come from the
  // rollups, the rest from the samples. Up to 62 s.
  const auto start = ms_of(tag["created_at"]);
  const auto first_minute = floor_to(start, 60'000);
  const auto end = std::max(start + 12'000, first_minute + 60'000 + 2'000);
  ASSERT_TRUE(stored_past(id, end, 90s)) << wtcd_.log();
  auto raw = trend(id, start, end, "", vera);
  ASSERT_EQ(raw.status, 200) << raw.body;
  EXPECT_EQ(raw.header("content-type"), "application/json");
  const auto series = raw.json();
  EXPECT_EQ(series["tag_id"], id);
  EXPECT_EQ(series["tag_name"], "pH");
  EXPECT_EQ(series["unit"], "pH");
  EXPECT_EQ(series["start_time"], iso(start));
  EXPECT_EQ(series["end_time"], iso(end));
  EXPECT_EQ(series["aggregation"], "none");
  const auto& data = series["data"];
  // 10 samples a second, give or take the scan clock's jitter against the 100 ms sample rate.
  ASSERT_GE(data.size(), static_cast<std::size_t>((end - start) / 100 / 3)) << raw.body;
  std::int64_t previous = start - 1;
  for (const auto& p : data) {
    const auto t = ms_of(p["time"]);
    EXPECT_GT(t, previous) << "oldest first, one point per time";
    EXPECT_LT(t, end);
    previous = t;
    ASSERT_TRUE(p["value"].is_number()) << p;
    if (p["quality"] != "GOOD")
      continue;  // a cycle missed on a loaded machine
    EXPECT_GT(p["value"].get<double>(), 5.0) << "raw water pH is about 6.5 to 8.5";
    EXPECT_LT(p["value"].get<double>(), 10.0);
  }

  // Aggregated: what the historian answers (rollups for whole minutes, the samples for the
  // rest) equals the buckets computed here from the raw points.
  for (const auto& [aggregation, interval, width] :
       std::vector<std::tuple<std::string, std::string, std::int64_t>>{{"avg", "1m", 60'000},
                                                                       {"min", "1m", 60'000},
                                                                       {"max", "1m", 60'000},
                                                                       {"count", "1m", 60'000},
                                                                       {"first", "5s", 5'000},
                                                                       {"last", "5s", 5'000},
                                                                       {"avg", "5s", 5'000},
                                                                       {"count", "1s", 1'000}}) {
    SCOPED_TRACE(aggregation + " " + interval);
    // From the minute's start: nothing was recorded before `start`.
    auto res =
        trend(id, first_minute, end, "&aggregation=" + aggregation + "&interval=" + interval, vera);
    ASSERT_EQ(res.status, 200) << res.body;
    const auto answer = res.json();
    EXPECT_EQ(answer["aggregation"], aggregation);
    EXPECT_EQ(answer["interval"], interval);
    EXPECT_EQ(answer["source"], width == 60'000 ? "rollups_1m" : "samples");
    const auto expected = buckets_of(data, width);
    ASSERT_EQ(answer["data"].size(), expected.size()) << res.body;
    auto it = expected.begin();
    for (const auto& p : answer["data"]) {
      EXPECT_EQ(p["time"], iso(it->first)) << "a bucket is stamped with its start";
      EXPECT_EQ(p["quality"], it->second.quality()) << p;
      if (it->second.bad_only() && aggregation != "count")
        EXPECT_TRUE(p["value"].is_null()) << p;
      else
        EXPECT_NEAR(p["value"].get<double>(), it->second.value(aggregation), 1e-9) << p;
      ++it;
    }
  }
  auto by_default = trend(id, start, end, "&aggregation=avg", vera);
  ASSERT_EQ(by_default.status, 200) << by_default.body;
  EXPECT_EQ(by_default.json()["interval"], "1m") << "an aggregation's default interval";

  // CSV: the same points.
  auto csv = trend(id, start, end, "&format=csv", vera);
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.header("content-type").rfind("text/csv", 0), 0u) << csv.header("content-type");
  EXPECT_EQ(csv.header("content-disposition"), "attachment; filename=\"pH.csv\"");
  std::istringstream lines(csv.body);
  std::string line;
  ASSERT_TRUE(std::getline(lines, line));
  EXPECT_EQ(line, "time,value,quality\r");
  std::size_t rows = 0;
  while (std::getline(lines, line)) {
    ASSERT_LT(rows, data.size()) << line;
    const auto& p = data[rows++];
    ASSERT_FALSE(line.empty());
    EXPECT_EQ(line.back(), '\r') << "RFC 4180 line ends";
    const auto first_comma = line.find(',');
    const auto second_comma = line.find(',', first_comma + 1);
    EXPECT_EQ(line.substr(0, first_comma), p["time"].get<std::string>());
    EXPECT_EQ(std::stod(line.substr(first_comma + 1, second_comma - first_comma - 1)),
              p["value"].get<double>())
        << line;
    EXPECT_EQ(line.substr(second_comma + 1), p["quality"].get<std::string>() + "\r");
  }
  EXPECT_EQ(rows, data.size());

  // Bad queries: the routes' checks, then the historian's.
  const auto path = "/api/v1/trends/" + std::to_string(id);
  for (const auto& target :
       {path + "?end=" + iso(end), path + "?start=" + iso(start),
        path + "?start=" + iso(end) + "&end=" + iso(start),
        path + "?start=" + iso(start) + "&end=" + iso(end) + "&aggregation=mean",
        path + "?start=" + iso(start) + "&end=" + iso(end) + "&aggregation=avg&interval=0s",
        path + "?start=" + iso(start) + "&end=" + iso(end) + "&aggregation=avg&interval=2d",
        path + "?start=" + iso(start) + "&end=" + iso(end) + "&interval=1m",
        path + "?start=" + iso(start) + "&end=" + iso(end) + "&format=xlsx",
        path + "?start=" + iso(start) + "&end=" + iso(end) + "&limit=5",
        std::string("/api/v1/trends/pH?start=") + iso(start) + "&end=" + iso(end)}) {
    auto res = client().get(target, vera);
    EXPECT_EQ(res.status, 400) << target << " -> " << res.body;
  }
  EXPECT_EQ(trend(id + 100, start, end, "", vera).status, 404);
  // 1 s buckets over three days would be 259,200 points: more than one query returns.
  auto too_many = trend(id, start - 3 * 86'400'000LL, end, "&aggregation=avg&interval=1s", vera);
  EXPECT_EQ(too_many.status, 400) << too_many.body;
  EXPECT_NE(too_many.json().value("detail", "").find("points"), std::string::npos) << too_many.body;

  // Statistics.
  auto stats = client().get("/api/v1/trends/stats", vera);
  ASSERT_EQ(stats.status, 200) << stats.body;
  const auto s = stats.json();
  EXPECT_GE(s["total_samples"].get<std::int64_t>(), static_cast<std::int64_t>(data.size()));
  EXPECT_EQ(s["total_tags"], 1);
  EXPECT_LE(ms_of(s["oldest_sample"]), ms_of(data.front()["time"]));
  EXPECT_GE(ms_of(s["newest_sample"]), ms_of(data.back()["time"]));
  EXPECT_TRUE(s["database_size_mb"].is_number());
  EXPECT_GT(s["database_size_mb"].get<double>(), 0.0);
  ASSERT_EQ(s["per_tag"].size(), 1u) << stats.body;
  EXPECT_EQ(s["per_tag"][0]["tag_id"], id);
  EXPECT_GT(s["ingest"]["points_written"].get<std::int64_t>(), 0);

  // Changed, then deleted, by an admin only.
  const auto tag_path = std::string(tags_path) + "/" + std::to_string(id);
  EXPECT_EQ(client().request("PUT", tag_path, R"({"deadband": 0.02})", oscar).status, 403);
  auto changed = client().request("PUT", tag_path, R"({"deadband": 0.02})", admin_);
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(changed.json()["deadband"], 0.02);
  EXPECT_EQ(changed.json()["tag_name"], "pH");
  EXPECT_EQ(changed.json()["compression"], "none");
  EXPECT_EQ(client().request("DELETE", tag_path, "", vera).status, 403);
  auto deleted = client().request("DELETE", tag_path, "", admin_);
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(client().get(tag_path, vera).status, 404);
  EXPECT_EQ(trend(id, start, end, "", vera).status, 404);
  EXPECT_TRUE(client().get(tags_path, vera).json().empty());

  auto audit = client().get("/api/v1/audit?resource_type=historian_tag", admin_).json();
  EXPECT_EQ(audit["entries"].size(), 3u) << audit.dump() << ": create, update, delete";
  EXPECT_EQ(wtcd_.stop(), 0) << wtcd_.log();
}

TEST_F(HistorianOnTheSimulator, SamplesAcknowledgedAsWrittenSurviveAKill9OfWtcd) {
  sim_process plant(WTC_RTU_SIM_PATH, {"--port", "0", "--control-port", "auto"});
  ASSERT_TRUE(plant.started()) << plant.log();
  connect("plant-1", plant.ports().front());
  const auto id = create(ph_tag());
  ASSERT_GT(id, 0);
  const auto start = core::now_ms() - 60'000;
  const auto end = start + 3'600'000;

  // What a trend query returns was read from the database: it was committed.
  nlohmann::json seen;
  ASSERT_TRUE(wait_for(
      [&] {
        seen = points(id, start, end);
        return seen.size() >= 30;
      },
      30s, 200ms))
      << seen.dump() << "\n"
      << wtcd_.log();

  wtcd_.kill();
  const auto killed_at = core::now_ms();
  wtcd_.start();
  admin_ = client().login("admin", "admin-password");
  // The historian answers once it has loaded its tags.
  nlohmann::json after;
  ASSERT_TRUE(wait_for(
      [&] {
        auto res = trend(id, start, end);
        after = res.json();
        return res.status == 200;
      },
      20s, 100ms))
      << after.dump() << "\n"
      << wtcd_.log();

  std::map<std::string, nlohmann::json> kept;
  for (const auto& p : after["data"])
    kept.emplace(p["time"].get<std::string>(), p);
  for (const auto& p : seen) {
    auto it = kept.find(p["time"].get<std::string>());
    ASSERT_NE(it, kept.end()) << "lost by the kill: " << p.dump();
    EXPECT_EQ(it->second["value"], p["value"]) << p.dump();
    EXPECT_EQ(it->second["quality"], p["quality"]) << p.dump();
  }

  // And the recording goes on: the RTU reconnects by itself, the historian records again.
  EXPECT_TRUE(stored_past(id, killed_at)) << wtcd_.log();
  EXPECT_EQ(wtcd_.stop(), 0) << wtcd_.log();
}

}  // namespace
}  // namespace wtc::test
