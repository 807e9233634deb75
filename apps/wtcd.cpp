// wtcd: the controller (central node). Reads its configuration, prepares the database, starts
// the actors under the root supervisor and the HTTP gateway, and stops them in order.

#include <cstdlib>
#include <iostream>
#include <memory>

#include <spdlog/spdlog.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/alarm_manager.hpp"
#include "actors/field_bus.hpp"
#include "actors/historian.hpp"
#include "actors/live_hub.hpp"
#include "actors/node_registry.hpp"
#include "actors/pid_manager.hpp"
#include "actors/root_supervisor.hpp"
#include "actors/rtu_manager.hpp"
#include "actors/session_manager.hpp"
#include "actors/storage_actor.hpp"
#include "apps/config.hpp"
#include "apps/logging.hpp"
#include "apps/node_link.hpp"
#include "core/password.hpp"
#include "core/time.hpp"
#include "core/token.hpp"
#include "field/make_driver.hpp"
#include "field/profile_library.hpp"
#include "gateway/actor_bridge.hpp"
#include "gateway/api.hpp"
#include "gateway/http_server.hpp"
#include "gateway/websocket.hpp"
#include "messages/register_types.hpp"
#include "sim/simulator.hpp"

namespace {

constexpr const char* version = "0.1.0";

/// Applies the migrations and, on the very first start, creates the `admin` account. Runs before
/// any actor, so that a database that cannot be reached stops start-up with a clear message.
/// The contract's development password: only ever used by --demo.
constexpr const char* demo_password = "wtc_password";

wtc::audit_entry system_audit(std::string action, std::string resource_type,
                              std::string resource_id, std::string details) {
  wtc::audit_entry audit;
  audit.timestamp = wtc::core::now_ms();
  audit.user = "system";
  audit.action = std::move(action);
  audit.resource_type = std::move(resource_type);
  audit.resource_id = std::move(resource_id);
  audit.details = std::move(details);
  return audit;
}

wtc::user_record new_user(const std::string& name, const std::string& password, wtc::role r,
                          int bcrypt_cost) {
  wtc::user_record user;
  user.username = name;
  user.password_hash = wtc::core::hash_password(password, bcrypt_cost);
  user.user_role = r;
  user.created_at = wtc::core::now_ms();
  user.updated_at = user.created_at;
  return user;
}

/// --demo: the plant's control loops on `station`, created once (docs/pid.md, "The demo loops"):
/// pH by caustic dosing, chlorine residual by hypochlorite dosing, and the clear-well level as a
/// cascade over the treated-water flow, which the outlet valve holds. Each starts from the
/// simulated plant's own operating point, so the first scan does not move an actuator.
void prepare_demo_loops(wtc::storage::store& db, const std::string& station) {
  if (!db.list_pid_loops(station).empty())
    return;
  const auto make = [&](const char* name, int input_slot, int output_slot, double kp, double ki,
                        double setpoint, double output) {
    wtc::pid_loop_record loop;
    loop.name = name;
    loop.input_rtu = station;
    loop.input_slot = input_slot;
    loop.output_rtu = station;
    loop.output_slot = output_slot;
    loop.kp = kp;
    loop.ki = ki;
    loop.setpoint = setpoint;
    loop.has_output = true;
    loop.output = output;
    loop.created_at = wtc::core::now_ms();
    loop.updated_at = loop.created_at;
    return loop;
  };
  const auto create = [&](const wtc::pid_loop_record& loop) {
    return db.create_pid_loop(
        loop, system_audit("pid_create", "pid_loop", loop.name, R"({"reason":"--demo"})"));
  };
  // Slots of docs/simulator.md. pH: 60 %/pH with a 30 s integral time; chlorine: 75 % per mg/L,
  // 230 s (the residual's time constant).
  create(make("pH control", 5, 11, 60.0, 2.0, 7.2, 32.0));
  create(make("Chlorine residual", 7, 12, 75.0, 0.33, 1.0, 25.0));
  // The level loop is direct acting (a high level asks for more outflow): negative gains. Its
  // output, a flow setpoint in m³/h, goes to the flow loop; its own output slot is not written.
  auto level = make("Clear-well level", 2, 13, -100.0, -0.083, 3.0, 48.0);
  level.output_max = 120.0;
  level.integral_limit = 120.0;
  const auto outer = create(level);
  auto flow = make("Treated-water flow", 4, 13, 0.5, 0.125, 48.0, 40.0);
  flow.mode = "CASCADE";
  flow.cascade_from = outer.id;
  create(flow);
}

/// --demo: the plant's alarms on `station`, created once (docs/alarms.md, "The demo alarms"):
/// rules for pH high and low, turbidity high and chlorine low, and the clear-well's limits as a
/// slot config, whose low-low becomes an implied rule.
void prepare_demo_alarms(wtc::storage::store& db, const std::string& station) {
  for (const auto& rule : db.list_alarm_rules())
    if (rule.rtu_station == station)
      return;
  const auto now = wtc::core::now_ms();
  const auto rule = [&](const char* name, int slot, const char* condition, double threshold,
                        const char* severity, std::int64_t delay_ms, double deadband,
                        const char* message) {
    wtc::alarm_rule_record r;
    r.name = name;
    r.rtu_station = station;
    r.slot = slot;
    r.condition = condition;
    r.threshold = threshold;
    r.severity = severity;
    r.delay_ms = delay_ms;
    r.has_deadband = true;
    r.deadband = deadband;
    r.message = message;
    r.created_at = now;
    r.updated_at = now;
    db.create_alarm_rule(
        r, system_audit("alarm_rule_create", "alarm_rule", r.name, R"({"reason":"--demo"})"));
  };
  // Slots of docs/simulator.md: 5 pH, 6 filtered-water turbidity, 7 chlorine residual.
  rule("pH high", 5, ">", 8.5, "HIGH", 5000, 0.1, "{name}: pH {value} above {threshold}");
  rule("pH low", 5, "<", 6.5, "HIGH", 5000, 0.1, "{name}: pH {value} below {threshold}");
  rule("Filtered water turbidity high", 6, ">", 1.0, "HIGH", 10000, 0.05,
       "{name}: {value} NTU above {threshold} NTU");
  rule("Chlorine residual low", 7, "<", 0.5, "HIGH", 10000, 0.05,
       "{name}: {value} mg/L below {threshold} mg/L");
  wtc::slot_config_record level;
  level.rtu_station = station;
  level.slot = 2;
  level.slot_type = "AI";
  level.name = "Clear-well level";
  level.unit = "m";
  level.measurement_type = "level";
  level.scale_min = 0.0;
  level.scale_max = 5.0;
  level.has_alarm_low_low = true;
  level.alarm_low_low = 0.5;
  level.has_alarm_high_high = true;
  level.alarm_high_high = 4.6;
  level.created_at = now;
  db.save_slot_config(level, system_audit("slot_config_update", "slot_config", station + "/2",
                                          R"({"reason":"--demo"})"));
}

/// --demo: the plant's process values recorded by the historian on `station`, created once
/// (docs/historian.md, "The demo tags"), each with a compression deviation near its resolution.
void prepare_demo_historian(wtc::storage::store& db, const std::string& station) {
  for (const auto& tag : db.list_historian_tags())
    if (tag.rtu_station == station)
      return;
  const auto now = wtc::core::now_ms();
  struct demo_tag {
    int slot;
    const char* name;
    const char* unit;
    double deviation;
  };
  // Slots of docs/simulator.md.
  for (const auto& t :
       {demo_tag{1, "raw_tank_level", "m", 0.01}, demo_tag{2, "clear_well_level", "m", 0.01},
        demo_tag{3, "raw_water_flow", "m3/h", 0.5}, demo_tag{4, "treated_water_flow", "m3/h", 0.5},
        demo_tag{5, "ph", "pH", 0.02}, demo_tag{6, "turbidity", "NTU", 0.02},
        demo_tag{7, "chlorine_residual", "mg/L", 0.01}, demo_tag{8, "water_temperature", "C", 0.05},
        demo_tag{14, "distribution_pressure", "bar", 0.02}}) {
    wtc::historian_tag_record tag;
    tag.rtu_station = station;
    tag.slot = t.slot;
    tag.tag_name = station + "." + t.name;
    tag.unit = t.unit;
    tag.sample_rate_ms = 1000;
    tag.deadband = t.deviation;
    tag.compression = "swinging_door";
    tag.created_at = tag.updated_at = now;
    db.create_historian_tag(tag, system_audit("historian_tag_create", "historian_tag", tag.tag_name,
                                              R"({"reason":"--demo"})"));
  }
}

/// --demo: the simulated plant's RTU and the demo users, created once; the RTU connects by
/// itself at start-up.
void prepare_demo(wtc::storage::store& db, const wtc::app::wtcd_config& cfg,
                  const std::vector<std::uint16_t>& modbus_ports) {
  for (std::size_t i = 0; i < modbus_ports.size(); ++i) {
    wtc::rtu_record rtu;
    rtu.station_name = "water-treat-rtu-" + std::to_string(i + 1);
    if (db.find_rtu(rtu.station_name))
      continue;
    rtu.ip_address = "127.0.0.1";
    rtu.port = modbus_ports[i];
    rtu.vendor_id = "0x002A";
    rtu.device_id = "0x0405";
    rtu.cycle_time_ms = 1000;
    rtu.state_since = wtc::core::now_ms();
    rtu.transition_reason = "created by --demo";
    rtu.created_at = rtu.state_since;
    rtu.updated_at = rtu.state_since;
    const auto stored = db.create_rtu(
        rtu, system_audit("rtu_create", "rtu", rtu.station_name, R"({"reason":"--demo"})"));
    db.set_rtu_auto_connect(
        stored.id, true,
        system_audit("rtu_connect", "rtu", rtu.station_name, R"({"reason":"--demo"})"));
  }
  for (std::size_t i = 0; i < modbus_ports.size(); ++i) {
    prepare_demo_loops(db, "water-treat-rtu-" + std::to_string(i + 1));
    prepare_demo_alarms(db, "water-treat-rtu-" + std::to_string(i + 1));
    prepare_demo_historian(db, "water-treat-rtu-" + std::to_string(i + 1));
  }
  for (auto [name, r] :
       {std::pair{"operator", wtc::role::operator_}, std::pair{"viewer", wtc::role::viewer}}) {
    if (db.find_user(name))
      continue;
    db.create_user(new_user(name, demo_password, r, cfg.bcrypt_cost),
                   system_audit("user_create", "user", name, R"({"reason":"--demo"})"));
  }
}

void prepare_database(const wtc::app::wtcd_config& cfg) {
  auto db = wtc::storage::open_store(cfg.db);
  const int version_now = db->migrate();
  spdlog::info("database: {} ({}), schema version {}, historian samples in a {}", db->backend(),
               cfg.db_source, version_now, db->historian_layout());
  if (db->count_users() > 0)
    return;
  const bool generated = cfg.admin_password.empty() && !cfg.demo;
  const auto password = !cfg.admin_password.empty() ? cfg.admin_password
                        : cfg.demo                  ? std::string(demo_password)
                                                    : wtc::core::new_random_password();
  if (auto why = wtc::core::password_policy_violation(password); !why.empty())
    throw wtc::app::config_error("WTC_ADMIN_PASSWORD: " + why);
  db->create_user(
      new_user("admin", password, wtc::role::admin, cfg.bcrypt_cost),
      system_audit("user_create", "user", "admin", R"({"reason":"first start: no users"})"));
  if (generated)
    spdlog::warn(
        "first start: created user 'admin' with password '{}' (shown only this once; "
        "change it with POST /api/v1/auth/change-password)",
        password);
  else if (!cfg.admin_password.empty())
    spdlog::info("first start: created user 'admin' with the password from WTC_ADMIN_PASSWORD");
}

/// Opens the node port to `registry` (a restarted registry takes its predecessor's place). A port
/// that cannot be opened leaves wtcd running without edge nodes, and says so.
void publish_registry(caf::actor_system& sys, const wtc::app::node_link_config& link,
                      const caf::actor& registry, caf::actor& published) {
  const auto bind = link.bind_address.c_str();
  if (published)
    caf::anon_send(wtc::app::node_middleman(sys, link), caf::unpublish_atom::value,
                   published.address(), link.port);
  auto port = link.tls() ? caf::openssl::publish(registry, link.port, bind, true)
                         : sys.middleman().publish(registry, link.port, bind, true);
  if (!port) {
    spdlog::critical("edge nodes: cannot listen on {}:{}: {}", link.bind_address, link.port,
                     sys.render(port.error()));
    return;
  }
  published = registry;
  spdlog::info("edge nodes: listening on {}:{} ({})", link.bind_address, *port,
               link.tls() ? "TLS, certificates checked on both sides" : "PLAIN TCP");
}

/// Waits until the supervisor has started its children, the database answers and the sessions
/// are back, so that the first HTTP request already finds every subsystem up.
bool wait_until_ready(caf::actor_system& system, const wtc::supervisor_api& supervisor) {
  caf::scoped_actor self{system};
  const auto deadline = std::chrono::seconds(60);
  bool ready = true;
  auto fail = [&](caf::error& err) {
    spdlog::critical("start-up: a subsystem did not come up: {}", system.render(err));
    ready = false;
  };
  self->request(supervisor, deadline, wtc::stats_atom::value)
      .receive([](std::vector<wtc::actor_stats>&) {}, fail);
  auto storage = wtc::lookup<wtc::storage_api>(system, wtc::names::storage);
  auto sessions = wtc::lookup<wtc::session_api>(system, wtc::names::sessions);
  auto rtus = wtc::lookup<wtc::rtus_api>(system, wtc::names::rtus);
  if (ready && (!storage || !sessions || !rtus)) {
    spdlog::critical("start-up: a subsystem failed while starting (see above)");
    return false;
  }
  if (ready)
    self->request(storage, deadline, caf::ping_atom::value).receive([](wtc::db_health&) {}, fail);
  if (ready)
    self->request(sessions, deadline, wtc::stats_atom::value)
        .receive([](wtc::actor_stats&) {}, fail);
  if (ready)
    self->request(rtus, deadline, wtc::stats_atom::value).receive([](wtc::actor_stats&) {}, fail);
  return ready;
}

}  // namespace

