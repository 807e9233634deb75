#include <unistd.h>

#include <fstream>
#include <mutex>
#include <sstream>

#include "core/time.hpp"
#include "gateway/actor_bridge.hpp"
#include "gateway/api.hpp"
#include "gateway/json_body.hpp"
#include "gateway/json_mapping.hpp"
#include "messages/interfaces.hpp"

namespace wtc::gateway {
namespace {

/// A database probe older than this no longer says anything about the database.
constexpr timestamp_ms stale_probe_ms = 5'000;

struct process_usage {
  double cpu_percent = 0;     // of one core, since the previous call
  double memory_percent = 0;  // resident set against the machine's memory
};

/// Reads /proc: CPU time since the previous call, and resident memory.
process_usage read_process_usage() {
  static std::mutex mutex;
  static double last_cpu_s = 0;
  static double last_wall_s = 0;
  std::lock_guard<std::mutex> guard(mutex);
  process_usage usage;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream stat("/proc/self/stat");
  std::string line;
  std::getline(stat, line);
  // Fields after the command name, which may hold spaces: skip to the closing parenthesis.
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string field;
  double utime = 0, stime = 0, rss_pages = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14)
      utime = std::stod(field);
    else if (i == 15)
      stime = std::stod(field);
    else if (i == 24) {
      rss_pages = std::stod(field);
      break;
    }
  }
  const double cpu_s = (utime + stime) / ticks;
  const double wall_s = static_cast<double>(core::now_ms()) / 1000.0;
  if (last_wall_s > 0 && wall_s > last_wall_s)
    usage.cpu_percent = 100.0 * (cpu_s - last_cpu_s) / (wall_s - last_wall_s);
  last_cpu_s = cpu_s;
  last_wall_s = wall_s;
  const double total_pages = static_cast<double>(sysconf(_SC_PHYS_PAGES));
  if (total_pages > 0)
    usage.memory_percent = 100.0 * rss_pages / total_pages;
  return usage;
}

double round2(double x) {
  return static_cast<double>(static_cast<long long>(x * 100 + 0.5)) / 100;
}

nlohmann::json database_json(const api_context& ctx, bool& ok) {
  auto [health, at] = ctx.board->db();
  const bool fresh = at != 0 && core::now_ms() - at <= stale_probe_ms;
  ok = fresh && health.ok;
  nlohmann::json db{{"status", ok ? "ok" : "error"},
                    {"latency_ms", round2(health.latency_ms)},
                    {"backend", health.backend}};
  if (!health.error.empty())
    db["error"] = health.error;
  else if (!fresh)
    db["error"] = at == 0 ? "not probed yet" : "no recent probe: the storage actor is busy or down";
  return db;
}

void render_histogram(std::ostream& out, const char* name, const char* help,
                      const latency_histogram::snapshot& h) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < latency_histogram::bounds_us.size(); ++i) {
    cumulative += h.counts[i];
    out << name << "_bucket{le=\"" << static_cast<double>(latency_histogram::bounds_us[i]) / 1e6
        << "\"} " << cumulative << "\n";
  }
  out << name << "_bucket{le=\"+Inf\"} " << h.count << "\n"
      << name << "_sum " << static_cast<double>(h.sum_us) / 1e6 << "\n"
      << name << "_count " << h.count << "\n";
}

}  // namespace

