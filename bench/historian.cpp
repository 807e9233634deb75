// wtc-bench-historian: the historian's benchmark (issue 6), in process, as wtcd runs it.
//
// Three modes:
// - ingest: the product's storage actor (detached, on SQLite or PostgreSQL) and historian actor on
//   wtcd's scheduler settings. N tags (compression none, 100 ms) are created through the
//   historian, and a feeder thread sends it sample batches straight, as the field bus would: one
//   batch per RTU of `--slots` slots, each tag's timestamps 100 ms apart and behind the clock (a
//   tag created at run time takes samples of any time in order). It feeds at a target rate, or as
//   fast as storage takes the points (`--rate 0`: feeding stops while more than `--backlog`
//   points are fed and not yet written), and reports what was fed, what storage wrote
//   (historian_status.points_written), what waited, the drain after the feeder stops, and the CPU
//   by thread.
// - query: one tag with 30 days at 1 s and one with a year at 1 s, written with storage directly
//   (append_historian in day batches, the minute and hour rollups from core::roll_up over the same
//   samples), then trend queries through the historian actor, timed from the requester.
// - compression: core::compressor over a day at 1 s of the simulator's analog signals
//   (sim::plant_model stepped as an RTU scans it) and of a noisy sine, in the three modes at one
//   deviation: points stored, the bytes they take in a SQLite historian_samples table, and the
//   worst interpolation error.
//
// In process, like the alarm manager's benchmark: the goals are about the historian and its
// storage, and 500,000 samples/s through Modbus polling and the field bus would measure the field
// side first (bench/rtu_live.sh does). The feeder sends what an rtu_actor publishes, one
// sample_batch per RTU and cycle, to the historian directly, as an edge node's backfill does.
//
// bench/README.md describes each figure; bench/historian.sh runs the three on both backends.

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <CLI/CLI.hpp>
#include <caf/all.hpp>

#include "actors/field_bus.hpp"
#include "actors/historian.hpp"
#include "actors/storage_actor.hpp"
#include "bench/machine_load.hpp"
#include "core/compression.hpp"
#include "core/rollup.hpp"
#include "core/time.hpp"
#include "messages/health_board.hpp"
#include "messages/register_types.hpp"
#include "sim/plant_model.hpp"
#include "storage/store.hpp"

namespace {

using namespace std::chrono_literals;
using wtc::timestamp_ms;

constexpr auto request_timeout = std::chrono::seconds(120);

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

std::int64_t thread_cpu_us() {
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_utime.tv_sec * 1'000'000 + usage.ru_utime.tv_usec +
         usage.ru_stime.tv_sec * 1'000'000 + usage.ru_stime.tv_usec;
}

using wtc::bench::load_average;
using wtc::bench::machine_busy_seconds;

/// CPU seconds of each thread of this process, by thread id, with its name (/proc/self/task).
struct thread_cpu {
  std::string name;
  double seconds = 0;
};

std::map<long, thread_cpu> threads_cpu() {
  std::map<long, thread_cpu> out;
  const auto tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream in(entry.path() / "stat");
    std::string line;
    std::getline(in, line);
    const auto open = line.find('(');
    const auto close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos)
      continue;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    // After the name: state (3) ... utime is field 14, stime 15.
    for (int i = 3; i <= 13 && rest >> field; ++i) {
    }
    rest >> utime >> stime;
    const long tid = std::stol(entry.path().filename().string());
    out[tid] = {line.substr(open + 1, close - open - 1), static_cast<double>(utime + stime) / tick};
  }
  return out;
}

/// The threads that used at least 1% of a core between the two snapshots, busiest first. CAF
/// names its workers "caf.multiplexer" (sic), its timer thread "caf.clock" and a detached actor's
/// thread "caf.actor": here the storage actor's, the only detached actor.
std::string thread_breakdown(const std::map<long, thread_cpu>& before,
                             const std::map<long, thread_cpu>& after, double wall) {
  std::vector<std::pair<double, std::string>> rows;
  const long pid = ::getpid();
  for (const auto& [tid, now] : after) {
    const auto then = before.find(tid);
    const double used = now.seconds - (then != before.end() ? then->second.seconds : 0.0);
    if (used / wall < 0.01)
      continue;
    std::string name = now.name;
    if (tid == pid)
      name = "main";
    else if (name == "caf.actor")
      name = "caf.actor (detached: storage)";
    rows.emplace_back(100.0 * used / wall, name);
  }
  std::sort(rows.rbegin(), rows.rend());
  std::string text;
  for (const auto& [percent, name] : rows) {
    char item[96];
    std::snprintf(item, sizeof item, "%s%s %.1f%%", text.empty() ? "" : ", ", name.c_str(),
                  percent);
    text += item;
  }
  return text.empty() ? "(none above 1%)" : text;
}

double quantile(std::vector<double> values, double q) {
  if (values.empty())
    return 0;
  std::sort(values.begin(), values.end());
  const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  return values[std::min(values.size() - 1, i == 0 ? 0 : i - 1)];
}

std::string with_commas(double value) {
  auto n = static_cast<long long>(std::llround(value));
  std::string digits = std::to_string(n < 0 ? -n : n);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3)
    digits.insert(static_cast<std::size_t>(i), ",");
  return (n < 0 ? "-" : "") + digits;
}

// --- the database ---

struct database {
  wtc::storage::db_config config;
  bool temporary = false;  // a SQLite directory of this run, removed at the end

  std::string describe() const {
    if (!config.url.empty()) {
      // The URL without a password.
      auto url = config.url;
      const auto at = url.find('@');
      const auto colon = url.find(':', url.find("://") + 3);
      if (at != std::string::npos && colon != std::string::npos && colon < at)
        url.erase(colon, at - colon);
      return "PostgreSQL " + url;
    }
    return "SQLite in " + config.data_dir;
  }
  std::string backend() const { return config.url.empty() ? "sqlite" : "postgresql"; }
};

database make_database(const std::string& url, const std::string& data_dir,
                       const std::string& mode) {
  database db;
  if (!url.empty()) {
    db.config.url = url;
    return db;
  }
  db.config.data_dir = data_dir;
  if (db.config.data_dir.empty()) {
    db.config.data_dir = (std::filesystem::temp_directory_path() /
                          ("wtc-bench-historian-" + mode + "-" + std::to_string(::getpid())))
                             .string();
    db.temporary = true;
    std::filesystem::remove_all(db.config.data_dir);
  }
  return db;
}

/// Migrates, and refuses a database that already has historian tags: the runs need their own.
bool prepare_database(const database& db) {
  auto store = wtc::storage::open_store(db.config);
  store->migrate();
  const auto tags = store->list_historian_tags();
  if (!tags.empty()) {
    std::fprintf(stderr,
                 "the database already has %zu historian tags (%s...): give the benchmark a "
                 "fresh database\n",
                 tags.size(), tags.front().tag_name.c_str());
    return false;
  }
  return true;
}

caf::actor_system_config& wtcd_scheduler(caf::actor_system_config& cfg, int threads) {
  wtc::register_types(cfg);
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", threads);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  return cfg;
}

