#pragma once

// Value types of the historian's storage: the rows of historian_tags, historian_samples and
// historian_rollups (migration 0005, docs/storage.md), what the historian hands to storage and
// what it asks of it. Each has an `inspect` overload and is registered in register_types().
// messages/ does not depend on core/: historian_rollup_row mirrors the fields of core::rollup, and
// the historian converts between the two.

#include <cstdint>
#include <string>
#include <vector>

#include "messages/types.hpp"

namespace wtc {

/// A historian_tags row: the contract's columns and migration 0005's max_interval_ms, enabled and
/// updated_at. A tag is the point (rtu_station, slot); it may exist before the RTU is discovered.
struct historian_tag_record {
  std::int64_t id = 0;
  std::string rtu_station;
  std::int32_t slot = 0;
  std::string tag_name;
  std::string unit;  // empty: NULL
  std::int64_t sample_rate_ms = 1000;
  double deadband = 0.1;
  std::string compression = "swinging_door";  // none, deadband, swinging_door
  // The longest time without a stored sample (compressor's heartbeat), and how far back a query
  // looks for the point before its window.
  std::int64_t max_interval_ms = 60000;
  bool enabled = true;
  timestamp_ms created_at = 0;
  timestamp_ms updated_at = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, historian_tag_record& x) {
  return f(x.id, x.rtu_station, x.slot, x.tag_name, x.unit, x.sample_rate_ms, x.deadband,
           x.compression, x.max_interval_ms, x.enabled, x.created_at, x.updated_at);
}

/// The quality codes of historian_samples.quality: the order of wtc::quality, then the
/// contract's NOT_CONNECTED.
enum historian_quality_code : std::uint8_t {
  historian_good = 0,
  historian_uncertain = 1,
  historian_bad = 2,
  historian_not_connected = 3,
};

/// A historian_samples row. One (tag_id, timestamp) holds one point: a point written again for
/// the same time replaces the stored one (a backfill replayed after a link loss is idempotent).
struct historian_point {
  std::int64_t tag_id = 0;
  timestamp_ms timestamp = 0;
  double value = 0.0;
  std::uint8_t quality = historian_good;  // historian_quality_code
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, historian_point& x) {
  return f(x.tag_id, x.timestamp, x.value, x.quality);
}

/// A historian_rollups row: the aggregate of one tag's samples in [bucket_start, bucket_start +
/// width_ms), the fields of core::rollup. With count == 0 (only BAD samples) min, max, first and
/// last mean nothing and are stored NULL; they read back as core::rollup's empty values (+inf,
/// -inf, 0, 0).
struct historian_rollup_row {
  std::int64_t tag_id = 0;
  std::int64_t width_ms = 60000;
  timestamp_ms bucket_start = 0;
  std::int64_t count = 0;
  std::int64_t uncertain = 0;
  std::int64_t bad = 0;
  double sum = 0.0;
  double min = 0.0;
  double max = 0.0;
  double first = 0.0;
  double last = 0.0;
  timestamp_ms first_time = 0;
  timestamp_ms last_time = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, historian_rollup_row& x) {
  return f(x.tag_id, x.width_ms, x.bucket_start, x.count, x.uncertain, x.bad, x.sum, x.min, x.max,
           x.first, x.last, x.first_time, x.last_time);
}

/// Names one rollup row: what the historian reads back to correct a bucket a late sample falls in.
struct historian_rollup_key {
  std::int64_t tag_id = 0;
  std::int64_t width_ms = 60000;
  timestamp_ms bucket_start = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, historian_rollup_key& x) {
  return f(x.tag_id, x.width_ms, x.bucket_start);
}

/// What the historian writes in one go: points inserted (or replacing the point of the same tag
/// and time), rollup rows inserted or replacing the row of the same (tag_id, width_ms,
/// bucket_start).
struct historian_batch {
  std::vector<historian_point> points;
  std::vector<historian_rollup_row> rollups;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, historian_batch& x) {
  return f(x.points, x.rollups);
}

/// A range of one tag: timestamps (bucket starts for rollups) in [start, end), oldest first, at
/// most `limit` rows (1..1,000,000; storage clamps). width_ms selects the rollup width.
/// group_ms (rollups only; a multiple of width_ms, or 0): the rows of each epoch-aligned
/// group_ms bucket come merged into one, stamped with the first row's bucket_start, so that a
/// year averaged per day is 365 rows from the database instead of 8,760 hour rows.
struct historian_filter {
  std::int64_t tag_id = 0;
  timestamp_ms start = 0;
  timestamp_ms end = 0;
  std::int64_t width_ms = 0;
  std::int64_t limit = 10000;
  std::int64_t group_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, historian_filter& x) {
  return f(x.tag_id, x.start, x.end, x.width_ms, x.limit, x.group_ms);
}

/// The stored samples of one tag.
struct historian_tag_count {
  std::int64_t tag_id = 0;
  std::int64_t rows = 0;
  timestamp_ms oldest = 0;
  timestamp_ms newest = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, historian_tag_count& x) {
  return f(x.tag_id, x.rows, x.oldest, x.newest);
}

/// What the historian stores. bytes: the historian tables and their indexes on PostgreSQL, the
/// database file's pages in use on SQLite (docs/storage.md). oldest, newest: 0 without samples.
struct historian_stats {
  std::int64_t sample_rows = 0;
  std::int64_t rollup_rows = 0;
  std::int64_t bytes = 0;
  timestamp_ms oldest = 0;
  timestamp_ms newest = 0;
  std::vector<historian_tag_count> per_tag;  // tags with samples, by tag_id
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, historian_stats& x) {
  return f(x.sample_rows, x.rollup_rows, x.bytes, x.oldest, x.newest, x.per_tag);
}

/// GET /api/v1/trends/{tag_id}: [start, end) in ms UTC; `aggregation` is core::aggregation's
/// name (none, avg, min, max, first, last, count); interval_ms the bucket width of an aggregation.
struct trend_query {
  std::int64_t tag_id = 0;
  timestamp_ms start = 0;
  timestamp_ms end = 0;
  std::string aggregation = "none";
  std::int64_t interval_ms = 60000;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trend_query& x) {
  return f(x.tag_id, x.start, x.end, x.aggregation, x.interval_ms);
}

/// A trend: the tag and its stored points (tag_id of each point is the tag's), oldest first.
/// `source` says what answered: "samples", "rollups_1m" or "rollups_1h" (docs/historian.md).
/// `current`: for a raw query, the tag's newest value when compression holds it back and the
/// window includes it (at most one point; not stored yet, so a crash may lose it).
struct trend_series {
  historian_tag_record tag;
  trend_query query;
  std::vector<historian_point> points;
  std::string source;
  std::vector<historian_point> current;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trend_series& x) {
  return f(x.tag, x.query, x.points, x.source, x.current);
}

/// GET /api/v1/trends/stats: what is stored (read from storage now and then) and what the
/// historian has done since it started.
struct historian_status {
  historian_stats stored;
  timestamp_ms stored_as_of = 0;  // when `stored` was read
  std::int64_t tags = 0;          // configured
  std::int64_t tags_enabled = 0;
  std::int64_t samples_received = 0;  // taken for the tags (after their sample rate)
  std::int64_t samples_rejected = 0;  // a timestamp far in the future, or a repeat
  std::int64_t late_samples = 0;      // older than the tag's newest: stored as they are
  std::int64_t points_written = 0;    // acknowledged by storage
  std::int64_t points_pending = 0;    // waiting for storage
  std::int64_t points_dropped = 0;    // oldest first, when the database was down too long
  std::int64_t write_failures = 0;
  std::int64_t rows_purged = 0;
  std::int64_t retention_days = 0;
  std::int64_t max_bytes = 0;  // 0: no size cap
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, historian_status& x) {
  return f(x.stored, x.stored_as_of, x.tags, x.tags_enabled, x.samples_received,
           x.samples_rejected, x.late_samples, x.points_written, x.points_pending,
           x.points_dropped, x.write_failures, x.rows_purged, x.retention_days, x.max_bytes);
}

}  // namespace wtc
