#include "storage/postgres_store.hpp"

#include <pqxx/pqxx>

#include "storage/columns.hpp"
#include "storage/migrations.hpp"

namespace wtc::storage {

namespace {

// Every statement of the backend, registered on each new connection. libpqxx 6 prepares a
// statement on the server at its first execution, so registering those that name tables before
// migrate() has created them is harmless. Timestamps cross the boundary as milliseconds through
// wtc_ms_to_ts() and wtc_ts_to_ms() (migration 0001).
struct statement {
  const char* name;
  const char* sql;
};

constexpr statement ping_stmt{"ping", "SELECT 1"};
constexpr statement schema_version_exists{"schema_version_exists",
                                          "SELECT to_regclass('schema_version') IS NOT NULL"};
constexpr statement read_schema_version{"read_schema_version",
                                        "SELECT coalesce(max(version), 0) FROM schema_version"};
constexpr statement insert_schema_version{
    "insert_schema_version",
    "INSERT INTO schema_version (version, applied_at, description) "
    "VALUES ($1, wtc_ms_to_ts($2), $3)"};
// Serialises the migrations of processes starting together: the key is arbitrary but fixed.
constexpr statement lock_migrations{"lock_migrations", "SELECT pg_advisory_xact_lock(2317001)"};

constexpr statement find_user_stmt{
    "find_user",
    "SELECT id, username, password_hash, role, active, sync_to_rtus, wtc_ts_to_ms(created_at), "
    "wtc_ts_to_ms(updated_at), wtc_ts_to_ms(last_login) FROM users WHERE username = $1"};
constexpr statement find_user_by_id_stmt{
    "find_user_by_id",
    "SELECT id, username, password_hash, role, active, sync_to_rtus, wtc_ts_to_ms(created_at), "
    "wtc_ts_to_ms(updated_at), wtc_ts_to_ms(last_login) FROM users WHERE id = $1"};
constexpr statement list_users_stmt{
    "list_users",
    "SELECT id, username, password_hash, role, active, sync_to_rtus, wtc_ts_to_ms(created_at), "
    "wtc_ts_to_ms(updated_at), wtc_ts_to_ms(last_login) FROM users ORDER BY id "
    "LIMIT $1 OFFSET $2"};
constexpr statement count_users_stmt{"count_users", "SELECT count(*) FROM users"};
constexpr statement count_system_stmt{
    "count_system",
    "SELECT (SELECT count(*) FROM rtus), (SELECT count(*) FROM rtus WHERE state = 'RUNNING'), "
    "(SELECT count(*) FROM alarm_events WHERE state <> 'CLEARED')"};
constexpr statement insert_user{
    "insert_user",
    "INSERT INTO users (username, password_hash, role, active, sync_to_rtus, created_at, "
    "updated_at, last_login) VALUES ($1, $2, $3, $4, $5, wtc_ms_to_ts($6), wtc_ms_to_ts($7), "
    "wtc_ms_to_ts(NULLIF($8::bigint, 0))) RETURNING id, username, password_hash, role, active, "
    "sync_to_rtus, wtc_ts_to_ms(created_at), wtc_ts_to_ms(updated_at), wtc_ts_to_ms(last_login)"};
constexpr statement update_user_stmt{
    "update_user",
    "UPDATE users SET role = CASE WHEN $2::boolean THEN $3::varchar ELSE role END, "
    "active = CASE WHEN $4::boolean THEN $5::boolean ELSE active END, "
    "sync_to_rtus = CASE WHEN $6::boolean THEN $7::boolean ELSE sync_to_rtus END, "
    "updated_at = wtc_ms_to_ts($8) WHERE id = $1 RETURNING id, username, password_hash, role, "
    "active, sync_to_rtus, wtc_ts_to_ms(created_at), wtc_ts_to_ms(updated_at), "
    "wtc_ts_to_ms(last_login)"};
constexpr statement set_password_stmt{
    "set_password",
    "UPDATE users SET password_hash = $2, updated_at = wtc_ms_to_ts($3) WHERE id = $1 "
    "RETURNING username"};
constexpr statement delete_user_stmt{"delete_user", "DELETE FROM users WHERE id = $1"};
constexpr statement record_login_stmt{
    "record_login", "UPDATE users SET last_login = wtc_ms_to_ts($2) WHERE id = $1"};

constexpr statement insert_session{
    "insert_session",
    "INSERT INTO user_sessions (token, username, role, groups, created_at, last_activity, "
    "expires_at, ip_address, user_agent) VALUES ($1, $2, $3, NULLIF($4, ''), wtc_ms_to_ts($5), "
    "wtc_ms_to_ts($6), wtc_ms_to_ts($7), NULLIF($8, ''), NULLIF($9, ''))"};
constexpr statement load_sessions_stmt{
    "load_sessions",
    "SELECT token, username, role, groups, wtc_ts_to_ms(created_at), "
    "wtc_ts_to_ms(last_activity), wtc_ts_to_ms(expires_at), ip_address, user_agent "
    "FROM user_sessions WHERE expires_at > wtc_ms_to_ts($1) ORDER BY created_at, token"};
constexpr statement delete_session_stmt{"delete_session",
                                        "DELETE FROM user_sessions WHERE token = $1"};
constexpr statement delete_user_sessions{"delete_user_sessions",
                                         "DELETE FROM user_sessions WHERE username = $1"};
constexpr statement update_session_roles{"update_session_roles",
                                         "UPDATE user_sessions SET role = $2 WHERE username = $1"};
constexpr statement touch_session{
    "touch_session", "UPDATE user_sessions SET last_activity = wtc_ms_to_ts($2) WHERE token = $1"};
// The complement of load_sessions: a session is either loaded or purged, never both or neither.
constexpr statement purge_sessions{
    "purge_sessions", "DELETE FROM user_sessions WHERE expires_at <= wtc_ms_to_ts($1)"};

constexpr statement insert_audit{
    "insert_audit",
    "INSERT INTO audit_log (timestamp, \"user\", action, resource_type, resource_id, details, "
    "ip_address) VALUES (wtc_ms_to_ts($1), NULLIF($2, ''), $3, NULLIF($4, ''), NULLIF($5, ''), "
    "NULLIF($6, ''), NULLIF($7, ''))"};
// One statement for every combination of filters: an empty string or a zero time filters nothing.
constexpr statement query_audit_stmt{
    "query_audit",
    "SELECT id, wtc_ts_to_ms(timestamp), \"user\", action, resource_type, resource_id, details, "
    "ip_address FROM audit_log WHERE ($1::text = '' OR \"user\" = $1) "
    "AND ($2::text = '' OR action = $2) AND ($3::text = '' OR resource_type = $3) "
    "AND ($4::text = '' OR resource_id = $4) "
    "AND ($5::bigint = 0 OR timestamp >= wtc_ms_to_ts($5)) "
    "AND ($6::bigint = 0 OR timestamp <= wtc_ms_to_ts($6)) "
    "ORDER BY timestamp DESC, id DESC LIMIT $7 OFFSET $8"};
constexpr statement count_audit_stmt{
    "count_audit",
    "SELECT count(*) FROM audit_log WHERE ($1::text = '' OR \"user\" = $1) "
    "AND ($2::text = '' OR action = $2) AND ($3::text = '' OR resource_type = $3) "
    "AND ($4::text = '' OR resource_id = $4) "
    "AND ($5::bigint = 0 OR timestamp >= wtc_ms_to_ts($5)) "
    "AND ($6::bigint = 0 OR timestamp <= wtc_ms_to_ts($6))"};

constexpr statement all_statements[] = {
    ping_stmt,          schema_version_exists, read_schema_version,  insert_schema_version,
    lock_migrations,    find_user_stmt,        find_user_by_id_stmt, list_users_stmt,
    count_users_stmt,   count_system_stmt,     insert_user,          update_user_stmt,
    set_password_stmt,  delete_user_stmt,      record_login_stmt,    insert_session,
    load_sessions_stmt, delete_session_stmt,   delete_user_sessions, update_session_roles,
    touch_session,      purge_sessions,        insert_audit,         query_audit_stmt,
    count_audit_stmt,
};

constexpr const char* create_schema_version =
    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL, "
    "description TEXT NOT NULL)";

// A paged listing reads the page and the total from one snapshot, so they agree.
using snapshot = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

template <class... Args>
pqxx::result exec(pqxx::transaction_base& tx, const statement& stmt, Args&&... args) {
  return tx.exec_prepared(stmt.name, std::forward<Args>(args)...);
}

user_record user_from(const pqxx::row& row) {
  user_record user;
  user.id = row[0].as<std::int64_t>();
  user.username = row[1].as<std::string>();
  user.password_hash = row[2].as<std::string>();
  user.user_role = role_from_column(row[3].as<std::string>());
  user.active = row[4].as<bool>();
  user.sync_to_rtus = row[5].as<bool>();
  user.created_at = row[6].as<std::int64_t>();
  user.updated_at = row[7].as<std::int64_t>();
  user.last_login = row[8].as<std::int64_t>(0);
  return user;
}

// NULL reads as the empty string: the columns the program treats as optional text.
std::string text_or_empty(const pqxx::field& field) {
  return field.as<std::string>(std::string{});
}

std::string first_line(const std::string& message) {
  return message.substr(0, message.find('\n'));
}

errc classify(const std::string& sqlstate) {
  if (sqlstate == "23505" || sqlstate == "23503")  // unique, foreign key
    return errc::conflict;
  if (sqlstate == "23514" || sqlstate == "23502")  // check, not null
    return errc::bad_request;
  if (sqlstate.compare(0, 2, "22") == 0)  // data exception: too long, malformed JSON, ...
    return errc::bad_request;
  return errc::internal;
}

// The server went away or is going away: the connection is of no further use.
bool connection_lost(const std::string& sqlstate) {
  return sqlstate.compare(0, 2, "08") == 0 || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03";
}

void write_audit(pqxx::transaction_base& tx, const audit_entry& entry) {
  exec(tx, insert_audit, entry.timestamp, entry.user, entry.action, entry.resource_type,
       entry.resource_id, entry.details, entry.ip_address);
}

void write_session(pqxx::transaction_base& tx, const session_record& session) {
  exec(tx, insert_session, session.token_hash, session.username,
       std::string(to_string(session.user_role)), session.groups, session.created_at,
       session.last_activity, session.expires_at, session.ip_address, session.user_agent);
}

int recorded_version(pqxx::transaction_base& tx) {
  if (!exec(tx, schema_version_exists)[0][0].as<bool>())
    return 0;
  return exec(tx, read_schema_version)[0][0].as<int>();
}

storage_error user_not_found(std::int64_t id) {
  return storage_error(errc::not_found, "user " + std::to_string(id) + " not found");
}

}  // namespace

template <class Body>
auto postgres_store::guarded(std::string_view context, Body&& body)
    -> decltype(body(std::declval<pqxx::connection&>())) {
  try {
    return body(connection());
  } catch (const storage_error&) {
    throw;
  } catch (...) {
    translate_current_exception(context);
  }
}

postgres_store::postgres_store(std::string url) : url_(std::move(url)) {
  guarded("connect to PostgreSQL", [](pqxx::connection&) {});
}

pqxx::connection& postgres_store::connection() {
  if (!connection_) {
    auto fresh = std::make_unique<pqxx::connection>(url_);
    for (const statement& stmt : all_statements)
      fresh->prepare(stmt.name, stmt.sql);
    connection_ = std::move(fresh);
  }
  return *connection_;
}

void postgres_store::translate_current_exception(std::string_view context) {
  std::string prefix = std::string(context) + ": ";
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    connection_.reset();
    throw storage_error(errc::unavailable, prefix + first_line(e.what()));
  } catch (const pqxx::in_doubt_error& e) {
    connection_.reset();
    throw storage_error(errc::unavailable,
                        prefix + "the connection broke during COMMIT: " + first_line(e.what()));
  } catch (const pqxx::sql_error& e) {
    if (connection_lost(e.sqlstate())) {
      connection_.reset();
      throw storage_error(errc::unavailable, prefix + first_line(e.what()));
    }
    throw storage_error(classify(e.sqlstate()), prefix + first_line(e.what()));
  } catch (const std::exception& e) {
    throw storage_error(errc::internal, prefix + first_line(e.what()));
  }
}

