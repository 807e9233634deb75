// The trend routes in one process, against a historian that only records: the real HTTP server,
// router and dispatcher with add_trend_routes, a stand-in for the historian registered under
// names::historian, and a blocking HTTP client on loopback. What is checked here is the gateway's
// half: what reaches the historian (or is refused before it), and how its answers are written.
// The historian itself is tested against a real wtcd in tests/integration/test_historian.cpp.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "gateway/actor_bridge.hpp"
#include "gateway/api.hpp"
#include "gateway/http_server.hpp"
#include "gateway/replies.hpp"
#include "http_client.hpp"
#include "messages/interfaces.hpp"
#include "messages/register_types.hpp"

namespace wtc {
namespace {

using namespace std::chrono_literals;
using test::http_client;
using test::http_result;

struct config : caf::actor_system_config {
  config() {
    register_types(*this);
    set("scheduler.policy", caf::atom("sharing"));
    set("logger.verbosity", caf::atom("quiet"));
  }
};

// 2026-01-17T00:00:00Z and a minute.
constexpr timestamp_ms t0 = 1'768'608'000'000;
constexpr timestamp_ms minute = 60'000;

/// What the stand-in historian was asked, and what it answers. Shared with the test thread.
struct recorder {
  std::mutex mutex;
  std::vector<historian_tag_record> tags;
  std::int64_t next_id = 1;
  int writes = 0;  // create, update and delete messages that arrived
  request_origin origin;
  std::optional<historian_tag_record> updated;
  std::optional<trend_query> query;
  std::vector<historian_point> points;
  historian_status status;
};

/// The historian's interface, answered from `r`: a name taken twice is a conflict, an unknown id
/// not found, as the real one answers.
historian_api::behavior_type recording_historian(historian_api::pointer,
                                                 std::shared_ptr<recorder> r) {
  const auto find = [r](std::int64_t id) {
    return std::find_if(r->tags.begin(), r->tags.end(),
                        [id](const historian_tag_record& t) { return t.id == id; });
  };
  return {
      [r](caf::get_atom, hist_tag_atom) -> std::vector<historian_tag_record> {
        std::lock_guard<std::mutex> lock(r->mutex);
        return r->tags;
      },
      [r, find](caf::get_atom, hist_tag_atom,
                std::int64_t id) -> caf::result<historian_tag_record> {
        std::lock_guard<std::mutex> lock(r->mutex);
        auto it = find(id);
        if (it == r->tags.end())
          return make_error(errc::not_found, "no historian tag " + std::to_string(id));
        return *it;
      },
      [r](create_atom, historian_tag_record& tag,
          request_origin& origin) -> caf::result<historian_tag_record> {
        std::lock_guard<std::mutex> lock(r->mutex);
        ++r->writes;
        r->origin = origin;
        for (const auto& t : r->tags)
          if (t.tag_name == tag.tag_name)
            return make_error(errc::conflict, "tag_name '" + tag.tag_name + "' is taken");
        tag.id = r->next_id++;
        tag.created_at = tag.updated_at = t0;
        r->tags.push_back(tag);
        return tag;
      },
      [r, find](caf::update_atom, historian_tag_record& tag,
                request_origin& origin) -> caf::result<historian_tag_record> {
        std::lock_guard<std::mutex> lock(r->mutex);
        ++r->writes;
        r->origin = origin;
        r->updated = tag;
        auto it = find(tag.id);
        if (it == r->tags.end())
          return make_error(errc::not_found, "no historian tag " + std::to_string(tag.id));
        tag.updated_at = t0 + minute;
        *it = tag;
        return tag;
      },
      [r, find](caf::delete_atom, hist_tag_atom, std::int64_t id,
                request_origin& origin) -> caf::result<caf::ok_atom> {
        std::lock_guard<std::mutex> lock(r->mutex);
        ++r->writes;
        r->origin = origin;
        auto it = find(id);
        if (it == r->tags.end())
          return make_error(errc::not_found, "no historian tag " + std::to_string(id));
        r->tags.erase(it);
        return caf::ok_atom::value;
      },
      [r, find](caf::get_atom, trend_atom, trend_query& q) -> caf::result<trend_series> {
        std::lock_guard<std::mutex> lock(r->mutex);
        r->query = q;
        auto it = find(q.tag_id);
        if (it == r->tags.end())
          return make_error(errc::not_found, "no historian tag " + std::to_string(q.tag_id));
        if (q.end - q.start > 366 * 86'400'000LL && q.aggregation == "none")
          return make_error(errc::bad_request, "too many points: aggregate");
        return trend_series{*it, q, r->points, "samples", {}};
      },
      [r](caf::get_atom, stats_atom, historian_atom) -> historian_status {
        std::lock_guard<std::mutex> lock(r->mutex);
        return r->status;
      },
      [](sample_batch&) {},
      [](flush_atom, historian_atom) { return caf::ok_atom::value; },
      [](stats_atom) {
        return actor_stats{"recording_historian", 0, 0};
      },
  };
}

/// Tokens of the three roles, without a session manager: the role test covers the real one.
const std::map<std::string, std::pair<std::string, role>> users = {
    {std::string(64, 'a'), {"admin", role::admin}},
    {std::string(64, 'b'), {"oscar", role::operator_}},
    {std::string(64, 'c'), {"vera", role::viewer}}};
const std::string admin = std::string(64, 'a');
const std::string operator_ = std::string(64, 'b');
const std::string viewer = std::string(64, 'c');

gateway::authenticator token_table() {
  return
      [](const gateway::exchange_ptr& ex, std::function<void(const gateway::exchange_ptr&)> next) {
        auto it = users.find(ex->req.token);
        if (it == users.end()) {
          ex->reply(gateway::error_reply(errc::unauthorized, "invalid or expired token"));
          return;
        }
        ex->req.origin.username = it->second.first;
        ex->req.origin.user_role = it->second.second;
        ex->req.session.username = it->second.first;
        ex->req.session.user_role = it->second.second;
        next(ex);
      };
}

std::set<std::string> keys_of(const nlohmann::json& object) {
  std::set<std::string> out;
  for (const auto& [key, value] : object.items())
    out.insert(key);
  return out;
}

nlohmann::json ph_tag() {
  return {{"rtu_station", "plant-1"}, {"slot", 5},
          {"tag_name", "pH_TREND"},   {"unit", "pH"},
          {"deadband", 0.1},          {"compression", "swinging_door"}};
}

class TrendRoutes : public ::testing::Test {
 protected:
  void SetUp() override {
    historian = sys.spawn(recording_historian, log);
    sys.registry().put(names::historian, caf::actor_cast<caf::strong_actor_ptr>(historian));
    gateway::add_trend_routes(routes, api);
    std::vector<std::string> labels;
    for (const auto& r : routes.routes())
      labels.push_back(r.label);
    metrics = std::make_unique<gateway::http_metrics>(std::move(labels));
    gateway::server_config sc;
    sc.bind_address = "127.0.0.1";
    sc.port = 0;
    sc.io_threads = 1;
    server = std::make_unique<gateway::http_server>(
        sc, [this](const gateway::exchange_ptr& ex) { dispatch(ex); }, *metrics,
        [this](std::function<void(std::function<void()>)> post) {
          bridge.attach_this_thread(std::move(post));
        });
    server->start();
  }

