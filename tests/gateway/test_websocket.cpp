// /ws/live end to end in one process: the real HTTP server with the WebSocket route, the real
// live hub and field bus, the real session manager for tokens, and WebSocket clients on loopback.

#include <gtest/gtest.h>

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <caf/all.hpp>

#include "actors/field_bus.hpp"
#include "actors/live_hub.hpp"
#include "actors/root_supervisor.hpp"
#include "actors/session_manager.hpp"
#include "actors/storage_actor.hpp"
#include "core/password.hpp"
#include "core/time.hpp"
#include "gateway/actor_bridge.hpp"
#include "gateway/api.hpp"
#include "gateway/http_server.hpp"
#include "messages/register_types.hpp"
#include "ws_client.hpp"

namespace wtc {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::ws_client;
using test::ws_options;

struct config : caf::actor_system_config {
  config() {
    register_types(*this);
    set("scheduler.policy", caf::atom("sharing"));
    set("logger.verbosity", caf::atom("quiet"));
  }
};

std::set<std::string> keys_of(const nlohmann::json& object) {
  std::set<std::string> out;
  for (const auto& [key, value] : object.items())
    out.insert(key);
  return out;
}

std::int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// The real field bus.
field_bus_api spawn_field_bus(caf::actor_system& sys) {
  return sys.spawn(field_bus, field_bus_config{});
}

sample changed_sample(std::string tag, std::int32_t slot, double value) {
  sample s;
  s.tag = std::move(tag);
  s.slot = slot;
  s.value = value;
  s.q = quality::good;
  s.changed = true;
  s.timestamp = core::now_ms();
  return s;
}

class WebSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("wtc-ws-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    storage::db_config db{"", dir.string()};
    {
      auto store = storage::open_store(db);
      store->migrate();
      user_record u;
      u.username = "vera";
      u.password_hash = core::hash_password("vera-password", 10);
      u.user_role = role::viewer;
      audit_entry a;
      a.timestamp = core::now_ms();
      a.action = "user_create";
      store->create_user(u, a);
    }
    session_config sc;
    sc.bcrypt_cost = 10;
    auto board = std::make_shared<health_board>();
    supervisor = sys.spawn(
        root_supervisor,
        std::vector<child_spec>{{names::storage,
                                 [db, board](caf::actor_system& s) {
                                   return caf::actor_cast<caf::actor>(
                                       s.spawn<caf::detached>(storage_actor, db, board));
                                 }},
                                {names::sessions,
                                 [sc](caf::actor_system& s) {
                                   return caf::actor_cast<caf::actor>(s.spawn(session_manager, sc));
                                 }}},
        restart_policy{});
    self->request(supervisor, 10s, stats_atom::value)
        .receive([](std::vector<actor_stats>&) {},
                 [](caf::error& err) { FAIL() << to_string(err); });
    bus = spawn_field_bus(sys);
    sys.registry().put(names::field_bus, caf::actor_cast<caf::strong_actor_ptr>(bus));
    start_hub();
  }

  void TearDown() override {
    // wtcd's order: the server stops (and cuts its sessions off from the hub), then the actors.
    if (server)
      server->stop();
    bridge.detach_all();
    self->send_exit(hub, caf::exit_reason::user_shutdown);
    self->send_exit(bus, caf::exit_reason::user_shutdown);
    auto storage = lookup<storage_api>(sys, names::storage);
    self->monitor(storage);
    self->send_exit(supervisor, caf::exit_reason::user_shutdown);
    self->receive([](caf::down_msg&) {},
                  caf::after(10s) >> [] { ADD_FAILURE() << "storage did not stop"; });
    fs::remove_all(dir);
  }

  void start_hub() {
    live_hub_config hc;
    hc.resubscribe_delay = 20ms;
    hc.board = live;
    hub = sys.spawn(live_hub, hc);
    sys.registry().erase(names::live_hub);
    sys.registry().put(names::live_hub, caf::actor_cast<caf::strong_actor_ptr>(hub));
    // The hub has sent its subscription to the bus once it answers: anything sent to the bus
    // after this reaches it.
    EXPECT_TRUE(hub_stats().bus_subscribed);
  }