/// The storage actor (detached, as wtcd spawns it), the field bus (idle here: the historian
/// subscribes to it as in wtcd) and the historian, registered under their names.
wtc::historian_api spawn_historian(caf::actor_system& sys, const database& db,
                                   const wtc::historian_config& config) {
  auto put = [&sys](caf::atom_value name, const auto& handle) {
    sys.registry().put(name, caf::actor_cast<caf::strong_actor_ptr>(handle));
  };
  put(wtc::names::storage, sys.spawn<caf::detached>(wtc::storage_actor, db.config,
                                                    std::make_shared<wtc::health_board>()));
  put(wtc::names::field_bus, sys.spawn(wtc::field_bus, wtc::field_bus_config{}));
  auto historian = caf::actor_cast<wtc::historian_api>(sys.spawn(wtc::historian, config));
  put(wtc::names::historian, historian);
  return historian;
}

/// Stops the historian first (it writes its last batch), then storage and the bus.
void stop_all(caf::scoped_actor& self, caf::actor_system& sys) {
  for (auto name : {wtc::names::historian, wtc::names::field_bus, wtc::names::storage}) {
    auto handle = sys.registry().get(name);
    if (!handle)
      continue;
    auto actor = caf::actor_cast<caf::actor>(handle);
    self->monitor(actor);
    self->send_exit(actor, caf::exit_reason::user_shutdown);
    self->receive(
        [](caf::down_msg&) {},
        caf::after(std::chrono::seconds(30)) >>
            [name] { std::fprintf(stderr, "%s did not stop\n", to_string(name).c_str()); });
    sys.registry().erase(name);
  }
}

template <class T, class Handle, class... Ts>
caf::expected<T> ask_within(caf::scoped_actor& self, std::chrono::milliseconds timeout,
                            const Handle& target, Ts&&... xs) {
  caf::expected<T> result{caf::sec::request_timeout};
  self->request(target, timeout, std::forward<Ts>(xs)...)
      .receive([&](T& value) { result = std::move(value); },
               [&](caf::error& err) { result = std::move(err); });
  return result;
}

template <class T, class Handle, class... Ts>
caf::expected<T> ask(caf::scoped_actor& self, const Handle& target, Ts&&... xs) {
  return ask_within<T>(self, request_timeout, target, std::forward<Ts>(xs)...);
}

// --- ingest ---

struct ingest_options {
  int tags = 1000;
  int slots = 10;                    // per RTU: one batch carries this many tags
  double rate = -1;                  // samples/s; 0: as fast as storage takes them; -1: the goal
  double goal = -1;                  // samples/s; -1: 500,000 on SQLite, 200,000 on PostgreSQL
  int seconds = 20;                  // measured
  int warmup = 5;                    // fed before measuring
  int sample_ms = 100;               // how often the historian's counters are read
  std::int64_t backlog = 1'000'000;  // --rate 0: feeding pauses beyond this many points fed
                                     // and not yet written: five of the historian's batches, so
                                     // that the next one is full when storage is done with one
  std::int64_t safety = 4'000'000;   // at a target rate: the same, so that a historian that
                                     // cannot keep up does not take all memory
  int threads = 2;
};

std::string station_name(int rtu) {
  char name[32];
  std::snprintf(name, sizeof name, "bench-rtu-%04d", rtu);
  return name;
}

/// What the feeder did, read by the main thread at any time; `written` is written by the main
/// thread (the historian's points_written, for the back-pressure).
struct feed_state {
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> samples{0};
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::int64_t> written{0};
  std::atomic<std::int64_t> held_back_us{0};  // time paused by the backlog bound
  std::atomic<std::int64_t> thread_cpu_us{0};
  std::atomic<std::int64_t> newest_timestamp{0};
  std::atomic<std::int64_t> last_send_us{0};
};

struct feed_plan {
  int tags = 1000;
  int slots = 10;
  double rate = 0;  // 0: as fast as the backlog bound lets it
  std::int64_t backlog = 0;
  timestamp_ms first_timestamp = 0;
  std::int64_t step_ms = 100;  // between two samples of a tag
};

/// Sends the historian one batch per RTU in turn, the RTUs' tags one sample each per round, each
/// round 100 ms later in data time; at `rate`, batch j is due at start + j × slots / rate.
void feed(const wtc::historian_api& historian, const feed_plan& plan, feed_state& out) {
  ::pthread_setname_np(::pthread_self(), "feeder");
  const int rtus = (plan.tags + plan.slots - 1) / plan.slots;
  std::vector<std::string> stations;
  for (int r = 0; r < rtus; ++r)
    stations.push_back(station_name(r));
  std::vector<std::string> sensor_tags;
  for (int s = 1; s <= plan.slots; ++s)
    sensor_tags.push_back("AI-" + std::to_string(s));  // short: no allocation per copy
  std::uint64_t random = 88172645463325252ULL;         // xorshift64: a little noise, cheaply
  const auto start_us = wtc::core::steady_us();
  std::uint64_t sent_batches = 0;
  std::uint64_t sent_samples = 0;
  std::int64_t round = 0;
  int next_rtu = 0;
  const double batches_per_us = plan.rate / plan.slots / 1e6;
  while (!out.stop.load(std::memory_order_relaxed)) {
    const auto now = wtc::core::steady_us();
    std::uint64_t due = sent_batches + 1000;
    if (plan.rate > 0)
      due = static_cast<std::uint64_t>(static_cast<double>(now - start_us) * batches_per_us);
    const auto lag = static_cast<std::int64_t>(sent_samples) - out.written.load();
    if (lag > plan.backlog) {
      std::this_thread::sleep_for(1ms);
      out.held_back_us.fetch_add(wtc::core::steady_us() - now, std::memory_order_relaxed);
      continue;
    }
    if (sent_batches >= due) {
      // Until the next batch is due (at most 2 ms, to see `stop`), at least 50 µs.
      const auto next_us = start_us + static_cast<std::int64_t>(
                                          static_cast<double>(sent_batches + 1) / batches_per_us);
      std::this_thread::sleep_for(
          std::chrono::microseconds(std::clamp<std::int64_t>(next_us - now, 50, 2000)));
      continue;
    }
    // At most 1,000 batches between two looks at the clock, the bound and `stop`.
    for (std::uint64_t n = std::min<std::uint64_t>(due - sent_batches, 1000); n > 0; --n) {
      const int first_tag = next_rtu * plan.slots;
      const int count = std::min(plan.slots, plan.tags - first_tag);
      const timestamp_ms t = plan.first_timestamp + round * plan.step_ms;
      wtc::sample_batch batch;
      batch.rtu_id = next_rtu + 1;
      batch.station = stations[static_cast<std::size_t>(next_rtu)];
      batch.samples.resize(static_cast<std::size_t>(count));
      for (int s = 0; s < count; ++s) {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        auto& x = batch.samples[static_cast<std::size_t>(s)];
        x.tag = sensor_tags[static_cast<std::size_t>(s)];
        x.slot = s + 1;
        x.channel = 0;
        x.value = 50.0 + static_cast<double>(first_tag + s) * 0.01 +
                  static_cast<double>(random % 1000) * 0.001;
        x.raw = x.value;
        x.q = wtc::quality::good;
        x.changed = true;
        x.timestamp = t;
      }
      batch.produced_at_us = wtc::core::steady_us();
      caf::anon_send(historian, std::move(batch));
      ++sent_batches;
      sent_samples += static_cast<std::uint64_t>(count);
      if (++next_rtu == rtus) {
        next_rtu = 0;
        ++round;
      }
    }
    out.samples.store(sent_samples, std::memory_order_relaxed);
    out.batches.store(sent_batches, std::memory_order_relaxed);
    out.newest_timestamp.store(plan.first_timestamp + round * plan.step_ms,
                               std::memory_order_relaxed);
    out.last_send_us.store(wtc::core::steady_us(), std::memory_order_relaxed);
    out.thread_cpu_us.store(thread_cpu_us(), std::memory_order_relaxed);
  }
  out.thread_cpu_us.store(thread_cpu_us(), std::memory_order_relaxed);
}

