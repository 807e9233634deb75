#include "storage/sqlite_store.hpp"

#include <sqlite3.h>

#include <limits>

#include "storage/columns.hpp"
#include "storage/migrations.hpp"

namespace wtc::storage {

namespace {

// Every statement is a string literal: the statement cache is keyed by its text.

constexpr std::string_view sql_begin_write = "BEGIN IMMEDIATE";
constexpr std::string_view sql_begin_read = "BEGIN";
constexpr std::string_view sql_commit = "COMMIT";
constexpr std::string_view sql_rollback = "ROLLBACK";

constexpr std::string_view sql_foreign_keys = "PRAGMA foreign_keys = ON";
constexpr std::string_view sql_synchronous = "PRAGMA synchronous = FULL";
constexpr std::string_view sql_journal_mode = "PRAGMA journal_mode = WAL";
constexpr std::string_view sql_ping = "SELECT 1";

constexpr std::string_view sql_table_exists =
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1";
constexpr std::string_view sql_create_schema_version =
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
    "applied_at INTEGER NOT NULL, description TEXT NOT NULL)";
constexpr std::string_view sql_schema_version =
    "SELECT coalesce(max(version), 0) FROM schema_version";
constexpr std::string_view sql_insert_schema_version =
    "INSERT INTO schema_version (version, applied_at, description) VALUES (?1, ?2, ?3)";

constexpr std::string_view sql_find_user =
    "SELECT id, username, password_hash, role, active, sync_to_rtus, created_at, updated_at, "
    "last_login FROM users WHERE username = ?1";
constexpr std::string_view sql_find_user_by_id =
    "SELECT id, username, password_hash, role, active, sync_to_rtus, created_at, updated_at, "
    "last_login FROM users WHERE id = ?1";
constexpr std::string_view sql_list_users =
    "SELECT id, username, password_hash, role, active, sync_to_rtus, created_at, updated_at, "
    "last_login FROM users ORDER BY id LIMIT ?1 OFFSET ?2";
constexpr std::string_view sql_count_users = "SELECT count(*) FROM users";
constexpr std::string_view sql_count_system =
    "SELECT (SELECT count(*) FROM rtus), (SELECT count(*) FROM rtus WHERE state = 'RUNNING'), "
    "(SELECT count(*) FROM alarm_events WHERE state <> 'CLEARED')";
constexpr std::string_view sql_insert_user =
    "INSERT INTO users (username, password_hash, role, active, sync_to_rtus, created_at, "
    "updated_at, last_login) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULLIF(?8, 0)) "
    "RETURNING id, username, password_hash, role, active, sync_to_rtus, created_at, updated_at, "
    "last_login";
constexpr std::string_view sql_update_user =
    "UPDATE users SET role = CASE WHEN ?2 THEN ?3 ELSE role END, "
    "active = CASE WHEN ?4 THEN ?5 ELSE active END, "
    "sync_to_rtus = CASE WHEN ?6 THEN ?7 ELSE sync_to_rtus END, updated_at = ?8 WHERE id = ?1 "
    "RETURNING id, username, password_hash, role, active, sync_to_rtus, created_at, updated_at, "
    "last_login";
constexpr std::string_view sql_set_password =
    "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1 RETURNING username";
constexpr std::string_view sql_delete_user = "DELETE FROM users WHERE id = ?1";
constexpr std::string_view sql_record_login = "UPDATE users SET last_login = ?2 WHERE id = ?1";

constexpr std::string_view sql_insert_session =
    "INSERT INTO user_sessions (token, username, role, groups, created_at, last_activity, "
    "expires_at, ip_address, user_agent) "
    "VALUES (?1, ?2, ?3, NULLIF(?4, ''), ?5, ?6, ?7, NULLIF(?8, ''), NULLIF(?9, ''))";
constexpr std::string_view sql_load_sessions =
    "SELECT token, username, role, groups, created_at, last_activity, expires_at, ip_address, "
    "user_agent FROM user_sessions WHERE expires_at > ?1 ORDER BY created_at, token";
constexpr std::string_view sql_delete_session = "DELETE FROM user_sessions WHERE token = ?1";
constexpr std::string_view sql_delete_user_sessions =
    "DELETE FROM user_sessions WHERE username = ?1";
constexpr std::string_view sql_update_session_roles =
    "UPDATE user_sessions SET role = ?2 WHERE username = ?1";
constexpr std::string_view sql_touch_session =
    "UPDATE user_sessions SET last_activity = ?2 WHERE token = ?1";
// The complement of load_sessions: a session is either loaded or purged, never both or neither.
constexpr std::string_view sql_purge_sessions = "DELETE FROM user_sessions WHERE expires_at <= ?1";

constexpr std::string_view sql_insert_audit =
    "INSERT INTO audit_log (timestamp, \"user\", action, resource_type, resource_id, details, "
    "ip_address) VALUES (?1, NULLIF(?2, ''), ?3, NULLIF(?4, ''), NULLIF(?5, ''), NULLIF(?6, ''), "
    "NULLIF(?7, ''))";
// One statement for every combination of filters: an empty string or a zero time filters nothing.
constexpr std::string_view sql_query_audit =
    "SELECT id, timestamp, \"user\", action, resource_type, resource_id, details, ip_address "
    "FROM audit_log WHERE (?1 = '' OR \"user\" = ?1) AND (?2 = '' OR action = ?2) "
    "AND (?3 = '' OR resource_type = ?3) AND (?4 = '' OR resource_id = ?4) "
    "AND (?5 = 0 OR timestamp >= ?5) AND (?6 = 0 OR timestamp <= ?6) "
    "ORDER BY timestamp DESC, id DESC LIMIT ?7 OFFSET ?8";
constexpr std::string_view sql_count_audit =
    "SELECT count(*) FROM audit_log WHERE (?1 = '' OR \"user\" = ?1) AND (?2 = '' OR action = ?2) "
    "AND (?3 = '' OR resource_type = ?3) AND (?4 = '' OR resource_id = ?4) "
    "AND (?5 = 0 OR timestamp >= ?5) AND (?6 = 0 OR timestamp <= ?6)";

// How long a writer waits for another connection's write lock before reporting `unavailable`.
constexpr int busy_timeout_ms = 5000;

errc classify(int rc) {
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return errc::conflict;
    default:
      break;
  }
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
      return errc::bad_request;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
      return errc::unavailable;
    default:
      return errc::internal;
  }
}

}  // namespace