int postgres_store::schema_version() {
  return guarded("read the schema version", [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return recorded_version(tx);
  });
}

int postgres_store::migrate() {
  int current = 0;
  for (const migration& step : postgresql_migrations()) {
    std::string context =
        "migration " + std::to_string(step.version) + " (" + std::string(step.description) + ")";
    guarded(context, [&](pqxx::connection& c) {
      pqxx::work tx(c);
      exec(tx, lock_migrations);
      if (!exec(tx, schema_version_exists)[0][0].as<bool>())
        tx.exec0(create_schema_version);
      current = recorded_version(tx);
      if (step.version <= current)
        return;
      tx.exec(std::string(step.sql));
      exec(tx, insert_schema_version, step.version, clock_now(), std::string(step.description));
      tx.commit();
      current = step.version;
    });
  }
  return current;
}

void postgres_store::ping() {
  guarded("ping", [](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    exec(tx, ping_stmt);
  });
}

std::optional<user_record> postgres_store::find_user(std::string_view username) {
  return guarded("find user", [&](pqxx::connection& c) -> std::optional<user_record> {
    pqxx::read_transaction tx(c);
    pqxx::result rows = exec(tx, find_user_stmt, std::string(username));
    if (rows.empty())
      return std::nullopt;
    return user_from(rows[0]);
  });
}