  void start_server(gateway::websocket_config wc = {}) {
    service =
        std::make_shared<gateway::websocket_service>(wc, live, gateway::session_authenticator(api));
    gateway::server_config sc;
    sc.bind_address = "127.0.0.1";
    sc.port = 0;
    sc.io_threads = 2;
    sc.websocket = service;
    server = std::make_unique<gateway::http_server>(
        sc, [this](const gateway::exchange_ptr& ex) { dispatch(ex); }, metrics,
        [this](std::function<void(std::function<void()>)> post) {
          bridge.attach_this_thread(std::move(post));
        });
    server->start();
  }

  /// Connects and reads the hub's confirmation, so that what the test publishes afterwards
  /// reaches the client.
  void open(ws_client& client, const ws_options& options = {}) {
    auto hs = client.connect(server->port(), options);
    ASSERT_EQ(hs.status, 101) << hs.error << " " << hs.body;
    auto hello = client.read_json();
    ASSERT_TRUE(hello) << client.error();
    ASSERT_EQ((*hello)["type"], "subscribed");
  }

  std::string login() {
    std::string token;
    request_origin origin;
    origin.ip_address = "127.0.0.1";
    self->request(lookup<session_api>(sys, names::sessions), 10s, login_atom::value,
                  std::string("vera"), std::string("vera-password"), origin, std::string("test"))
        .receive([&](issued_token& issued) { token = issued.token; },
                 [](caf::error& err) { FAIL() << to_string(err); });
    return token;
  }

  live_stats hub_stats() {
    live_stats out;
    self->request(hub, 5s, caf::get_atom::value, stats_atom::value)
        .receive([&](live_stats& s) { out = s; },
                 [](caf::error& err) { FAIL() << to_string(err); });
    return out;
  }

  fs::path dir;
  std::shared_ptr<live_board> live = std::make_shared<live_board>();
  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  supervisor_api supervisor;
  field_bus_api bus;
  live_hub_api hub;
  gateway::api_context api{sys, {}, std::make_shared<health_board>(), nullptr, nullptr, nullptr};
  gateway::router routes;  // no REST routes: this suite is about /ws/live
  gateway::dispatcher dispatch{routes, gateway::session_authenticator(api)};
  gateway::http_metrics metrics{std::vector<std::string>{}};
  gateway::actor_bridge bridge{sys};
  std::shared_ptr<gateway::websocket_service> service;
  std::unique_ptr<gateway::http_server> server;
};

TEST_F(WebSocketTest, AnonymousClientReceivesEachMessageTypeWithTheContractsFields) {
  start_server();
  ws_client client;
  open(client);

  sample_batch samples;
  samples.station = "water-treat-rtu-1";
  samples.samples = {changed_sample("pH_SENSOR_1", 1, 7.2)};
  samples.samples.push_back(samples.samples.front());
  samples.samples.back().tag = "UNCHANGED";
  samples.samples.back().changed = false;
  self->send(bus, samples);
  actuator_batch actuators;
  actuators.station = "water-treat-rtu-1";
  actuator_state pump;
  pump.tag = "PUMP_1";
  pump.slot = 5;
  pump.command = command_kind::on;
  actuators.actuators = {pump};
  self->send(bus, actuators);
  rtu_event up;
  up.station = "water-treat-rtu-1";
  up.ip_address = "10.0.0.1";
  up.old_state = rtu_state::discovery;
  up.new_state = rtu_state::running;
  up.reason = "discovery complete";
  self->send(bus, up);
  rtu_event down = up;
  down.old_state = rtu_state::running;
  down.new_state = rtu_state::error;
  down.reason = "connection lost";
  self->send(bus, down);

  const std::vector<std::pair<std::string, std::set<std::string>>> expected{
      {"sensor_update", {"rtu", "slot", "tag", "value", "quality", "timestamp"}},
      {"actuator_update", {"rtu", "slot", "tag", "command", "pwm_duty", "forced"}},
      {"rtu_state_change", {"station_name", "old_state", "new_state", "reason"}},
      {"rtu_connected", {"station_name", "ip_address"}},
      {"rtu_state_change", {"station_name", "old_state", "new_state", "reason"}},
      {"rtu_disconnected", {"station_name", "reason"}},
  };
  std::vector<nlohmann::json> got;
  for (const auto& [type, fields] : expected) {
    auto msg = client.read_json();
    ASSERT_TRUE(msg) << "waiting for " << type << ": " << client.error();
    EXPECT_EQ(keys_of(*msg), (std::set<std::string>{"type", "data"}));
    EXPECT_EQ((*msg)["type"], type);
    EXPECT_EQ(keys_of((*msg)["data"]), fields) << msg->dump();
    got.push_back(*msg);
  }
  EXPECT_EQ(got[0]["data"]["tag"], "pH_SENSOR_1");
  EXPECT_EQ(got[0]["data"]["quality"], "GOOD");
  EXPECT_EQ(got[1]["data"]["command"], "ON");
  EXPECT_EQ(got[3]["data"]["ip_address"], "10.0.0.1");
  EXPECT_EQ(got[4]["data"]["new_state"], "ERROR");
  EXPECT_EQ(got[5]["data"]["reason"], "connection lost");
}