  void TearDown() override {
    server->stop();
    bridge.detach_all();
    sys.registry().erase(names::historian);
    caf::anon_send_exit(historian, caf::exit_reason::user_shutdown);
  }

  http_client client() const { return http_client(server->port()); }
  http_result get(const std::string& target, const std::string& token = viewer) const {
    return client().get(target, token);
  }
  http_result post(const nlohmann::json& body, const std::string& token = admin) const {
    return client().post("/api/v1/trends/tags", body, token);
  }
  http_result put(std::int64_t id, const std::string& body, const std::string& token = admin) {
    return client().request("PUT", "/api/v1/trends/tags/" + std::to_string(id), body, token);
  }
  int writes() {
    std::lock_guard<std::mutex> lock(log->mutex);
    return log->writes;
  }
  trend_query last_query() {
    std::lock_guard<std::mutex> lock(log->mutex);
    return log->query.value_or(trend_query{});
  }
  historian_tag_record updated() {
    std::lock_guard<std::mutex> lock(log->mutex);
    return log->updated.value_or(historian_tag_record{});
  }
  std::string caller() {
    std::lock_guard<std::mutex> lock(log->mutex);
    return log->origin.username;
  }
  bool asked() {
    std::lock_guard<std::mutex> lock(log->mutex);
    return log->query.has_value();
  }
  /// Creates the pH tag and gives the historian these points to answer with.
  std::int64_t ph_with(std::vector<historian_point> points) {
    auto created = post(ph_tag());
    EXPECT_EQ(created.status, 200) << created.body;
    std::lock_guard<std::mutex> lock(log->mutex);
    log->points = std::move(points);
    return created.json().value("id", 0);
  }

