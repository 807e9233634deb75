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

/// Splits what a board reader hands out (unmasked WebSocket text frames) into the messages.
std::vector<std::string> split_frames(const std::string& wire) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i + 2 <= wire.size()) {
    std::uint64_t len = static_cast<unsigned char>(wire[i + 1]) & 0x7F;
    std::size_t header = 2;
    if (len == 126) {
      len = (std::uint64_t{static_cast<unsigned char>(wire[i + 2])} << 8) |
            static_cast<unsigned char>(wire[i + 3]);
      header = 4;
    } else if (len == 127) {
      len = 0;
      for (int k = 0; k < 8; ++k)
        len = (len << 8) | static_cast<unsigned char>(wire[i + 2 + k]);
      header = 10;
    }
    EXPECT_EQ(static_cast<unsigned char>(wire[i]), 0x81) << "a final text frame";
    out.push_back(wire.substr(i + header, len));
    i += header + len;
  }
  EXPECT_EQ(i, wire.size()) << "whole frames only";
  return out;
}

/// A client of the hub's board, as a WebSocket session is one, for the test thread to wait on.
class recording_client {
 public:
  explicit recording_client(live_board& board, live_filter filter = {}) {
    reader_ = board.open_reader([this] {
      std::lock_guard<std::mutex> lock(mutex_);
      woken_ = true;
      woken_cv_.notify_all();
    });
    if (!filter.all())
      reader_->set_filter(std::move(filter));
  }

  /// Waits for a message of `type` (or 5 s) and returns every message up to and including it;
  /// the rest stay for the next call.
  std::vector<nlohmann::json> until(const std::string& type) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    for (;;) {
      for (std::size_t i = 0; i < pending_.size(); ++i)
        if (pending_[i]["type"] == type) {
          std::vector<nlohmann::json> out(pending_.begin(),
                                          pending_.begin() + static_cast<std::ptrdiff_t>(i) + 1);
          pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(i) + 1);
          return out;
        }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        woken_ = false;
      }
      std::string wire;
      auto taken = reader_->take(wire, 1 << 20);
      missed_ += taken.missed;
      for (auto& text : split_frames(wire)) {
        pending_.push_back(nlohmann::json::parse(text));
        texts_.push_back(std::move(text));
      }
      if (taken.frames > 0)
        continue;
      std::unique_lock<std::mutex> lock(mutex_);
      if (!woken_cv_.wait_until(lock, deadline, [&] { return woken_; })) {
        ADD_FAILURE() << "no '" << type << "' message within 5 s";
        return {};
      }
    }
  }

  std::uint64_t missed() const { return missed_; }

  /// Every message received so far, as sent.
  const std::vector<std::string>& texts() const { return texts_; }

 private:
  live_board::reader_ptr reader_;
  std::vector<nlohmann::json> pending_;
  std::vector<std::string> texts_;
  std::uint64_t missed_ = 0;
  std::mutex mutex_;
  std::condition_variable woken_cv_;
  bool woken_ = false;
};

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
    hub = sys.spawn(live_hub, hub_config());
    await_subscription();
  }

  live_hub_config hub_config() {
    live_hub_config hc;
    hc.resubscribe_delay = 20ms;
    hc.board = board;
    return hc;
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

  /// A client reading the board from now on.
  std::unique_ptr<recording_client> join(live_filter filter = {}) {
    return std::make_unique<recording_client>(*board, std::move(filter));
  }

  /// Returns what `client` got before a marker that the test sends to the hub once whatever it
  /// sent to the bus before is in the hub's mailbox: a round trip through each of the two bus
  /// actors makes sure they have forwarded it. (Every client gets the marker.)
  std::vector<nlohmann::json> drain(recording_client& client) {
    live_message end;
    end.type = "t_end";
    end.data = "{}";
    self->request(bus, 5s, stats_atom::value).receive([](actor_stats&) {}, [](caf::error&) {});
    self->request(real_bus, 5s, stats_atom::value).receive([](actor_stats&) {}, [](caf::error&) {});
    self->send(hub, std::move(end));
    auto frames = client.until("t_end");
    if (!frames.empty())
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

  std::shared_ptr<live_board> board = std::make_shared<live_board>();
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
  const auto& first = frames[0];
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
  EXPECT_EQ(frames[1]["data"]["quality"], "UNCERTAIN");
  EXPECT_EQ(frames[1]["data"]["tag"], "LEVEL_1");
  EXPECT_EQ(client->texts()[0].rfind(R"({"type":"sensor_update","data":{"rtu":)", 0), 0u)
      << "type first, as the contract shows it: " << client->texts()[0];
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
  const auto& msg = frames[0];
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
      const auto& change = frames[0];
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
        const auto& msg = frames[1];
        EXPECT_EQ(msg["type"], "rtu_connected");
        EXPECT_EQ(msg["data"],
                  (nlohmann::json{{"station_name", "rtu-7"}, {"ip_address", "10.0.0.7"}}));
      }
      if (disconnected) {
        const auto& msg = frames[1];
        EXPECT_EQ(msg["type"], "rtu_disconnected");
        EXPECT_EQ(msg["data"], (nlohmann::json{{"station_name", "rtu-7"}, {"reason", "test"}}));
      }
    }
}

