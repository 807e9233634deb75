#include "storage/forward_buffer.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <utility>

namespace wtc::storage {

namespace {

// "WTCF" in the database header: tells a forward buffer from any other SQLite file, so that a
// mistyped path cannot add our tables to wtc.db or another program's database.
constexpr const char* sql_application_id_set = "PRAGMA application_id = 1465140038";
constexpr std::int64_t application_id = 0x57544346;
constexpr const char* sql_format_version_set = "PRAGMA user_version = 1";
constexpr std::int64_t format_version = 1;
constexpr int busy_timeout_ms = 5000;

constexpr const char* sql_journal_mode = "PRAGMA journal_mode = WAL";
constexpr const char* sql_synchronous = "PRAGMA synchronous = FULL";
constexpr const char* sql_application_id = "PRAGMA application_id";
constexpr const char* sql_format_version = "PRAGMA user_version";
constexpr const char* sql_count_tables = "SELECT count(*) FROM sqlite_master";
constexpr const char* sql_begin = "BEGIN IMMEDIATE";
constexpr const char* sql_commit = "COMMIT";
constexpr const char* sql_rollback = "ROLLBACK";

// The entries are always the contiguous range of seqs [next_seq - entries, next_seq - 1]: entries
// are inserted with consecutive seqs and only ever deleted from the oldest end.
constexpr const char* sql_create_entries =
    "CREATE TABLE forward_entries (seq INTEGER PRIMARY KEY, produced_at_ms INTEGER NOT NULL, "
    "payload BLOB NOT NULL)";
// One row: the counters, kept with every change so that stats() reads no entry.
constexpr const char* sql_create_meta =
    "CREATE TABLE forward_meta (id INTEGER PRIMARY KEY CHECK (id = 1), "
    "next_seq INTEGER NOT NULL, entries INTEGER NOT NULL, bytes INTEGER NOT NULL, "
    "dropped INTEGER NOT NULL, dropped_bytes INTEGER NOT NULL)";
constexpr const char* sql_insert_meta = "INSERT INTO forward_meta VALUES (1, 1, 0, 0, 0, 0)";

constexpr const char* sql_read_meta =
    "SELECT next_seq, entries, bytes, dropped, dropped_bytes FROM forward_meta WHERE id = 1";
constexpr const char* sql_write_meta =
    "UPDATE forward_meta SET next_seq = ?1, entries = ?2, bytes = ?3, dropped = ?4, "
    "dropped_bytes = ?5 WHERE id = 1";
constexpr const char* sql_insert =
    "INSERT INTO forward_entries (seq, produced_at_ms, payload) VALUES (?1, ?2, ?3)";
// length() of a BLOB reads the size from the record header, not the payload.
constexpr const char* sql_oldest = "SELECT seq, length(payload) FROM forward_entries ORDER BY seq";
constexpr const char* sql_delete_through = "DELETE FROM forward_entries WHERE seq <= ?1";
constexpr const char* sql_delete_all = "DELETE FROM forward_entries";
constexpr const char* sql_count_through =
    "SELECT count(*), coalesce(sum(length(payload)), 0) FROM forward_entries WHERE seq <= ?1";
constexpr const char* sql_read_after =
    "SELECT seq, produced_at_ms, payload FROM forward_entries WHERE seq > ?1 ORDER BY seq "
    "LIMIT ?2";
// Both ends of the entries by the primary key: two seeks, no scan.
constexpr const char* sql_bounds =
    "SELECT coalesce((SELECT min(seq) FROM forward_entries), 0), "
    "coalesce((SELECT max(seq) FROM forward_entries), 0)";

// Seqs and sizes are unsigned in the interface and INTEGER (signed 64-bit) in the file; no real
// value comes near 2^63, and a larger argument means "everything".
std::int64_t to_column(std::uint64_t value) {
  constexpr auto most = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(std::min(value, most));
}

std::uint64_t from_column(std::int64_t value) {
  return value < 0 ? 0 : static_cast<std::uint64_t>(value);
}

}  // namespace

struct forward_buffer::meta {
  std::uint64_t next_seq = 1;
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  std::uint64_t dropped = 0;
  std::uint64_t dropped_bytes = 0;
};

struct forward_buffer::pending {
  std::int64_t produced_at_ms = 0;
  const std::vector<std::uint8_t>* payload = nullptr;
};

// One use of a prepared statement: binds in order, steps, reads columns, and resets it when it goes
// out of scope so that the next use starts clean.
class forward_buffer::use {
 public:
  use(const forward_buffer& owner, const statement& stmt, const std::string& what)
      : owner_(owner), stmt_(stmt.get()), what_(what) {}
  ~use() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  use(const use&) = delete;
  use& operator=(const use&) = delete;