  std::shared_ptr<recorder> log = std::make_shared<recorder>();
  config cfg;
  caf::actor_system sys{cfg};
  historian_api historian;
  gateway::api_context api{sys, {}, std::make_shared<health_board>(), nullptr, nullptr, nullptr};
  gateway::router routes;
  gateway::dispatcher dispatch{routes, token_table()};
  std::unique_ptr<gateway::http_metrics> metrics;  // one series per route
  gateway::actor_bridge bridge{sys};
  std::unique_ptr<gateway::http_server> server;
};

const std::string window = "?start=2026-01-17T00:00:00Z&end=2026-01-17T01:00:00Z";

TEST_F(TrendRoutes, ATagIsCreatedListedChangedAndDeletedWithTheContractsFields) {
  auto created = post(ph_tag());
  ASSERT_EQ(created.status, 200) << created.body;
  const auto tag = created.json();
  EXPECT_EQ(keys_of(tag),
            (std::set<std::string>{"id", "rtu_station", "slot", "tag_name", "unit",
                                   "sample_rate_ms", "deadband", "compression", "max_interval_ms",
                                   "enabled", "created_at", "updated_at"}));
  EXPECT_EQ(tag["id"], 1);
  EXPECT_EQ(tag["rtu_station"], "plant-1");
  EXPECT_EQ(tag["slot"], 5);
  EXPECT_EQ(tag["tag_name"], "pH_TREND");
  EXPECT_EQ(tag["unit"], "pH");
  EXPECT_EQ(tag["sample_rate_ms"], 1000) << "the contract's default";
  EXPECT_EQ(tag["deadband"], 0.1);
  EXPECT_EQ(tag["compression"], "swinging_door");
  EXPECT_EQ(tag["enabled"], true);
  EXPECT_EQ(tag["created_at"], "2026-01-17T00:00:00Z");
  EXPECT_EQ(caller(), "admin") << "the change is the caller's, for the audit";

  EXPECT_EQ(get("/api/v1/trends/tags").json(), nlohmann::json::array({tag}));
  EXPECT_EQ(get("/api/v1/trends/tags/1").json(), tag);
  EXPECT_EQ(get("/api/v1/trends/tags/2").status, 404);

  // A PUT merges its fields over the stored tag.
  auto changed = put(1, R"({"deadband": 0.25, "compression": "deadband", "unit": null})");
  ASSERT_EQ(changed.status, 200) << changed.body;
  const auto sent = updated();
  EXPECT_EQ(sent.id, 1);
  EXPECT_EQ(sent.tag_name, "pH_TREND");
  EXPECT_EQ(sent.rtu_station, "plant-1");
  EXPECT_EQ(sent.slot, 5);
  EXPECT_EQ(sent.deadband, 0.25);
  EXPECT_EQ(sent.compression, "deadband");
  EXPECT_EQ(sent.unit, "") << "null clears the unit";
  EXPECT_TRUE(changed.json()["unit"].is_null());
  EXPECT_EQ(changed.json()["updated_at"], "2026-01-17T00:01:00Z");
  // What GET shows may be sent back as it is.
  auto again = changed.json();
  again["enabled"] = false;
  auto echoed = put(1, again.dump());
  ASSERT_EQ(echoed.status, 200) << echoed.body;
  EXPECT_EQ(echoed.json()["enabled"], false);
  EXPECT_EQ(echoed.json()["deadband"], 0.25);
  EXPECT_EQ(put(1, R"({"id": 2})").status, 400) << "the path says which tag";
  EXPECT_EQ(put(9, R"({"deadband": 1})").status, 404);

  auto deleted = client().request("DELETE", "/api/v1/trends/tags/1", "", admin);
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(deleted.json()["status"], "ok");
  EXPECT_EQ(get("/api/v1/trends/tags/1").status, 404);
  EXPECT_EQ(client().request("DELETE", "/api/v1/trends/tags/1", "", admin).status, 404);
  EXPECT_TRUE(get("/api/v1/trends/tags").json().empty());
}

TEST_F(TrendRoutes, WritesAreAdminsAndReadsViewers) {
  EXPECT_EQ(post(ph_tag(), viewer).status, 403);
  EXPECT_EQ(post(ph_tag(), operator_).status, 403);
  EXPECT_EQ(post(ph_tag(), "").status, 401);
  EXPECT_EQ(writes(), 0);
  ASSERT_EQ(post(ph_tag()).status, 200);
  EXPECT_EQ(put(1, R"({"deadband": 1})", operator_).status, 403);
  EXPECT_EQ(client().request("DELETE", "/api/v1/trends/tags/1", "", viewer).status, 403);
  EXPECT_EQ(writes(), 1);
  EXPECT_EQ(get("/api/v1/trends/tags", viewer).status, 200);
  EXPECT_EQ(get("/api/v1/trends/tags/1", viewer).status, 200);
  EXPECT_EQ(get("/api/v1/trends/stats", viewer).status, 200);
  EXPECT_EQ(get("/api/v1/trends/1" + window, viewer).status, 200);
  EXPECT_EQ(get("/api/v1/trends/1" + window, "").status, 401);
}

TEST_F(TrendRoutes, BadTagsAreRefusedBeforeTheHistorianSeesThem) {
  const auto with = [](const std::string& change) {
    auto body = ph_tag();
    body.update(nlohmann::json::parse(change));
    return body;
  };
  auto without = [](const std::string& field) {
    auto body = ph_tag();
    body.erase(field);
    return body;
  };
  const std::vector<nlohmann::json> bad = {
      without("tag_name"),
      without("slot"),
      without("rtu_station"),
      with(R"({"colour": "red"})"),
      with(R"({"id": 7})"),
      with(R"({"created_at": "2026-01-17T00:00:00Z"})"),
      with(R"({"updated_at": "2026-01-17T00:00:00Z"})"),
      with(R"({"tag_name": ""})"),
      with(R"({"tag_name": null})"),
      with(R"({"tag_name": 5})"),
      with(nlohmann::json{{"tag_name", std::string(65, 'x')}}.dump()),
      with(R"({"tag_name": "pH\ntrend"})"),
      with(R"({"rtu_station": "plant 1"})"),
      with(nlohmann::json{{"rtu_station", std::string(33, 'r')}}.dump()),
      with(R"({"rtu_station": ""})"),
      with(R"({"slot": -1})"),
      with(R"({"slot": 32768})"),
      with(R"({"slot": 5.5})"),
      with(R"({"slot": "5"})"),
      with(R"({"unit": "mg/L of free chlorine"})"),
      with(R"({"unit": 7})"),
      with(R"({"sample_rate_ms": 99})"),
      with(R"({"sample_rate_ms": 86400001})"),
      with(R"({"sample_rate_ms": null})"),
      with(R"({"deadband": -0.1})"),
      with(R"({"deadband": "0.1"})"),
      with(R"({"deadband": null})"),
      with(R"({"compression": "zip"})"),
      with(R"({"compression": "SWINGING_DOOR"})"),
      with(R"({"max_interval_ms": -1})"),
      with(R"({"max_interval_ms": 0})"),
      with(R"({"max_interval_ms": 999})"),
      with(R"({"max_interval_ms": 604800001})"),
      with(R"({"enabled": "yes"})"),
  };
  for (const auto& body : bad) {
    auto res = post(body);
    EXPECT_EQ(res.status, 400) << body.dump() << " -> " << res.body;
    EXPECT_NE(res.json().value("detail", ""), "") << body.dump();
  }
  EXPECT_EQ(client().request("POST", "/api/v1/trends/tags", "{\"tag_name\":", admin).status, 400);
  EXPECT_EQ(client().request("POST", "/api/v1/trends/tags", "[]", admin).status, 400);
  EXPECT_EQ(writes(), 0);

  // The limits themselves are allowed.
  const std::vector<nlohmann::json> edges = {
      with(nlohmann::json{{"tag_name", std::string(64, 'x')}, {"unit", std::string(16, 'u')}}
               .dump()),
      with(R"({"tag_name": "a", "slot": 0, "sample_rate_ms": 100, "deadband": 0,
               "max_interval_ms": 1000, "compression": "none", "enabled": false})"),
      with(nlohmann::json{{"tag_name", "b"},
                          {"rtu_station", std::string(32, 'r')},
                          {"slot", 32767},
                          {"sample_rate_ms", 86'400'000},
                          {"max_interval_ms", 604'800'000},
                          {"compression", "deadband"},
                          {"unit", nullptr}}
               .dump()),
  };
  for (const auto& body : edges)
    EXPECT_EQ(post(body).status, 200) << body.dump();

