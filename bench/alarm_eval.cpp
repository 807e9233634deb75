// wtc-bench-alarms: 10,000 alarm rules over 100,000 samples a second, in process, as wtcd runs
// them, timed where they run.
//
// The evaluation is the product's: the alarm manager (actors/alarm_manager), the field bus and
// the storage actor on SQLite (every transition is written to alarm_events). Two parts stand in
// for the rest: a feeder thread publishes one sample batch per RTU and cycle on the field bus, as
// the rtu_actors do, on an absolute schedule, and a stand-in live hub counts what the manager
// announces. The values stay inside the limits but for a controlled number of excursions a
// second, each over one rule's threshold for a while, so alarms are raised and cleared at a
// steady rate and the manager's own histogram (alarm_manager_config::raise_latency: from the
// sample's production to the alarm_raised it caused) gets thousands of points. The manager records
// only new occurrences in it: an excursion of a rule whose last alarm is still listed
// unacknowledged (RTNUN) is announced as alarm_raised again but not timed, so the default run
// (100 excursions a second) drives each of the 10,000 rules out at most once in 100 s.
// Modbus polling is not in these figures (rtu_live.sh measures it), nor the real live hub, which
// in wtcd also subscribes to every sample batch and fans the alarms out to the WebSocket clients.

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/alarm_manager.hpp"
#include "actors/field_bus.hpp"
#include "actors/storage_actor.hpp"
#include "bench/machine_load.hpp"
#include "core/time.hpp"
#include "messages/health_board.hpp"
#include "messages/live.hpp"
#include "messages/loop_timing.hpp"
#include "messages/register_types.hpp"
#include "storage/store.hpp"