std::optional<user_record> postgres_store::find_user_by_id(std::int64_t id) {
  return guarded("find user", [&](pqxx::connection& c) -> std::optional<user_record> {
    pqxx::read_transaction tx(c);
    pqxx::result rows = exec(tx, find_user_by_id_stmt, id);
    if (rows.empty())
      return std::nullopt;
    return user_from(rows[0]);
  });
}

paged<user_record> postgres_store::list_users(const page& window) {
  check_window(window);
  return guarded("list users", [&](pqxx::connection& c) {
    snapshot tx(c);
    paged<user_record> result;
    for (const pqxx::row& row : exec(tx, list_users_stmt, window.limit, window.skip))
      result.items.push_back(user_from(row));
    result.total = exec(tx, count_users_stmt)[0][0].as<std::int64_t>();
    tx.commit();
    return result;
  });
}

system_counts postgres_store::count_system() {
  return guarded("count RTUs and alarms", [](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    const auto row = exec(tx, count_system_stmt)[0];
    return system_counts{row[0].as<std::int64_t>(), row[1].as<std::int64_t>(),
                         row[2].as<std::int64_t>()};
  });
}

std::int64_t postgres_store::count_users() {
  return guarded("count users", [](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return exec(tx, count_users_stmt)[0][0].as<std::int64_t>();
  });
}