struct counters_poll {
  std::int64_t at_us = 0;  // when the answer came
  wtc::historian_status status;
  std::int64_t round_trip_us = 0;
  std::uint64_t historian_mailbox = 0;
};

/// The historian's counters, and with `depth` its mailbox depth. Storage is not asked: its
/// answer would wait for the write in progress. Both requests queue behind the samples in the
/// historian's mailbox, so the round trip says how far behind the historian is.
std::optional<counters_poll> read_counters(caf::scoped_actor& self,
                                           const wtc::historian_api& historian, bool depth,
                                           std::chrono::milliseconds timeout = 10s) {
  counters_poll p;
  const auto t0 = wtc::core::steady_us();
  auto status =
      ask_within<wtc::historian_status>(self, timeout, historian, caf::get_atom::value,
                                        wtc::stats_atom::value, wtc::historian_atom::value);
  if (!status)
    return std::nullopt;
  p.at_us = wtc::core::steady_us();
  p.round_trip_us = p.at_us - t0;
  p.status = std::move(*status);
  if (depth)
    if (auto s = ask_within<wtc::actor_stats>(self, timeout, historian, wtc::stats_atom::value))
      p.historian_mailbox = s->mailbox_depth;
  return p;
}

int run_ingest(const database& db, ingest_options o) {
  const bool sqlite = db.config.url.empty();
  if (o.goal < 0)
    o.goal = sqlite ? 500'000 : 200'000;
  if (o.rate < 0)
    o.rate = o.goal;
  if (!prepare_database(db))
    return 2;

  // Data time runs at rate / tags × 100 ms per second: the first timestamp lies far enough
  // back that the feed stays behind the clock for the whole run (4 times the expected span, at
  // least a day; at --rate 0, as if 5 M samples/s).
  const double assumed_rate = o.rate > 0 ? o.rate : 5'000'000.0;
  const double span_ms =
      (o.warmup + o.seconds + 30.0) * assumed_rate / o.tags * 100.0;  // +30 s for the drain
  const auto lead_ms = std::max<std::int64_t>(wtc::core::day_ms, std::llround(4 * span_ms));
  feed_plan plan;
  plan.tags = o.tags;
  plan.slots = o.slots;
  plan.rate = o.rate;
  plan.backlog = o.rate > 0 ? o.safety : o.backlog;
  plan.first_timestamp = wtc::core::bucket_start(wtc::core::now_ms() - lead_ms, wtc::core::hour_ms);

  wtc::historian_config hc;  // wtcd's, but for one thing:
  // The counters are polled every --sample-ms: with wtcd's 10 s, every tenth poll would make
  // storage count the stored rows (a scan of every sample's key, blocking the writes), which
  // no one does during ingest in wtcd. The counters the bench reads come from the historian.
  hc.stats_max_age = std::chrono::hours(24);

  caf::actor_system_config cfg;
  caf::actor_system sys{wtcd_scheduler(cfg, o.threads)};
  caf::scoped_actor self{sys};
  auto historian = spawn_historian(sys, db, hc);
  auto storage = wtc::lookup<wtc::storage_api>(sys, wtc::names::storage);
  int exit_code = 0;

  // The tags, through the historian (each one a synced transaction with its audit row).
  const auto t_tags = wtc::core::steady_us();
  const int rtus = (o.tags + o.slots - 1) / o.slots;
  for (int i = 0; i < o.tags && exit_code == 0; ++i) {
    wtc::historian_tag_record tag;
    tag.rtu_station = station_name(i / o.slots);
    tag.slot = i % o.slots + 1;
    tag.tag_name = tag.rtu_station + ".ai" + std::to_string(tag.slot);
    tag.unit = "u";
    tag.sample_rate_ms = 100;
    tag.deadband = 0.1;
    tag.compression = "none";
    wtc::request_origin origin;
    origin.username = "bench";
    origin.user_role = wtc::role::admin;
    auto created =
        ask<wtc::historian_tag_record>(self, historian, wtc::create_atom::value, tag, origin);
    if (!created) {
      std::fprintf(stderr, "cannot create tag %s: %s\n", tag.tag_name.c_str(),
                   sys.render(created.error()).c_str());
      exit_code = 2;
    }
  }
  const double tags_s = static_cast<double>(wtc::core::steady_us() - t_tags) / 1e6;
  // The first read of the counters also reads the stored counts (empty yet).
  if (exit_code == 0 && !read_counters(self, historian, false)) {
    std::fprintf(stderr, "the historian does not answer\n");
    exit_code = 2;
  }

  feed_state fed;
  std::vector<counters_poll> polls;
  double wall = 0, cpu = 0, machine = 0, feeder_cpu = 0, drain_ms = -1;
  std::uint64_t samples_window = 0;
  std::int64_t written_window = 0;
  std::int64_t held_back_window_us = 0;
  std::int64_t max_pending = 0, max_lag = 0, max_round_trip = 0;
  std::uint64_t max_hist_mailbox = 0;
  int failed_polls = 0;
  counters_poll first, last;
  std::string threads_text;
  const auto load_before = load_average();
  std::optional<counters_poll> end_poll;
  if (exit_code == 0) {
    std::thread feeder([&] { feed(historian, plan, fed); });
    // Warm-up: the counters are read as in the window, for the back-pressure.
    const auto warm_end = std::chrono::steady_clock::now() + std::chrono::seconds(o.warmup);
    while (std::chrono::steady_clock::now() < warm_end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(o.sample_ms));
      if (auto p = read_counters(self, historian, false))
        fed.written.store(p->status.points_written);
    }
    const auto samples0 = fed.samples.load();
    const auto held0 = fed.held_back_us.load();
    const auto feeder_cpu0 = fed.thread_cpu_us.load();
    auto p0 = read_counters(self, historian, true);
    const auto threads0 = threads_cpu();
    const auto cpu0 = cpu_seconds();
    const auto machine0 = machine_busy_seconds();
    const auto wall0 = std::chrono::steady_clock::now();
    const auto end = wall0 + std::chrono::seconds(o.seconds);
    if (p0)
      first = *p0;
    for (auto next = wall0 + std::chrono::milliseconds(o.sample_ms); next < end;
         next += std::chrono::milliseconds(o.sample_ms)) {
      std::this_thread::sleep_until(next);
      if (std::chrono::steady_clock::now() >= end)
        break;  // a late answer used up the window
      auto p = read_counters(self, historian, true);
      if (!p) {
        ++failed_polls;
        continue;
      }
      fed.written.store(p->status.points_written);
      const auto lag = static_cast<std::int64_t>(fed.samples.load()) - p->status.points_written;
      max_lag = std::max(max_lag, lag);
      max_pending = std::max(max_pending, p->status.points_pending);
      max_round_trip = std::max(max_round_trip, p->round_trip_us);
      max_hist_mailbox = std::max(max_hist_mailbox, p->historian_mailbox);
      polls.push_back(*p);
    }
    std::this_thread::sleep_until(end);
    cpu = cpu_seconds() - cpu0;
    machine = machine_busy_seconds() - machine0;
    wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    threads_text = thread_breakdown(threads0, threads_cpu(), wall);
    const auto samples_end = fed.samples.load();
    end_poll = read_counters(self, historian, false);
    samples_window = samples_end - samples0;
    held_back_window_us = fed.held_back_us.load() - held0;
    feeder_cpu = static_cast<double>(fed.thread_cpu_us.load() - feeder_cpu0) / 1e6;
    fed.stop = true;
    feeder.join();
    const auto stopped_us = fed.last_send_us.load();
    if (end_poll) {
      last = *end_poll;
      written_window = last.status.points_written - first.status.points_written;
    }
    // The drain: until storage has written every sample fed (compression none: one point each).
    const auto total = static_cast<std::int64_t>(fed.samples.load());
    const auto drain_deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < drain_deadline) {
      auto p = read_counters(self, historian, false);
      if (p && p->status.points_written + p->status.points_dropped + p->status.samples_rejected >=
                   total) {
        drain_ms = static_cast<double>(p->at_us - stopped_us) / 1000.0;
        last = *p;
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    if (drain_ms < 0)
      if (auto p = read_counters(self, historian, false))
        last = *p;  // the totals as they are when the bench gives up waiting
  }

  if (exit_code == 0) {
    const double fed_rate = static_cast<double>(samples_window) / wall;
    const double window_s =
        end_poll ? static_cast<double>(end_poll->at_us - first.at_us) / 1e6 : wall;
    const double written_rate = static_cast<double>(written_window) / window_s;
    // Written goes up one write at a time: between the first and the last acknowledgment seen in
    // the window the rate is exact whatever the size of the writes.
    const counters_poll* ack_first = nullptr;
    const counters_poll* ack_last = nullptr;
    int acks = 0;
    for (std::size_t i = 0; i < polls.size(); ++i) {
      const auto before = i == 0 ? first.status.points_written : polls[i - 1].status.points_written;
      if (polls[i].status.points_written == before)
        continue;
      ++acks;
      if (!ack_first)
        ack_first = &polls[i];
      ack_last = &polls[i];
    }
    const double acked_rate =
        acks >= 2 ? static_cast<double>(ack_last->status.points_written -
                                        ack_first->status.points_written) /
                        (static_cast<double>(ack_last->at_us - ack_first->at_us) / 1e6)
                  : -1;
    std::printf("== ingest, %s\n", db.describe().c_str());
    std::printf(
        "tags=%d (%d RTUs x %d slots, compression none, sample_rate_ms 100) created through the "
        "historian in %.1f s; threads=%d (sharing); measured_s=%.1f after warmup_s=%d\n",
        o.tags, rtus, o.slots, tags_s, o.threads, wall, o.warmup);
    std::printf("target rate: %s; load average before: %s, after: %s\n",
                o.rate > 0 ? (with_commas(o.rate) + " samples/s").c_str()
                           : ("as fast as storage takes them (feeding paused while more than " +
                              with_commas(static_cast<double>(o.backlog)) +
                              " points were fed and not yet written)")
                                 .c_str(),
                load_before.c_str(), load_average().c_str());
    std::printf("data time: samples stamped from %s to %s (%.1f s of data per wall second)\n",
                wtc::core::format_iso8601(plan.first_timestamp).c_str(),
                wtc::core::format_iso8601(fed.newest_timestamp.load()).c_str(),
                fed_rate / o.tags * 0.1);
    std::printf(
        "fed: %s samples/s (%s batches in all); written by storage: %s points/s over the window, "
        "%s points/s between the first and the last of the %d writes acknowledged in it\n",
        with_commas(fed_rate).c_str(), with_commas(static_cast<double>(fed.batches.load())).c_str(),
        with_commas(written_rate).c_str(), acked_rate < 0 ? "?" : with_commas(acked_rate).c_str(),
        acks);
    std::printf(
        "backlog (fed - written, every %d ms): max %s points = %.2f s of feed; pending in the "
        "historian (historian_status.points_pending): max %s, at the end of the window %s; "
        "feeder held back by the bound %.1f%% of the window\n",
        o.sample_ms, with_commas(static_cast<double>(max_lag)).c_str(),
        fed_rate > 0 ? static_cast<double>(max_lag) / fed_rate : 0.0,
        with_commas(static_cast<double>(max_pending)).c_str(),
        end_poll ? with_commas(static_cast<double>(end_poll->status.points_pending)).c_str() : "?",
        std::min(100.0, 100.0 * static_cast<double>(held_back_window_us) / (wall * 1e6)));
    std::printf(
        "historian's mailbox (max when sampled) %llu; counters' round trip max %.1f ms; %zu reads "
        "answered, %d not within 10 s\n",
        static_cast<unsigned long long>(max_hist_mailbox),
        static_cast<double>(max_round_trip) / 1000.0, polls.size(), failed_polls);
    std::printf(
        "after the feeder stopped: every point written %s (the historian writes every 500 ms, or "
        "at %s points); totals: fed %s, received %s, rejected %s, written %s, dropped %s, "
        "write failures %s\n",
        drain_ms >= 0 ? ("in " + std::to_string(std::lround(drain_ms)) + " ms").c_str()
                      : "NOT within 60 s",
        with_commas(static_cast<double>(hc.batch_points)).c_str(),
        with_commas(static_cast<double>(fed.samples.load())).c_str(),
        with_commas(static_cast<double>(last.status.samples_received)).c_str(),
        with_commas(static_cast<double>(last.status.samples_rejected)).c_str(),
        with_commas(static_cast<double>(last.status.points_written)).c_str(),
        with_commas(static_cast<double>(last.status.points_dropped)).c_str(),
        with_commas(static_cast<double>(last.status.write_failures)).c_str());
    std::printf(
        "cpu=%.1f%% of one core (whole process), of which the feeder %.1f%%; by thread: %s; the "
        "machine %.1f%% busy of %ld%% (/proc/stat); max RSS %ld MiB\n",
        100.0 * cpu / wall, 100.0 * feeder_cpu / wall, threads_text.c_str(), 100.0 * machine / wall,
        100 * ::sysconf(_SC_NPROCESSORS_ONLN), max_rss_mib());

    // The stored counts, as /trends/stats reads them: a scan of every sample's key on the
    // storage thread, timed here because ingest waits behind it.
    const auto t_stats = wtc::core::steady_us();
    auto stats = ask<wtc::historian_stats>(self, storage, caf::get_atom::value,
                                           wtc::stats_atom::value, wtc::historian_atom::value);
    const double stats_ms = static_cast<double>(wtc::core::steady_us() - t_stats) / 1000.0;
    if (stats)
      std::printf(
          "stored: %s sample rows, %s rollup rows, %.1f MiB (%.1f bytes per sample row, rollups "
          "included); counting them (storage's historian_statistics) took %.0f ms%s\n",
          with_commas(static_cast<double>(stats->sample_rows)).c_str(),
          with_commas(static_cast<double>(stats->rollup_rows)).c_str(),
          static_cast<double>(stats->bytes) / (1 << 20),
          stats->sample_rows > 0
              ? static_cast<double>(stats->bytes) / static_cast<double>(stats->sample_rows)
              : 0.0,
          stats_ms,
          drain_ms < 0 ? " (storage was still writing: the time includes the writes queued "
                         "before the request)"
                       : "");

    const bool rate_ok = o.rate > 0 && fed_rate >= 0.99 * o.rate;
    // Written goes up in steps of one write (half a second of feed at most when it keeps up):
    // over the window it tells little; the backlog tells whether storage keeps up.
    const bool written_ok = static_cast<double>(written_window) >=
                            static_cast<double>(samples_window) - 1.5 * std::max(fed_rate, 1.0);
    // Bounded: a write may take a second or two besides the 500 ms flush interval, but the
    // backlog must not grow: at most 5 s of feed, and everything written within 5 s of the end.
    const bool bounded =
        max_lag <= std::llround(5 * std::max(fed_rate, 1.0)) && held_back_window_us == 0;
    const bool complete = last.status.points_dropped == 0 && last.status.write_failures == 0 &&
                          drain_ms >= 0 && drain_ms <= 5000;
    if (o.rate > 0) {
      const bool sustained = rate_ok && written_ok && bounded && complete;
      std::printf(
          "%s: %s samples/s sustained (fed %s/s, written %s/s, backlog max %.2f s of feed, "
          "drained %s, nothing dropped: %s)\n",
          sustained ? "sustained" : "NOT sustained", with_commas(o.rate).c_str(),
          with_commas(fed_rate).c_str(), with_commas(written_rate).c_str(),
          fed_rate > 0 ? static_cast<double>(max_lag) / fed_rate : 0.0,
          drain_ms >= 0 ? ("in " + std::to_string(std::lround(drain_ms)) + " ms").c_str()
                        : "NOT within 60 s",
          complete ? "yes" : "no");
      std::printf("goal %s: at least %s samples/s on %s (%s)\n",
                  sustained && o.rate >= o.goal ? "met" : "missed", with_commas(o.goal).c_str(),
                  db.backend().c_str(),
                  sustained ? ("sustained " + with_commas(o.rate)).c_str()
                            : ("not sustained at " + with_commas(o.rate)).c_str());
    } else {
      const double ceiling = acked_rate > 0 ? acked_rate : written_rate;
      std::printf(
          "ceiling: %s points/s written (between write acknowledgments; fed %s/s) with at most %s "
          "points fed and not written; goal %s %s\n",
          with_commas(ceiling).c_str(), with_commas(fed_rate).c_str(),
          with_commas(static_cast<double>(o.backlog)).c_str(), with_commas(o.goal).c_str(),
          ceiling >= o.goal ? "within reach" : "out of reach");
    }
  }
  stop_all(self, sys);
  return exit_code;
}

