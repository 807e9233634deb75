#include "apps/config.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <utility>

#include <CLI/CLI.hpp>

extern char** environ;

namespace wtc::app {
namespace {

std::string get(const environment& env, const std::string& key, const std::string& fallback = {}) {
  auto it = env.find(key);
  return it == env.end() ? fallback : it->second;
}

std::int64_t parse_integer(const std::string& name, const std::string& text, std::int64_t min,
                           std::int64_t max) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max)
    throw config_error(name + ": '" + text + "' is not a whole number between " +
                       std::to_string(min) + " and " + std::to_string(max));
  return value;
}

bool parse_bool(const std::string& name, std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), ::tolower);
  if (text == "true" || text == "1" || text == "yes" || text == "on")
    return true;
  if (text == "false" || text == "0" || text == "no" || text == "off")
    return false;
  throw config_error(name + ": '" + text + "' is not true or false");
}

std::string parse_level(const std::string& name, std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), ::tolower);
  if (text == "warning")
    text = "warn";
  if (text == "critical" || text == "trace" || text == "debug" || text == "info" ||
      text == "warn" || text == "error" || text == "off")
    return text;
  throw config_error(name + ": '" + text +
                     "' is not a log level (TRACE, DEBUG, INFO, WARNING, ERROR, CRITICAL)");
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    auto item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty())
      out.push_back(item);
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return out;
}

/// libpq URL components may not hold reserved characters unescaped.
std::string url_escape(const std::string& text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

void check_db_url(const std::string& name, const std::string& url) {
  if (url.rfind("postgresql://", 0) != 0 && url.rfind("postgres://", 0) != 0 &&
      url.rfind("sqlite://", 0) != 0)
    throw config_error(
        name + ": the database URL must start with postgresql://, postgres:// or sqlite://");
}

/// Parses the flags; --help and --version print and exit, a bad flag is a config_error.
void parse_flags(CLI::App& cli, int argc, char** argv) {
  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::exit(cli.exit(e));
  } catch (const CLI::CallForVersion& e) {
    std::exit(cli.exit(e));
  } catch (const CLI::ParseError& e) {
    throw config_error(e.what());
  }
}

/// The node-link settings from the environment (WTC_NODE_*).
void read_node_link(const environment& env, node_link_config& link) {
  if (auto v = get(env, "WTC_NODE_PORT"); !v.empty())
    link.port = static_cast<std::uint16_t>(parse_integer("WTC_NODE_PORT", v, 0, 65535));
  link.bind_address = get(env, "WTC_NODE_BIND", link.bind_address);
  link.cert = get(env, "WTC_NODE_CERT", link.cert);
  link.key = get(env, "WTC_NODE_KEY", link.key);
  link.ca = get(env, "WTC_NODE_CA", link.ca);
  if (auto v = get(env, "WTC_NODE_INSECURE_PLAIN_TCP"); !v.empty())
    link.insecure_plain_tcp = parse_bool("WTC_NODE_INSECURE_PLAIN_TCP", v);
}

void add_node_link_flags(CLI::App& cli, node_link_config& link, std::string& plain) {
  cli.add_option("--node-cert", link.cert, "PEM certificate of this node (WTC_NODE_CERT)");
  cli.add_option("--node-key", link.key, "PEM private key of this node (WTC_NODE_KEY)");
  cli.add_option("--node-ca", link.ca,
                 "PEM CA bundle that signs every node's certificate (WTC_NODE_CA)");
  cli.add_flag("--node-insecure-plain-tcp{true}", plain,
               "Nodes talk plain TCP without TLS: a lab only (WTC_NODE_INSECURE_PLAIN_TCP)");
}

bool readable(const std::string& path) {
  return std::ifstream(path).good();
}