  use& int64(std::int64_t value) {
    check(sqlite3_bind_int64(stmt_, next_++, value));
    return *this;
  }
  use& blob(const std::vector<std::uint8_t>& value) {
    // A null data pointer binds NULL, not an empty BLOB, and an empty vector's data() may be null.
    if (value.empty())
      check(sqlite3_bind_zeroblob(stmt_, next_++, 0));
    else
      check(sqlite3_bind_blob(stmt_, next_++, value.data(), static_cast<int>(value.size()),
                              SQLITE_STATIC));
    return *this;
  }

  /// Advances to the next row; false when there is none.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW)
      return true;
    if (rc == SQLITE_DONE)
      return false;
    owner_.fail(rc, what_);
  }
  void run() {
    while (step()) {
    }
  }

  std::int64_t get_int64(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::uint64_t get_uint64(int column) const { return from_column(get_int64(column)); }
  std::vector<std::uint8_t> get_blob(int column) const {
    // Called before sqlite3_column_bytes, as SQLite advises; null for an empty BLOB.
    auto data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, column));
    auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column));
    if (data == nullptr)
      return {};
    return std::vector<std::uint8_t>(data, data + size);
  }

 private:
  void check(int rc) const {
    if (rc != SQLITE_OK)
      owner_.fail(rc, what_);
  }

  const forward_buffer& owner_;
  sqlite3_stmt* stmt_;
  const std::string& what_;
  int next_ = 1;
};

// BEGIN IMMEDIATE on construction, ROLLBACK on destruction unless committed. IMMEDIATE takes the
// write lock up front, so that busy_timeout covers waiting for it.
class forward_buffer::transaction {
 public:
  transaction(forward_buffer& owner, const std::string& what) : owner_(owner), what_(what) {
    use(owner_, owner_.begin_, what_).run();
  }
  ~transaction() {
    if (!open_)
      return;
    // A failed statement may already have ended the transaction, and a destructor must not throw.
    try {
      use(owner_, owner_.rollback_, what_).run();
    } catch (...) {
    }
  }
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;

  void commit() {
    use(owner_, owner_.commit_, what_).run();
    open_ = false;
  }

 private:
  forward_buffer& owner_;
  const std::string& what_;
  bool open_ = true;
};

void forward_buffer::connection_closer::operator()(sqlite3* db) const noexcept {
  // _v2: the connection closes when the last statement is finalised, whatever the order.
  sqlite3_close_v2(db);
}

void forward_buffer::statement_finalizer::operator()(sqlite3_stmt* stmt) const noexcept {
  sqlite3_finalize(stmt);
}

