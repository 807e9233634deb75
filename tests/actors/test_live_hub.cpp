#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/field_bus.hpp"
#include "actors/live_hub.hpp"
#include "core/time.hpp"
#include "messages/register_types.hpp"

namespace wtc {
namespace {

using namespace std::chrono_literals;
using subscribed_atom = caf::atom_constant<caf::atom("t_subd")>;

struct config : caf::actor_system_config {
  config() { register_types(*this); }
};

/// A live_client that records what it gets, for the test thread to wait on.
class recording_client : public live_client {
 public:
  bool deliver(const live_frame_ptr* frames, std::size_t count) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (gone_)
      return false;
    frames_.insert(frames_.end(), frames, frames + count);
    changed_.notify_all();
    return true;
  }

  std::uint64_t missed() const override { return missed_; }

  void close(std::string_view reason) override {
    std::lock_guard<std::mutex> lock(mutex_);
    close_reason_ = std::string(reason);
    changed_.notify_all();
  }

  /// Waits until `n` frames have come (or 5 s), and returns all of them.
  std::vector<live_frame_ptr> wait_for(std::size_t n) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, 5s, [&] { return frames_.size() >= n; });
    return frames_;
  }

  /// Waits for a frame of `type` (or 5 s) and returns every frame up to and including it; the
  /// rest stay for the next call.
  std::vector<live_frame_ptr> until(const std::string& type) {
    std::unique_lock<std::mutex> lock(mutex_);
    std::vector<live_frame_ptr> out;
    auto found = [&] {
      for (std::size_t i = 0; i < frames_.size(); ++i)
        if (frames_[i]->type == type) {
          out.assign(frames_.begin(), frames_.begin() + static_cast<std::ptrdiff_t>(i) + 1);
          frames_.erase(frames_.begin(), frames_.begin() + static_cast<std::ptrdiff_t>(i) + 1);
          return true;
        }
      return false;
    };
    if (!changed_.wait_for(lock, 5s, found))
      ADD_FAILURE() << "no '" << type << "' frame within 5 s";
    return out;
  }

  std::string wait_closed() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, 5s, [&] { return !close_reason_.empty(); });
    return close_reason_;
  }

  void go_away() {
    std::lock_guard<std::mutex> lock(mutex_);
    gone_ = true;
  }

  void set_missed(std::uint64_t n) { missed_ = n; }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<live_frame_ptr> frames_;
  std::string close_reason_;
  bool gone_ = false;
  std::atomic<std::uint64_t> missed_{0};
};

nlohmann::json parse(const live_frame_ptr& f) {
  return nlohmann::json::parse(f->text);
}

std::set<std::string> keys_of(const nlohmann::json& object) {
  std::set<std::string> out;
  for (const auto& [key, value] : object.items())
    out.insert(key);
  return out;
}

/// The real field bus behind a front that tells the test whenever someone subscribes, so the
/// test waits for the hub's subscription instead of polling for it. The hub sees a bus restart
/// when the front is killed and another one is registered.
field_bus_api::behavior_type spy_bus(field_bus_api::pointer self, field_bus_api real,
                                     caf::actor observer) {
  return {
      [=](subscribe_atom, caf::actor& who, std::string& station, std::uint32_t topics) {
        self->send(real, subscribe_atom::value, who, station, topics);
        caf::anon_send(observer, subscribed_atom::value);
      },
      [=](unsubscribe_atom, caf::actor& who) { self->send(real, unsubscribe_atom::value, who); },
      [=](sample_batch& b) { self->send(real, std::move(b)); },
      [=](actuator_batch& b) { self->send(real, std::move(b)); },
      [=](rtu_event& e) { self->send(real, std::move(e)); },
      [](stats_atom) {
        return actor_stats{"spy_bus", 0, 0};
      },
  };
}

/// The real field bus.
field_bus_api spawn_field_bus(caf::actor_system& sys) {
  return sys.spawn(field_bus, field_bus_config{});
}

sample make_sample(std::string tag, std::int32_t slot, double value, bool changed,
                   quality q = quality::good) {
  sample s;
  s.tag = std::move(tag);
  s.slot = slot;
  s.value = value;
  s.q = q;
  s.changed = changed;
  s.timestamp = 1'768'651'200'000;  // 2026-01-17T12:00:00Z
  return s;
}

class LiveHubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    real_bus = spawn_field_bus(sys);
    start_bus();
    live_hub_config hc;
    hc.resubscribe_delay = 20ms;
    hub = sys.spawn(live_hub, hc);
    await_subscription();
  }

  void TearDown() override {
    for (auto& a : {caf::actor_cast<caf::actor>(hub), caf::actor_cast<caf::actor>(bus),
                    caf::actor_cast<caf::actor>(real_bus)})
      self->send_exit(a, caf::exit_reason::user_shutdown);
  }

  void start_bus() {
    bus = sys.spawn(spy_bus, real_bus, caf::actor_cast<caf::actor>(self));
    sys.registry().erase(names::field_bus);
    sys.registry().put(names::field_bus, caf::actor_cast<caf::strong_actor_ptr>(bus));
  }

  void await_subscription() {
    self->receive([](subscribed_atom) {},
                  caf::after(5s) >> [] { FAIL() << "the hub did not subscribe to the bus"; });
  }

  /// Joins a recording client and waits for the hub's confirmation.
  std::shared_ptr<recording_client> join(live_filter filter = {}) {
    auto client = std::make_shared<recording_client>();
    self->send(hub, caf::join_atom::value, live_client_ptr{client}, std::move(filter));
    auto got = client->until("subscribed");
    EXPECT_EQ(got.size(), 1u);
    return client;
  }

  /// Returns what `client` got before a marker that the test sends to the hub once whatever it
  /// sent to the bus before is in the hub's mailbox: a round trip through each of the two bus
  /// actors makes sure they have forwarded it. (Every client gets the marker.)
  std::vector<live_frame_ptr> drain(recording_client& client) {
    live_message end;
    end.type = "t_end";
    end.data = "{}";
    self->request(bus, 5s, stats_atom::value).receive([](actor_stats&) {}, [](caf::error&) {});
    self->request(real_bus, 5s, stats_atom::value).receive([](actor_stats&) {}, [](caf::error&) {});
    self->send(hub, std::move(end));
    auto frames = client.until("t_end");
    frames.pop_back();
    return frames;
  }

  live_stats stats() {
    live_stats out;
    self->request(hub, 5s, caf::get_atom::value, stats_atom::value)
        .receive([&](live_stats& s) { out = s; },
                 [](caf::error& err) { FAIL() << to_string(err); });
    return out;
  }

  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  field_bus_api real_bus;
  field_bus_api bus;
  live_hub_api hub;
};

TEST_F(LiveHubTest, ChangedSamplesBecomeSensorUpdatesWithTheContractsFields) {
  auto client = join();
  sample_batch batch;
  batch.rtu_id = 1;
  batch.station = "water-treat-rtu-1";
  batch.samples = {make_sample("pH_SENSOR_1", 1, 7.2, true), make_sample("TURB_1", 2, 0.4, false),
                   make_sample("LEVEL_1", 3, 55.5, true, quality::uncertain)};
  self->send(bus, batch);
  auto frames = drain(*client);
  ASSERT_EQ(frames.size(), 2u) << "only the samples marked changed";
  auto first = parse(frames[0]);
  EXPECT_EQ(keys_of(first), (std::set<std::string>{"type", "data"}));
  EXPECT_EQ(first["type"], "sensor_update");
  EXPECT_EQ(keys_of(first["data"]),
            (std::set<std::string>{"rtu", "slot", "tag", "value", "quality", "timestamp"}));
  EXPECT_EQ(first["data"]["rtu"], "water-treat-rtu-1");
  EXPECT_EQ(first["data"]["slot"], 1);
  EXPECT_EQ(first["data"]["tag"], "pH_SENSOR_1");
  EXPECT_DOUBLE_EQ(first["data"]["value"].get<double>(), 7.2);
  EXPECT_EQ(first["data"]["quality"], "GOOD");
  EXPECT_EQ(first["data"]["timestamp"], "2026-01-17T12:00:00Z");
  EXPECT_EQ(parse(frames[1])["data"]["quality"], "UNCERTAIN");
  EXPECT_EQ(frames[1]->tag, "LEVEL_1");
  EXPECT_EQ(frames[1]->rtu, "water-treat-rtu-1");
  EXPECT_NE(frames[0]->key, frames[1]->key);
  EXPECT_EQ(frames[0]->text.rfind(R"({"type":"sensor_update","data":{"rtu":)", 0), 0u)
      << "type first, as the contract shows it: " << frames[0]->text;
}

TEST_F(LiveHubTest, ActuatorBatchesBecomeActuatorUpdatesWithTheContractsFields) {
  auto client = join();
  actuator_batch batch;
  batch.station = "water-treat-rtu-1";
  actuator_state a;
  a.tag = "DOSE_PUMP_1";
  a.slot = 9;
  a.command = command_kind::pwm;
  a.pwm_duty = 75;
  a.forced = true;
  batch.actuators = {a};
  self->send(bus, batch);
  auto frames = drain(*client);
  ASSERT_EQ(frames.size(), 1u);
  auto msg = parse(frames[0]);
  EXPECT_EQ(msg["type"], "actuator_update");
  EXPECT_EQ(keys_of(msg["data"]),
            (std::set<std::string>{"rtu", "slot", "tag", "command", "pwm_duty", "forced"}));
  EXPECT_EQ(msg["data"]["rtu"], "water-treat-rtu-1");
  EXPECT_EQ(msg["data"]["slot"], 9);
  EXPECT_EQ(msg["data"]["tag"], "DOSE_PUMP_1");
  EXPECT_EQ(msg["data"]["command"], "PWM");
  EXPECT_EQ(msg["data"]["pwm_duty"], 75.0);
  EXPECT_EQ(msg["data"]["forced"], true);
}

