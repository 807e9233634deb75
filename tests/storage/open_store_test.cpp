// What open_store selects, and what only one backend can show: SQLite's file and column format,
// PostgreSQL's TIMESTAMP columns and its reconnection.

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "storage/store.hpp"
#include "test_backends.hpp"

namespace wtc::test {
namespace {

using storage::db_config;
using storage::open_store;
using storage::storage_error;

constexpr timestamp_ms t0 = 1'700'000'000'000;  // 2023-11-14T22:13:20Z

// A temporary directory, removed with everything in it.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = std::filesystem::temp_directory_path().string() + "/wtc-open-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The message and code of the storage_error `call` throws.
template <class Call>
storage_error failure_of(Call&& call) {
  try {
    call();
  } catch (const storage_error& e) {
    return e;
  }
  return storage_error(errc::internal, "no storage_error was thrown");
}

user_record make_user(const std::string& username) {
  user_record user;
  user.username = username;
  user.password_hash = "h";
  user.created_at = t0;
  user.updated_at = t0;
  return user;
}

audit_entry make_audit() {
  audit_entry entry;
  entry.timestamp = t0;
  entry.action = "create";
  return entry;
}

TEST(open_store_test, an_empty_url_creates_the_data_directory_and_wtc_db) {
  temp_dir dir;
  std::string data_dir = dir.path() + "/nested/data";
  auto store = open_store(db_config{"", data_dir});
  EXPECT_EQ(store->backend(), "sqlite");
  EXPECT_TRUE(std::filesystem::exists(data_dir + "/wtc.db"));
  int version = store->migrate();
  EXPECT_GT(version, 0);
  EXPECT_EQ(store->schema_version(), version);
}

TEST(open_store_test, an_sqlite_url_names_the_file) {
  temp_dir dir;
  auto store = open_store(db_config{"sqlite://" + dir.path() + "/custom.db", "/nonexistent"});
  EXPECT_EQ(store->backend(), "sqlite");
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/custom.db"));
  EXPECT_FALSE(std::filesystem::exists("/nonexistent"));
}

TEST(open_store_test, a_relative_sqlite_url_is_a_bad_request) {
  storage_error e = failure_of([] { open_store(db_config{"sqlite://relative/wtc.db", ""}); });
  EXPECT_EQ(e.code(), errc::bad_request);
  EXPECT_NE(std::string(e.what()).find("absolute"), std::string::npos) << e.what();
}

TEST(open_store_test, an_unknown_scheme_is_a_bad_request_that_hides_the_password) {
  storage_error e = failure_of([] { open_store(db_config{"mysql://wtc:s3cret@db/wtc", ""}); });
  EXPECT_EQ(e.code(), errc::bad_request);
  EXPECT_NE(std::string(e.what()).find("'mysql'"), std::string::npos) << e.what();
  EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << e.what();
  EXPECT_EQ(failure_of([] { open_store(db_config{"wtc.db", ""}); }).code(), errc::bad_request);
}

TEST(open_store_test, an_sqlite_file_that_cannot_be_opened_is_unavailable) {
  temp_dir dir;
  storage_error e = failure_of([&] {
    open_store(db_config{"sqlite://" + dir.path() + "/missing/dir/wtc.db", ""});
  });
  EXPECT_EQ(e.code(), errc::unavailable) << e.what();
}

TEST(open_store_test, a_postgresql_server_that_cannot_be_reached_is_unavailable) {
  // A port that was free a moment ago: nothing listens there.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof addr;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length), 0);
  close(fd);
  std::string url = "postgresql://wtc:s3cret@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) +
                    "/water_treatment";
  storage_error e = failure_of([&] { open_store(db_config{url, ""}); });
  EXPECT_EQ(e.code(), errc::unavailable) << e.what();
  EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << e.what();
}

TEST(sqlite_store_test, the_file_is_in_wal_mode_and_timestamps_are_integer_milliseconds) {
  test_database database(backend_kind::sqlite);
  auto store = open_store(database.config());
  store->migrate();
  store->create_user(make_user("alice"), make_audit());
  auto raw = database.raw();
  EXPECT_EQ(raw->strings("PRAGMA journal_mode"), std::vector<std::string>{"wal"});
  EXPECT_EQ(raw->strings("SELECT typeof(created_at) FROM users"),
            std::vector<std::string>{"integer"});
  EXPECT_EQ(raw->scalar("SELECT created_at FROM users"), t0);
}

TEST(postgres_store_test, timestamps_are_utc_timestamp_columns) {
  test_database database(backend_kind::postgresql);
  auto store = open_store(database.config());
  store->migrate();
  store->create_user(make_user("alice"), make_audit());
  auto raw = database.raw();
  EXPECT_EQ(raw->strings("SELECT data_type FROM information_schema.columns "
                         "WHERE table_name = 'users' AND column_name = 'created_at'"),
            std::vector<std::string>{"timestamp without time zone"});
  EXPECT_EQ(raw->strings("SELECT created_at::text FROM users"),
            std::vector<std::string>{"2023-11-14 22:13:20"});
  // The session's time zone plays no part in the conversion.
  raw->exec("ALTER DATABASE " + raw->strings("SELECT current_database()").front() +
            " SET timezone TO 'Pacific/Auckland'");
  auto other = open_store(database.config());
  EXPECT_EQ(other->find_user("alice")->created_at, t0);
}

TEST(postgres_store_test, the_postgres_scheme_is_accepted_too) {
  test_database database(backend_kind::postgresql);
  std::string url = database.config().url;
  url.replace(0, std::string("postgresql").size(), "postgres");
  auto store = open_store(db_config{url, ""});
  EXPECT_EQ(store->backend(), "postgresql");
  EXPECT_NO_THROW(store->ping());
}

TEST(postgres_store_test, a_broken_connection_is_unavailable_then_reconnects) {
  test_database database(backend_kind::postgresql);
  auto store = open_store(database.config());
  store->migrate();
  store->create_user(make_user("alice"), make_audit());
  auto raw = database.raw();
  // Waits (up to 5 s) until the store's server process has gone.
  // pg_terminate_backend() sits in the select list of a filtered subquery: in a WHERE clause it
  // could run before the filter and kill the asking connection too.
  ASSERT_EQ(raw->scalar("SELECT count(pg_terminate_backend(pid, 5000)) FROM (SELECT pid FROM "
                        "pg_stat_activity WHERE datname = current_database() AND "
                        "pid <> pg_backend_pid()) AS others"),
            1);
  EXPECT_EQ(failure_of([&] { store->ping(); }).code(), errc::unavailable);
  EXPECT_NO_THROW(store->ping());
  ASSERT_TRUE(store->find_user("alice"));
  EXPECT_NO_THROW(store->create_user(make_user("bob"), make_audit()));
  EXPECT_EQ(store->count_users(), 2);
}

}  // namespace
}  // namespace wtc::test
