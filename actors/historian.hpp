#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/bus_subscription.hpp"
#include "core/compression.hpp"
#include "core/rollup.hpp"
#include "messages/interfaces.hpp"

namespace wtc {

struct historian_config {
  /// How often what was received goes to storage: the most a crash can lose of what was not yet
  /// acknowledged, and the freshness of trends.
  std::chrono::milliseconds flush_interval{500};
  /// A batch goes out before the interval is up once this many points wait, and one transaction
  /// takes at most this many. Larger transactions write faster (fewer commits, each tag's leaf
  /// page touched once per batch: SQLite 1.5 times faster with 200,000 than with 50,000 in
  /// bench/RESULTS.md) and still finish well within the storage request's timeout.
  std::size_t batch_points = 200'000;
  /// Points held while storage cannot write; beyond this the oldest are dropped and counted.
  std::size_t max_pending_points = 2'000'000;
  /// Samples older than this are purged; 0 keeps them. The contract's retention policy: 90 days.
  std::int64_t retention_ms = 90LL * core::day_ms;
  /// Rollups (minute and hour) older than this are purged; 0 keeps them. They are small and
  /// serve the long-range trends, so they outlive the samples.
  std::int64_t rollup_retention_ms = 10LL * 366 * core::day_ms;
  /// When the historian's data passes this size the oldest samples are purged; 0: no cap.
  std::int64_t max_bytes = 0;
  std::chrono::milliseconds purge_interval{std::chrono::hours(1)};
  std::chrono::milliseconds first_purge_delay{std::chrono::minutes(1)};
  /// /trends/stats reads the stored counts at most this often.
  std::chrono::milliseconds stats_max_age{std::chrono::seconds(10)};
  /// Points one trend query may return.
  std::int64_t max_points = 100'000;
  /// Stored samples one aggregated query may read when no rollup serves its interval.
  std::int64_t max_raw_rows = 1'000'000;
  /// A sample stamped further ahead of the controller's clock than this is refused.
  std::int64_t future_tolerance_ms = 60'000;
  std::chrono::milliseconds retry_delay{std::chrono::seconds(1)};
};

/// Where a rollup row lives: what the historian holds while a row waits to be written.
struct rollup_key {
  std::int64_t tag_id = 0;
  std::int64_t width_ms = 0;
  timestamp_ms bucket_start = 0;

  bool operator<(const rollup_key& other) const {
    return std::tie(tag_id, width_ms, bucket_start) <
           std::tie(other.tag_id, other.width_ms, other.bucket_start);
  }
};

/// One tag's recording: its compressor and the open minute and hour rollups, which receive the
/// tag's newest samples and are written with every batch.
struct historian_tag_state {
  historian_tag_record record;
  core::compressor compressor;
  core::rollup minute;
  core::rollup hour;
  bool rollups_changed = false;  // since they were last written
  bool has_last = false;
  timestamp_ms last_accepted = 0;  // the newest sample taken
  timestamp_ms next_due = 0;       // when the sample rate takes the next one
  quality last_quality = quality::good;
};

struct historian_state {
  static inline const char* name = "historian";

  /// What waits for a write: a flush request, answered with nullptr once the write numbered
  /// `write` (or a later one) is stored, or with the error that dropped it.
  struct waiter {
    std::uint64_t write = 0;
    std::function<void(const caf::error*)> done;
  };
  struct late_sample {
    rollup_key key;
    core::historian_sample sample;
  };

  historian_config config;
  bus_subscription bus;
  bool loaded = false;
  bool stopping = false;

  std::map<std::int64_t, historian_tag_state> tags;  // by id
  // station -> slot -> tag id: the ingest path's lookup
  std::unordered_map<std::string, std::unordered_map<std::int32_t, std::int64_t>> by_point;

  // Writing: points and closed rollups gather here and go to storage one batch at a time. A
  // deque: a batch is taken from the front of up to max_pending_points.
  std::deque<historian_point> points;
  std::map<rollup_key, core::rollup> closed;
  // Late samples whose bucket is neither open nor waiting: its stored row is read first.
  std::vector<late_sample> late;
  bool busy = false;          // reading rollups for late samples, or writing
  bool reading_late = false;  // busy with the read
  std::map<rollup_key, core::rollup> closed_in_flight;
  bool tags_deleted = false;  // since the last batch: drop their points before writing
  std::uint64_t writes_started = 0;
  std::uint64_t last_write_ok = 0;
  std::vector<waiter> waiting;

  historian_status counters;  // the ingest counters of /trends/stats
  historian_stats stored;     // read from storage now and then
  timestamp_ms stored_as_of = 0;
  std::uint64_t restarts = 0;
};

/// The historian (messages/interfaces.hpp, historian_api), registered as names::historian:
/// subscribed to every RTU's samples, it records those of its tags through their compressors,
/// keeps minute and hour rollups at ingest (corrected when late samples arrive), writes both in
/// batches, purges by age and size in the background, and answers trend queries from the
/// rollups or the samples, whichever serves. docs/historian.md describes it.
caf::behavior historian(caf::stateful_actor<historian_state>* self, historian_config config);

}  // namespace wtc
