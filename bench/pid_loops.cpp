// wtc-bench-pid: many PID loops in one process, as wtcd runs them, timed where they run.
//
// The loops are the product's: pid_manager, pid_actor, the field bus, the storage actor on
// SQLite (the loops' runtime state is persisted every second) and the live hub (every scan
// publishes a pid_update), on wtcd's scheduler settings. Two parts stand in for the plant: a
// feeder publishes one sample batch per RTU and period on the field bus, as the rtu_actors do,
// and the RTU fleet is a sink that acknowledges every command at once. So the figures are the
// loops' own cost and punctuality; Modbus polling and writing are measured by rtu_live.sh.

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <caf/all.hpp>

#include "actors/field_bus.hpp"
#include "actors/live_hub.hpp"
#include "actors/pid_manager.hpp"
#include "actors/storage_actor.hpp"
#include "core/time.hpp"
#include "messages/health_board.hpp"
#include "messages/live_board.hpp"
#include "messages/loop_timing.hpp"
#include "messages/register_types.hpp"
#include "storage/store.hpp"

namespace {

using namespace std::chrono_literals;
constexpr int slots_per_rtu = 16;

std::string station(int rtu) {
  return "bench-rtu-" + std::to_string(rtu);
}

/// The RTU fleet, reduced to what the loops use: the RTU list and commands, acknowledged.
caf::behavior command_sink(caf::event_based_actor*, int rtus, std::int64_t period_ms,
                           std::shared_ptr<std::atomic<std::uint64_t>> commands) {
  return {
      [rtus, period_ms](caf::get_atom, wtc::rtus_atom) {
        std::vector<wtc::rtu_record> list;
        for (int i = 0; i < rtus; ++i) {
          wtc::rtu_record r;
          r.station_name = station(i);
          r.cycle_time_ms = period_ms;
          list.push_back(r);
        }
        return list;
      },
      [commands](wtc::command_atom, const std::string&, const wtc::actuator_command& cmd,
                 const wtc::request_origin&) {
        commands->fetch_add(1, std::memory_order_relaxed);
        wtc::actuator_state out;
        out.slot = cmd.slot;
        out.command = cmd.command;
        out.pwm_duty = cmd.pwm_duty;
        return out;
      },
      [](wtc::stats_atom) {
        return wtc::actor_stats{"rtus", 0, 0};
      },
  };
}

/// The jitter of each RTU's interval between two events: |interval − period|, into a histogram.
class interval_jitter {
 public:
  interval_jitter() = default;
  interval_jitter(int rtus, std::int64_t period_us, std::shared_ptr<wtc::latency_histogram> into)
      : period_us_(period_us),
        last_us_(static_cast<std::size_t>(rtus), 0),
        into_(std::move(into)) {}

  void record(int rtu, std::int64_t at_us) {
    auto& last = last_us_[static_cast<std::size_t>(rtu)];
    if (last != 0)
      into_->record(std::abs(at_us - last - period_us_));
    last = at_us;
  }

 private:
  std::int64_t period_us_ = 0;
  std::vector<std::int64_t> last_us_;  // per RTU, 0 before its first event
  std::shared_ptr<wtc::latency_histogram> into_;
};

struct feeder_state {
  std::mt19937_64 random{1};
  std::int64_t next_us = 0;
  int next_rtu = 0;
  interval_jitter published;
};

using tick_atom = caf::atom_constant<caf::atom("tick")>;

/// Publishes one batch of 16 noisy measurements per RTU and period, the RTUs spread evenly over
/// the period as RTUs connected at different moments are, on absolute deadlines. Records the
/// jitter of each RTU's publication interval, the loops' input: a loop scanning on measurement
/// cannot be more punctual than its measurements, so this separates what the loops add from
/// what the machine's scheduling of the feeder's own timer already brings.
caf::behavior feeder(caf::stateful_actor<feeder_state>* self, int rtus,
                     std::chrono::milliseconds period,
                     std::shared_ptr<wtc::latency_histogram> input_jitter) {
  const auto now_us = wtc::core::steady_us;
  const auto period_us = std::chrono::duration_cast<std::chrono::microseconds>(period).count();
  const auto step_us = period_us / rtus;
  self->state.next_us = now_us();
  self->state.published = interval_jitter(rtus, period_us, std::move(input_jitter));
  self->send(self, tick_atom::value);
  return {[=](tick_atom) {
    auto& st = self->state;
    auto bus = wtc::lookup<wtc::field_bus_api>(self->system(), wtc::names::field_bus);
    std::normal_distribution<double> noise(0.0, 0.5);
    // Every RTU whose moment has come (more than one when the feeder was late).
    while (bus && st.next_us <= now_us()) {
      wtc::sample_batch batch;
      batch.station = station(st.next_rtu);
      for (int s = 1; s <= slots_per_rtu; ++s) {
        wtc::sample x;
        x.slot = s;
        x.value = 50.0 + noise(st.random);
        x.q = wtc::quality::good;
        batch.samples.push_back(x);
      }
      self->send(bus, std::move(batch));
      st.published.record(st.next_rtu, now_us());
      st.next_rtu = (st.next_rtu + 1) % rtus;
      st.next_us += step_us;
    }
    self->delayed_send(self,
                       std::chrono::microseconds(std::max<std::int64_t>(0, st.next_us - now_us())),
                       tick_atom::value);
  }};
}

/// The machine's own punctuality on the feeder's schedule, measured in the same run: a bare
/// thread (no actors, no loops) sleeping to the same absolute deadlines with clock_nanosleep.
/// What it shows is the floor that no software on this machine gets below.
class reference_schedule {
 public:
  reference_schedule(int rtus, std::chrono::milliseconds period)
      : rtus_(rtus),
        period_us_(std::chrono::duration_cast<std::chrono::microseconds>(period).count()),
        thread_([this] { run(); }) {}
  ~reference_schedule() {
    stop_ = true;
    thread_.join();
  }
  reference_schedule(const reference_schedule&) = delete;
  reference_schedule& operator=(const reference_schedule&) = delete;