/// TLS needs all three files, readable; the plain-TCP flag needs none.
void check_node_link(const node_link_config& link, bool required) {
  if (link.insecure_plain_tcp)
    return;
  const bool any = !link.cert.empty() || !link.key.empty() || !link.ca.empty();
  if (!any && !required)
    return;
  const std::pair<const char*, const std::string*> files[] = {
      {"--node-cert (WTC_NODE_CERT)", &link.cert},
      {"--node-key (WTC_NODE_KEY)", &link.key},
      {"--node-ca (WTC_NODE_CA)", &link.ca}};
  for (const auto& [name, path] : files)
    if (path->empty())
      throw config_error(std::string(name) +
                         ": nodes talk TLS with a certificate on each side; give the "
                         "certificate, its key and the CA (or --node-insecure-plain-tcp in a lab)");
  for (const auto& [name, path] : files)
    if (!readable(*path))
      throw config_error(std::string(name) + ": cannot read '" + *path + "'");
}

}  // namespace

environment read_environment() {
  environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq == nullptr)
      continue;
    std::string key(*e, static_cast<std::size_t>(eq - *e));
    if (key.rfind("WTC_", 0) == 0 || key == "DATABASE_URL")
      env.emplace(std::move(key), std::string(eq + 1));
  }
  return env;
}

std::string postgres_url_from(const environment& env) {
  const auto port = get(env, "WTC_DB_PORT", "5432");
  parse_integer("WTC_DB_PORT", port, 1, 65535);
  return "postgresql://" + url_escape(get(env, "WTC_DB_USER", "wtc")) + ":" +
         url_escape(get(env, "WTC_DB_PASSWORD", "wtc_password")) + "@" +
         get(env, "WTC_DB_HOST", "localhost") + ":" + port + "/" +
         url_escape(get(env, "WTC_DB_NAME", "water_treatment"));
}