// One use of a cached statement: binds the arguments in order, steps, reads columns, and resets
// the statement when it goes out of scope so that the next use starts clean.
class sqlite_store::query {
 public:
  query(sqlite_store& owner, std::string_view sql, std::string_view context)
      : owner_(owner), stmt_(owner.prepared(sql, context)), context_(context) {}
  ~query() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  query(const query&) = delete;
  query& operator=(const query&) = delete;

  query& int64(std::int64_t value) {
    check(sqlite3_bind_int64(stmt_, next_++, value));
    return *this;
  }
  query& boolean(bool value) { return int64(value ? 1 : 0); }
  query& text(std::string_view value) {
    if (value.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
      throw storage_error(errc::bad_request, std::string(context_) + ": a value is too long");
    check(sqlite3_bind_text(stmt_, next_++, value.data(), static_cast<int>(value.size()),
                            SQLITE_TRANSIENT));
    return *this;
  }

  /// Advances to the next row; false when there is none.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW)
      return true;
    if (rc == SQLITE_DONE)
      return false;
    owner_.fail(rc, context_);
  }
  /// Runs the statement to its end and returns how many rows it changed.
  std::int64_t run() {
    while (step()) {
    }
    return sqlite3_changes64(owner_.db_.get());
  }

  std::int64_t get_int64(int column) const { return sqlite3_column_int64(stmt_, column); }
  bool get_bool(int column) const { return sqlite3_column_int64(stmt_, column) != 0; }
  // NULL reads as the empty string: the columns the program treats as optional text.
  std::string get_text(int column) const {
    auto data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    if (data == nullptr)
      return {};
    return std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
  }

  user_record get_user() const {
    user_record user;
    user.id = get_int64(0);
    user.username = get_text(1);
    user.password_hash = get_text(2);
    user.user_role = role_from_column(get_text(3));
    user.active = get_bool(4);
    user.sync_to_rtus = get_bool(5);
    user.created_at = get_int64(6);
    user.updated_at = get_int64(7);
    user.last_login = get_int64(8);
    return user;
  }

 private:
  void check(int rc) const {
    if (rc != SQLITE_OK)
      owner_.fail(rc, context_);
  }

  sqlite_store& owner_;
  sqlite3_stmt* stmt_;
  std::string_view context_;
  int next_ = 1;
};

