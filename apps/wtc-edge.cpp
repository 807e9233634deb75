// wtc-edge: an edge node. Polls the RTUs the central node places on it and runs the PID loops
// whose RTUs are both here (its own rtu_actors and pid_actors, its own SQLite store, so that it
// keeps polling and controlling through a link loss and its own restart), and forwards
// everything its field bus carries to the central node through a store-and-forward buffer
// (docs/nodes.md).
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include <spdlog/spdlog.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/edge_uplink.hpp"
#include "actors/field_bus.hpp"
#include "actors/pid_manager.hpp"
#include "actors/root_supervisor.hpp"
#include "actors/rtu_manager.hpp"
#include "actors/storage_actor.hpp"
#include "apps/config.hpp"
#include "apps/logging.hpp"
#include "apps/node_link.hpp"
#include "field/make_driver.hpp"
#include "field/profile_library.hpp"
#include "messages/register_types.hpp"

namespace {

constexpr const char* version = "0.1.0";

/// Waits for SIGINT or SIGTERM on a thread of its own (both are blocked in every other thread),
/// then stops the supervisor.
std::thread stop_on_signal(wtc::supervisor_api supervisor) {
  return std::thread([supervisor] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int signo = 0;
    sigwait(&set, &signo);
    spdlog::info("signal {}: shutting down", signo);
    caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
  });
}

}  // namespace

int main(int argc, char** argv) {
  wtc::app::edge_config cfg;
  try {
    cfg = wtc::app::load_edge_config(wtc::app::read_environment(), argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "wtc-edge: configuration error: " << e.what() << "\n";
    return 2;
  }
  wtc::app::setup_logging(cfg.log_level, cfg.log_structured);
  spdlog::info("wtc-edge {} '{}' starting; central node {}:{}", version, cfg.name, cfg.central_host,
               cfg.link.port);
  if (cfg.link.insecure_plain_tcp)
    spdlog::warn(
        "node link: PLAIN TCP, no TLS (--node-insecure-plain-tcp): anyone on the network can "
        "read this node's data and impersonate either side; use it in a lab only");

  std::shared_ptr<const wtc::field::profile_library> profiles;
  wtc::storage::db_config db;
  db.data_dir = cfg.data_dir;
  try {
    profiles = std::make_shared<const wtc::field::profile_library>(cfg.profile_dir);
    std::filesystem::create_directories(cfg.data_dir);
    auto store = wtc::storage::open_store(db);
    spdlog::info("local store: {}, schema version {}", store->backend(), store->migrate());
  } catch (const std::exception& e) {
    spdlog::critical("cannot prepare the local store in {}: {}", cfg.data_dir, e.what());
    return 1;
  }

  // Every thread started from here on inherits the blocked signals; stop_on_signal takes them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  caf::actor_system_config caf_cfg;
  wtc::register_types(caf_cfg);
  caf_cfg.set("scheduler.policy", caf::atom("sharing"));
  caf_cfg.set("scheduler.max-threads", cfg.scheduler_threads);
  caf_cfg.set("logger.verbosity", caf::atom("quiet"));
  wtc::app::configure_node_link(caf_cfg, cfg.link);
  auto system = std::make_unique<caf::actor_system>(caf_cfg);

  auto board = std::make_shared<wtc::health_board>();
  wtc::edge_uplink_config uplink_cfg;
  uplink_cfg.node_name = cfg.name;
  uplink_cfg.version = version;
  uplink_cfg.central_host = cfg.central_host;
  uplink_cfg.central_port = cfg.link.port;
  uplink_cfg.buffer_path = (std::filesystem::path(cfg.data_dir) / "forward-buffer.db").string();
  uplink_cfg.buffer_max_bytes = cfg.buffer_max_mb << 20;
  std::vector<wtc::child_spec> children{
      {wtc::names::storage,
       [db, board](caf::actor_system& sys) {
         return caf::actor_cast<caf::actor>(
             sys.spawn<caf::detached>(wtc::storage_actor, db, board));
       }},
      {wtc::names::field_bus,
       [](caf::actor_system& sys) {
         return caf::actor_cast<caf::actor>(sys.spawn(wtc::field_bus, wtc::field_bus_config{}));
       }},
      {wtc::names::rtus,
       [profiles, name = cfg.name](caf::actor_system& sys) {
         wtc::rtu_actor_config rtu_cfg;
         rtu_cfg.make_driver = [profiles](const wtc::rtu_record& rtu) {
           return wtc::field::make_driver(*profiles->get(rtu.profile));
         };
         rtu_cfg.knows_profile = [profiles](const std::string& profile) {
           return profiles->contains(profile);
         };
         rtu_cfg.this_node = name;
         return sys.spawn(wtc::rtu_manager, std::move(rtu_cfg));
       }},
      // The PID loops whose RTUs are both on this node: the central node assigns them.
      {wtc::names::pid,
       [](caf::actor_system& sys) {
         wtc::pid_manager_config pid_cfg;
         pid_cfg.follower = true;
         return caf::actor_cast<caf::actor>(sys.spawn(wtc::pid_manager, pid_cfg));
       }},
      // The middleman's handle is taken here, not kept in main: a handle that outlives the
      // supervisor keeps the middleman's thread, and so ~actor_system, waiting for ever.
      {wtc::names::uplink,
       [uplink_cfg, link = cfg.link](caf::actor_system& sys) {
         auto with_middleman = uplink_cfg;
         with_middleman.middleman = wtc::app::node_middleman(sys, link);
         return caf::actor_cast<caf::actor>(
             sys.spawn<caf::detached>(wtc::edge_uplink, std::move(with_middleman)));
       }},
  };
  auto supervisor = system->spawn(wtc::root_supervisor, std::move(children), wtc::restart_policy{});
  auto signal_waiter = stop_on_signal(supervisor);

  caf::error reason;
  {
    caf::scoped_actor self{*system};
    self->monitor(supervisor);
    self->receive([&](caf::down_msg& down) { reason = down.reason; });
  }
  // A supervisor that gave up ends the process as a signal would: wake the signal thread.
  pthread_kill(signal_waiter.native_handle(), SIGTERM);
  signal_waiter.join();
  system.reset();
  const bool clean = reason == caf::exit_reason::user_shutdown;
  spdlog::info("wtc-edge stopped{}",
               clean ? "" : " after a subsystem failed: " + caf::to_string(reason));
  return clean ? EXIT_SUCCESS : EXIT_FAILURE;
}