TEST_F(LiveHubTest, EveryRtuTransitionGivesAStateChangeAndEnteringOrLeavingRunningMore) {
  auto client = join();
  const rtu_state all[] = {rtu_state::offline, rtu_state::connecting, rtu_state::discovery,
                           rtu_state::running, rtu_state::error};
  for (auto from : all)
    for (auto to : all) {
      rtu_event ev;
      ev.station = "rtu-7";
      ev.ip_address = "10.0.0.7";
      ev.old_state = from;
      ev.new_state = to;
      ev.reason = "test";
      self->send(bus, ev);
      auto frames = drain(*client);
      SCOPED_TRACE(std::string(to_string(from)) + " -> " + std::string(to_string(to)));
      ASSERT_GE(frames.size(), 1u);
      auto change = parse(frames[0]);
      EXPECT_EQ(change["type"], "rtu_state_change");
      EXPECT_EQ(keys_of(change["data"]),
                (std::set<std::string>{"station_name", "old_state", "new_state", "reason"}));
      EXPECT_EQ(change["data"]["station_name"], "rtu-7");
      EXPECT_EQ(change["data"]["old_state"], to_string(from));
      EXPECT_EQ(change["data"]["new_state"], to_string(to));
      EXPECT_EQ(change["data"]["reason"], "test");
      const bool connected = to == rtu_state::running && from != rtu_state::running;
      const bool disconnected = from == rtu_state::running && to != rtu_state::running;
      ASSERT_EQ(frames.size(), connected || disconnected ? 2u : 1u);
      if (connected) {
        auto msg = parse(frames[1]);
        EXPECT_EQ(msg["type"], "rtu_connected");
        EXPECT_EQ(msg["data"],
                  (nlohmann::json{{"station_name", "rtu-7"}, {"ip_address", "10.0.0.7"}}));
      }
      if (disconnected) {
        auto msg = parse(frames[1]);
        EXPECT_EQ(msg["type"], "rtu_disconnected");
        EXPECT_EQ(msg["data"], (nlohmann::json{{"station_name", "rtu-7"}, {"reason", "test"}}));
      }
    }
}

TEST_F(LiveHubTest, EveryClientGetsTheSameSerialisedFrame) {
  auto a = join();
  auto b = join();
  sample_batch batch;
  batch.station = "rtu-1";
  batch.samples = {make_sample("T1", 1, 1.0, true)};
  self->send(bus, batch);
  auto fa = drain(*a);
  auto fb = b->until("t_end");  // drain's marker reaches every client
  ASSERT_EQ(fa.size(), 1u);
  ASSERT_EQ(fb.size(), 2u);
  EXPECT_EQ(fa[0].get(), fb[0].get()) << "serialised once, shared";
  EXPECT_EQ(stats().frames_built, 2u) << "the sample and the marker";
}

TEST_F(LiveHubTest, FiltersNarrowByRtuTagAndTypeAndTheConfirmationEchoesThem) {
  auto by_rtu = std::make_shared<recording_client>();
  self->send(hub, caf::join_atom::value, live_client_ptr{by_rtu}, live_filter{{"rtu-2"}, {}, {}});
  auto ack = by_rtu->until("subscribed");
  ASSERT_EQ(ack.size(), 1u);
  EXPECT_EQ(parse(ack[0])["data"], (nlohmann::json{{"rtus", {"rtu-2"}},
                                                   {"tags", nlohmann::json::array()},
                                                   {"types", nlohmann::json::array()}}));
  auto by_tag = join(live_filter{{}, {"T1"}, {}});
  auto by_type = join(live_filter{{}, {}, {"rtu_state_change", "t_end"}});
  auto everything = join();

  for (std::string station : {"rtu-1", "rtu-2"}) {
    sample_batch batch;
    batch.station = station;
    batch.samples = {make_sample("T1", 1, 1.0, true), make_sample("T2", 2, 2.0, true)};
    self->send(bus, batch);
    rtu_event ev;
    ev.station = station;
    ev.old_state = rtu_state::discovery;
    ev.new_state = rtu_state::running;
    self->send(bus, ev);
  }
  auto describe = [](const std::vector<live_frame_ptr>& frames) {
    std::vector<std::string> out;
    for (const auto& f : frames)
      out.push_back(f->type + ":" + f->rtu + ":" + f->tag);
    return out;
  };
  using list = std::vector<std::string>;
  EXPECT_EQ(describe(drain(*by_rtu)), (list{"sensor_update:rtu-2:T1", "sensor_update:rtu-2:T2",
                                            "rtu_state_change:rtu-2:", "rtu_connected:rtu-2:"}));
  EXPECT_EQ(describe(drain(*by_tag)),
            (list{"sensor_update:rtu-1:T1", "rtu_state_change:rtu-1:", "rtu_connected:rtu-1:",
                  "sensor_update:rtu-2:T1", "rtu_state_change:rtu-2:", "rtu_connected:rtu-2:"}))
      << "messages without a tag are not narrowed by tags";
  EXPECT_EQ(describe(drain(*by_type)),
            (list{"rtu_state_change:rtu-1:", "rtu_state_change:rtu-2:"}));
  EXPECT_EQ(drain(*everything).size(), 8u);

  // A second join replaces the filter: back to everything.
  self->send(hub, caf::join_atom::value, live_client_ptr{by_type}, live_filter{});
  by_type->until("subscribed");
  EXPECT_EQ(stats().clients, 4u);
}