TEST_F(LiveHubTest, EachMessageIsSerialisedOnceWhateverTheClients) {
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
  EXPECT_EQ(fa[0], fb[0]);
  auto s = stats();
  EXPECT_EQ(s.frames_built, 2u) << "the sample and the marker, once each";
  EXPECT_EQ(s.clients, 2u);
  EXPECT_EQ(s.frames_delivered, 4u) << "the sample and the marker, to each client";
}

TEST_F(LiveHubTest, FiltersNarrowByRtuTagAndType) {
  auto by_rtu = join(live_filter{{"rtu-2"}, {}, {}});
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
  auto describe = [](const std::vector<nlohmann::json>& frames) {
    std::vector<std::string> out;
    for (const auto& f : frames) {
      const auto& d = f["data"];
      out.push_back(f["type"].get<std::string>() + ":" +
                    d.value("rtu", d.value("station_name", std::string{})) + ":" +
                    d.value("tag", std::string{}));
    }
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
}

TEST_F(LiveHubTest, WithoutClientsNothingIsSerialised) {
  sample_batch batch;
  batch.station = "rtu-1";
  batch.samples = {make_sample("T1", 1, 1.0, true)};
  self->send(bus, batch);
  self->request(bus, 5s, stats_atom::value).receive([](actor_stats&) {}, [](caf::error&) {});
  self->request(real_bus, 5s, stats_atom::value).receive([](actor_stats&) {}, [](caf::error&) {});
  EXPECT_EQ(stats().frames_built, 0u);
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
  EXPECT_EQ(frames[0],
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
  auto late = sys.spawn(live_hub, hub_config());
  self->request(late, 5s, caf::get_atom::value, stats_atom::value)
      .receive([](live_stats& s) { EXPECT_FALSE(s.bus_subscribed); },
               [](caf::error& err) { FAIL() << to_string(err); });
  start_bus();
  await_subscription();
  self->send_exit(late, caf::exit_reason::user_shutdown);
}

TEST_F(LiveHubTest, ClientsGoOnReadingWhenACrashedHubIsReplaced) {
  auto client = join();
  self->monitor(hub);
  self->send_exit(hub, caf::exit_reason::kill);
  self->receive([](caf::down_msg&) {}, caf::after(5s) >> [] { FAIL() << "the hub did not end"; });
  hub = sys.spawn(live_hub, hub_config());
  await_subscription();
  sample_batch batch;
  batch.station = "rtu-1";
  batch.samples = {make_sample("T1", 1, 1.0, true)};
  self->send(bus, batch);
  EXPECT_EQ(drain(*client).size(), 1u) << "the same board, written by the new hub";
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
