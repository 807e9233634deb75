#pragma once

// The edge node's store-and-forward buffer (issue 7): samples and events produced while the link to
// the central node is down wait here, in their own SQLite file, until the central node
// acknowledges them. No CAF in here: the uplink actor owns one and calls it.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace wtc::storage {

/// One buffered entry: an opaque payload (the uplink's serialised message) and when it was
/// produced. `seq` is assigned by the buffer.
struct forward_entry {
  std::uint64_t seq = 0;
  std::int64_t produced_at_ms = 0;
  std::vector<std::uint8_t> payload;
};

struct forward_buffer_stats {
  /// Entries buffered now and the sum of their payload sizes (never more than max_bytes).
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  /// Entries (and their payload bytes) dropped by the size bound since the file was created.
  std::uint64_t dropped = 0;
  std::uint64_t dropped_bytes = 0;
  /// The seq the next append gets; the first entry of a new file gets 1.
  std::uint64_t next_seq = 1;
  /// The seq of the oldest buffered entry, 0 when the buffer is empty. The buffered entries are
  /// always the contiguous range [oldest_seq, next_seq - 1].
  std::uint64_t oldest_seq = 0;
};

/// A bounded, durable FIFO of entries in one SQLite file (WAL, synchronous=FULL: an append that
/// returned survives kill -9 and a power cut). Sequence numbers start at 1, strictly increase and
/// are never reused, across restarts too. Entries leave the buffer only when acknowledged or when
/// the size bound drops the oldest, and drops are counted in the file.
///
/// Errors from SQLite throw std::runtime_error naming the file; bad arguments throw
/// std::invalid_argument and change nothing. Not thread-safe: one owner (the uplink actor) calls
/// it. The stored state is the truth: a second forward_buffer on the same file stays consistent.
class forward_buffer {
 public:
  /// Opens the buffer file at `path`, creating it if needed, bounded to `max_bytes` of payload
  /// (not zero). A file not made by forward_buffer, corrupt, or unreadable is refused with a
  /// std::runtime_error. A file that holds more than a smaller new `max_bytes` is trimmed to it at
  /// once, the oldest dropped first and counted.
  forward_buffer(const std::string& path, std::uint64_t max_bytes);
  ~forward_buffer();
  forward_buffer(forward_buffer&&) noexcept;
  forward_buffer& operator=(forward_buffer&&) noexcept;
  forward_buffer(const forward_buffer&) = delete;
  forward_buffer& operator=(const forward_buffer&) = delete;

  /// Appends one entry durably and returns its seq. When the buffered payload would exceed
  /// max_bytes, the oldest entries are deleted and counted as dropped first. A payload larger than
  /// max_bytes alone throws std::invalid_argument.
  std::uint64_t append(std::int64_t produced_at_ms, const std::vector<std::uint8_t>& payload);

  /// Appends `entries` in order in one transaction (their seq is ignored) and returns the seq each
  /// got. The result is the same as appending them one by one: if the batch itself is larger than
  /// max_bytes, its own oldest entries are dropped (and counted) too. One payload larger than
  /// max_bytes refuses the whole batch with std::invalid_argument.
  std::vector<std::uint64_t> append_all(const std::vector<forward_entry>& entries);

  /// The entries with seq > `after`, oldest first: at most `max_entries` of them and at most
  /// `max_bytes` of payload, except that the first entry is always returned (when max_entries > 0)
  /// even if larger than max_bytes, so that a window smaller than one entry cannot stall the
  /// uplink. Reading removes nothing.
  std::vector<forward_entry> read_after(std::uint64_t after, std::size_t max_entries,
                                        std::uint64_t max_bytes) const;

  /// Deletes every entry with seq <= `seq`: the central node holds them. Idempotent; a seq beyond
  /// the newest entry empties the buffer and does not move next_seq.
  void acknowledge(std::uint64_t seq);

  /// The counters, from one row of the file (no scan of the entries).
  forward_buffer_stats stats() const;

  const std::string& path() const { return path_; }
  std::uint64_t max_bytes() const { return max_bytes_; }

 private:
  struct connection_closer {
    void operator()(sqlite3* db) const noexcept;
  };
  struct statement_finalizer {
    void operator()(sqlite3_stmt* stmt) const noexcept;
  };
  using statement = std::unique_ptr<sqlite3_stmt, statement_finalizer>;
  struct meta;
  struct pending;
  class use;
  class transaction;

  [[noreturn]] void fail(int rc, const std::string& what) const;
  statement prepare(const char* sql, const std::string& what) const;
  /// Prepares, runs to its end and finalises a statement of the one-off set-up at open.
  void run_once(const char* sql, const std::string& what) const;
  /// Creates the schema in a new file, or checks that an existing one is a forward buffer.
  void set_up_schema();
  void prepare_statements();
  meta read_meta(const std::string& what) const;
  void write_meta(const meta& m, const std::string& what);
  /// Deletes the oldest entries until at least `excess` payload bytes are freed, or every entry
  /// when `all`, and counts them as dropped in `m`.
  void drop_oldest(meta& m, std::uint64_t excess, bool all, const std::string& what);
  std::vector<std::uint64_t> append_pending(const std::vector<pending>& batch);

  std::string path_;
  std::uint64_t max_bytes_ = 0;
  std::unique_ptr<sqlite3, connection_closer> db_;
  // Declared after db_ so that they are finalised before the connection closes.
  statement begin_;
  statement commit_;
  statement rollback_;
  statement read_meta_;
  statement write_meta_;
  statement insert_;
  statement oldest_;
  statement delete_through_;
  statement delete_all_;
  statement count_through_;
  statement read_after_;
  statement bounds_;
};

}  // namespace wtc::storage