TEST_F(WebSocketTest, SubscribeNarrowsTheStreamToSomeRtusOrTags) {
  start_server();
  ws_client client;
  open(client);
  client.send_text(R"({"type":"subscribe","rtus":["rtu-2"],"tags":["T1"]})");
  auto ack = client.read_json();
  ASSERT_TRUE(ack) << client.error();
  EXPECT_EQ(
      *ack,
      (nlohmann::json{
          {"type", "subscribed"},
          {"data", {{"rtus", {"rtu-2"}}, {"tags", {"T1"}}, {"types", nlohmann::json::array()}}}}));
  for (std::string station : {"rtu-1", "rtu-2"}) {
    sample_batch batch;
    batch.station = station;
    batch.samples = {changed_sample("T1", 1, 1), changed_sample("T2", 2, 2)};
    self->send(bus, batch);
  }
  rtu_event last;
  last.station = "rtu-2";
  last.old_state = rtu_state::running;
  last.new_state = rtu_state::offline;
  self->send(bus, last);
  std::vector<std::string> seen;
  while (seen.empty() || seen.back() != "rtu_disconnected") {
    auto msg = client.read_json();
    ASSERT_TRUE(msg) << client.error();
    const auto& data = (*msg)["data"];
    seen.push_back((*msg)["type"].get<std::string>());
    if (data.contains("rtu"))
      seen.back() += ":" + data["rtu"].get<std::string>() + ":" + data["tag"].get<std::string>();
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"sensor_update:rtu-2:T1", "rtu_state_change",
                                            "rtu_disconnected"}));

  // Empty lists: everything again.
  client.send_text(R"({"type":"subscribe"})");
  ack = client.read_json();
  ASSERT_TRUE(ack);
  EXPECT_EQ((*ack)["data"]["rtus"], nlohmann::json::array());
}

TEST_F(WebSocketTest, BadMessagesGetAnErrorAndTheConnectionStaysOpen) {
  start_server();
  ws_client client;
  open(client);
  const std::vector<std::pair<std::string, std::string>> bad{
      {"{not json", "not valid JSON"},
      {R"(["subscribe"])", "JSON object"},
      {R"({"type":"unsubscribe"})", "unknown message type"},
      {R"({"type":"subscribe","rtus":"rtu-1"})", "array of strings"},
      {R"({"type":"subscribe","rtus":[1]})", "non-empty strings"},
      {R"({"type":"subscribe","stations":["rtu-1"]})", "unknown field 'stations'"},
  };
  for (const auto& [text, expected] : bad) {
    client.send_text(text);
    auto reply = client.read_json();
    ASSERT_TRUE(reply) << client.error();
    EXPECT_EQ((*reply)["type"], "error") << text;
    EXPECT_NE((*reply)["data"]["detail"].get<std::string>().find(expected), std::string::npos)
        << text << " -> " << reply->dump();
  }
  client.send_binary("\x01\x02");
  auto reply = client.read_json();
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["type"], "error");
  client.send_text(R"({"type":"subscribe","types":["rtu_connected"]})");
  reply = client.read_json();
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["type"], "subscribed");
}

TEST_F(WebSocketTest, AMessageOverTheLimitClosesTheConnectionWith1009) {
  gateway::websocket_config wc;
  wc.max_message = 4096;
  start_server(wc);
  ws_client client;
  open(client);
  client.send_text(R"({"type":"subscribe","rtus":[")" + std::string(5000, 'x') + R"("]})");
  EXPECT_FALSE(client.read());
  EXPECT_EQ(client.close_code(), 1009) << client.error();
}