namespace {

using namespace std::chrono_literals;

// The limits every rule slot gets: a high and a low rule, values around 50 between them.
constexpr double high_threshold = 80.0;
constexpr double low_threshold = 20.0;
constexpr double deadband = 2.0;
constexpr double normal_value = 50.0;
constexpr double normal_noise = 5.0;  // uniform, ±
constexpr double high_excursion = 90.0;
constexpr double low_excursion = 10.0;

std::string station(int rtu) {
  char name[32];
  std::snprintf(name, sizeof name, "bench-rtu-%03d", rtu);
  return name;
}

// --- the stand-in live hub: counts announcements by type ---

/// The exact raise latency, as a cross-check of the manager's histogram (whose buckets are 7.5,
/// 10 and 20 ms wide there) that also times the re-raises it leaves out: the feeder notes when it
/// sent each point's excursion onset, the hub subtracts that from the announcement's
/// produced_at_us (stamped by the manager as it announces).
struct raise_probe {
  raise_probe(std::size_t points, int slots_per_rtu) : onset_us(points), slots(slots_per_rtu) {}
  std::vector<std::atomic<std::int64_t>> onset_us;  // by rtu × slots + slot − 1
  int slots;
  std::atomic<bool> measuring{false};
  std::mutex mutex;
  std::vector<std::int64_t> latencies_us;  // guarded by mutex
  std::atomic<std::uint64_t> unmatched{0};
};

struct hub_counts {
  explicit hub_counts(std::shared_ptr<raise_probe> p) : probe(std::move(p)) {}
  std::shared_ptr<raise_probe> probe;
  std::atomic<std::uint64_t> raised{0};
  std::atomic<std::uint64_t> cleared{0};
  std::atomic<std::uint64_t> acknowledged{0};
  std::atomic<std::uint64_t> flood{0};
  std::atomic<std::uint64_t> other{0};
  /// From the manager's announce (live_message::produced_at_us) to the hub.
  wtc::latency_histogram delivery;
};

void time_raise(raise_probe& probe, const wtc::live_message& msg) {
  constexpr std::string_view prefix = "bench-rtu-";
  auto data = nlohmann::json::parse(msg.data, nullptr, false);
  if (data.is_discarded() || !data.contains("slot") || msg.rtu.size() <= prefix.size() ||
      msg.rtu.compare(0, prefix.size(), prefix) != 0) {
    probe.unmatched.fetch_add(1);
    return;
  }
  const auto rtu = std::stoll(msg.rtu.substr(prefix.size()));
  const auto slot = data["slot"].get<std::int64_t>();
  const auto p = static_cast<std::size_t>(rtu * probe.slots + slot - 1);
  const auto sent = p < probe.onset_us.size() ? probe.onset_us[p].load() : 0;
  if (slot < 1 || slot > probe.slots || sent == 0) {
    probe.unmatched.fetch_add(1);
    return;
  }
  std::lock_guard<std::mutex> lock(probe.mutex);
  probe.latencies_us.push_back(msg.produced_at_us - sent);
}

struct hub_state {
  static inline const char* name = "bench_hub";
};

wtc::live_hub_api::behavior_type counting_hub(wtc::live_hub_api::stateful_pointer<hub_state>,
                                              std::shared_ptr<hub_counts> counts) {
  return {
      // Not subscribed to the field bus: no batches come.
      [](const wtc::sample_batch&) {},
      [](const wtc::actuator_batch&) {},
      [](const wtc::rtu_event&) {},
      [counts](const wtc::live_message& msg) {
        if (msg.produced_at_us > 0)
          counts->delivery.record(wtc::core::steady_us() - msg.produced_at_us);
        if (msg.type == "alarm_raised") {
          counts->raised.fetch_add(1);
          auto& probe = *counts->probe;
          if (probe.measuring.load(std::memory_order_relaxed))
            time_raise(probe, msg);
        } else if (msg.type == "alarm_cleared")
          counts->cleared.fetch_add(1);
        else if (msg.type == "alarm_acknowledged")
          counts->acknowledged.fetch_add(1);
        else if (msg.type == "alarm_flood")
          counts->flood.fetch_add(1);
        else
          counts->other.fetch_add(1);
      },
      [](wtc::subscribe_atom) {},
      [](wtc::stats_atom) {
        return wtc::actor_stats{hub_state::name, 0, 0};
      },
      [](caf::get_atom, wtc::stats_atom) { return wtc::live_stats{}; },
  };
}

// --- the feeder: the RTU fleet's sample batches on an absolute schedule ---

struct feed_plan {
  int rtus = 100;
  int slots = 100;      // fed per RTU: 1..slots
  int rule_slots = 50;  // slots 1..rule_slots have a high and a low rule
  std::int64_t cycle_us = 100'000;
  int excursions = 100;  // excursions started per second
  std::int64_t excursion_us = 2'000'000;
};

/// What the feeder did, read by the main thread at any time.
struct feed_counters {
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> samples{0};
  std::atomic<std::uint64_t> onsets{0};        // samples that started an excursion: one raise each
  std::atomic<std::uint64_t> first_onsets{0};  // of those, on a rule never excursed before
  std::atomic<std::uint64_t> returns{0};       // first normal sample after an excursion: one clear
  std::atomic<std::uint64_t> skipped{0};       // excursions not started: their slot was still out
  std::atomic<std::int64_t> last_send_us{0};
  std::atomic<std::int64_t> thread_cpu_us{0};  // the feeder thread's own CPU so far
  wtc::latency_histogram lateness;             // send time − scheduled time
};

std::int64_t thread_cpu_us() {
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_utime.tv_sec * 1'000'000 + usage.ru_utime.tv_usec +
         usage.ru_stime.tv_sec * 1'000'000 + usage.ru_stime.tv_usec;
}

/// Runs until `stop`: RTU r's batch k is due at start + k × cycle + r × cycle / rtus. From the
/// first second on, `excursions` times a second, evenly spread, the next rule in turn (spread over
/// the RTUs, the high rules of every slot first, then the low ones) sees its slot beyond its
/// threshold for excursion_us.
void feed(caf::actor_system& sys, const feed_plan& plan, feed_counters& out, raise_probe& probe,
          const std::atomic<bool>& stop) {
  auto bus = wtc::lookup<wtc::field_bus_api>(sys, wtc::names::field_bus);
  const auto points = static_cast<std::size_t>(plan.rtus) * static_cast<std::size_t>(plan.slots);
  std::vector<std::int64_t> excursion_until(points, 0);
  std::vector<double> excursion_value(points, 0.0);
  std::vector<std::uint8_t> onset_pending(points, 0);  // 1: onset; 2: onset on a fresh rule
  std::vector<std::uint8_t> return_pending(points, 0);
  const auto targets = static_cast<std::size_t>(plan.rtus) * plan.rule_slots * 2;
  std::vector<bool> excursed(targets, false);
  std::size_t next_target = 0;
  std::mt19937_64 random{1};
  std::uniform_real_distribution<double> noise(-normal_noise, normal_noise);

  const auto start_us = wtc::core::steady_us();
  const auto start = std::chrono::steady_clock::now();
  std::int64_t next_us = start_us;  // the next batch's moment
  std::int64_t excursion_n = 0;     // excursions started (or skipped) so far
  const auto excursion_due = [&] {
    return start_us + 1'000'000 + excursion_n * 1'000'000 / std::max(1, plan.excursions);
  };
  int next_rtu = 0;
  std::int64_t sent = 0;
  std::vector<std::size_t> onset_points;
  while (!stop.load(std::memory_order_relaxed)) {
    std::this_thread::sleep_until(start + std::chrono::microseconds(next_us - start_us));
    auto now = wtc::core::steady_us();
    for (auto due = excursion_due(); plan.excursions > 0 && due <= now; due = excursion_due()) {
      ++excursion_n;
      const auto target = next_target;
      next_target = (next_target + 1) % targets;
      const auto rtu = static_cast<int>(target % plan.rtus);
      const auto rest = target / plan.rtus;
      const auto slot = static_cast<int>(rest % plan.rule_slots);  // 0-based
      const bool high = (rest / plan.rule_slots) % 2 == 0;
      const auto p = static_cast<std::size_t>(rtu) * plan.slots + slot;
      if (excursion_until[p] > due || return_pending[p] != 0) {
        out.skipped.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      excursion_until[p] = due + plan.excursion_us;
      excursion_value[p] = high ? high_excursion : low_excursion;
      onset_pending[p] = excursed[target] ? 1 : 2;
      excursed[target] = true;
    }
    // Every RTU whose moment has come (more than one when the feeder was late).
    while (next_us <= now) {
      wtc::sample_batch batch;
      batch.rtu_id = next_rtu + 1;
      batch.station = station(next_rtu);
      batch.samples.reserve(static_cast<std::size_t>(plan.slots));
      const auto wall = wtc::core::now_ms();
      onset_points.clear();
      std::uint64_t first_onsets = 0;
      std::uint64_t returns = 0;
      for (int s = 0; s < plan.slots; ++s) {
        const auto p = static_cast<std::size_t>(next_rtu) * plan.slots + s;
        wtc::sample x;
        x.slot = s + 1;
        x.channel = 0;
        x.q = wtc::quality::good;
        x.timestamp = wall;
        if (excursion_until[p] > now) {
          x.value = excursion_value[p];
          if (onset_pending[p] != 0) {
            onset_points.push_back(p);
            first_onsets += onset_pending[p] == 2 ? 1 : 0;
            onset_pending[p] = 0;
            return_pending[p] = 1;
          }
        } else {
          x.value = normal_value + noise(random);
          if (return_pending[p] != 0) {
            ++returns;
            return_pending[p] = 0;
          }
        }
        batch.samples.push_back(x);
      }
      out.lateness.record(now - next_us);
      batch.produced_at_us = wtc::core::steady_us();
      for (auto p : onset_points)
        probe.onset_us[p].store(batch.produced_at_us, std::memory_order_relaxed);
      caf::anon_send(bus, std::move(batch));
      out.last_send_us.store(wtc::core::steady_us(), std::memory_order_relaxed);
      out.batches.fetch_add(1, std::memory_order_relaxed);
      out.samples.fetch_add(static_cast<std::uint64_t>(plan.slots), std::memory_order_relaxed);
      out.onsets.fetch_add(onset_points.size(), std::memory_order_relaxed);
      out.first_onsets.fetch_add(first_onsets, std::memory_order_relaxed);
      out.returns.fetch_add(returns, std::memory_order_relaxed);
      next_rtu = (next_rtu + 1) % plan.rtus;
      ++sent;
      next_us = start_us + sent * plan.cycle_us / plan.rtus;
      if (sent % 100 == 0)
        out.thread_cpu_us.store(thread_cpu_us(), std::memory_order_relaxed);
    }
  }
  out.thread_cpu_us.store(thread_cpu_us(), std::memory_order_relaxed);
}

// --- measuring ---

long max_rss_mib() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

double cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const auto tv = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return tv(usage.ru_utime) + tv(usage.ru_stime);
}

using wtc::bench::load_average;
using wtc::bench::machine_busy_seconds;

std::string bound_text(const wtc::latency_histogram::snapshot& h, double q) {
  const auto us = h.quantile_bound_us(q);
  if (us < 0)
    return "> 1 s";
  char text[32];
  if (us >= 1000)
    std::snprintf(text, sizeof text, "<= %g ms", static_cast<double>(us) / 1000.0);
  else
    std::snprintf(text, sizeof text, "<= %lld us", static_cast<long long>(us));
  return text;
}

void print_latency(const char* what, const wtc::latency_histogram::snapshot& h) {
  std::printf("%s: n=%llu mean=%.0f us p50 %s p99 %s p99.9 %s max=%lld us\n", what,
              static_cast<unsigned long long>(h.count),
              h.count ? static_cast<double>(h.sum_us) / static_cast<double>(h.count) : 0.0,
              bound_text(h, 0.5).c_str(), bound_text(h, 0.99).c_str(), bound_text(h, 0.999).c_str(),
              static_cast<long long>(h.max_us));
}

/// Mailbox depths and how long a stats request waits, sampled through the run.
struct depth_samples {
  std::uint64_t n = 0;
  std::uint64_t sum = 0;
  std::uint64_t max = 0;
  void add(std::uint64_t depth) {
    ++n;
    sum += depth;
    max = std::max(max, depth);
  }
  double mean() const { return n ? static_cast<double>(sum) / static_cast<double>(n) : 0.0; }
};

template <class Handle>
std::optional<wtc::actor_stats> ask_stats(caf::scoped_actor& self, const Handle& handle,
                                          std::int64_t* round_trip_us = nullptr) {
  std::optional<wtc::actor_stats> out;
  const auto t0 = wtc::core::steady_us();
  self->request(handle, std::chrono::seconds(60), wtc::stats_atom::value)
      .receive([&](wtc::actor_stats& s) { out = std::move(s); }, [](caf::error&) {});
  if (round_trip_us)
    *round_trip_us = wtc::core::steady_us() - t0;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  feed_plan plan;
  int cycle_ms = 100;
  int excursion_ms = 2000;
  int seconds = 30;
  int warmup = 5;
  int threads = 2;
  int sample_ms = 250;
  std::string data_dir =
      (std::filesystem::temp_directory_path() / ("wtc-bench-alarms-" + std::to_string(::getpid())))
          .string();
  CLI::App cli{"wtc-bench-alarms: alarm rules' evaluation rate and raise latency, in process"};
  cli.add_option("--rtus", plan.rtus, "simulated RTUs")->check(CLI::Range(1, 1000));
  cli.add_option("--slots", plan.slots, "slots fed per RTU")->check(CLI::Range(1, 1000));
  cli.add_option("--rule-slots", plan.rule_slots,
                 "slots per RTU with rules (a high and a low rule each): rules = 2 x rtus x this")
      ->check(CLI::Range(1, 1000));
  cli.add_option("--cycle-ms", cycle_ms, "each RTU's cycle")->check(CLI::Range(10, 10000));
  cli.add_option("--excursions", plan.excursions,
                 "rules driven over their threshold per second (each raises and clears once)")
      ->check(CLI::Range(0, 100000));
  cli.add_option("--excursion-ms", excursion_ms, "how long an excursion lasts")
      ->check(CLI::Range(100, 600000));
  cli.add_option("--seconds", seconds, "measured seconds")->check(CLI::Range(1, 3600));
  cli.add_option("--warmup", warmup, "seconds fed before measuring")->check(CLI::Range(0, 600));
  cli.add_option("--threads", threads, "CAF scheduler threads (wtcd's default: 2)")
      ->check(CLI::Range(1, 64));
  cli.add_option("--sample-ms", sample_ms, "how often mailbox depths are sampled")
      ->check(CLI::Range(10, 10000));
  cli.add_option("--data-dir", data_dir, "SQLite directory (removed afterwards)");
  CLI11_PARSE(cli, argc, argv);
  if (plan.rule_slots > plan.slots) {
    std::fprintf(stderr, "--rule-slots (%d) cannot exceed --slots (%d)\n", plan.rule_slots,
                 plan.slots);
    return 1;
  }
  plan.cycle_us = std::int64_t{cycle_ms} * 1000;
  plan.excursion_us = std::int64_t{excursion_ms} * 1000;
  const int rules = plan.rtus * plan.rule_slots * 2;
  const double nominal_rate = static_cast<double>(plan.rtus) * plan.slots * 1000.0 / cycle_ms;

  // The rules, stored before the manager starts (it loads them at start). The store writes each
  // rule in a transaction of its own, synced (38 s for 10,000 on this machine's disk): they are
  // written on tmpfs when there is one and the database file is then copied into the data
  // directory, where the run writes its alarm events as wtcd would.
  std::filesystem::remove_all(data_dir);
  wtc::storage::db_config db{"", data_dir};
  std::string seed_dir = data_dir;
  if (std::filesystem::is_directory("/dev/shm"))
    seed_dir = "/dev/shm/wtc-bench-alarms-seed-" + std::to_string(::getpid());
  double store_s = 0;
  {
    const auto t0 = std::chrono::steady_clock::now();
    {
      std::filesystem::remove_all(seed_dir);
      auto store = wtc::storage::open_store(wtc::storage::db_config{"", seed_dir});
      store->migrate();
      const auto now = wtc::core::now_ms();
      for (int r = 0; r < plan.rtus; ++r)
        for (int s = 1; s <= plan.rule_slots; ++s)
          for (bool high : {true, false}) {
            wtc::alarm_rule_record rule;
            rule.name = station(r) + "/" + std::to_string(s) + (high ? " high" : " low");
            rule.rtu_station = station(r);
            rule.slot = s;
            rule.condition = high ? ">" : "<";
            rule.threshold = high ? high_threshold : low_threshold;
            rule.severity = high ? "HIGH" : "MEDIUM";
            rule.delay_ms = 0;
            rule.has_deadband = true;
            rule.deadband = deadband;
            rule.created_at = rule.updated_at = now;
            store->create_alarm_rule(rule, wtc::audit_entry{});
          }
    }  // closed: the last connection's close checkpoints the WAL into the database file
    if (seed_dir != data_dir) {
      std::filesystem::create_directories(data_dir);
      for (const auto& entry : std::filesystem::directory_iterator(seed_dir))
        std::filesystem::copy(entry.path(),
                              std::filesystem::path(data_dir) / entry.path().filename());
      std::filesystem::remove_all(seed_dir);
    }
    store_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  caf::actor_system_config cfg;
  wtc::register_types(cfg);
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", threads);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  auto raise_latency = std::make_shared<wtc::latency_histogram>();
  auto probe = std::make_shared<raise_probe>(
      static_cast<std::size_t>(plan.rtus) * static_cast<std::size_t>(plan.slots), plan.slots);
  auto hub = std::make_shared<hub_counts>(probe);
  feed_counters fed;
  int exit_code = 0;
  {
    caf::actor_system sys{cfg};
    auto put = [&sys](caf::atom_value name, const auto& handle) {
      sys.registry().put(name, caf::actor_cast<caf::strong_actor_ptr>(handle));
    };
    put(wtc::names::storage,
        sys.spawn<caf::detached>(wtc::storage_actor, db, std::make_shared<wtc::health_board>()));
    put(wtc::names::field_bus, sys.spawn(wtc::field_bus, wtc::field_bus_config{}));
    put(wtc::names::live_hub, sys.spawn(counting_hub, hub));
    auto bus = wtc::lookup<wtc::field_bus_api>(sys, wtc::names::field_bus);
    auto storage = wtc::lookup<wtc::storage_api>(sys, wtc::names::storage);

    wtc::alarm_manager_config ac;
    ac.raise_latency = raise_latency;
    const auto spawned_us = wtc::core::steady_us();
    auto manager = caf::actor_cast<wtc::alarm_api>(sys.spawn(wtc::alarm_manager, ac));
    put(wtc::names::alarms, manager);
    caf::scoped_actor self{sys};
    // The manager answers nothing before its state is loaded and it has subscribed to the bus
    // (a subscription that reaches the bus before this request does).
    if (!ask_stats(self, manager) || !ask_stats(self, bus)) {
      std::fprintf(stderr, "the alarm manager did not start\n");
      exit_code = 2;
    }
    const double load_s = static_cast<double>(wtc::core::steady_us() - spawned_us) / 1e6;

    std::atomic<bool> stop{false};
    std::thread feeder;
    double wall = 0;
    double cpu = 0;
    double machine = 0;
    double feeder_cpu = 0;
    std::uint64_t samples = 0;
    std::uint64_t batches = 0;
    std::uint64_t onsets = 0;
    std::uint64_t first_onsets = 0;
    std::uint64_t returns = 0;
    std::uint64_t raised = 0;
    std::uint64_t cleared = 0;
    depth_samples manager_depth;
    depth_samples bus_depth;
    wtc::latency_histogram manager_round_trip;
    const auto load_before = load_average();
    if (exit_code == 0) {
      feeder = std::thread([&] { feed(sys, plan, fed, *probe, stop); });
      std::this_thread::sleep_for(std::chrono::seconds(warmup));
      raise_latency->reset();
      hub->delivery.reset();
      probe->measuring = true;
      fed.lateness.reset();
      const auto samples0 = fed.samples.load();
      const auto batches0 = fed.batches.load();
      const auto onsets0 = fed.onsets.load();
      const auto first0 = fed.first_onsets.load();
      const auto returns0 = fed.returns.load();
      const auto raised0 = hub->raised.load();
      const auto cleared0 = hub->cleared.load();
      const auto feeder_cpu0 = fed.thread_cpu_us.load();
      const auto cpu0 = cpu_seconds();
      const auto machine0 = machine_busy_seconds();
      const auto wall0 = std::chrono::steady_clock::now();
      const auto end = wall0 + std::chrono::seconds(seconds);
      for (auto next = wall0 + std::chrono::milliseconds(sample_ms); next < end;
           next += std::chrono::milliseconds(sample_ms)) {
        std::this_thread::sleep_until(next);
        std::int64_t rtt = 0;
        if (auto s = ask_stats(self, manager, &rtt)) {
          manager_depth.add(s->mailbox_depth);
          manager_round_trip.record(rtt);
        }
        if (auto s = ask_stats(self, bus))
          bus_depth.add(s->mailbox_depth);
      }
      std::this_thread::sleep_until(end);
      cpu = cpu_seconds() - cpu0;
      machine = machine_busy_seconds() - machine0;
      wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
      samples = fed.samples.load() - samples0;
      batches = fed.batches.load() - batches0;
      onsets = fed.onsets.load() - onsets0;
      first_onsets = fed.first_onsets.load() - first0;
      returns = fed.returns.load() - returns0;
      raised = hub->raised.load() - raised0;
      cleared = hub->cleared.load() - cleared0;
      feeder_cpu = static_cast<double>(fed.thread_cpu_us.load() - feeder_cpu0) / 1e6;
      probe->measuring = false;
      stop = true;
      feeder.join();
    }

    if (exit_code == 0) {
      const auto latency = raise_latency->read();
      const auto lateness = fed.lateness.read();
      // After the last batch: until the bus has passed on everything, then until the manager
      // has evaluated everything (its mailbox is FIFO: the request comes after the batches).
      ask_stats(self, bus);
      const auto bus_drained_us = wtc::core::steady_us();
      ask_stats(self, manager);
      const auto manager_drained_us = wtc::core::steady_us();
      ask_stats(self, wtc::lookup<wtc::live_hub_api>(sys, wtc::names::live_hub));
      const auto last = fed.last_send_us.load();
      const double drain_ms = static_cast<double>(manager_drained_us - last) / 1000.0;
      // Storage: every raised alarm is a row; the manager writes one batch at a time.
      const auto expected_rows = static_cast<std::int64_t>(fed.first_onsets.load());
      std::int64_t rows = -1;
      const auto store_wait0 = wtc::core::steady_us();
      for (int attempt = 0; attempt < 300 && rows < expected_rows; ++attempt) {
        if (attempt > 0)
          std::this_thread::sleep_for(100ms);
        self->request(storage, std::chrono::seconds(60), caf::get_atom::value,
                      wtc::alarm_rate_atom::value, wtc::timestamp_ms{0})
            .receive([&](std::int64_t n) { rows = n; }, [](caf::error&) {});
      }
      const double store_wait_ms =
          static_cast<double>(wtc::core::steady_us() - store_wait0) / 1000.0;

      std::printf(
          "rules=%d (%d RTUs x %d slots x 2, delay 0, deadband %.0f) stored in %.1f s%s, loaded "
          "by the manager in %.2f s\n",
          rules, plan.rtus, plan.rule_slots, deadband, store_s,
          seed_dir != data_dir ? " (on tmpfs, then copied)" : "", load_s);
      std::printf(
          "feed: %d RTUs x %d slots every %d ms = %.0f samples/s nominal; excursions %d/s of "
          "%d ms; threads=%d measured_s=%.1f warmup_s=%d\n",
          plan.rtus, plan.slots, cycle_ms, nominal_rate, plan.excursions, excursion_ms, threads,
          wall, warmup);
      std::printf("load average before: %s, after: %s\n", load_before.c_str(),
                  load_average().c_str());
      const double rate = static_cast<double>(samples) / wall;
      std::printf("samples/s=%.0f (nominal %.0f) batches/s=%.0f\n", rate, nominal_rate,
                  static_cast<double>(batches) / wall);
      print_latency("feeder lateness (send - schedule)", lateness);
      std::printf(
          "manager mailbox depth: mean=%.1f max=%llu; field bus mailbox depth: mean=%.1f "
          "max=%llu (%llu samples, every %d ms)\n",
          manager_depth.mean(), static_cast<unsigned long long>(manager_depth.max),
          bus_depth.mean(), static_cast<unsigned long long>(bus_depth.max),
          static_cast<unsigned long long>(manager_depth.n), sample_ms);
      print_latency("manager stats round trip", manager_round_trip.read());
      std::printf("after the last batch: bus drained in %.1f ms, manager in %.1f ms\n",
                  static_cast<double>(bus_drained_us - last) / 1000.0, drain_ms);
      std::printf(
          "alarm_raised announced=%llu (expected %llu excursion onsets, %llu of them on fresh "
          "rules) alarm_cleared=%llu (expected %llu), excursions skipped (slot still out)=%llu\n",
          static_cast<unsigned long long>(raised), static_cast<unsigned long long>(onsets),
          static_cast<unsigned long long>(first_onsets), static_cast<unsigned long long>(cleared),
          static_cast<unsigned long long>(returns),
          static_cast<unsigned long long>(fed.skipped.load()));
      std::printf(
          "whole run, after draining: alarm_raised %llu of %llu onsets, alarm_cleared %llu of "
          "%llu, alarm_acknowledged %llu, alarm_flood %llu, other %llu; alarm_events rows stored "
          "%lld of %lld (waited "
          "%.0f ms)\n",
          static_cast<unsigned long long>(hub->raised.load()),
          static_cast<unsigned long long>(fed.onsets.load()),
          static_cast<unsigned long long>(hub->cleared.load()),
          static_cast<unsigned long long>(fed.returns.load()),
          static_cast<unsigned long long>(hub->acknowledged.load()),
          static_cast<unsigned long long>(hub->flood.load()),
          static_cast<unsigned long long>(hub->other.load()), static_cast<long long>(rows),
          static_cast<long long>(expected_rows), store_wait_ms);
      print_latency("raise latency, manager's histogram (sample produced to alarm_raised sent)",
                    latency);
      std::vector<std::int64_t> exact;
      {
        std::lock_guard<std::mutex> lock(probe->mutex);
        exact = probe->latencies_us;
      }
      std::sort(exact.begin(), exact.end());
      const auto exact_q = [&](double q) {
        if (exact.empty())
          return std::int64_t{-1};
        const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(exact.size())));
        return exact[std::min(exact.size() - 1, i == 0 ? 0 : i - 1)];
      };
      std::printf(
          "raise latency, exact (onset sent to alarm_raised announced, re-raises included): n=%zu "
          "p50=%.2f ms p99=%.2f ms p99.9=%.2f ms max=%.2f ms (unmatched %llu)\n",
          exact.size(), exact_q(0.5) / 1000.0, exact_q(0.99) / 1000.0, exact_q(0.999) / 1000.0,
          exact.empty() ? -0.001 : exact.back() / 1000.0,
          static_cast<unsigned long long>(probe->unmatched.load()));
      print_latency("announce to hub", hub->delivery.read());
      std::printf(
          "cpu=%.1f%% of one core (whole process: manager, bus, storage, hub, feeder), of which "
          "the feeder thread %.1f%%; the machine %.1f%% busy of %ld%% (every process, from "
          "/proc/stat: tick-sampled, reads low for short bursts); max RSS %ld MiB\n",
          100.0 * cpu / wall, 100.0 * feeder_cpu / wall, 100.0 * machine / wall,
          100 * ::sysconf(_SC_NPROCESSORS_ONLN), max_rss_mib());

      const bool rate_ok = rate >= 0.99 * nominal_rate;
      const bool kept_up = drain_ms <= cycle_ms;
      const bool all_raised = hub->raised.load() == fed.onsets.load();
      const bool sustained = rate_ok && kept_up && all_raised;
      std::printf(
          "goal %s: %.0f samples/s sustained (fed %.0f/s; drained %.1f ms after the last "
          "batch, limit one cycle; every onset raised: %s)\n",
          sustained ? "met" : "missed", nominal_rate, rate, drain_ms, all_raised ? "yes" : "no");
      // The histogram's bucket (7.5, 10] ms cannot tell "under 10 ms": the exact figure decides.
      const bool p99_ok = !exact.empty() && exact_q(0.99) < 10'000;
      std::printf(
          "goal %s: raise latency p99 < 10 ms (exact p99 %.2f ms, n=%zu; manager's histogram p99 "
          "%s, n=%llu)\n",
          exact.empty() ? "not measured (no alarm raised in the window)"
          : p99_ok      ? "met"
                        : "missed",
          exact_q(0.99) / 1000.0, exact.size(), bound_text(latency, 0.99).c_str(),
          static_cast<unsigned long long>(latency.count));
    }

    caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
    for (auto name :
         {wtc::names::alarms, wtc::names::live_hub, wtc::names::field_bus, wtc::names::storage})
      caf::anon_send_exit(sys.registry().get(name), caf::exit_reason::user_shutdown);
    for (auto name :
         {wtc::names::alarms, wtc::names::live_hub, wtc::names::field_bus, wtc::names::storage})
      sys.registry().erase(name);
  }
  std::filesystem::remove_all(data_dir);
  return exit_code;
}