void add_system_routes(router& routes, api_context& ctx) {
  routes.add("GET", "/health", access::anonymous, [&ctx](const exchange_ptr& ex) {
    bool db_ok = false;
    auto db = database_json(ctx, db_ok);
    const bool controller = static_cast<bool>(lookup<supervisor_api>(ctx.sys, names::supervisor));
    const bool ok = db_ok && controller;
    ex->reply(json_reply(
        ok ? 200 : 503,
        {{"status", ok ? "ok" : "degraded"},
         {"subsystems",
          {{"database", std::move(db)},
           {"ipc",
            {{"status", controller ? "ok" : "error"}, {"controller_connected", controller}}}}}}));
  });

  routes.add("GET", "/health/live", access::anonymous, [](const exchange_ptr& ex) {
    ex->reply(json_reply(200, {{"status", "alive"}}));
  });

  routes.add("GET", "/health/ready", access::anonymous, [&ctx](const exchange_ptr& ex) {
    // Readiness asks the database now rather than trusting the last probe.
    auto not_ready = [ex](const std::string& why) {
      ex->reply(
          json_reply(503, {{"status", "not_ready"}, {"database", "unreachable"}, {"error", why}}));
    };
    auto storage = lookup<storage_api>(ctx.sys, names::storage);
    if (!storage) {
      not_ready("the storage actor is restarting");
      return;
    }
    actor_bridge::current()
        ->request(storage, ctx.settings.actor_timeout, caf::ping_atom::value)
        .then(
            [ex, not_ready](db_health& health) {
              if (!health.ok) {
                not_ready(health.error);
                return;
              }
              ex->reply(json_reply(200, {{"status", "ready"},
                                         {"database", "connected"},
                                         {"latency_ms", round2(health.latency_ms)}}));
            },
            [not_ready](caf::error& err) { not_ready(view(err).detail); });
  });

  routes.add("GET", "/api/v1/system/status", access::viewer, [&ctx](const exchange_ptr& ex) {
    ask(
        ex, lookup<storage_api>(ctx.sys, names::storage), ctx.settings.actor_timeout,
        [ex, &ctx](system_counts& counts) {
          bool db_ok = false;
          database_json(ctx, db_ok);
          const auto usage = read_process_usage();
          ex->reply(json_reply(
              200, {{"status", db_ok ? "healthy" : "degraded"},
                    {"uptime_seconds", (core::now_ms() - ctx.settings.started_at_ms) / 1000},
                    {"cycle_time_ms", ctx.settings.cycle_time_ms},
                    {"connected_rtus", counts.running_rtus},
                    {"total_rtus", counts.total_rtus},
                    {"active_alarms", counts.active_alarms},
                    {"cpu_usage", round2(usage.cpu_percent)},
                    {"memory_usage", round2(usage.memory_percent)},
                    {"version", ctx.settings.version}}));
        },
        caf::get_atom::value, system_atom::value);
  });

  routes.add("GET", "/metrics", access::anonymous, [&ctx](const exchange_ptr& ex) {
    ask(
        ex, lookup<supervisor_api>(ctx.sys, names::supervisor), ctx.settings.actor_timeout,
        [ex, &ctx](std::vector<actor_stats>& actors) {
          std::ostringstream out;
          out << ctx.metrics->render();
          auto [health, at] = ctx.board->db();
          out << "# HELP wtc_db_up 1 when the last database probe succeeded.\n"
                 "# TYPE wtc_db_up gauge\n"
              << "wtc_db_up " << (health.ok && at != 0 ? 1 : 0) << "\n"
              << "# HELP wtc_db_latency_milliseconds Round trip of the last database probe.\n"
                 "# TYPE wtc_db_latency_milliseconds gauge\n"
              << "wtc_db_latency_milliseconds " << health.latency_ms << "\n"
              << "# HELP wtc_uptime_seconds Seconds since wtcd started.\n"
                 "# TYPE wtc_uptime_seconds gauge\n"
              << "wtc_uptime_seconds " << (core::now_ms() - ctx.settings.started_at_ms) / 1000
              << "\n"
              << "# HELP wtc_actor_mailbox_depth Messages waiting in an actor's mailbox.\n"
                 "# TYPE wtc_actor_mailbox_depth gauge\n";
          for (const auto& a : actors)
            out << "wtc_actor_mailbox_depth{actor=\"" << prometheus_label(a.name) << "\"} "
                << a.mailbox_depth << "\n";
          out << "# HELP wtc_actor_restarts_total Restarts of an actor by its supervisor.\n"
                 "# TYPE wtc_actor_restarts_total counter\n";
          for (const auto& a : actors)
            out << "wtc_actor_restarts_total{actor=\"" << prometheus_label(a.name) << "\"} "
                << a.restarts << "\n";
          if (ctx.pid_timing) {
            render_histogram(
                out, "wtc_pid_scan_jitter_seconds",
                "Scan period jitter of the PID loops: |time between two scans - the period|.",
                ctx.pid_timing->scan_jitter.read());
            render_histogram(out, "wtc_pid_sample_to_command_seconds",
                             "From a measurement's arrival to the RTU's acknowledgment of the "
                             "output a PID loop computed from it.",
                             ctx.pid_timing->sample_to_command.read());
          }
          if (ctx.alarm_raise_latency)
            render_histogram(out, "wtc_alarm_sample_to_raise_seconds",
                             "From a sample's production by its RTU actor to the alarm_raised "
                             "it caused.",
                             ctx.alarm_raise_latency->read());
          response res;
          res.body = out.str();
          res.content_type = "text/plain; version=0.0.4";
          ex->reply(std::move(res));
        },
        stats_atom::value);
  });
}

}  // namespace wtc::gateway