// --- query ---

struct query_options {
  int repeat = 20;
  int year_raw_days = 365;  // the year's tag gets raw points for its last this many days
  int threads = 2;
  double goal_ms = 100;
};

/// A process-like signal at 1 s: a daily swing, a 10-minute wave and noise.
double fill_value(timestamp_ms t, std::mt19937_64& random) {
  static std::normal_distribution<double> noise(0.0, 0.05);
  const double s = static_cast<double>(t) / 1000.0;
  return 50.0 + 10.0 * std::sin(2 * M_PI * s / 86400.0) + 2.0 * std::sin(2 * M_PI * s / 600.0) +
         noise(random);
}

wtc::historian_rollup_row row_of(std::int64_t tag_id, std::int64_t width,
                                 const wtc::core::rollup& r) {
  return {tag_id, width, r.start, r.count, r.uncertain,  r.bad,      r.sum,
          r.min,  r.max, r.first, r.last,  r.first_time, r.last_time};
}

struct fill_result {
  std::int64_t points = 0;
  std::int64_t rollups = 0;
  double seconds = 0;
};

/// Days [start, end) of one tag at 1 s, one append_historian per day: raw points from
/// `raw_from` on, minute and hour rollups for every day.
fill_result fill(wtc::storage::store& store, std::int64_t tag_id, timestamp_ms start,
                 timestamp_ms end, timestamp_ms raw_from, const char* what) {
  fill_result out;
  std::mt19937_64 random(static_cast<std::uint64_t>(tag_id));
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<wtc::core::historian_sample> samples;
  int day = 0;
  for (timestamp_ms d = start; d < end; d += wtc::core::day_ms, ++day) {
    samples.clear();
    for (timestamp_ms t = d; t < d + wtc::core::day_ms; t += 1000)
      samples.push_back({t, fill_value(t, random), wtc::quality::good});
    const auto minutes =
        wtc::core::roll_up(samples, wtc::core::minute_ms, d, d + wtc::core::day_ms);
    const auto hours = wtc::core::roll_up(minutes, wtc::core::minute_ms, wtc::core::hour_ms, d,
                                          d + wtc::core::day_ms);
    wtc::historian_batch batch;
    if (d >= raw_from) {
      batch.points.reserve(samples.size());
      for (const auto& s : samples)
        batch.points.push_back({tag_id, s.timestamp, s.value, wtc::historian_good});
    }
    for (const auto& r : minutes)
      batch.rollups.push_back(row_of(tag_id, wtc::core::minute_ms, r));
    for (const auto& r : hours)
      batch.rollups.push_back(row_of(tag_id, wtc::core::hour_ms, r));
    store.append_historian(batch);
    out.points += static_cast<std::int64_t>(batch.points.size());
    out.rollups += static_cast<std::int64_t>(batch.rollups.size());
    if (day % 30 == 29)
      std::fprintf(stderr, "  %s: %d days written, %.0f s\n", what, day + 1,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

struct trend_case {
  std::string name;
  std::int64_t tag_id = 0;
  timestamp_ms start = 0;
  timestamp_ms end = 0;
  std::string aggregation;
  std::int64_t interval_ms = 0;
  double goal_ms = 0;  // 0: for information
};

int run_query(const database& db, const query_options& o) {
  const bool sqlite = db.config.url.empty();
  if (!prepare_database(db))
    return 2;
  // Whole UTC days, the last ending at today's start: every window below is aligned.
  const auto end = wtc::core::bucket_start(wtc::core::now_ms(), wtc::core::day_ms);
  const auto month_start = end - 30 * wtc::core::day_ms;
  const auto year_start = end - 365 * wtc::core::day_ms;
  std::int64_t month_tag = 0, year_tag = 0;
  fill_result month, year;
  wtc::historian_stats stored;
  double stats_ms = 0;
  {
    auto store = wtc::storage::open_store(db.config);
    const auto now = wtc::core::now_ms();
    for (auto [name, slot] : {std::pair{"bench.month", 1}, std::pair{"bench.year", 2}}) {
      wtc::historian_tag_record tag;
      tag.rtu_station = "bench-rtu";
      tag.slot = slot;
      tag.tag_name = name;
      tag.sample_rate_ms = 1000;
      tag.compression = "none";
      tag.created_at = tag.updated_at = now;
      const auto stored_tag = store->create_historian_tag(tag, wtc::audit_entry{});
      (slot == 1 ? month_tag : year_tag) = stored_tag.id;
    }
    std::fprintf(stderr, "filling %s ...\n", db.describe().c_str());
    month = fill(*store, month_tag, month_start, end, month_start, "30 days");
    year = fill(*store, year_tag, year_start, end, end - o.year_raw_days * wtc::core::day_ms,
                "a year");
    const auto t0 = wtc::core::steady_us();
    stored = store->historian_statistics();
    stats_ms = static_cast<double>(wtc::core::steady_us() - t0) / 1000.0;
  }
  std::printf("== query, %s\n", db.describe().c_str());
  std::printf("load average: %s\n", load_average().c_str());
  std::printf(
      "filled with storage directly (append_historian, one transaction per day: the day's points "
      "and its minute and hour rollups from core::roll_up):\n");
  std::printf(
      "  'bench.month': 30 days at 1 s, %s points + %s rollup rows in %.1f s (%s points/s)\n",
      with_commas(static_cast<double>(month.points)).c_str(),
      with_commas(static_cast<double>(month.rollups)).c_str(), month.seconds,
      with_commas(static_cast<double>(month.points) / month.seconds).c_str());
  std::printf(
      "  'bench.year': 365 days at 1 s, rollups for the whole year, raw points for the last %d "
      "days: %s points + %s rollup rows in %.1f s (%s points/s)\n",
      o.year_raw_days, with_commas(static_cast<double>(year.points)).c_str(),
      with_commas(static_cast<double>(year.rollups)).c_str(), year.seconds,
      with_commas(static_cast<double>(year.points) / year.seconds).c_str());
  std::printf(
      "  stored: %s sample rows, %s rollup rows, %.1f MiB (counted in %.0f ms); %.1f bytes per "
      "row of either\n",
      with_commas(static_cast<double>(stored.sample_rows)).c_str(),
      with_commas(static_cast<double>(stored.rollup_rows)).c_str(),
      static_cast<double>(stored.bytes) / (1 << 20), stats_ms,
      static_cast<double>(stored.bytes) /
          static_cast<double>(std::max<std::int64_t>(1, stored.sample_rows + stored.rollup_rows)));

  const auto unaligned_end = end - 23 * wtc::core::minute_ms - 12 * 1000;  // 23:36:48
  std::vector<trend_case> cases{
      {"30 days, avg per 1 h", month_tag, month_start, end, "avg", wtc::core::hour_ms,
       sqlite ? o.goal_ms : 0},
      {"a year, avg per 1 d", year_tag, year_start, end, "avg", wtc::core::day_ms, o.goal_ms},
      {"an hour, raw", month_tag, end - wtc::core::hour_ms, end, "none", wtc::core::minute_ms, 0},
      {"a day, avg per 1 m", month_tag, end - wtc::core::day_ms, end, "avg", wtc::core::minute_ms,
       0},
      {"30 days ending at 23:36:48, avg per 1 h", month_tag, unaligned_end - 30 * wtc::core::day_ms,
       unaligned_end, "avg", wtc::core::hour_ms, 0},
      {"a year ending at 23:36:48, avg per 1 d", year_tag, unaligned_end - 365 * wtc::core::day_ms,
       unaligned_end, "avg", wtc::core::day_ms, 0},
  };

  caf::actor_system_config cfg;
  caf::actor_system sys{wtcd_scheduler(cfg, o.threads)};
  caf::scoped_actor self{sys};
  auto historian = spawn_historian(sys, db, wtc::historian_config{});
  int exit_code = 0;
  // Answered once the historian has loaded its tags.
  if (!ask<std::vector<wtc::historian_tag_record>>(self, historian, caf::get_atom::value,
                                                   wtc::hist_tag_atom::value)) {
    std::fprintf(stderr, "the historian did not start\n");
    exit_code = 2;
  }
  std::printf(
      "trend queries through the historian actor (get, trend, trend_query), each %d times in a "
      "row, timed from the requester (milliseconds; 'first' is the first of the %d, on a fresh "
      "storage connection):\n",
      o.repeat, o.repeat);
  std::printf("| query | source | points | first | p50 | p99 | max | goal |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|---|\n");
  std::vector<std::string> verdicts;
  for (const auto& c : cases) {
    if (exit_code != 0)
      break;
    std::vector<double> ms;
    std::string source;
    std::size_t points = 0;
    std::string failure;
    for (int i = 0; i < o.repeat; ++i) {
      wtc::trend_query q{c.tag_id, c.start, c.end, c.aggregation, c.interval_ms};
      const auto t0 = wtc::core::steady_us();
      auto answer =
          ask<wtc::trend_series>(self, historian, caf::get_atom::value, wtc::trend_atom::value, q);
      ms.push_back(static_cast<double>(wtc::core::steady_us() - t0) / 1000.0);
      if (!answer) {
        failure = sys.render(answer.error());
        break;
      }
      source = answer->source;
      points = answer->points.size();
    }
    if (!failure.empty()) {
      std::printf("| %s | error: %s | | | | | | |\n", c.name.c_str(), failure.c_str());
      exit_code = 1;
      continue;
    }
    const double p99 = quantile(ms, 0.99);
    std::string goal = "(information)";
    if (c.goal_ms > 0) {
      const bool met = p99 < c.goal_ms;
      char text[64];
      std::snprintf(text, sizeof text, "%s: p99 < %.0f ms", met ? "met" : "MISSED", c.goal_ms);
      goal = text;
      verdicts.push_back("goal " + std::string(met ? "met" : "missed") + ": " + c.name + " on " +
                         db.backend() + " under " + std::to_string(std::lround(c.goal_ms)) +
                         " ms (p99 " + std::to_string(p99).substr(0, 6) + " ms)");
    }
    std::printf("| %s | %s | %zu | %.2f | %.2f | %.2f | %.2f | %s |\n", c.name.c_str(),
                source.c_str(), points, ms.front(), quantile(ms, 0.5), p99,
                *std::max_element(ms.begin(), ms.end()), goal.c_str());
  }
  if (!sqlite)
    verdicts.push_back(
        "(30 days avg per 1 h has a goal on SQLite only; on PostgreSQL it is for information)");
  for (const auto& v : verdicts)
    std::printf("%s\n", v.c_str());
  std::printf("max RSS %ld MiB\n", max_rss_mib());
  stop_all(self, sys);
  return exit_code;
}

// --- compression ---

struct signal_series {
  std::string name;
  double deviation = 0;
  std::vector<wtc::core::historian_sample> samples;
};

/// The simulator's analog inputs over a day: sim::plant_model (seed 1, in operation, no
/// controller: its outputs stay at their working point) scanned every 100 ms as an RTU scans it,
/// one sample a second kept (a tag at 1 s). Deviations as wtcd's demo tags (twice the sensors'
/// noise), or `noise_factor` times the sensor's noise (its noise_sd) when that is positive.
std::vector<signal_series> simulator_signals(timestamp_ms start, double noise_factor) {
  struct which {
    int slot;
    const char* name;
    double deviation;
  };
  namespace slot = wtc::sim::slot;
  const std::vector<which> slots{
      {slot::raw_tank_level, "sim raw_tank_level (m)", 0.01},
      {slot::clear_well_level, "sim clear_well_level (m)", 0.01},
      {slot::raw_water_flow, "sim raw_water_flow (m3/h)", 0.5},
      {slot::treated_water_flow, "sim treated_water_flow (m3/h)", 0.5},
      {slot::ph, "sim ph", 0.02},
      {slot::turbidity, "sim turbidity (NTU)", 0.02},
      {slot::chlorine, "sim chlorine_residual (mg/L)", 0.01},
      {slot::temperature, "sim water_temperature (C)", 0.05},
      {slot::distribution_pressure, "sim distribution_pressure (bar)", 0.02},
  };
  std::vector<signal_series> out;
  for (const auto& w : slots)
    out.push_back(
        {w.name,
         noise_factor > 0 ? noise_factor * wtc::sim::definition_of(w.slot).noise_sd : w.deviation,
         {}});
  wtc::sim::plant_model plant;
  for (std::int64_t second = 0; second < 86400; ++second) {
    for (int scan = 0; scan < 10; ++scan)
      plant.step(0.1);
    const timestamp_ms t = start + second * 1000;
    for (std::size_t i = 0; i < slots.size(); ++i)
      out[i].samples.push_back({t, plant.slot_at(slots[i].slot).value, wtc::quality::good});
  }
  return out;
}

signal_series noisy_sine(timestamp_ms start, double sigma, double deviation) {
  signal_series s;
  char name[96];
  std::snprintf(name, sizeof name, "noisy sine (amplitude 1, period 10 min, noise sd %.2f)", sigma);
  s.name = name;
  s.deviation = deviation;
  std::mt19937_64 random(7);
  std::normal_distribution<double> noise(0.0, sigma);
  for (std::int64_t second = 0; second < 86400; ++second)
    s.samples.push_back({start + second * 1000,
                         std::sin(2 * M_PI * static_cast<double>(second) / 600.0) + noise(random),
                         wtc::quality::good});
  return s;
}

/// The worst error of reading the raw samples back from the stored points: linear between the
/// stored points around each sample (swinging door's promise), or the step from the last stored
/// point (deadband's).
double max_error(const std::vector<wtc::core::historian_sample>& raw,
                 const std::vector<wtc::core::historian_sample>& stored, bool linear) {
  double worst = 0;
  std::size_t j = 0;  // stored[j] is the last stored point at or before the sample
  for (const auto& r : raw) {
    while (j + 1 < stored.size() && stored[j + 1].timestamp <= r.timestamp)
      ++j;
    const auto& a = stored[j];
    double estimate = a.value;
    if (linear && a.timestamp != r.timestamp && j + 1 < stored.size()) {
      const auto& b = stored[j + 1];
      const double f = static_cast<double>(r.timestamp - a.timestamp) /
                       static_cast<double>(b.timestamp - a.timestamp);
      estimate = a.value + f * (b.value - a.value);
    }
    worst = std::max(worst, std::fabs(r.value - estimate));
  }
  return worst;
}

/// The pages in use of a SQLite database file, as the historian's statistics count them.
std::int64_t sqlite_bytes_in_use(const std::string& file) {
  sqlite3* db = nullptr;
  std::int64_t bytes = -1;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db,
                           "SELECT (page_count - freelist_count) * page_size FROM "
                           "pragma_page_count(), pragma_freelist_count(), pragma_page_size()",
                           -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
      bytes = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return bytes;
}

std::string sqlite_file_of(const std::string& data_dir) {
  for (const auto& entry : std::filesystem::directory_iterator(data_dir))
    if (entry.path().extension() == ".db")
      return entry.path().string();
  return {};
}

int run_compression(const std::string& data_dir_option, double sine_sigma, double sine_deviation,
                    double noise_factor) {
  // The bytes: every stored series written as a tag of its own into a SQLite historian (on
  // /dev/shm when there is one: only sizes are measured here), the growth of its pages in use.
  auto data_dir = data_dir_option;
  const bool temporary = data_dir.empty();
  if (temporary)
    data_dir =
        (std::filesystem::is_directory("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                   : std::filesystem::temp_directory_path()) /
        ("wtc-bench-historian-compression-" + std::to_string(::getpid()));
  std::filesystem::remove_all(data_dir);
  wtc::storage::db_config dbc{"", data_dir};
  auto store = wtc::storage::open_store(dbc);
  store->migrate();
  const auto file = sqlite_file_of(data_dir);
  if (file.empty()) {
    std::fprintf(stderr, "no SQLite file in %s\n", data_dir.c_str());
    return 2;
  }

  const auto start =
      wtc::core::bucket_start(wtc::core::now_ms(), wtc::core::day_ms) - 2 * wtc::core::day_ms;
  auto signals = simulator_signals(start, noise_factor);
  signals.push_back(noisy_sine(start, sine_sigma, sine_deviation));

  std::printf("== compression: a day at 1 s (86,400 samples) per signal\n");
  std::printf("load average: %s\n", load_average().c_str());
  std::int64_t next_slot = 1;
  // One tag per stored series; returns the growth of the pages in use.
  auto store_series = [&](const std::string& name,
                          const std::vector<wtc::core::historian_sample>& points,
                          const std::vector<wtc::core::rollup>* minutes,
                          const std::vector<wtc::core::rollup>* hours) {
    wtc::historian_tag_record tag;
    tag.rtu_station = "bench-compression";
    tag.slot = static_cast<std::int32_t>(next_slot++);
    tag.tag_name = name.substr(0, 40) + " #" + std::to_string(tag.slot);
    tag.compression = "none";
    tag.created_at = tag.updated_at = wtc::core::now_ms();
    const auto id = store->create_historian_tag(tag, wtc::audit_entry{}).id;
    const auto before = sqlite_bytes_in_use(file);
    wtc::historian_batch batch;
    for (const auto& p : points)
      batch.points.push_back({id, p.timestamp, p.value, wtc::historian_good});
    if (minutes)
      for (const auto& r : *minutes)
        batch.rollups.push_back(row_of(id, wtc::core::minute_ms, r));
    if (hours)
      for (const auto& r : *hours)
        batch.rollups.push_back(row_of(id, wtc::core::hour_ms, r));
    store->append_historian(batch);
    return sqlite_bytes_in_use(file) - before;
  };

  struct mode_case {
    const char* label;
    wtc::core::compression_mode mode;
    std::int64_t max_interval_ms;
  };
  const std::vector<mode_case> modes{
      {"none", wtc::core::compression_mode::none, 0},
      {"deadband, max interval 60 s", wtc::core::compression_mode::deadband, 60'000},
      {"swinging door, max interval 60 s", wtc::core::compression_mode::swinging_door, 60'000},
      {"deadband, max interval 8 h", wtc::core::compression_mode::deadband, 8 * 3'600'000},
      {"swinging door, max interval 8 h", wtc::core::compression_mode::swinging_door,
       8 * 3'600'000},
  };

  double row_bytes = 0;  // per stored point, from the largest series (compression none)
  std::printf(
      "| signal | deviation | range of the day | mode | points stored | points / raw sample | "
      "bytes / raw sample (measured) | bytes / raw sample (points x row size) | worst error "
      "(linear / step) | ns / sample |\n");
  std::printf("|---|---:|---|---|---:|---:|---:|---:|---|---:|\n");
  std::int64_t rollup_bytes = -1;
  std::size_t rollup_rows = 0;
  for (const auto& s : signals) {
    double lo = s.samples.front().value, hi = lo;
    for (const auto& x : s.samples) {
      lo = std::min(lo, x.value);
      hi = std::max(hi, x.value);
    }
    const double n = static_cast<double>(s.samples.size());
    for (const auto& m : modes) {
      wtc::core::compression_config c{m.mode, s.deviation, m.max_interval_ms};
      double ns = 0;
      // Timed alone (counting, not keeping, the points: a first pass writing a fresh vector
      // would time its page faults), then run again to keep them.
      std::size_t count = 0;
      {
        wtc::core::compressor timed(c);
        const auto t0 = std::chrono::steady_clock::now();
        for (const auto& x : s.samples)
          count += timed.push(x).size();
        count += timed.flush().size();
        ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0)
                 .count() /
             n;
      }
      std::vector<wtc::core::historian_sample> stored;
      stored.reserve(count);
      wtc::core::compressor compressor(c);
      for (const auto& x : s.samples)
        for (const auto& p : compressor.push(x))
          stored.push_back(p);
      for (const auto& p : compressor.flush())
        stored.push_back(p);
      const auto growth = store_series(s.name + " " + m.label, stored, nullptr, nullptr);
      if (m.mode == wtc::core::compression_mode::none && row_bytes == 0)
        row_bytes = static_cast<double>(growth) / static_cast<double>(stored.size());
      char error[64] = "-";
      if (m.mode == wtc::core::compression_mode::swinging_door)
        std::snprintf(error, sizeof error, "%.4f linear", max_error(s.samples, stored, true));
      else if (m.mode == wtc::core::compression_mode::deadband)
        std::snprintf(error, sizeof error, "%.4f step (linear %.4f)",
                      max_error(s.samples, stored, false), max_error(s.samples, stored, true));
      std::printf("| %s | %g | %.3f to %.3f | %s | %s | %.5f | %.3f | %.3f | %s | %.1f |\n",
                  s.name.c_str(), s.deviation, lo, hi, m.label,
                  with_commas(static_cast<double>(stored.size())).c_str(),
                  static_cast<double>(stored.size()) / n, static_cast<double>(growth) / n,
                  row_bytes * static_cast<double>(stored.size()) / n, error, ns);
    }
    if (rollup_bytes < 0) {
      // The rollups do not depend on the compression: one tag's day of them, measured once.
      const auto minutes =
          wtc::core::roll_up(s.samples, wtc::core::minute_ms, start, start + wtc::core::day_ms);
      const auto hours = wtc::core::roll_up(minutes, wtc::core::minute_ms, wtc::core::hour_ms,
                                            start, start + wtc::core::day_ms);
      rollup_rows = minutes.size() + hours.size();
      rollup_bytes = store_series("rollups only", {}, &minutes, &hours);
    }
  }
  std::printf(
      "bytes: growth of the SQLite file's pages in use (page_count - freelist_count, 4 KiB pages) "
      "when the stored points of one series are appended as a tag of their own (one "
      "transaction); a few points take less than a page, so the measured figure is 0 or one "
      "page. 'points x row size' uses %.1f bytes per stored point, measured on the first series "
      "without compression.\n",
      row_bytes);
  std::printf(
      "rollups: a tag's minute and hour rollups of a day (%zu rows, whatever the compression) take "
      "%s bytes = %.3f bytes per raw sample at 1 s\n",
      rollup_rows, with_commas(static_cast<double>(rollup_bytes)).c_str(),
      static_cast<double>(rollup_bytes) / 86400.0);
  store.reset();
  if (temporary)
    std::filesystem::remove_all(data_dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{
      "wtc-bench-historian: the historian's ingest rate, trend query latency and "
      "compression, in process"};
  cli.require_subcommand(1);
  std::string url;
  std::string data_dir;
  bool keep = false;
  int threads = 2;
  cli.add_option("--db", url, "postgresql://... (default: a temporary SQLite data directory)");
  cli.add_option("--data-dir", data_dir,
                 "the SQLite data directory (default: a temporary one, removed afterwards)");
  cli.add_flag("--keep", keep, "keep the temporary SQLite data directory");
  cli.add_option("--threads", threads, "CAF scheduler threads (wtcd's default: 2)")
      ->check(CLI::Range(1, 64));

  ingest_options io;
  auto* ingest = cli.add_subcommand("ingest", "samples through the historian into storage");
  ingest->add_option("--tags", io.tags, "historian tags (compression none, 100 ms)")
      ->check(CLI::Range(1, 1'000'000));
  ingest->add_option("--slots", io.slots, "tags per RTU: samples per batch")
      ->check(CLI::Range(1, 1000));
  ingest
      ->add_option("--rate", io.rate,
                   "samples/s fed (default: the goal); 0: as fast as storage takes them")
      ->check(CLI::Range(0.0, 1e9));
  ingest->add_option("--goal", io.goal,
                     "samples/s to sustain (default 500,000 on SQLite, 200,000 on PostgreSQL)");
  ingest->add_option("--seconds", io.seconds, "measured seconds")->check(CLI::Range(1, 3600));
  ingest->add_option("--warmup", io.warmup, "seconds fed before measuring")
      ->check(CLI::Range(0, 600));
  ingest->add_option("--sample-ms", io.sample_ms, "how often the historian's counters are read")
      ->check(CLI::Range(10, 10000));
  ingest
      ->add_option("--backlog", io.backlog,
                   "--rate 0: feeding pauses while more points than this are fed and not yet "
                   "written")
      ->check(CLI::Range(1000, 100'000'000));

  query_options qo;
  auto* query = cli.add_subcommand("query", "trend queries over 30 days and a year at 1 s");
  query->add_option("--repeat", qo.repeat, "times each query is run")->check(CLI::Range(1, 10000));
  query
      ->add_option("--year-raw-days", qo.year_raw_days,
                   "raw points of the year's tag for its last this many days (the rollups cover "
                   "the whole year)")
      ->check(CLI::Range(0, 365));

  double sigma = 0.02;
  double sine_deviation = 0.05;
  double noise_factor = 0;
  auto* compression = cli.add_subcommand("compression", "points and bytes stored per mode");
  compression->add_option("--sigma", sigma, "noise of the sine")->check(CLI::Range(0.0, 10.0));
  compression->add_option("--deviation", sine_deviation, "the sine's compression deviation")
      ->check(CLI::Range(0.0, 10.0));
  compression
      ->add_option("--sim-deviation-noise", noise_factor,
                   "the simulator's deviations: this many times each sensor's noise (default: "
                   "wtcd's demo tags', twice the noise)")
      ->check(CLI::Range(0.0, 100.0));
  CLI11_PARSE(cli, argc, argv);

  io.threads = qo.threads = threads;
  // As wtcd with WTC_LOG_LEVEL=warning: the historian logs every tag it starts recording at info.
  spdlog::set_level(spdlog::level::warn);
  int code = 0;
  try {
    if (*compression) {
      code = run_compression(data_dir, sigma, sine_deviation, noise_factor);
    } else {
      const auto db = make_database(url, data_dir, *ingest ? "ingest" : "query");
      code = *ingest ? run_ingest(db, io) : run_query(db, qo);
      if (db.temporary && !keep)
        std::filesystem::remove_all(db.config.data_dir);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  std::fflush(stdout);
  return code;
}