  // What needs the other tags is the historian's to say.
  ASSERT_EQ(post(ph_tag()).status, 200);
  EXPECT_EQ(post(ph_tag()).status, 409);

  // PUT: the same checks, with every field optional.
  const auto id = get("/api/v1/trends/tags").json().back()["id"].get<std::int64_t>();
  const auto before = writes();
  for (const auto& change : {R"({"slot": -1})", R"({"deadband": null})", R"({"unit": 5})",
                             R"({"tag_name": ""})", R"({"colour": 1})", R"({"compression": 1})",
                             R"({"sample_rate_ms": 0})", R"({"max_interval_ms": 1e12})"})
    EXPECT_EQ(put(id, change).status, 400) << change;
  EXPECT_EQ(writes(), before);
}

TEST_F(TrendRoutes, ARawTrendHasExactlyTheContractsShape) {
  const auto nan = std::numeric_limits<double>::quiet_NaN();
  const auto id = ph_with({{1, t0, 7.0, historian_good},
                           {1, t0 + 1'500, 7.125, historian_uncertain},
                           {1, t0 + minute, nan, historian_bad},
                           {1, t0 + 2 * minute, 0.0, historian_not_connected}});
  auto res = get("/api/v1/trends/" + std::to_string(id) + window);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.header("content-type"), "application/json");
  const auto trend = res.json();
  for (const auto* key : {"tag_id", "tag_name", "start_time", "end_time", "data"})
    EXPECT_TRUE(trend.contains(key)) << key;
  EXPECT_EQ(trend["tag_id"], id);
  EXPECT_EQ(trend["tag_name"], "pH_TREND");
  EXPECT_EQ(trend["unit"], "pH");
  EXPECT_EQ(trend["start_time"], "2026-01-17T00:00:00Z");
  EXPECT_EQ(trend["end_time"], "2026-01-17T01:00:00Z");
  EXPECT_EQ(trend["aggregation"], "none");
  EXPECT_TRUE(trend["interval"].is_null());
  const auto expected = nlohmann::json::parse(R"([
      {"time": "2026-01-17T00:00:00Z", "value": 7.0, "quality": "GOOD"},
      {"time": "2026-01-17T00:00:01.500Z", "value": 7.125, "quality": "UNCERTAIN"},
      {"time": "2026-01-17T00:01:00Z", "value": null, "quality": "BAD"},
      {"time": "2026-01-17T00:02:00Z", "value": 0.0, "quality": "NOT_CONNECTED"}])");
  EXPECT_EQ(trend["data"], expected);
  for (const auto& point : trend["data"])
    EXPECT_EQ(keys_of(point), (std::set<std::string>{"time", "value", "quality"}));