forward_buffer::forward_buffer(const std::string& path, std::uint64_t max_bytes)
    : path_(path), max_bytes_(max_bytes) {
  if (max_bytes_ == 0)
    throw std::invalid_argument("forward buffer '" + path_ + "': max_bytes must not be zero");
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path_.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  // Even a failed open allocates a handle, which must be closed.
  db_.reset(raw);
  if (rc != SQLITE_OK) {
    std::string reason = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    throw std::runtime_error("forward buffer '" + path_ + "': cannot open: " + reason);
  }
  sqlite3_extended_result_codes(db_.get(), 1);
  sqlite3_busy_timeout(db_.get(), busy_timeout_ms);

  // The first statement reads the header: a file that is not a database fails here.
  const std::string what = "open";
  {
    statement journal = prepare(sql_journal_mode, what);
    int step = sqlite3_step(journal.get());
    if (step != SQLITE_ROW)
      fail(step, what);
    auto mode = reinterpret_cast<const char*>(sqlite3_column_text(journal.get(), 0));
    if (mode == nullptr || std::string(mode) != "wal")
      throw std::runtime_error("forward buffer '" + path_ + "': cannot switch to WAL mode");
  }
  run_once(sql_synchronous, what);
  set_up_schema();
  prepare_statements();

  const std::string check = "check the counters against the entries";
  meta m = read_meta(check);
  {
    use bounds(*this, bounds_, check);
    bounds.step();
    std::uint64_t oldest = bounds.get_uint64(0);
    std::uint64_t newest = bounds.get_uint64(1);
    bool consistent = m.entries == 0 ? oldest == 0 && newest == 0
                                     : newest + 1 == m.next_seq && oldest + m.entries == m.next_seq;
    if (!consistent)
      throw std::runtime_error("forward buffer '" + path_ +
                               "': the counters do not match the entries (next_seq " +
                               std::to_string(m.next_seq) + ", " + std::to_string(m.entries) +
                               " entries, seqs " + std::to_string(oldest) + " to " +
                               std::to_string(newest) + "): the file was changed behind our back");
  }
  if (m.bytes > max_bytes_) {
    const std::string trim = "trim to max_bytes " + std::to_string(max_bytes_);
    transaction tx(*this, trim);
    m = read_meta(trim);
    if (m.bytes > max_bytes_) {
      drop_oldest(m, m.bytes - max_bytes_, false, trim);
      write_meta(m, trim);
    }
    tx.commit();
  }
}

forward_buffer::~forward_buffer() = default;
forward_buffer::forward_buffer(forward_buffer&&) noexcept = default;
forward_buffer& forward_buffer::operator=(forward_buffer&&) noexcept = default;

void forward_buffer::fail(int rc, const std::string& what) const {
  std::string reason = db_ != nullptr ? sqlite3_errmsg(db_.get()) : sqlite3_errstr(rc);
  throw std::runtime_error("forward buffer '" + path_ + "': " + what + ": " + reason);
}

forward_buffer::statement forward_buffer::prepare(const char* sql, const std::string& what) const {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  statement owned(stmt);
  if (rc != SQLITE_OK)
    fail(rc, what);
  return owned;
}

void forward_buffer::run_once(const char* sql, const std::string& what) const {
  statement stmt = prepare(sql, what);
  int rc = 0;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
  }
  if (rc != SQLITE_DONE)
    fail(rc, what);
}

void forward_buffer::set_up_schema() {
  const std::string what = "set up the schema";
  // By hand rather than with transaction: the statements it uses are prepared after the schema.
  run_once(sql_begin, what);
  auto single = [&](const char* sql) {
    statement stmt = prepare(sql, what);
    int rc = sqlite3_step(stmt.get());
    if (rc != SQLITE_ROW)
      fail(rc, what);
    return sqlite3_column_int64(stmt.get(), 0);
  };
  try {
    std::int64_t id = single(sql_application_id);
    std::int64_t version = single(sql_format_version);
    std::int64_t tables = single(sql_count_tables);
    if (id == 0 && tables == 0) {
      run_once(sql_create_entries, what);
      run_once(sql_create_meta, what);
      run_once(sql_insert_meta, what);
      run_once(sql_application_id_set, what);
      run_once(sql_format_version_set, what);
    } else if (id != application_id) {
      throw std::runtime_error("forward buffer '" + path_ +
                               "': the file is an SQLite database but not a forward buffer "
                               "(application_id " +
                               std::to_string(id) + ", " + std::to_string(tables) + " tables)");
    } else if (version != format_version) {
      throw std::runtime_error("forward buffer '" + path_ + "': format version " +
                               std::to_string(version) + ", this build reads version " +
                               std::to_string(format_version));
    }
    run_once(sql_commit, what);
  } catch (...) {
    sqlite3_stmt* rollback = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql_rollback, -1, &rollback, nullptr) == SQLITE_OK)
      sqlite3_step(rollback);
    sqlite3_finalize(rollback);
    throw;
  }
}

