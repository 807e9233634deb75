#pragma once

// Value types that travel between actors (and, for the ones an edge node needs, between nodes).
// Each has an `inspect` overload and is registered in register_types().

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wtc {

/// Milliseconds since the UNIX epoch, UTC. Zero means "not set" where a column is nullable.
using timestamp_ms = std::int64_t;

/// The contract's roles, ordered: every role can do what the ones below it can.
enum class role : std::uint8_t { viewer = 1, operator_ = 2, admin = 3 };

std::string_view to_string(role r);
/// Parses "viewer", "operator" or "admin"; returns false on anything else.
bool parse_role(std::string_view text, role& out);
inline bool at_least(role have, role need) {
  return have >= need;
}

/// Who asks for something, from where: every change is audited with it.
struct request_origin {
  std::string username;  // empty for anonymous requests (a login attempt)
  role user_role = role::viewer;
  std::string ip_address;
  std::string request_id;
  // A control loop writing its output, every scan: such a command gets no audit row and no
  // diagnostic of its own (the loop's changes of mode, setpoint and tuning are audited).
  bool control_loop = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, request_origin& x) {
  return f(x.username, x.user_role, x.ip_address, x.request_id, x.control_loop);
}

/// A users row. The password hash never leaves the session manager and storage.
struct user_record {
  std::int64_t id = 0;
  std::string username;
  std::string password_hash;
  role user_role = role::viewer;
  bool active = true;
  bool sync_to_rtus = true;
  timestamp_ms created_at = 0;
  timestamp_ms updated_at = 0;
  timestamp_ms last_login = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_record& x) {
  return f(x.id, x.username, x.password_hash, x.user_role, x.active, x.sync_to_rtus, x.created_at,
           x.updated_at, x.last_login);
}

/// A user_sessions row. `token_hash` is the hex SHA-256 of the bearer token: the token itself is
/// never stored, so a copy of the database cannot be used to log in.
struct session_record {
  std::string token_hash;
  std::string username;
  role user_role = role::viewer;
  std::string groups = "[]";
  timestamp_ms created_at = 0;
  timestamp_ms last_activity = 0;
  timestamp_ms expires_at = 0;
  std::string ip_address;
  std::string user_agent;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_record& x) {
  return f(x.token_hash, x.username, x.user_role, x.groups, x.created_at, x.last_activity,
           x.expires_at, x.ip_address, x.user_agent);
}

/// What a successful login or refresh hands the client: the only time the token is visible.
struct issued_token {
  std::string token;
  session_record session;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, issued_token& x) {
  return f(x.token, x.session);
}

/// An audit_log row.
struct audit_entry {
  std::int64_t id = 0;
  timestamp_ms timestamp = 0;
  std::string user;
  std::string action;
  std::string resource_type;
  std::string resource_id;
  std::string details;
  std::string ip_address;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_entry& x) {
  return f(x.id, x.timestamp, x.user, x.action, x.resource_type, x.resource_id, x.details,
           x.ip_address);
}

/// Pagination in the sister APIs' style.
struct page {
  std::int64_t skip = 0;
  std::int64_t limit = 100;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, page& x) {
  return f(x.skip, x.limit);
}

/// Filters of GET /api/v1/audit; empty strings and zero times do not filter.
struct audit_filter {
  std::string user;
  std::string action;
  std::string resource_type;
  std::string resource_id;
  timestamp_ms start = 0;
  timestamp_ms end = 0;
  page window;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_filter& x) {
  return f(x.user, x.action, x.resource_type, x.resource_id, x.start, x.end, x.window);
}

/// One page of a listing with the total count of matching rows.
template <class T>
struct paged {
  std::vector<T> items;
  std::int64_t total = 0;
};

template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, paged<T>& x) {
  return f(x.items, x.total);
}

/// Changes to a user by an admin; unset fields keep their value.
struct user_update {
  bool set_role = false;
  role user_role = role::viewer;
  bool set_active = false;
  bool active = true;
  bool set_sync_to_rtus = false;
  bool sync_to_rtus = true;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_update& x) {
  return f(x.set_role, x.user_role, x.set_active, x.active, x.set_sync_to_rtus, x.sync_to_rtus);
}

/// Result of a storage health probe.
struct db_health {
  bool ok = false;
  double latency_ms = 0;
  std::string backend;
  std::string error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, db_health& x) {
  return f(x.ok, x.latency_ms, x.backend, x.error);
}

/// Counts for GET /api/v1/system/status.
struct system_counts {
  std::int64_t total_rtus = 0;
  std::int64_t running_rtus = 0;
  std::int64_t active_alarms = 0;  // alarm events not yet cleared
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, system_counts& x) {
  return f(x.total_rtus, x.running_rtus, x.active_alarms);
}

}  // namespace wtc