user_record postgres_store::create_user(const user_record& user, const audit_entry& audit) {
  return guarded("create user '" + user.username + "'", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    user_record stored = user_from(exec(
        tx, insert_user, user.username, user.password_hash, std::string(to_string(user.user_role)),
        user.active, user.sync_to_rtus, user.created_at, user.updated_at, user.last_login)[0]);
    write_audit(tx, audit);
    tx.commit();
    return stored;
  });
}

user_record postgres_store::update_user(std::int64_t id, const user_update& update,
                                        timestamp_ms now, const audit_entry& audit) {
  return guarded("update user " + std::to_string(id), [&](pqxx::connection& c) {
    pqxx::work tx(c);
    pqxx::result rows =
        exec(tx, update_user_stmt, id, update.set_role, std::string(to_string(update.user_role)),
             update.set_active, update.active, update.set_sync_to_rtus, update.sync_to_rtus, now);
    if (rows.empty())
      throw user_not_found(id);
    user_record stored = user_from(rows[0]);
    if (update.set_role)
      exec(tx, update_session_roles, stored.username, std::string(to_string(stored.user_role)));
    if (update.set_active && !update.active)
      exec(tx, delete_user_sessions, stored.username);
    write_audit(tx, audit);
    tx.commit();
    return stored;
  });
}

void postgres_store::set_password(std::int64_t id, const std::string& password_hash,
                                  timestamp_ms now, const audit_entry& audit) {
  guarded("set the password of user " + std::to_string(id), [&](pqxx::connection& c) {
    pqxx::work tx(c);
    pqxx::result rows = exec(tx, set_password_stmt, id, password_hash, now);
    if (rows.empty())
      throw user_not_found(id);
    exec(tx, delete_user_sessions, rows[0][0].as<std::string>());
    write_audit(tx, audit);
    tx.commit();
  });
}

void postgres_store::delete_user(std::int64_t id, const audit_entry& audit) {
  guarded("delete user " + std::to_string(id), [&](pqxx::connection& c) {
    pqxx::work tx(c);
    // The user's sessions go with it: user_sessions.username cascades.
    if (exec(tx, delete_user_stmt, id).affected_rows() == 0)
      throw user_not_found(id);
    write_audit(tx, audit);
    tx.commit();
  });
}