void forward_buffer::prepare_statements() {
  const std::string what = "prepare the statements";
  begin_ = prepare(sql_begin, what);
  commit_ = prepare(sql_commit, what);
  rollback_ = prepare(sql_rollback, what);
  read_meta_ = prepare(sql_read_meta, what);
  write_meta_ = prepare(sql_write_meta, what);
  insert_ = prepare(sql_insert, what);
  oldest_ = prepare(sql_oldest, what);
  delete_through_ = prepare(sql_delete_through, what);
  delete_all_ = prepare(sql_delete_all, what);
  count_through_ = prepare(sql_count_through, what);
  read_after_ = prepare(sql_read_after, what);
  bounds_ = prepare(sql_bounds, what);
}

forward_buffer::meta forward_buffer::read_meta(const std::string& what) const {
  use q(*this, read_meta_, what);
  if (!q.step())
    throw std::runtime_error("forward buffer '" + path_ + "': " + what +
                             ": the counters' row is missing");
  meta m;
  m.next_seq = q.get_uint64(0);
  m.entries = q.get_uint64(1);
  m.bytes = q.get_uint64(2);
  m.dropped = q.get_uint64(3);
  m.dropped_bytes = q.get_uint64(4);
  return m;
}

void forward_buffer::write_meta(const meta& m, const std::string& what) {
  use(*this, write_meta_, what)
      .int64(to_column(m.next_seq))
      .int64(to_column(m.entries))
      .int64(to_column(m.bytes))
      .int64(to_column(m.dropped))
      .int64(to_column(m.dropped_bytes))
      .run();
}

void forward_buffer::drop_oldest(meta& m, std::uint64_t excess, bool all, const std::string& what) {
  if (all) {
    use(*this, delete_all_, what).run();
    m.dropped += m.entries;
    m.dropped_bytes += m.bytes;
    m.entries = 0;
    m.bytes = 0;
    return;
  }
  std::uint64_t count = 0;
  std::uint64_t freed = 0;
  std::uint64_t through = 0;
  {
    use q(*this, oldest_, what);
    while (freed < excess && q.step()) {
      through = q.get_uint64(0);
      freed += q.get_uint64(1);
      ++count;
    }
  }
  if (count == 0)
    return;
  use(*this, delete_through_, what).int64(to_column(through)).run();
  m.entries -= count;
  m.bytes -= freed;
  m.dropped += count;
  m.dropped_bytes += freed;
}

std::uint64_t forward_buffer::append(std::int64_t produced_at_ms,
                                     const std::vector<std::uint8_t>& payload) {
  return append_pending({pending{produced_at_ms, &payload}}).front();
}

std::vector<std::uint64_t> forward_buffer::append_all(const std::vector<forward_entry>& entries) {
  std::vector<pending> batch;
  batch.reserve(entries.size());
  for (const forward_entry& entry : entries)
    batch.push_back(pending{entry.produced_at_ms, &entry.payload});
  return append_pending(batch);
}