// BEGIN on construction, ROLLBACK on destruction unless committed: an exception anywhere in a
// change takes its audit row with it.
class sqlite_store::transaction {
 public:
  enum class mode { read, write };

  transaction(sqlite_store& owner, std::string_view context, mode kind = mode::write)
      : owner_(owner), context_(context) {
    // IMMEDIATE takes the write lock up front: a deferred transaction that upgrades later can fail
    // with SQLITE_BUSY halfway through, which busy_timeout cannot cure.
    query(owner_, kind == mode::write ? sql_begin_write : sql_begin_read, context_).run();
  }
  ~transaction() {
    if (!open_)
      return;
    // A failed statement may already have ended the transaction, and a destructor must not throw:
    // a failing ROLLBACK has nothing left to undo.
    try {
      query(owner_, sql_rollback, context_).run();
    } catch (...) {
    }
  }
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;

  void commit() {
    query(owner_, sql_commit, context_).run();
    open_ = false;
  }

 private:
  sqlite_store& owner_;
  std::string_view context_;
  bool open_ = true;
};

void sqlite_store::connection_closer::operator()(sqlite3* db) const noexcept {
  sqlite3_close(db);
}

void sqlite_store::statement_finalizer::operator()(sqlite3_stmt* stmt) const noexcept {
  sqlite3_finalize(stmt);
}

sqlite_store::sqlite_store(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  // Even a failed open allocates a handle, which must be closed.
  db_.reset(raw);
  if (rc != SQLITE_OK) {
    std::string reason = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    throw storage_error(errc::unavailable,
                        "cannot open the SQLite database '" + path + "': " + reason);
  }
  sqlite3_extended_result_codes(db_.get(), 1);
  sqlite3_busy_timeout(db_.get(), busy_timeout_ms);
  constexpr std::string_view context = "open the SQLite database";
  query(*this, sql_foreign_keys, context).run();
  query(*this, sql_synchronous, context).run();
  query journal(*this, sql_journal_mode, context);
  if (!journal.step() || journal.get_text(0) != "wal")
    throw storage_error(errc::unavailable,
                        "the SQLite database '" + path + "' cannot switch to WAL mode");
}

sqlite3_stmt* sqlite_store::prepared(std::string_view sql, std::string_view context) {
  auto found = statements_.find(sql);
  if (found != statements_.end())
    return found->second.get();
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    fail(rc, context);
  }
  statements_.emplace(sql, stmt);
  return stmt;
}

void sqlite_store::fail(int rc, std::string_view context) const {
  throw storage_error(classify(rc), std::string(context) + ": " + sqlite3_errmsg(db_.get()));
}

int sqlite_store::recorded_version(std::string_view context) {
  {
    query exists(*this, sql_table_exists, context);
    exists.text("schema_version");
    if (!exists.step() || exists.get_int64(0) == 0)
      return 0;
  }
  query version(*this, sql_schema_version, context);
  version.step();
  return static_cast<int>(version.get_int64(0));
}

int sqlite_store::schema_version() {
  return recorded_version("read the schema version");
}

int sqlite_store::migrate() {
  query(*this, sql_create_schema_version, "create the schema_version table").run();
  int current = recorded_version("read the schema version");
  for (const migration& step : sqlite_migrations()) {
    if (step.version <= current)
      continue;
    std::string context =
        "migration " + std::to_string(step.version) + " (" + std::string(step.description) + ")";
    transaction tx(*this, context);
    // Another process may have applied it while this one waited for the write lock.
    current = recorded_version(context);
    if (step.version <= current)
      continue;
    std::string script(step.sql);
    char* message = nullptr;
    int rc = sqlite3_exec(db_.get(), script.c_str(), nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
      std::string reason = message != nullptr ? message : sqlite3_errstr(rc);
      sqlite3_free(message);
      throw storage_error(classify(rc), context + ": " + reason);
    }
    query(*this, sql_insert_schema_version, context)
        .int64(step.version)
        .int64(clock_now())
        .text(step.description)
        .run();
    tx.commit();
    current = step.version;
  }
  return current;
}

void sqlite_store::ping() {
  query q(*this, sql_ping, "ping");
  q.step();
}

std::optional<user_record> sqlite_store::find_user(std::string_view username) {
  query q(*this, sql_find_user, "find user");
  q.text(username);
  if (!q.step())
    return std::nullopt;
  return q.get_user();
}

