#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage/store.hpp"

namespace wtc::app {

/// A setting that stops start-up: the message names the setting and what is wrong with it.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// How nodes reach each other (docs/nodes.md): CAF's middleman over TLS with certificates on
/// both sides, or plain TCP only when asked for by name.
struct node_link_config {
  std::uint16_t port = 4300;  // wtcd: where edges join; wtc-edge: the central node's port
  std::string bind_address = "0.0.0.0";
  std::string cert;  // PEM certificate of this node
  std::string key;   // its PEM private key
  std::string ca;    // PEM CA bundle every peer's certificate must be signed by
  bool insecure_plain_tcp = false;
  bool tls() const { return !insecure_plain_tcp; }
  bool configured() const { return insecure_plain_tcp || !cert.empty(); }
};

/// Everything wtcd can be told, from the environment (the contract's variables and WTC_*) and
/// from flags of the same meaning; a flag wins over its variable.
struct wtcd_config {
  storage::db_config db;
  std::string db_source = "embedded SQLite";  // which setting chose the database, for the log
  std::string bind_address = "0.0.0.0";
  std::uint16_t port = 8000;
  int io_threads = 2;
  int scheduler_threads = 2;
  std::size_t body_limit = 1024 * 1024;
  /// An HTTP connection that neither sends a request nor takes its reply this long is closed.
  std::chrono::seconds http_idle_timeout{60};
  std::chrono::seconds session_ttl{8 * 3600};
  int bcrypt_cost = 12;
  /// The longest an operator may shelve an alarm (ISA-18.2 wants shelving time-limited).
  std::chrono::minutes alarm_max_shelf{8 * 60};
  /// Historian samples older than this are purged (0: kept); the contract's policy is 90 days.
  int historian_retention_days = 90;
  /// The historian's size cap in MiB (0: none): over it, the oldest samples are purged.
  std::int64_t historian_max_mb = 0;
  std::vector<std::string> cors_origins;
  std::string log_level = "info";
  bool log_structured = false;
  std::string admin_password;  // only for the first start, when no user exists
  std::string profile_dir;     // site register-map profiles (<name>.json), beside the built-ins
  bool demo = false;           // run the simulated plant in process and register its RTUs
  std::uint16_t demo_modbus_port = 5020;  // the simulated RTUs listen from here up
  /// /ws/live needs a token (WTC_WS_REQUIRE_AUTH); otherwise it is anonymous and read-only.
  bool ws_require_auth = false;
  /// Edge nodes join here once TLS (or the plain-TCP flag) is configured.
  node_link_config nodes;
};

/// Everything wtc-edge can be told (WTC_* variables and flags of the same meaning).
struct edge_config {
  std::string name;  // WTC_NODE_NAME: RTUs placed on this node name are polled here
  std::string central_host;
  node_link_config link;
  std::string data_dir = "./wtc-edge-data";
  std::uint64_t buffer_max_mb = 256;
  std::string profile_dir;
  int scheduler_threads = 2;
  std::string log_level = "info";
  bool log_structured = false;
};

using environment = std::map<std::string, std::string>;

/// Reads the process environment into a map (only WTC_* and DATABASE_URL).
environment read_environment();

/// Builds the configuration from `env` and the command line. Throws config_error on a bad value;
/// `--help` is handled by printing and exiting with status 0.
wtcd_config load_config(const environment& env, int argc, char** argv);

/// Builds wtc-edge's configuration like load_config does wtcd's.
edge_config load_edge_config(const environment& env, int argc, char** argv);

/// A PostgreSQL URL from the contract's WTC_DB_* variables and their documented defaults.
std::string postgres_url_from(const environment& env);

}  // namespace wtc::app