wtcd_config load_config(const environment& env, int argc, char** argv) {
  wtcd_config cfg;

  // The environment first; the flags below override it.
  cfg.db.data_dir = get(env, "WTC_DATA_DIR", cfg.db.data_dir);
  if (auto url = get(env, "DATABASE_URL"); !url.empty()) {
    check_db_url("DATABASE_URL", url);
    cfg.db.url = url;
    cfg.db_source = "DATABASE_URL";
  } else if (env.count("WTC_DB_HOST") || env.count("WTC_DB_PORT") || env.count("WTC_DB_USER") ||
             env.count("WTC_DB_PASSWORD") || env.count("WTC_DB_NAME")) {
    cfg.db.url = postgres_url_from(env);
    cfg.db_source = "WTC_DB_* variables";
  }
  if (auto v = get(env, "WTC_API_PORT"); !v.empty())
    cfg.port = static_cast<std::uint16_t>(parse_integer("WTC_API_PORT", v, 0, 65535));
  cfg.bind_address = get(env, "WTC_BIND_ADDRESS", cfg.bind_address);
  if (auto v = get(env, "WTC_IO_THREADS"); !v.empty())
    cfg.io_threads = static_cast<int>(parse_integer("WTC_IO_THREADS", v, 1, 64));
  if (auto v = get(env, "WTC_SCHEDULER_THREADS"); !v.empty())
    cfg.scheduler_threads = static_cast<int>(parse_integer("WTC_SCHEDULER_THREADS", v, 1, 64));
  if (auto v = get(env, "WTC_BODY_LIMIT"); !v.empty())
    cfg.body_limit = static_cast<std::size_t>(parse_integer("WTC_BODY_LIMIT", v, 1024, 64 << 20));
  if (auto v = get(env, "WTC_HTTP_IDLE_TIMEOUT"); !v.empty())
    cfg.http_idle_timeout =
        std::chrono::seconds(parse_integer("WTC_HTTP_IDLE_TIMEOUT", v, 1, 3600));
  if (auto v = get(env, "WTC_SESSION_TTL"); !v.empty())
    cfg.session_ttl = std::chrono::seconds(parse_integer("WTC_SESSION_TTL", v, 1, 30 * 86400));
  if (auto v = get(env, "WTC_BCRYPT_COST"); !v.empty())
    cfg.bcrypt_cost = static_cast<int>(parse_integer("WTC_BCRYPT_COST", v, 10, 16));
  if (auto v = get(env, "WTC_ALARM_MAX_SHELF_MINUTES"); !v.empty())
    cfg.alarm_max_shelf =
        std::chrono::minutes(parse_integer("WTC_ALARM_MAX_SHELF_MINUTES", v, 1, 7 * 24 * 60));
  if (auto v = get(env, "WTC_HISTORIAN_RETENTION_DAYS"); !v.empty())
    cfg.historian_retention_days =
        static_cast<int>(parse_integer("WTC_HISTORIAN_RETENTION_DAYS", v, 0, 100 * 366));
  if (auto v = get(env, "WTC_HISTORIAN_MAX_MB"); !v.empty())
    cfg.historian_max_mb = parse_integer("WTC_HISTORIAN_MAX_MB", v, 0, 1LL << 30);
  if (auto v = get(env, "WTC_CORS_ORIGINS"); !v.empty())
    cfg.cors_origins = split_list(v);
  if (auto v = get(env, "WTC_LOG_LEVEL"); !v.empty())
    cfg.log_level = parse_level("WTC_LOG_LEVEL", v);
  if (auto v = get(env, "WTC_LOG_STRUCTURED"); !v.empty())
    cfg.log_structured = parse_bool("WTC_LOG_STRUCTURED", v);
  cfg.admin_password = get(env, "WTC_ADMIN_PASSWORD");
  if (auto v = get(env, "WTC_WS_REQUIRE_AUTH"); !v.empty())
    cfg.ws_require_auth = parse_bool("WTC_WS_REQUIRE_AUTH", v);
  cfg.profile_dir = get(env, "WTC_PROFILE_DIR");
  read_node_link(env, cfg.nodes);
  if (auto v = get(env, "WTC_DEMO_MODBUS_PORT"); !v.empty())
    cfg.demo_modbus_port =
        static_cast<std::uint16_t>(parse_integer("WTC_DEMO_MODBUS_PORT", v, 0, 65535));

  CLI::App cli{"wtcd: the WTC SCADA controller (central node)", "wtcd"};
  cli.set_version_flag("--version", "wtcd 0.1.0");
  std::string db_url, log_level, cors, log_structured;
  long long port = -1, io_threads = -1, session_ttl = -1, bcrypt_cost = -1, max_shelf = -1,
            retention_days = -1, historian_max_mb = -1;
  cli.add_option("--db", db_url, "Database URL (overrides DATABASE_URL and WTC_DB_*)");
  cli.add_option("--data-dir", cfg.db.data_dir, "Data directory for the embedded SQLite database");
  cli.add_option("--port", port, "HTTP port (WTC_API_PORT, default 8000)");
  cli.add_option("--bind", cfg.bind_address, "Address to listen on (WTC_BIND_ADDRESS)");
  cli.add_option("--io-threads", io_threads, "HTTP io threads (WTC_IO_THREADS, default 2)");
  cli.add_option("--session-ttl", session_ttl, "Token lifetime in seconds (WTC_SESSION_TTL)");
  cli.add_option("--bcrypt-cost", bcrypt_cost, "bcrypt cost for new passwords (WTC_BCRYPT_COST)");
  cli.add_option("--alarm-max-shelf-minutes", max_shelf,
                 "Longest an alarm may be shelved (WTC_ALARM_MAX_SHELF_MINUTES, default 480)");
  cli.add_option("--historian-retention-days", retention_days,
                 "Historian samples kept this many days, 0 for ever (WTC_HISTORIAN_RETENTION_DAYS, "
                 "default 90)");
  cli.add_option("--historian-max-mb", historian_max_mb,
                 "Historian size cap in MiB, 0 for none (WTC_HISTORIAN_MAX_MB, default 0)");
  cli.add_option("--cors-origins", cors, "Comma-separated allowed CORS origins (WTC_CORS_ORIGINS)");
  cli.add_option("--log-level", log_level, "TRACE, DEBUG, INFO, WARNING, ERROR (WTC_LOG_LEVEL)");
  cli.add_option("--log-structured", log_structured,
                 "JSON log lines: true/false (WTC_LOG_STRUCTURED)");
  std::string ws_require_auth;
  cli.add_flag("--ws-require-auth{true}", ws_require_auth,
               "/ws/live needs a token; =false allows anonymous clients (WTC_WS_REQUIRE_AUTH)");
  cli.add_option("--profile-dir", cfg.profile_dir,
                 "Directory of site register-map profiles, <name>.json (WTC_PROFILE_DIR)");
  cli.add_flag("--demo", cfg.demo,
               "Run a simulated water treatment plant in process and show it: RTUs, live data");
  long long node_port = -1;
  cli.add_option("--node-port", node_port,
                 "TCP port edge nodes join on, 0 for none (WTC_NODE_PORT, default 4300)");
  cli.add_option("--node-bind", cfg.nodes.bind_address,
                 "Address edge nodes join on (WTC_NODE_BIND, default 0.0.0.0)");
  std::string node_plain;
  add_node_link_flags(cli, cfg.nodes, node_plain);
  long long demo_port = -1;
  cli.add_option("--demo-modbus-port", demo_port,
                 "First Modbus TCP port of the demo's simulated RTUs (WTC_DEMO_MODBUS_PORT, "
                 "default 5020)");
  parse_flags(cli, argc, argv);
  if (!db_url.empty()) {
    check_db_url("--db", db_url);
    cfg.db.url = db_url;
    cfg.db_source = "--db";
  }
  if (port >= 0)
    cfg.port = static_cast<std::uint16_t>(parse_integer("--port", std::to_string(port), 0, 65535));
  if (io_threads >= 0)
    cfg.io_threads =
        static_cast<int>(parse_integer("--io-threads", std::to_string(io_threads), 1, 64));
  if (session_ttl >= 0)
    cfg.session_ttl = std::chrono::seconds(
        parse_integer("--session-ttl", std::to_string(session_ttl), 1, 30 * 86400));
  if (bcrypt_cost >= 0)
    cfg.bcrypt_cost =
        static_cast<int>(parse_integer("--bcrypt-cost", std::to_string(bcrypt_cost), 10, 16));
  if (max_shelf >= 0)
    cfg.alarm_max_shelf = std::chrono::minutes(
        parse_integer("--alarm-max-shelf-minutes", std::to_string(max_shelf), 1, 7 * 24 * 60));
  if (retention_days >= 0)
    cfg.historian_retention_days = static_cast<int>(
        parse_integer("--historian-retention-days", std::to_string(retention_days), 0, 100 * 366));
  if (historian_max_mb >= 0)
    cfg.historian_max_mb =
        parse_integer("--historian-max-mb", std::to_string(historian_max_mb), 0, 1LL << 30);
  if (!cors.empty())
    cfg.cors_origins = split_list(cors);
  if (!log_level.empty())
    cfg.log_level = parse_level("--log-level", log_level);
  if (!log_structured.empty())
    cfg.log_structured = parse_bool("--log-structured", log_structured);
  if (!ws_require_auth.empty())
    cfg.ws_require_auth = parse_bool("--ws-require-auth", ws_require_auth);
  if (demo_port >= 0)
    cfg.demo_modbus_port = static_cast<std::uint16_t>(
        parse_integer("--demo-modbus-port", std::to_string(demo_port), 0, 65535));
  if (cfg.db.url.empty() && cfg.db.data_dir.empty())
    throw config_error("--data-dir: must not be empty");
  if (node_port >= 0)
    cfg.nodes.port = static_cast<std::uint16_t>(
        parse_integer("--node-port", std::to_string(node_port), 0, 65535));
  if (!node_plain.empty())
    cfg.nodes.insecure_plain_tcp = parse_bool("--node-insecure-plain-tcp", node_plain);
  check_node_link(cfg.nodes, false);
  return cfg;
}