TEST_F(WebSocketTest, AClientThatStopsReadingDoesNotDelayAFastOne) {
  gateway::websocket_config wc;
  wc.batch_bytes = 4096;
  wc.socket_send_buffer = 16 * 1024;
  wc.overflow_interval = std::chrono::milliseconds(0);  // a notice with every skip  // so that the kernel holds little of the slow one's backlog
  start_server(wc);
  ws_client fast;
  ws_client slow;
  open(fast);
  open(slow, ws_options{"/ws/live", "", 4096});  // from here on, `slow` reads nothing

  constexpr int tags = 20;
  constexpr int batches = 250;
  // The fast client reads on a thread of its own; the test publishes one batch, waits until the
  // fast client has all of it, then publishes the next. Were the slow client able to hold the
  // hub or the io thread up, this lock step would stall.
  std::mutex mutex;
  std::condition_variable progress;
  std::vector<nlohmann::json> fast_got;
  std::vector<std::int64_t> fast_at_us;
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop) {
      auto msg = fast.read_json(10s);
      std::lock_guard<std::mutex> lock(mutex);
      if (!msg) {
        ADD_FAILURE() << "fast client: " << fast.error();
        stop = true;
        progress.notify_all();
        return;
      }
      fast_got.push_back(std::move(*msg));
      fast_at_us.push_back(steady_us());
      progress.notify_all();
      if (fast_got.size() == static_cast<std::size_t>(tags * batches))
        return;
    }
  });

  std::vector<std::int64_t> sent_at_us;
  for (int b = 0; b < batches && !stop; ++b) {
    sample_batch batch;
    batch.station = "rtu-1";
    for (int t = 0; t < tags; ++t)
      batch.samples.push_back(changed_sample("T" + std::to_string(t), t, b));
    sent_at_us.push_back(steady_us());
    self->send(bus, batch);
    std::unique_lock<std::mutex> lock(mutex);
    ASSERT_TRUE(progress.wait_for(
        lock, 10s,
        [&] { return stop || fast_got.size() >= static_cast<std::size_t>(tags * (b + 1)); }))
        << "the fast client stalled at batch " << b;
  }
  reader.join();
  ASSERT_FALSE(stop);

  // The fast client got every frame, in order, and lost nothing.
  ASSERT_EQ(fast_got.size(), static_cast<std::size_t>(tags * batches));
  for (int b = 0; b < batches; ++b)
    for (int t = 0; t < tags; ++t) {
      const auto& msg = fast_got[static_cast<std::size_t>(b * tags + t)];
      ASSERT_EQ(msg["type"], "sensor_update") << msg.dump();
      ASSERT_EQ(msg["data"]["tag"], "T" + std::to_string(t));
      ASSERT_EQ(msg["data"]["value"], b);
    }
  // For the record, not a pass mark: publish to receipt of a batch's last frame.
  std::vector<double> latency_ms;
  for (int b = 0; b < batches; ++b)
    latency_ms.push_back(
        static_cast<double>(fast_at_us[static_cast<std::size_t>(b * tags + tags - 1)] -
                            sent_at_us[static_cast<std::size_t>(b)]) /
        1000.0);
  std::sort(latency_ms.begin(), latency_ms.end());
  std::printf("fast client, per batch of %d: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", tags,
              latency_ms[latency_ms.size() / 2], latency_ms[latency_ms.size() * 99 / 100],
              latency_ms.back());

  // Now the slow client reads: an overflow notice comes before the frames that follow a loss;
  // every tag's values only go up; the last value of each tag is the latest published.
  std::map<std::string, double> latest;
  std::uint64_t notices = 0;
  std::uint64_t reported = 0;
  while (latest.size() < static_cast<std::size_t>(tags) ||
         std::any_of(latest.begin(), latest.end(),
                     [](const auto& kv) { return kv.second != batches - 1; })) {
    auto msg = slow.read_json(10s);
    ASSERT_TRUE(msg) << "slow client: " << slow.error();
    if ((*msg)["type"] == "overflow") {
      ++notices;
      reported += (*msg)["data"]["missed"].get<std::uint64_t>();
      EXPECT_EQ((*msg)["data"]["missed_total"], reported);
      continue;
    }
    ASSERT_EQ((*msg)["type"], "sensor_update");
    const auto tag = (*msg)["data"]["tag"].get<std::string>();
    const auto value = (*msg)["data"]["value"].get<double>();
    if (latest.count(tag)) {
      EXPECT_GT(value, latest[tag]) << tag;
    }
    latest[tag] = value;
  }
  EXPECT_GT(notices, 0u);
  EXPECT_GT(reported, 0u);
  EXPECT_EQ(hub_stats().frames_missed, reported) << "the notices add up to what the hub counted";
  EXPECT_EQ(service->stats().missed, reported);
}