  wtc::latency_histogram& jitter() { return *jitter_; }
  /// CPU seconds the thread used, to take out of the process's figure.
  double cpu_seconds() const { return static_cast<double>(cpu_ns_.load()) / 1e9; }

 private:
  static std::int64_t thread_cpu_ns() {
    timespec t{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1'000'000'000LL + t.tv_nsec;
  }

  void run() {
    const auto step_us = period_us_ / rtus_;
    interval_jitter woken(rtus_, period_us_, jitter_);
    auto next_us = wtc::core::steady_us();
    int rtu = 0;
    while (!stop_) {
      const timespec deadline{static_cast<time_t>(next_us / 1'000'000),
                              static_cast<long>(next_us % 1'000'000 * 1000)};
      ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr);
      while (next_us <= wtc::core::steady_us()) {
        woken.record(rtu, wtc::core::steady_us());
        rtu = (rtu + 1) % rtus_;
        next_us += step_us;
      }
      cpu_ns_ = thread_cpu_ns();
    }
  }

  const int rtus_;
  const std::int64_t period_us_;
  const std::shared_ptr<wtc::latency_histogram> jitter_ =
      std::make_shared<wtc::latency_histogram>();
  std::atomic<std::int64_t> cpu_ns_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;  // last: starts once the rest is built
};

double cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const auto tv = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return tv(usage.ru_utime) + tv(usage.ru_stime);
}

void print_latency(const char* what, const wtc::latency_histogram::snapshot& h) {
  const auto bound = [&](double q) {
    auto us = h.quantile_bound_us(q);
    return us < 0 ? std::string("> 1 s") : "<= " + std::to_string(us) + " us";
  };
  std::printf("%s: n=%llu mean=%.0f us p50 %s p99 %s p99.9 %s max=%lld us\n", what,
              static_cast<unsigned long long>(h.count),
              h.count ? static_cast<double>(h.sum_us) / static_cast<double>(h.count) : 0.0,
              bound(0.5).c_str(), bound(0.99).c_str(), bound(0.999).c_str(),
              static_cast<long long>(h.max_us));
}

}  // namespace