std::optional<user_record> sqlite_store::find_user_by_id(std::int64_t id) {
  query q(*this, sql_find_user_by_id, "find user");
  q.int64(id);
  if (!q.step())
    return std::nullopt;
  return q.get_user();
}

paged<user_record> sqlite_store::list_users(const page& window) {
  check_window(window);
  constexpr std::string_view context = "list users";
  transaction tx(*this, context, transaction::mode::read);
  paged<user_record> result;
  {
    query q(*this, sql_list_users, context);
    q.int64(window.limit).int64(window.skip);
    while (q.step())
      result.items.push_back(q.get_user());
  }
  result.total = count_users();
  tx.commit();
  return result;
}

system_counts sqlite_store::count_system() {
  query q(*this, sql_count_system, "count RTUs and alarms");
  q.step();
  return {q.get_int64(0), q.get_int64(1), q.get_int64(2)};
}

std::int64_t sqlite_store::count_users() {
  query q(*this, sql_count_users, "count users");
  q.step();
  return q.get_int64(0);
}

user_record sqlite_store::create_user(const user_record& user, const audit_entry& audit) {
  std::string context = "create user '" + user.username + "'";
  transaction tx(*this, context);
  user_record stored;
  {
    query q(*this, sql_insert_user, context);
    q.text(user.username)
        .text(user.password_hash)
        .text(to_string(user.user_role))
        .boolean(user.active)
        .boolean(user.sync_to_rtus)
        .int64(user.created_at)
        .int64(user.updated_at)
        .int64(user.last_login);
    q.step();
    stored = q.get_user();
  }
  insert_audit(audit, context);
  tx.commit();
  return stored;
}

user_record sqlite_store::update_user(std::int64_t id, const user_update& update, timestamp_ms now,
                                      const audit_entry& audit) {
  std::string context = "update user " + std::to_string(id);
  transaction tx(*this, context);
  user_record stored;
  {
    query q(*this, sql_update_user, context);
    q.int64(id)
        .boolean(update.set_role)
        .text(to_string(update.user_role))
        .boolean(update.set_active)
        .boolean(update.active)
        .boolean(update.set_sync_to_rtus)
        .boolean(update.sync_to_rtus)
        .int64(now);
    if (!q.step())
      throw storage_error(errc::not_found, "user " + std::to_string(id) + " not found");
    stored = q.get_user();
  }
  if (update.set_role)
    query(*this, sql_update_session_roles, context)
        .text(stored.username)
        .text(to_string(stored.user_role))
        .run();
  if (update.set_active && !update.active)
    query(*this, sql_delete_user_sessions, context).text(stored.username).run();
  insert_audit(audit, context);
  tx.commit();
  return stored;
}

void sqlite_store::set_password(std::int64_t id, const std::string& password_hash, timestamp_ms now,
                                const audit_entry& audit) {
  std::string context = "set the password of user " + std::to_string(id);
  transaction tx(*this, context);
  std::string username;
  {
    query q(*this, sql_set_password, context);
    q.int64(id).text(password_hash).int64(now);
    if (!q.step())
      throw storage_error(errc::not_found, "user " + std::to_string(id) + " not found");
    username = q.get_text(0);
  }
  query(*this, sql_delete_user_sessions, context).text(username).run();
  insert_audit(audit, context);
  tx.commit();
}

void sqlite_store::delete_user(std::int64_t id, const audit_entry& audit) {
  std::string context = "delete user " + std::to_string(id);
  transaction tx(*this, context);
  // The user's sessions go with it: user_sessions.username cascades.
  if (query(*this, sql_delete_user, context).int64(id).run() == 0)
    throw storage_error(errc::not_found, "user " + std::to_string(id) + " not found");
  insert_audit(audit, context);
  tx.commit();
}

void sqlite_store::record_login(std::int64_t id, timestamp_ms at) {
  std::string context = "record the login of user " + std::to_string(id);
  if (query(*this, sql_record_login, context).int64(id).int64(at).run() == 0)
    throw storage_error(errc::not_found, "user " + std::to_string(id) + " not found");
}

void sqlite_store::insert_session(const session_record& session, std::string_view context) {
  query(*this, sql_insert_session, context)
      .text(session.token_hash)
      .text(session.username)
      .text(to_string(session.user_role))
      .text(session.groups)
      .int64(session.created_at)
      .int64(session.last_activity)
      .int64(session.expires_at)
      .text(session.ip_address)
      .text(session.user_agent)
      .run();
}