int main(int argc, char** argv) {
  wtc::app::wtcd_config cfg;
  try {
    cfg = wtc::app::load_config(wtc::app::read_environment(), argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "wtcd: configuration error: " << e.what() << "\n";
    return 2;
  }
  wtc::app::setup_logging(cfg.log_level, cfg.log_structured);
  spdlog::info("wtcd {} starting", version);

  std::shared_ptr<const wtc::field::profile_library> profiles;
  try {
    profiles = std::make_shared<const wtc::field::profile_library>(cfg.profile_dir);
  } catch (const std::exception& e) {
    spdlog::critical("register-map profiles: {}", e.what());
    return 2;
  }

  // The demo's plant runs in this process, on local Modbus TCP ports, like a real RTU would.
  std::unique_ptr<wtc::sim::simulator> plant;
  if (cfg.demo) {
    wtc::sim::simulator_config sim_cfg;
    sim_cfg.base_port = cfg.demo_modbus_port;
    sim_cfg.control_port = std::nullopt;
    try {
      plant = std::make_unique<wtc::sim::simulator>(sim_cfg);
      plant->start();
    } catch (const std::exception& e) {
      spdlog::critical("--demo: cannot start the simulated plant: {}", e.what());
      return 1;
    }
    spdlog::info("--demo: simulated plant listening on Modbus TCP 127.0.0.1:{}",
                 plant->ports().front());
  }

  try {
    prepare_database(cfg);
    if (plant) {
      auto db = wtc::storage::open_store(cfg.db);
      prepare_demo(*db, cfg, plant->ports());
    }
  } catch (const std::exception& e) {
    spdlog::critical("cannot prepare the database: {}", e.what());
    return 1;
  }

  caf::actor_system_config caf_cfg;
  wtc::register_types(caf_cfg);
  // The sharing policy idles without spinning; work stealing burns a core around timer wake-ups.
  caf_cfg.set("scheduler.policy", caf::atom("sharing"));
  caf_cfg.set("scheduler.max-threads", cfg.scheduler_threads);
  caf_cfg.set("logger.verbosity", caf::atom("quiet"));
  wtc::app::configure_node_link(caf_cfg, cfg.nodes);
  auto system = std::make_unique<caf::actor_system>(caf_cfg);
  const bool nodes_listen = cfg.nodes.configured() && cfg.nodes.port != 0;
  if (!nodes_listen)
    spdlog::info(
        "edge nodes: not listening (set --node-cert, --node-key and --node-ca, or "
        "--node-insecure-plain-tcp in a lab)");
  else if (cfg.nodes.insecure_plain_tcp)
    spdlog::warn(
        "node link: PLAIN TCP, no TLS (--node-insecure-plain-tcp): anyone on the network can "
        "read the nodes' data and impersonate a node; use it in a lab only");

  auto board = std::make_shared<wtc::health_board>();
  wtc::session_config session_cfg;
  session_cfg.token_ttl_ms = static_cast<std::int64_t>(cfg.session_ttl.count()) * 1000;
  session_cfg.bcrypt_cost = cfg.bcrypt_cost;
  // The live stream outlives the hub that writes it: WebSocket clients stay connected while a
  // crashed hub restarts.
  auto live = std::make_shared<wtc::live_board>();
  auto timing = std::make_shared<wtc::loop_timing>();
  wtc::alarm_manager_config alarm_cfg;
  alarm_cfg.policy.max_shelf_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(cfg.alarm_max_shelf).count();
  alarm_cfg.raise_latency = std::make_shared<wtc::latency_histogram>();
  wtc::historian_config historian_cfg;
  historian_cfg.retention_ms = std::int64_t{cfg.historian_retention_days} * 86'400'000;
  historian_cfg.max_bytes = cfg.historian_max_mb << 20;
  std::vector<wtc::child_spec> children{
      {wtc::names::storage,
       [db = cfg.db, board](caf::actor_system& sys) {
         return caf::actor_cast<caf::actor>(
             sys.spawn<caf::detached>(wtc::storage_actor, db, board));
       }},
      {wtc::names::sessions,
       [session_cfg](caf::actor_system& sys) {
         return caf::actor_cast<caf::actor>(sys.spawn(wtc::session_manager, session_cfg));
       }},
      {wtc::names::field_bus,
       [](caf::actor_system& sys) {
         return caf::actor_cast<caf::actor>(sys.spawn(wtc::field_bus, wtc::field_bus_config{}));
       }},
      {wtc::names::rtus,
       [profiles](caf::actor_system& sys) {
         wtc::rtu_actor_config rtu_cfg;
         rtu_cfg.make_driver = [profiles](const wtc::rtu_record& rtu) {
           return wtc::field::make_driver(*profiles->get(rtu.profile));
         };
         rtu_cfg.knows_profile = [profiles](const std::string& name) {
           return profiles->contains(name);
         };
         return sys.spawn(wtc::rtu_manager, std::move(rtu_cfg));
       }},
      {wtc::names::live_hub,
       [live](caf::actor_system& sys) {
         wtc::live_hub_config hub_cfg;
         hub_cfg.board = live;
         return caf::actor_cast<caf::actor>(sys.spawn(wtc::live_hub, hub_cfg));
       }},
      {wtc::names::pid,
       [timing](caf::actor_system& sys) {
         wtc::pid_manager_config pid_cfg;
         pid_cfg.timing = timing;
         return sys.spawn(wtc::pid_manager, pid_cfg);
       }},
      {wtc::names::alarms,
       [alarm_cfg](caf::actor_system& sys) {
         return caf::actor_cast<caf::actor>(sys.spawn(wtc::alarm_manager, alarm_cfg));
       }},
      {wtc::names::historian,
       [historian_cfg](caf::actor_system& sys) {
         return caf::actor_cast<caf::actor>(sys.spawn(wtc::historian, historian_cfg));
       }},
      {wtc::names::nodes,
       [link = cfg.nodes, nodes_listen,
        published = std::make_shared<caf::actor>()](caf::actor_system& sys) {
         wtc::node_registry_config nodes_cfg;
         nodes_cfg.middleman = wtc::app::node_middleman(sys, link);
         auto registry = caf::actor_cast<caf::actor>(sys.spawn(wtc::node_registry, nodes_cfg));
         if (nodes_listen)
           publish_registry(sys, link, registry, *published);
         return registry;
       }},
  };
  auto supervisor = system->spawn(wtc::root_supervisor, std::move(children), wtc::restart_policy{});
  system->registry().put(wtc::names::supervisor,
                         caf::actor_cast<caf::strong_actor_ptr>(supervisor));

  if (!wait_until_ready(*system, supervisor)) {
    caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
    return 1;
  }

  wtc::gateway::api_context api{*system, {}, board, timing, nullptr, alarm_cfg.raise_latency};
  api.settings.started_at_ms = wtc::core::now_ms();
  api.settings.version = version;
  wtc::gateway::router routes;
  wtc::gateway::add_api_routes(routes, api);
  std::vector<std::string> labels;
  for (const auto& r : routes.routes())
    labels.push_back(r.label);
  wtc::gateway::http_metrics metrics(std::move(labels));
  api.metrics = &metrics;
  wtc::gateway::dispatcher dispatch(routes, wtc::gateway::session_authenticator(api));

  wtc::gateway::server_config server_cfg;
  server_cfg.bind_address = cfg.bind_address;
  server_cfg.port = cfg.port;
  server_cfg.io_threads = cfg.io_threads;
  server_cfg.body_limit = cfg.body_limit;
  server_cfg.idle_timeout = cfg.http_idle_timeout;
  server_cfg.cors_origins = cfg.cors_origins;
  wtc::gateway::websocket_config ws_cfg;
  ws_cfg.require_auth = cfg.ws_require_auth;
  server_cfg.websocket = std::make_shared<wtc::gateway::websocket_service>(
      ws_cfg, live, wtc::gateway::session_authenticator(api));
  wtc::gateway::actor_bridge bridge(*system);
  auto server = std::make_unique<wtc::gateway::http_server>(
      server_cfg, [&dispatch](const wtc::gateway::exchange_ptr& ex) { dispatch(ex); }, metrics,
      [&bridge](std::function<void(std::function<void()>)> post) {
        bridge.attach_this_thread(std::move(post));
      });
  try {
    server->start();
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
    return 1;
  }
  server->on_termination_signal([supervisor](int signo) {
    spdlog::info("signal {}: shutting down", signo);
    caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
  });
  spdlog::info("listening on http://{}:{} ({} io threads)", cfg.bind_address, server->port(),
               cfg.io_threads);
  if (cfg.demo)
    spdlog::info(
        "--demo: open http://localhost:{}/api/v1/rtus and ws://localhost:{}/ws/live; users "
        "admin, operator and viewer, password '{}' (unless WTC_ADMIN_PASSWORD set admin's)",
        server->port(), server->port(), demo_password);

  // The supervisor ends on a shutdown signal, or when a subsystem keeps failing.
  caf::error reason;
  {
    caf::scoped_actor self{*system};
    self->monitor(supervisor);
    self->receive([&](caf::down_msg& down) { reason = down.reason; });
  }
  system->registry().erase(wtc::names::supervisor);
  // Order matters: no new requests, then no actors, then the io context goes with the server.
  server->stop();
  bridge.detach_all();
  system.reset();
  server.reset();
  if (plant)
    plant->stop();
  const bool clean = reason == caf::exit_reason::user_shutdown;
  spdlog::info("wtcd stopped{}",
               clean ? "" : " after a subsystem failed: " + caf::to_string(reason));
  return clean ? EXIT_SUCCESS : EXIT_FAILURE;
}