  const auto q = last_query();
  EXPECT_EQ(q.tag_id, id);
  EXPECT_EQ(q.start, t0);
  EXPECT_EQ(q.end, t0 + 60 * minute);
  EXPECT_EQ(q.aggregation, "none");

  // Times in any ISO 8601 form arrive as UTC milliseconds.
  ASSERT_EQ(
      get("/api/v1/trends/1?start=2026-01-17T01:00:00%2B01:00&end=2026-01-17T00:30:00.250Z").status,
      200);
  EXPECT_EQ(last_query().start, t0);
  EXPECT_EQ(last_query().end, t0 + 30 * minute + 250);
}

TEST_F(TrendRoutes, AnAggregationGetsItsIntervalOrAMinute) {
  const auto id = ph_with({{1, t0, 7.0, historian_good}});
  const auto path = "/api/v1/trends/" + std::to_string(id) + window;
  for (const auto& [query, aggregation, interval_ms, interval] :
       std::vector<std::tuple<std::string, std::string, std::int64_t, std::string>>{
           {"&aggregation=avg", "avg", 60'000, "1m"},
           {"&aggregation=min&interval=5m", "min", 300'000, "5m"},
           {"&aggregation=max&interval=1h", "max", 3'600'000, "1h"},
           {"&aggregation=first&interval=1s", "first", 1'000, "1s"},
           {"&aggregation=last&interval=1d", "last", 86'400'000, "1d"},
           {"&aggregation=count&interval=90s", "count", 90'000, "90s"},
           {"&aggregation=avg&interval=24h", "avg", 86'400'000, "1d"},
           {"&aggregation=none", "none", 60'000, ""}}) {
    auto res = get(path + query);
    ASSERT_EQ(res.status, 200) << query << " -> " << res.body;
    EXPECT_EQ(last_query().aggregation, aggregation) << query;
    EXPECT_EQ(last_query().interval_ms, interval_ms) << query;
    EXPECT_EQ(res.json()["aggregation"], aggregation) << query;
    if (interval.empty())
      EXPECT_TRUE(res.json()["interval"].is_null()) << query;
    else
      EXPECT_EQ(res.json()["interval"], interval) << query;
  }
}

TEST_F(TrendRoutes, BadTrendQueriesAreRefusedBeforeTheHistorianSeesThem) {
  ph_with({});
  for (const auto& target : std::vector<std::string>{
           "/api/v1/trends/1",
           "/api/v1/trends/1?start=2026-01-17T00:00:00Z",
           "/api/v1/trends/1?end=2026-01-17T00:00:00Z",
           "/api/v1/trends/1?start=2026-01-17T01:00:00Z&end=2026-01-17T00:00:00Z",
           "/api/v1/trends/1?start=2026-01-17T00:00:00Z&end=2026-01-17T00:00:00Z",
           "/api/v1/trends/1?start=yesterday&end=2026-01-17T00:00:00Z",
           "/api/v1/trends/1?start=&end=2026-01-17T00:00:00Z",
           "/api/v1/trends/1" + window + "&aggregation=mean",
           "/api/v1/trends/1" + window + "&aggregation=AVG",
           "/api/v1/trends/1" + window + "&aggregation=",
           "/api/v1/trends/1" + window + "&aggregation=avg&interval=0s",
           "/api/v1/trends/1" + window + "&aggregation=avg&interval=500ms",
           "/api/v1/trends/1" + window + "&aggregation=avg&interval=999ms",
           "/api/v1/trends/1" + window + "&aggregation=avg&interval=2d",
           "/api/v1/trends/1" + window + "&aggregation=avg&interval=25h",
           "/api/v1/trends/1" + window + "&aggregation=avg&interval=1w",
           "/api/v1/trends/1" + window + "&aggregation=avg&interval=-1m",
           "/api/v1/trends/1" + window + "&aggregation=avg&interval=m",
           "/api/v1/trends/1" + window + "&aggregation=avg&interval=",
           "/api/v1/trends/1" + window + "&interval=1m",
           "/api/v1/trends/1" + window + "&aggregation=none&interval=1m",
           "/api/v1/trends/1" + window + "&format=xml",
           "/api/v1/trends/1" + window + "&format=CSV",
           "/api/v1/trends/1" + window + "&limit=10",
           "/api/v1/trends/1" + window + "&start=2026-01-17T00:00:00Z",
           "/api/v1/trends/pH" + window,
           "/api/v1/trends/0" + window,
           "/api/v1/trends/-1" + window,
       }) {
    auto res = get(target);
    EXPECT_EQ(res.status, 400) << target << " -> " << res.body;
    EXPECT_NE(res.json().value("detail", ""), "") << target;
  }
  EXPECT_FALSE(asked());
  // What needs the data is the historian's to say, and its word passes through.
  EXPECT_EQ(get("/api/v1/trends/2" + window).status, 404);
  auto too_many = get("/api/v1/trends/1?start=2020-01-01T00:00:00Z&end=2026-01-01T00:00:00Z");
  EXPECT_EQ(too_many.status, 400);
  EXPECT_EQ(too_many.json()["detail"], "too many points: aggregate");
}

TEST_F(TrendRoutes, CsvIsAnAttachmentNamedAfterTheTag) {
  const auto nan = std::numeric_limits<double>::quiet_NaN();
  const auto id = ph_with({{1, t0, 7.0, historian_good},
                           {1, t0 + 1'500, 7.125, historian_uncertain},
                           {1, t0 + minute, nan, historian_bad},
                           {1, t0 + 2 * minute, 0.1, historian_not_connected}});
  auto res = get("/api/v1/trends/" + std::to_string(id) + window + "&format=csv");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.header("content-type").rfind("text/csv", 0), 0u) << res.header("content-type");
  EXPECT_EQ(res.header("content-disposition"), "attachment; filename=\"pH_TREND.csv\"");
  EXPECT_EQ(res.body,
            "time,value,quality\r\n"
            "2026-01-17T00:00:00Z,7,GOOD\r\n"
            "2026-01-17T00:00:01.500Z,7.125,UNCERTAIN\r\n"
            "2026-01-17T00:01:00Z,,BAD\r\n"
            "2026-01-17T00:02:00Z,0.1,NOT_CONNECTED\r\n");

  // A name that is no file name, nor safe inside a header, is made one.
  ASSERT_EQ(put(id, R"({"tag_name": "pH \"raw\"; x=1 / ü"})").status, 200);
  auto odd = get("/api/v1/trends/" + std::to_string(id) + window + "&format=csv");
  EXPECT_EQ(odd.header("content-disposition"), "attachment; filename=\"pH__raw___x_1_____.csv\"");

  // No points: the header alone.
  {
    std::lock_guard<std::mutex> lock(log->mutex);
    log->points.clear();
  }
  auto empty = get("/api/v1/trends/" + std::to_string(id) + window +
                   "&format=csv&aggregation=avg&interval=1h");
  EXPECT_EQ(empty.body, "time,value,quality\r\n");
  EXPECT_EQ(last_query().interval_ms, 3'600'000);
}

TEST_F(TrendRoutes, StatsHaveTheContractsFieldsAndTheHistoriansCounters) {
  {
    std::lock_guard<std::mutex> lock(log->mutex);
    auto& s = log->status;
    s.stored.sample_rows = 1'000'000;
    s.stored.rollup_rows = 17'000;
    s.stored.bytes = 250 * 1024 * 1024 + 5 * 1024 * 1024 / 100 + 1;  // 250.05 MiB
    s.stored.oldest = t0;
    s.stored.newest = t0 + 12 * 60 * minute;
    s.stored.per_tag = {{1, 600'000, t0, t0 + minute}, {2, 400'000, t0 + minute, t0 + 2 * minute}};
    s.stored_as_of = t0 + 12 * 60 * minute + 500;
    s.tags = 50;
    s.tags_enabled = 49;
    s.samples_received = 123;
    s.points_written = 100;
    s.retention_days = 90;
    s.max_bytes = 1024LL * 1024 * 1024;
  }
  auto res = get("/api/v1/trends/stats");
  ASSERT_EQ(res.status, 200) << res.body;
  const auto stats = res.json();
  EXPECT_EQ(stats["total_samples"], 1'000'000);
  EXPECT_EQ(stats["oldest_sample"], "2026-01-17T00:00:00Z");
  EXPECT_EQ(stats["newest_sample"], "2026-01-17T12:00:00Z");
  EXPECT_EQ(stats["total_tags"], 50);
  EXPECT_EQ(stats["database_size_mb"], 250.05);
  EXPECT_EQ(stats["database_size_bytes"], 250 * 1024 * 1024 + 5 * 1024 * 1024 / 100 + 1);
  EXPECT_EQ(stats["enabled_tags"], 49);
  EXPECT_EQ(stats["rollup_rows"], 17'000);
  EXPECT_EQ(stats["stored_as_of"], "2026-01-17T12:00:00.500Z");
  EXPECT_EQ(stats["retention_days"], 90);
  EXPECT_EQ(stats["max_size_mb"], 1024.0);
  ASSERT_EQ(stats["per_tag"].size(), 2u);
  EXPECT_EQ(stats["per_tag"][1], nlohmann::json::parse(R"({"tag_id": 2, "samples": 400000,
      "oldest_sample": "2026-01-17T00:01:00Z", "newest_sample": "2026-01-17T00:02:00Z"})"));
  EXPECT_EQ(stats["ingest"]["samples_received"], 123);
  EXPECT_EQ(stats["ingest"]["points_written"], 100);
  EXPECT_EQ(stats["ingest"]["points_dropped"], 0);

  // Nothing stored yet: no times, no size cap.
  {
    std::lock_guard<std::mutex> lock(log->mutex);
    log->status = historian_status{};
  }
  const auto empty = get("/api/v1/trends/stats").json();
  EXPECT_TRUE(empty["oldest_sample"].is_null());
  EXPECT_TRUE(empty["newest_sample"].is_null());
  EXPECT_TRUE(empty["max_size_mb"].is_null());
  EXPECT_EQ(empty["database_size_mb"], 0.0);
  EXPECT_EQ(get("/api/v1/trends/stats?verbose=1").status, 400);
}

TEST_F(TrendRoutes, TagsAndStatsAreNeverReadAsATagId) {
  EXPECT_EQ(get("/api/v1/trends/tags").status, 200);
  EXPECT_EQ(get("/api/v1/trends/stats").status, 200);
  EXPECT_FALSE(asked());
  auto put_list = client().request("PUT", "/api/v1/trends/tags", "{}", admin);
  EXPECT_EQ(put_list.status, 405);
  EXPECT_EQ(put_list.header("allow"), "GET, POST");
  auto delete_stats = client().request("DELETE", "/api/v1/trends/stats", "", admin);
  EXPECT_EQ(delete_stats.status, 405);
  EXPECT_EQ(delete_stats.header("allow"), "GET");
  EXPECT_EQ(get("/api/v1/trends/tags/tags").status, 400);
  EXPECT_EQ(get("/api/v1/trends/tags/").status, 404);
}

TEST_F(TrendRoutes, AHistorianThatIsRestartingIsA503) {
  sys.registry().erase(names::historian);
  EXPECT_EQ(get("/api/v1/trends/tags").status, 503);
  EXPECT_EQ(get("/api/v1/trends/1" + window).status, 503);
  EXPECT_EQ(get("/api/v1/trends/stats").status, 503);
}

}  // namespace
}  // namespace wtc