TEST_F(WebSocketTest, AClientThatNeverAnswersPingsIsDisconnectedAfterTheIdleTimeout) {
  gateway::websocket_config wc;
  wc.idle_timeout = 600ms;  // a ping after 300 ms, the end after 600 ms without a pong
  start_server(wc);
  ws_client client;
  auto hs = client.connect(server->port());
  ASSERT_EQ(hs.status, 101);
  // Not reading means not answering the ping either. (Reading would answer it.)
  std::this_thread::sleep_for(1200ms);
  std::optional<std::string> msg;
  do
    msg = client.read(5s);
  while (msg);
  EXPECT_FALSE(client.timed_out()) << "the server should have ended the connection";
  EXPECT_EQ(service->stats().open, 0u);
}

TEST_F(WebSocketTest, RequiredAuthRejectsMissingAndBadTokensAndAcceptsAValidOne) {
  gateway::websocket_config wc;
  wc.require_auth = true;
  start_server(wc);
  {
    ws_client client;
    auto hs = client.connect(server->port());
    EXPECT_EQ(hs.status, 401);
    EXPECT_EQ(hs.headers["www-authenticate"], "Bearer");
    EXPECT_NE(hs.body.find("authentication required"), std::string::npos) << hs.body;
  }
  {
    ws_client client;
    auto hs = client.connect(server->port(), ws_options{"/ws/live", std::string(64, 'a'), 0});
    EXPECT_EQ(hs.status, 401) << hs.body;
  }
  {
    ws_client client;
    auto hs = client.connect(server->port(), ws_options{"/ws/live?token=nope", "", 0});
    EXPECT_EQ(hs.status, 401) << hs.body;
  }
  const auto token = login();
  {
    ws_client client;
    open(client, ws_options{"/ws/live?token=" + token, "", 0});
  }
  {
    ws_client client;
    open(client, ws_options{"/ws/live", token, 0});
  }
  const auto stats = service->stats();
  EXPECT_EQ(stats.rejected, 3u);
  EXPECT_EQ(stats.accepted, 2u);
}

TEST_F(WebSocketTest, APlainRequestToTheWebSocketPathIs426) {
  start_server();
  EXPECT_EQ(test::plain_get(server->port(), "/ws/live"), 426);
  EXPECT_EQ(test::plain_get(server->port(), "/ws/other"), 404);
}

TEST_F(WebSocketTest, ClientsStayConnectedWhileACrashedHubIsReplaced) {
  start_server();
  ws_client client;
  open(client);
  self->monitor(hub);
  self->send_exit(hub, caf::exit_reason::kill);
  self->receive([](caf::down_msg&) {}, caf::after(5s) >> [] { FAIL() << "the hub did not end"; });
  sys.registry().erase(names::live_hub);

  ws_client meanwhile;
  open(meanwhile);  // the stream is the board's, not the hub's: connecting still works

  start_hub();
  rtu_event ev;
  ev.station = "rtu-1";
  ev.old_state = rtu_state::offline;
  ev.new_state = rtu_state::connecting;
  self->send(bus, ev);
  for (auto* c : {&client, &meanwhile}) {
    auto msg = c->read_json();
    ASSERT_TRUE(msg) << c->error();
    EXPECT_EQ((*msg)["type"], "rtu_state_change");
  }
}

TEST_F(WebSocketTest, WhenTheServerStopsClientsAreToldToGoAway) {
  start_server();
  ws_client client;
  open(client);
  live->close("the server is stopping");
  EXPECT_FALSE(client.read());
  EXPECT_EQ(client.close_code(), 1001) << client.error();
}

}  // namespace
}  // namespace wtc
