#pragma once

// The two backends as the storage tests see them: a fresh database of each, and raw SQL access to
// it from outside the store under test.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "messages/types.hpp"
#include "storage/store.hpp"

namespace wtc::test {

enum class backend_kind { sqlite, postgresql };

/// "sqlite" or "postgresql": the suffix of the parameterised tests' names, which the CTest
/// registrations filter on.
std::string to_string(backend_kind kind);

/// A connection of its own to the database a store under test uses: to look at the schema and to
/// write what the store's API cannot express (a bad role, an RTU). Throws std::exception when the
/// database rejects a statement.
class raw_database {
 public:
  virtual ~raw_database() = default;
  virtual void exec(const std::string& sql) = 0;
  /// The first column of the first row, as an integer.
  virtual std::int64_t scalar(const std::string& sql) = 0;
  /// The first column of every row, as text.
  virtual std::vector<std::string> strings(const std::string& sql) = 0;

  virtual std::vector<std::string> tables() = 0;
  virtual std::vector<std::string> indexes() = 0;
  virtual std::vector<std::string> columns(const std::string& table) = 0;
  virtual std::vector<std::string> index_columns(const std::string& index) = 0;
  /// A timestamp of `ms` as an SQL expression of this backend's TIMESTAMP columns.
  virtual std::string timestamp_sql(timestamp_ms ms) = 0;
};

/// A fresh, empty database: an SQLite file in a temporary directory (removed on destruction), or a
/// new database in the PostgreSQL cluster this test process shares.
class test_database {
 public:
  explicit test_database(backend_kind kind);
  ~test_database();
  test_database(const test_database&) = delete;
  test_database& operator=(const test_database&) = delete;

  storage::db_config config() const { return {url_, dir_}; }
  std::unique_ptr<raw_database> raw() const;

 private:
  backend_kind kind_;
  std::string dir_;
  std::string url_;
};

/// Brings a fresh database to the schema of its first `count` migrations, as a store of that
/// version left it (schema_version included, applied at `at`): the starting point of a migration
/// test. SQLite's rebuilding migrations run with foreign keys off, as the store runs them.
void migrate_to(raw_database& raw, backend_kind kind, std::size_t count, timestamp_ms at);

}  // namespace wtc::test