edge_config load_edge_config(const environment& env, int argc, char** argv) {
  edge_config cfg;
  cfg.name = get(env, "WTC_NODE_NAME");
  std::string central = get(env, "WTC_CENTRAL");
  cfg.data_dir = get(env, "WTC_DATA_DIR", cfg.data_dir);
  if (auto v = get(env, "WTC_EDGE_BUFFER_MAX_MB"); !v.empty())
    cfg.buffer_max_mb =
        static_cast<std::uint64_t>(parse_integer("WTC_EDGE_BUFFER_MAX_MB", v, 1, 1 << 20));
  read_node_link(env, cfg.link);
  cfg.profile_dir = get(env, "WTC_PROFILE_DIR");
  if (auto v = get(env, "WTC_LOG_LEVEL"); !v.empty())
    cfg.log_level = parse_level("WTC_LOG_LEVEL", v);
  if (auto v = get(env, "WTC_LOG_STRUCTURED"); !v.empty())
    cfg.log_structured = parse_bool("WTC_LOG_STRUCTURED", v);

  CLI::App cli{"wtc-edge: a WTC edge node, polling the RTUs placed on it for the central node",
               "wtc-edge"};
  cli.set_version_flag("--version", "wtc-edge 0.1.0");
  std::string log_level, log_structured, plain;
  long long buffer_mb = -1;
  cli.add_option("--name", cfg.name, "This node's name (WTC_NODE_NAME)");
  cli.add_option("--central", central, "The central node, HOST:PORT (WTC_CENTRAL)");
  cli.add_option("--data-dir", cfg.data_dir,
                 "Local store and buffer directory (WTC_DATA_DIR, default ./wtc-edge-data)");
  cli.add_option("--buffer-max-mb", buffer_mb,
                 "Store-and-forward buffer bound in MiB (WTC_EDGE_BUFFER_MAX_MB, default 256)");
  add_node_link_flags(cli, cfg.link, plain);
  cli.add_option("--profile-dir", cfg.profile_dir,
                 "Directory of site register-map profiles, <name>.json (WTC_PROFILE_DIR)");
  cli.add_option("--log-level", log_level, "TRACE, DEBUG, INFO, WARNING, ERROR (WTC_LOG_LEVEL)");
  cli.add_option("--log-structured", log_structured,
                 "JSON log lines: true/false (WTC_LOG_STRUCTURED)");
  parse_flags(cli, argc, argv);
  if (buffer_mb >= 0)
    cfg.buffer_max_mb = static_cast<std::uint64_t>(
        parse_integer("--buffer-max-mb", std::to_string(buffer_mb), 1, 1 << 20));
  if (!log_level.empty())
    cfg.log_level = parse_level("--log-level", log_level);
  if (!log_structured.empty())
    cfg.log_structured = parse_bool("--log-structured", log_structured);
  if (!plain.empty())
    cfg.link.insecure_plain_tcp = parse_bool("--node-insecure-plain-tcp", plain);
  if (cfg.name.empty() || cfg.name.size() > 32 || cfg.name == "central")
    throw config_error(
        "--name (WTC_NODE_NAME): give this node a name of 1 to 32 characters, "
        "other than 'central'");
  for (char c : cfg.name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      throw config_error("--name (WTC_NODE_NAME): '" + cfg.name +
                         "' may hold only letters, digits, '-', '_' and '.'");
  const auto colon = central.rfind(':');
  if (central.empty() || colon == std::string::npos || colon == 0)
    throw config_error("--central (WTC_CENTRAL): give the central node as HOST:PORT");
  cfg.central_host = central.substr(0, colon);
  cfg.link.port = static_cast<std::uint16_t>(
      parse_integer("--central (WTC_CENTRAL) port", central.substr(colon + 1), 1, 65535));
  if (cfg.data_dir.empty())
    throw config_error("--data-dir: must not be empty");
  check_node_link(cfg.link, true);
  return cfg;
}

}  // namespace wtc::app