TEST_F(LiveHubTest, ClientsThatLeaveOrAreGoneAreForgottenWithWhatTheyMissed) {
  auto stays = join();
  auto leaves = join();
  auto vanishes = join();
  leaves->set_missed(3);
  vanishes->set_missed(4);
  stays->set_missed(5);
  EXPECT_EQ(stats().clients, 3u);
  self->send(hub, caf::leave_atom::value, live_client_ptr{leaves});
  vanishes->go_away();
  live_message msg;
  msg.type = "alarm_raised";
  msg.data = R"({"alarm_id":1})";
  self->send(hub, msg);
  drain(*stays);
  auto s = stats();
  EXPECT_EQ(s.clients, 1u);
  EXPECT_EQ(s.frames_missed, 12u) << "the departed clients' misses are kept";
}

TEST_F(LiveHubTest, LiveMessagesFromOtherSourcesPassAndMalformedOnesAreDropped) {
  auto client = join();
  live_message good;
  good.type = "alarm_raised";
  good.rtu = "rtu-1";
  good.data = R"({"alarm_id":42,"rtu_station":"rtu-1","slot":3,"severity":"HIGH","message":"x"})";
  live_message not_object = good;
  not_object.data = "[1,2]";
  live_message broken = good;
  broken.data = R"({"alarm_id":)";
  for (const auto& m : {good, not_object, broken})
    self->send(hub, m);
  auto frames = drain(*client);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(parse(frames[0]),
            (nlohmann::json{{"type", "alarm_raised"}, {"data", nlohmann::json::parse(good.data)}}));
  EXPECT_EQ(stats().frames_rejected, 2u);
}

TEST_F(LiveHubTest, SubscribesAgainWhenTheBusRestarts) {
  auto client = join();
  EXPECT_EQ(stats().bus_subscriptions, 1u);
  self->send_exit(bus, caf::exit_reason::kill);
  start_bus();
  await_subscription();
  EXPECT_EQ(stats().bus_subscriptions, 2u);
  sample_batch batch;
  batch.station = "rtu-1";
  batch.samples = {make_sample("T1", 1, 1.0, true)};
  self->send(bus, batch);
  EXPECT_EQ(drain(*client).size(), 1u) << "data flows again through the new bus";
}

TEST_F(LiveHubTest, WaitsForABusThatIsNotThereYet) {
  sys.registry().erase(names::field_bus);
  live_hub_config hc;
  hc.resubscribe_delay = 20ms;
  auto late = sys.spawn(live_hub, hc);
  self->request(late, 5s, caf::get_atom::value, stats_atom::value)
      .receive([](live_stats& s) { EXPECT_FALSE(s.bus_subscribed); },
               [](caf::error& err) { FAIL() << to_string(err); });
  start_bus();
  await_subscription();
  self->send_exit(late, caf::exit_reason::user_shutdown);
}

TEST_F(LiveHubTest, ItsClientsAreToldWhenTheHubEnds) {
  auto client = join();
  self->send_exit(hub, caf::exit_reason::kill);
  EXPECT_EQ(client->wait_closed(), "the live hub stopped");
}

TEST_F(LiveHubTest, ReportsItselfForMetrics) {
  actor_stats s;
  self->request(hub, 5s, stats_atom::value)
      .receive([&](actor_stats& x) { s = x; }, [](caf::error& err) { FAIL() << to_string(err); });
  EXPECT_EQ(s.name, "live_hub");
  auto ls = stats();
  EXPECT_TRUE(ls.bus_subscribed);
  EXPECT_EQ(ls.clients, 0u);
}

}  // namespace
}  // namespace wtc
