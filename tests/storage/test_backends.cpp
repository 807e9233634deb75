#include "test_backends.hpp"

#include <sqlite3.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <pqxx/pqxx>

#include "storage/migrations.hpp"
#include "support/pg_cluster.hpp"

namespace wtc::test {

namespace {

class sqlite_raw final : public raw_database {
 public:
  explicit sqlite_raw(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK)
      throw std::runtime_error("cannot open " + path + ": " + sqlite3_errmsg(db_));
    sqlite3_busy_timeout(db_, 5000);
    exec("PRAGMA foreign_keys = ON");
  }
  ~sqlite_raw() override { sqlite3_close(db_); }
  sqlite_raw(const sqlite_raw&) = delete;
  sqlite_raw& operator=(const sqlite_raw&) = delete;

  void exec(const std::string& sql) override {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      std::string reason = message != nullptr ? message : "unknown error";
      sqlite3_free(message);
      throw std::runtime_error(sql + ": " + reason);
    }
  }

  std::int64_t scalar(const std::string& sql) override {
    auto rows = strings(sql);
    if (rows.empty())
      throw std::runtime_error(sql + ": no row");
    return std::stoll(rows.front());
  }

  std::vector<std::string> strings(const std::string& sql) override {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
      throw std::runtime_error(sql + ": " + sqlite3_errmsg(db_));
    std::vector<std::string> rows;
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      auto text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      rows.emplace_back(text != nullptr ? text : "");
    }
    std::string reason = sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
      throw std::runtime_error(sql + ": " + reason);
    return rows;
  }

  std::vector<std::string> tables() override {
    return strings(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
  }
  std::vector<std::string> indexes() override {
    return strings(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'");
  }
  std::vector<std::string> columns(const std::string& table) override {
    return strings("SELECT name FROM pragma_table_info('" + table + "')");
  }
  std::vector<std::string> index_columns(const std::string& index) override {
    return strings("SELECT name FROM pragma_index_info('" + index + "') ORDER BY seqno");
  }
  std::string timestamp_sql(timestamp_ms ms) override { return std::to_string(ms); }

 private:
  sqlite3* db_ = nullptr;
};

class postgresql_raw final : public raw_database {
 public:
  explicit postgresql_raw(const std::string& url) : connection_(url) {}

  void exec(const std::string& sql) override {
    pqxx::nontransaction tx(connection_);
    tx.exec(sql);
  }

  std::int64_t scalar(const std::string& sql) override {
    pqxx::nontransaction tx(connection_);
    return tx.exec1(sql)[0].as<std::int64_t>();
  }

  std::vector<std::string> strings(const std::string& sql) override {
    pqxx::nontransaction tx(connection_);
    std::vector<std::string> rows;
    for (const pqxx::row& row : tx.exec(sql))
      rows.push_back(row[0].as<std::string>(std::string{}));
    return rows;
  }

  std::vector<std::string> tables() override {
    return strings("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
  }
  std::vector<std::string> indexes() override {
    // Only the indexes created by name: not those behind a primary key or a UNIQUE constraint.
    return strings(
        "SELECT i.indexname FROM pg_indexes i WHERE i.schemaname = 'public' AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)");
  }
  std::vector<std::string> columns(const std::string& table) override {
    return strings(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND "
        "table_name = '" +
        table + "'");
  }
  std::vector<std::string> index_columns(const std::string& index) override {
    return strings(
        "SELECT a.attname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
        "CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, position) "
        "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum "
        "WHERE c.relname = '" +
        index + "' ORDER BY k.position");
  }
  std::string timestamp_sql(timestamp_ms ms) override {
    return "wtc_ms_to_ts(" + std::to_string(ms) + ")";
  }

 private:
  pqxx::connection connection_;
};

}  // namespace

std::string to_string(backend_kind kind) {
  return kind == backend_kind::sqlite ? "sqlite" : "postgresql";
}

test_database::test_database(backend_kind kind) : kind_(kind) {
  if (kind_ == backend_kind::postgresql) {
    url_ = pg_cluster::shared().create_database();
    return;
  }
  std::string pattern = std::filesystem::temp_directory_path().string() + "/wtc-sqlite-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  dir_ = pattern;
  url_ = "sqlite://" + dir_ + "/wtc.db";
}

test_database::~test_database() {
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::unique_ptr<raw_database> test_database::raw() const {
  if (kind_ == backend_kind::postgresql)
    return std::make_unique<postgresql_raw>(url_);
  return std::make_unique<sqlite_raw>(dir_ + "/wtc.db");
}

void migrate_to(raw_database& raw, backend_kind kind, std::size_t count, timestamp_ms at) {
  const auto& all = kind == backend_kind::sqlite ? storage::sqlite_migrations()
                                                 : storage::postgresql_migrations();
  if (count > all.size())
    throw std::invalid_argument("migrate_to: there are only " + std::to_string(all.size()) +
                                " migrations");
  if (kind == backend_kind::sqlite)
    raw.exec("PRAGMA foreign_keys = OFF");
  raw.exec(std::string("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at ") +
           (kind == backend_kind::sqlite ? "INTEGER" : "TIMESTAMP") +
           " NOT NULL, description TEXT NOT NULL)");
  for (std::size_t i = 0; i < count; ++i) {
    raw.exec(std::string(all[i].sql));
    raw.exec("INSERT INTO schema_version VALUES (" + std::to_string(all[i].version) + ", " +
             raw.timestamp_sql(at) + ", '" + std::string(all[i].description) + "')");
  }
  if (kind == backend_kind::sqlite)
    raw.exec("PRAGMA foreign_keys = ON");
}

}  // namespace wtc::test