int main(int argc, char** argv) {
  int loops = 1000;
  int period_ms = 100;
  int seconds = 30;
  int warmup = 5;
  int threads = 2;
  bool own_clock = false;
  std::string data_dir =
      (std::filesystem::temp_directory_path() / ("wtc-bench-pid-" + std::to_string(::getpid())))
          .string();
  CLI::App cli{"wtc-bench-pid: PID loops' scan jitter and CPU, in process"};
  cli.add_option("--loops", loops, "number of loops")->check(CLI::Range(1, 100000));
  cli.add_option("--period-ms", period_ms, "scan period")->check(CLI::Range(10, 10000));
  cli.add_option("--seconds", seconds, "measured seconds")->check(CLI::Range(1, 3600));
  cli.add_option("--warmup", warmup, "seconds before measuring")->check(CLI::Range(0, 600));
  cli.add_option("--threads", threads, "CAF scheduler threads (wtcd's default: 2)");
  cli.add_flag("--own-clock", own_clock,
               "loops scan on their own timers (the RTUs cycle twice as fast as the loops scan) "
               "instead of when each measurement arrives");
  cli.add_option("--data-dir", data_dir, "SQLite directory (removed afterwards)");
  CLI11_PARSE(cli, argc, argv);

  const int rtus = (loops + slots_per_rtu - 1) / slots_per_rtu;
  std::filesystem::remove_all(data_dir);
  wtc::storage::db_config db{"", data_dir};
  {
    auto store = wtc::storage::open_store(db);
    store->migrate();
    const auto now = wtc::core::now_ms();
    for (int r = 0; r < rtus; ++r) {
      wtc::rtu_record rtu;
      rtu.station_name = station(r);
      rtu.ip_address = "127.0.0.1";
      rtu.port = 10000 + r;
      rtu.cycle_time_ms = period_ms;
      rtu.created_at = rtu.updated_at = rtu.state_since = now;
      store->create_rtu(rtu, wtc::audit_entry{});
    }
    for (int i = 0; i < loops; ++i) {
      wtc::pid_loop_record loop;
      loop.name = "loop-" + std::to_string(i);
      loop.input_rtu = loop.output_rtu = station(i / slots_per_rtu);
      loop.input_slot = loop.output_slot = i % slots_per_rtu + 1;
      loop.kp = 1.0;
      loop.ki = 0.5;
      loop.setpoint = 50.0;
      loop.scan_period_ms = period_ms;
      loop.created_at = loop.updated_at = now;
      store->create_pid_loop(loop, wtc::audit_entry{});
    }
  }

  caf::actor_system_config cfg;
  wtc::register_types(cfg);
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", threads);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  auto timing = std::make_shared<wtc::loop_timing>();
  auto input_jitter = std::make_shared<wtc::latency_histogram>();
  auto commands = std::make_shared<std::atomic<std::uint64_t>>(0);
  {
    caf::actor_system sys{cfg};
    auto put = [&sys](caf::atom_value name, const auto& handle) {
      sys.registry().put(name, caf::actor_cast<caf::strong_actor_ptr>(handle));
    };
    put(wtc::names::storage,
        sys.spawn<caf::detached>(wtc::storage_actor, db, std::make_shared<wtc::health_board>()));
    put(wtc::names::field_bus, sys.spawn(wtc::field_bus, wtc::field_bus_config{}));
    wtc::live_hub_config hub;
    hub.board = std::make_shared<wtc::live_board>();
    put(wtc::names::live_hub, sys.spawn(wtc::live_hub, hub));
    // At the loops' period the loops scan when each measurement comes; at another, on their own
    // timers (docs/pid.md).
    put(wtc::names::rtus,
        sys.spawn(command_sink, rtus, own_clock ? period_ms / 2 : period_ms, commands));
    auto feed = sys.spawn(feeder, rtus, std::chrono::milliseconds(period_ms), input_jitter);
    wtc::pid_manager_config pc;
    pc.timing = timing;
    auto manager = sys.spawn(wtc::pid_manager, pc);
    reference_schedule reference(rtus, std::chrono::milliseconds(period_ms));

    std::this_thread::sleep_for(std::chrono::seconds(warmup));
    timing->scan_jitter.reset();
    timing->sample_to_command.reset();
    input_jitter->reset();
    reference.jitter().reset();
    const auto commands_before = commands->load();
    const auto cpu_before = cpu_seconds() - reference.cpu_seconds();
    const auto wall_before = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    const double cpu = cpu_seconds() - reference.cpu_seconds() - cpu_before;
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_before).count();
    const auto lateness = timing->scan_jitter.read();
    std::printf("loops=%d period_ms=%d rtus=%d threads=%d scans=%s measured_s=%.1f\n", loops,
                period_ms, rtus, threads, own_clock ? "own-clock" : "on-measurement", wall);
    std::printf("scans/s=%.0f (expected %.0f) commands/s=%.0f\n",
                static_cast<double>(lateness.count) / wall, loops * 1000.0 / period_ms,
                static_cast<double>(commands->load() - commands_before) / wall);
    print_latency("scan period jitter", lateness);
    print_latency("input: measurement interval jitter (feeder)", input_jitter->read());
    print_latency("machine: a bare thread on the feeder's schedule", reference.jitter().read());
    print_latency("sample to command (sink)", timing->sample_to_command.read());
    std::printf(
        "cpu=%.1f%% of one core (whole process but the bare thread: loops, bus, feeder, storage, "
        "hub)\n",
        100.0 * cpu / wall);
    for (const auto& a : {caf::actor_cast<caf::actor>(manager), caf::actor_cast<caf::actor>(feed)})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    for (auto name :
         {wtc::names::rtus, wtc::names::live_hub, wtc::names::field_bus, wtc::names::storage})
      caf::anon_send_exit(sys.registry().get(name), caf::exit_reason::user_shutdown);
    for (auto name :
         {wtc::names::rtus, wtc::names::live_hub, wtc::names::field_bus, wtc::names::storage})
      sys.registry().erase(name);
  }
  std::filesystem::remove_all(data_dir);
  return 0;
}