std::vector<std::uint64_t> forward_buffer::append_pending(const std::vector<pending>& batch) {
  if (batch.empty())
    return {};
  // Checked before anything is written: a refused batch changes nothing.
  constexpr auto sqlite_most = static_cast<std::size_t>(std::numeric_limits<int>::max());
  for (const pending& item : batch) {
    std::size_t size = item.payload->size();
    if (size > max_bytes_ || size > sqlite_most)
      throw std::invalid_argument("forward buffer '" + path_ + "': an entry of " +
                                  std::to_string(size) + " bytes is larger than max_bytes " +
                                  std::to_string(max_bytes_));
  }

  // Appending one by one keeps the longest run of newest entries that fits in max_bytes. Find the
  // part of the batch in it: the entries before `first_kept` get their seqs and are dropped at
  // once.
  std::size_t first_kept = batch.size();
  std::uint64_t kept_bytes = 0;
  while (first_kept > 0) {
    std::uint64_t size = batch[first_kept - 1].payload->size();
    if (size > max_bytes_ - kept_bytes)
      break;
    kept_bytes += size;
    --first_kept;
  }
  std::uint64_t skipped_bytes = 0;
  for (std::size_t i = 0; i < first_kept; ++i)
    skipped_bytes += batch[i].payload->size();

  const std::string what = "append " + std::to_string(batch.size()) + " entries";
  transaction tx(*this, what);
  meta m = read_meta(what);
  if (first_kept > 0)
    // A newer entry of the batch is dropped, so every older entry must go too.
    drop_oldest(m, 0, true, what);
  else if (m.bytes + kept_bytes > max_bytes_)
    drop_oldest(m, m.bytes + kept_bytes - max_bytes_, false, what);

  std::vector<std::uint64_t> seqs;
  seqs.reserve(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i)
    seqs.push_back(m.next_seq + i);
  m.dropped += first_kept;
  m.dropped_bytes += skipped_bytes;

  for (std::size_t i = first_kept; i < batch.size(); ++i)
    use(*this, insert_, what)
        .int64(to_column(seqs[i]))
        .int64(batch[i].produced_at_ms)
        .blob(*batch[i].payload)
        .run();
  m.next_seq += batch.size();
  m.entries += batch.size() - first_kept;
  m.bytes += kept_bytes;
  write_meta(m, what);
  tx.commit();
  return seqs;
}

std::vector<forward_entry> forward_buffer::read_after(std::uint64_t after, std::size_t max_entries,
                                                      std::uint64_t max_bytes) const {
  std::vector<forward_entry> window;
  if (max_entries == 0)
    return window;
  const std::string what = "read the entries after seq " + std::to_string(after);
  use q(*this, read_after_, what);
  q.int64(to_column(after)).int64(to_column(max_entries));
  std::uint64_t bytes = 0;
  while (q.step()) {
    forward_entry entry;
    entry.seq = q.get_uint64(0);
    entry.produced_at_ms = q.get_int64(1);
    entry.payload = q.get_blob(2);
    std::uint64_t size = entry.payload.size();
    if (!window.empty() && size > max_bytes - std::min(bytes, max_bytes))
      break;
    bytes += size;
    window.push_back(std::move(entry));
  }
  return window;
}

void forward_buffer::acknowledge(std::uint64_t seq) {
  const std::string what = "acknowledge through seq " + std::to_string(seq);
  transaction tx(*this, what);
  meta m = read_meta(what);
  std::uint64_t count = 0;
  std::uint64_t bytes = 0;
  {
    use q(*this, count_through_, what);
    q.int64(to_column(seq)).step();
    count = q.get_uint64(0);
    bytes = q.get_uint64(1);
  }
  if (count == 0)
    return;  // Already acknowledged or nothing buffered: the rollback ends the transaction.
  use(*this, delete_through_, what).int64(to_column(seq)).run();
  m.entries -= count;
  m.bytes -= bytes;
  write_meta(m, what);
  tx.commit();
}

forward_buffer_stats forward_buffer::stats() const {
  meta m = read_meta("read the counters");
  forward_buffer_stats stats;
  stats.entries = m.entries;
  stats.bytes = m.bytes;
  stats.dropped = m.dropped;
  stats.dropped_bytes = m.dropped_bytes;
  stats.next_seq = m.next_seq;
  stats.oldest_seq = m.entries == 0 ? 0 : m.next_seq - m.entries;
  return stats;
}

}  // namespace wtc::storage