void sqlite_store::create_session(const session_record& session, const audit_entry& audit) {
  std::string context = "create a session for '" + session.username + "'";
  transaction tx(*this, context);
  insert_session(session, context);
  insert_audit(audit, context);
  tx.commit();
}

std::vector<session_record> sqlite_store::load_sessions(timestamp_ms now) {
  query q(*this, sql_load_sessions, "load sessions");
  q.int64(now);
  std::vector<session_record> sessions;
  while (q.step()) {
    session_record session;
    session.token_hash = q.get_text(0);
    session.username = q.get_text(1);
    session.user_role = role_from_column(q.get_text(2));
    session.groups = q.get_text(3);
    session.created_at = q.get_int64(4);
    session.last_activity = q.get_int64(5);
    session.expires_at = q.get_int64(6);
    session.ip_address = q.get_text(7);
    session.user_agent = q.get_text(8);
    sessions.push_back(std::move(session));
  }
  return sessions;
}

void sqlite_store::delete_session(const std::string& token_hash, const audit_entry& audit) {
  constexpr std::string_view context = "delete a session";
  transaction tx(*this, context);
  // A logout racing the purge of the same expired session is no error: the session is gone.
  query(*this, sql_delete_session, context).text(token_hash).run();
  insert_audit(audit, context);
  tx.commit();
}

void sqlite_store::replace_session(const std::string& old_token_hash, const session_record& fresh,
                                   const audit_entry& audit) {
  std::string context = "refresh a session of '" + fresh.username + "'";
  transaction tx(*this, context);
  // A token that is no longer stored (logged out, purged) must not be refreshable.
  if (query(*this, sql_delete_session, context).text(old_token_hash).run() == 0)
    throw storage_error(errc::not_found, "the session to refresh does not exist");
  insert_session(fresh, context);
  insert_audit(audit, context);
  tx.commit();
}

void sqlite_store::touch_sessions(
    const std::vector<std::pair<std::string, timestamp_ms>>& activity) {
  if (activity.empty())
    return;
  constexpr std::string_view context = "record session activity";
  transaction tx(*this, context);
  for (const auto& [token_hash, at] : activity)
    query(*this, sql_touch_session, context).text(token_hash).int64(at).run();
  tx.commit();
}

std::int64_t sqlite_store::purge_expired_sessions(timestamp_ms now) {
  return query(*this, sql_purge_sessions, "purge expired sessions").int64(now).run();
}

void sqlite_store::insert_audit(const audit_entry& entry, std::string_view context) {
  query(*this, sql_insert_audit, context)
      .int64(entry.timestamp)
      .text(entry.user)
      .text(entry.action)
      .text(entry.resource_type)
      .text(entry.resource_id)
      .text(entry.details)
      .text(entry.ip_address)
      .run();
}

void sqlite_store::append_audit(const audit_entry& entry) {
  insert_audit(entry, "append to the audit log");
}

paged<audit_entry> sqlite_store::query_audit(const audit_filter& filter) {
  check_window(filter.window);
  constexpr std::string_view context = "query the audit log";
  transaction tx(*this, context, transaction::mode::read);
  paged<audit_entry> result;
  {
    query q(*this, sql_query_audit, context);
    q.text(filter.user)
        .text(filter.action)
        .text(filter.resource_type)
        .text(filter.resource_id)
        .int64(filter.start)
        .int64(filter.end)
        .int64(filter.window.limit)
        .int64(filter.window.skip);
    while (q.step()) {
      audit_entry entry;
      entry.id = q.get_int64(0);
      entry.timestamp = q.get_int64(1);
      entry.user = q.get_text(2);
      entry.action = q.get_text(3);
      entry.resource_type = q.get_text(4);
      entry.resource_id = q.get_text(5);
      entry.details = q.get_text(6);
      entry.ip_address = q.get_text(7);
      result.items.push_back(std::move(entry));
    }
  }
  {
    query q(*this, sql_count_audit, context);
    q.text(filter.user)
        .text(filter.action)
        .text(filter.resource_type)
        .text(filter.resource_id)
        .int64(filter.start)
        .int64(filter.end);
    q.step();
    result.total = q.get_int64(0);
  }
  tx.commit();
  return result;
}

}  // namespace wtc::storage