void postgres_store::record_login(std::int64_t id, timestamp_ms at) {
  guarded("record the login of user " + std::to_string(id), [&](pqxx::connection& c) {
    pqxx::work tx(c);
    if (exec(tx, record_login_stmt, id, at).affected_rows() == 0)
      throw user_not_found(id);
    tx.commit();
  });
}

void postgres_store::create_session(const session_record& session, const audit_entry& audit) {
  guarded("create a session for '" + session.username + "'", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    write_session(tx, session);
    write_audit(tx, audit);
    tx.commit();
  });
}

std::vector<session_record> postgres_store::load_sessions(timestamp_ms now) {
  return guarded("load sessions", [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    std::vector<session_record> sessions;
    for (const pqxx::row& row : exec(tx, load_sessions_stmt, now)) {
      session_record session;
      session.token_hash = row[0].as<std::string>();
      session.username = row[1].as<std::string>();
      session.user_role = role_from_column(row[2].as<std::string>());
      session.groups = text_or_empty(row[3]);
      session.created_at = row[4].as<std::int64_t>();
      session.last_activity = row[5].as<std::int64_t>();
      session.expires_at = row[6].as<std::int64_t>();
      session.ip_address = text_or_empty(row[7]);
      session.user_agent = text_or_empty(row[8]);
      sessions.push_back(std::move(session));
    }
    return sessions;
  });
}

void postgres_store::delete_session(const std::string& token_hash, const audit_entry& audit) {
  guarded("delete a session", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    // A logout racing the purge of the same expired session is no error: the session is gone.
    exec(tx, delete_session_stmt, token_hash);
    write_audit(tx, audit);
    tx.commit();
  });
}

void postgres_store::replace_session(const std::string& old_token_hash, const session_record& fresh,
                                     const audit_entry& audit) {
  guarded("refresh a session of '" + fresh.username + "'", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    // A token that is no longer stored (logged out, purged) must not be refreshable.
    if (exec(tx, delete_session_stmt, old_token_hash).affected_rows() == 0)
      throw storage_error(errc::not_found, "the session to refresh does not exist");
    write_session(tx, fresh);
    write_audit(tx, audit);
    tx.commit();
  });
}

void postgres_store::touch_sessions(
    const std::vector<std::pair<std::string, timestamp_ms>>& activity) {
  if (activity.empty())
    return;
  guarded("record session activity", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    for (const auto& [token_hash, at] : activity)
      exec(tx, touch_session, token_hash, at);
    tx.commit();
  });
}

std::int64_t postgres_store::purge_expired_sessions(timestamp_ms now) {
  return guarded("purge expired sessions", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    auto purged = static_cast<std::int64_t>(exec(tx, purge_sessions, now).affected_rows());
    tx.commit();
    return purged;
  });
}

void postgres_store::append_audit(const audit_entry& entry) {
  guarded("append to the audit log", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    write_audit(tx, entry);
    tx.commit();
  });
}

paged<audit_entry> postgres_store::query_audit(const audit_filter& filter) {
  check_window(filter.window);
  return guarded("query the audit log", [&](pqxx::connection& c) {
    snapshot tx(c);
    paged<audit_entry> result;
    for (const pqxx::row& row : exec(tx, query_audit_stmt, filter.user, filter.action,
                                     filter.resource_type, filter.resource_id, filter.start,
                                     filter.end, filter.window.limit, filter.window.skip)) {
      audit_entry entry;
      entry.id = row[0].as<std::int64_t>();
      entry.timestamp = row[1].as<std::int64_t>();
      entry.user = text_or_empty(row[2]);
      entry.action = row[3].as<std::string>();
      entry.resource_type = text_or_empty(row[4]);
      entry.resource_id = text_or_empty(row[5]);
      entry.details = text_or_empty(row[6]);
      entry.ip_address = text_or_empty(row[7]);
      result.items.push_back(std::move(entry));
    }
    result.total = exec(tx, count_audit_stmt, filter.user, filter.action, filter.resource_type,
                        filter.resource_id, filter.start, filter.end)[0][0]
                       .as<std::int64_t>();
    tx.commit();
    return result;
  });
}

}  // namespace wtc::storage
