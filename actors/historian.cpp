#include "actors/historian.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include <spdlog/spdlog.h>
#include <caf/system_messages.hpp>
#include <nlohmann/json.hpp>

#include "actors/audit.hpp"
#include "actors/mailbox_depth.hpp"
#include "actors/storage_access.hpp"
#include "core/time.hpp"
#include "messages/errors.hpp"

namespace wtc {
namespace {

using self_ptr = caf::stateful_actor<historian_state>*;
using write_atom = caf::atom_constant<caf::atom("histwrite")>;
using purge_tick_atom = caf::atom_constant<caf::atom("histpurge")>;
using stop_atom = caf::atom_constant<caf::atom("histstop")>;
using json = nlohmann::ordered_json;

constexpr auto storage_timeout = std::chrono::seconds(30);
constexpr auto stop_timeout = std::chrono::seconds(10);
constexpr std::int64_t rollup_widths[] = {core::minute_ms, core::hour_ms};

// --- conversions between storage rows and core's vocabulary ---

std::uint8_t code_of(quality q) {
  switch (q) {
    case quality::good:
      return historian_good;
    case quality::uncertain:
      return historian_uncertain;
    case quality::bad:
      break;
  }
  return historian_bad;
}

quality quality_of(std::uint8_t code) {
  switch (code) {
    case historian_good:
      return quality::good;
    case historian_uncertain:
      return quality::uncertain;
    default:
      return quality::bad;
  }
}

/// The stored form of a sample. A value that is not a number cannot be stored (nor meant
/// anything): it is kept as a BAD 0.
historian_point point_of(std::int64_t tag_id, const core::historian_sample& s) {
  if (!std::isfinite(s.value))
    return {tag_id, s.timestamp, 0.0, historian_bad};
  return {tag_id, s.timestamp, s.value, code_of(s.q)};
}

core::historian_sample sample_of(const historian_point& p) {
  return {p.timestamp, p.value, quality_of(p.quality)};
}

historian_rollup_row row_of(const rollup_key& key, const core::rollup& r) {
  return {key.tag_id, key.width_ms, key.bucket_start, r.count, r.uncertain,  r.bad,      r.sum,
          r.min,      r.max,        r.first,          r.last,  r.first_time, r.last_time};
}

core::rollup rollup_of(const historian_rollup_row& row) {
  core::rollup r;
  r.start = row.bucket_start;
  r.count = row.count;
  r.uncertain = row.uncertain;
  r.bad = row.bad;
  r.sum = row.sum;
  r.min = row.min;
  r.max = row.max;
  r.first = row.first;
  r.last = row.last;
  r.first_time = row.first_time;
  r.last_time = row.last_time;
  return r;
}

core::compression_config compression_of(const historian_tag_record& tag) {
  core::compression_config c;
  core::parse_compression_mode(tag.compression, c.mode);
  c.deviation = tag.deadband;
  c.max_interval_ms = tag.max_interval_ms;
  return c;
}

// --- tags ---

/// Why `tag` cannot be recorded, or an empty string.
std::string invalid_tag(const historian_tag_record& tag) {
  if (tag.tag_name.empty() || tag.tag_name.size() > 64)
    return "tag_name must have 1 to 64 characters";
  if (tag.rtu_station.empty() || tag.rtu_station.size() > 32)
    return "rtu_station must have 1 to 32 characters";
  if (tag.slot < 0 || tag.slot > 32767)
    return "slot must be between 0 and 32767";
  if (tag.unit.size() > 16)
    return "unit must be at most 16 characters";
  if (tag.sample_rate_ms < 100 || tag.sample_rate_ms > core::day_ms)
    return "sample_rate_ms must be between 100 and 86400000";
  core::compression_mode mode;
  if (!core::parse_compression_mode(tag.compression, mode))
    return "compression must be one of none, deadband, swinging_door";
  if (!std::isfinite(tag.deadband) || tag.deadband < 0)
    return "deadband must be a finite number, 0 or more";
  if (tag.max_interval_ms < 1000 || tag.max_interval_ms > 7 * core::day_ms)
    return "max_interval_ms must be between 1000 and 604800000";
  return {};
}

/// A tag that would take the name or the point of another, or nothing.
std::optional<std::string> clash(self_ptr self, const historian_tag_record& tag) {
  for (const auto& [id, other] : self->state.tags) {
    if (id == tag.id)
      continue;
    if (other.record.tag_name == tag.tag_name)
      return "a historian tag named '" + tag.tag_name + "' exists (id " + std::to_string(id) + ")";
    if (other.record.rtu_station == tag.rtu_station && other.record.slot == tag.slot)
      return "slot " + std::to_string(tag.slot) + " of " + tag.rtu_station +
             " is recorded by tag '" + other.record.tag_name + "'";
  }
  return std::nullopt;
}

/// Why `tag` cannot be stored as it is (400, or 409 for a name or point taken), or no error.
caf::error refusal(self_ptr self, const historian_tag_record& tag) {
  if (auto why = invalid_tag(tag); !why.empty())
    return make_error(errc::bad_request, why);
  if (auto taken = clash(self, tag))
    return make_error(errc::conflict, *taken);
  return {};
}

caf::error tag_not_found(std::int64_t id) {
  return make_error(errc::not_found, "historian tag " + std::to_string(id) + " not found");
}

json tag_details(const historian_tag_record& tag) {
  return {{"tag_name", tag.tag_name},
          {"rtu_station", tag.rtu_station},
          {"slot", tag.slot},
          {"sample_rate_ms", tag.sample_rate_ms},
          {"deadband", tag.deadband},
          {"compression", tag.compression},
          {"max_interval_ms", tag.max_interval_ms},
          {"enabled", tag.enabled}};
}

/// The open rollups of a tag loaded at start-up: the buckets of `now`, holding what storage has of
/// them, so that a restart goes on counting in the same rows. Earlier buckets are late.
void open_rollups_at(historian_tag_state& tag, timestamp_ms now,
                     const std::vector<historian_rollup_row>& stored) {
  tag.minute.start = core::bucket_start(now, core::minute_ms);
  tag.hour.start = core::bucket_start(now, core::hour_ms);
  for (const auto& row : stored) {
    if (row.tag_id != tag.record.id)
      continue;
    if (row.width_ms == core::minute_ms && row.bucket_start == tag.minute.start)
      tag.minute = rollup_of(row);
    if (row.width_ms == core::hour_ms && row.bucket_start == tag.hour.start)
      tag.hour = rollup_of(row);
  }
}

void index_tag(self_ptr self, const historian_tag_record& tag) {
  self->state.by_point[tag.rtu_station][tag.slot] = tag.id;
}

void unindex_tag(self_ptr self, const historian_tag_record& tag) {
  auto& by_point = self->state.by_point;
  auto station = by_point.find(tag.rtu_station);
  if (station == by_point.end())
    return;
  auto slot = station->second.find(tag.slot);
  if (slot != station->second.end() && slot->second == tag.id)
    station->second.erase(slot);
  if (station->second.empty())
    by_point.erase(station);
}

/// A new tag has no stored rows: its first sample opens its buckets, whatever its time (a tag
/// created to take a backfill takes it in order, without reading rows back).
historian_tag_state& add_tag(self_ptr self, const historian_tag_record& record) {
  auto& tag = self->state.tags[record.id];
  tag.record = record;
  tag.compressor = core::compressor(compression_of(record));
  tag.minute.start = tag.hour.start = std::numeric_limits<timestamp_ms>::min();
  index_tag(self, record);
  return tag;
}

// --- ingest ---

void keep_point(self_ptr self, std::int64_t tag_id, const core::historian_sample& s) {
  self->state.points.push_back(point_of(tag_id, s));
}

/// A late sample's bucket of `width`: added where the row waits, or queued to read it first.
void add_late(self_ptr self, const rollup_key& key, const core::historian_sample& s) {
  auto& st = self->state;
  if (auto waiting = st.closed.find(key); waiting != st.closed.end()) {
    waiting->second.add(s);
    return;
  }
  if (auto flying = st.closed_in_flight.find(key); flying != st.closed_in_flight.end()) {
    auto& row = st.closed[key] = flying->second;
    row.add(s);
    return;
  }
  st.late.push_back({key, s});
}

void add_to_rollups(self_ptr self, historian_tag_state& tag, const core::historian_sample& s) {
  for (auto width : rollup_widths) {
    auto& open = width == core::minute_ms ? tag.minute : tag.hour;
    const auto bucket = core::bucket_start(s.timestamp, width);
    if (bucket == open.start) {
      open.add(s);
      tag.rollups_changed = true;
    } else if (bucket > open.start) {
      if (!open.empty())
        self->state.closed[{tag.record.id, width, open.start}] = open;
      open = core::rollup{};
      open.start = bucket;
      open.add(s);
      tag.rollups_changed = true;
    } else {
      add_late(self, {tag.record.id, width, bucket}, s);
    }
  }
}

void flush(self_ptr self);

void ingest(self_ptr self, historian_tag_state& tag, const sample& in, timestamp_ms now) {
  auto& st = self->state;
  if (!tag.record.enabled)
    return;
  if (in.timestamp > now + st.config.future_tolerance_ms) {
    ++st.counters.samples_rejected;
    return;
  }
  const core::historian_sample s{in.timestamp, in.value,
                                 std::isfinite(in.value) ? in.q : quality::bad};
  if (tag.has_last && s.timestamp <= tag.last_accepted) {
    if (s.timestamp == tag.last_accepted) {
      ++st.counters.samples_rejected;  // a repeat: its time holds a value already
      return;
    }
    ++st.counters.late_samples;
  } else {
    // The tag's sample rate thins the stream on a schedule, one sample per period: a sample a
    // little early (an RTU's cycle jitters) is on time, and after a late cycle the next one is
    // still due when it was, so a tag at its RTU's rate keeps every cycle. A change of quality
    // is taken at once and leaves the schedule as it was.
    const auto rate = tag.record.sample_rate_ms;
    const auto slack = std::min<std::int64_t>(rate / 10, 20);
    if (tag.has_last && s.timestamp < tag.next_due - slack && s.q == tag.last_quality)
      return;
    if (!tag.has_last || s.timestamp >= tag.next_due + rate)
      tag.next_due = s.timestamp + rate;  // the first sample, or the first after a pause
    else if (s.timestamp >= tag.next_due - slack)
      tag.next_due += rate;
    tag.has_last = true;
    tag.last_accepted = s.timestamp;
    tag.last_quality = s.q;
  }
  ++st.counters.samples_received;
  add_to_rollups(self, tag, s);
  for (const auto& p : tag.compressor.push(s))
    keep_point(self, tag.record.id, p);
  if (st.points.size() >= st.config.batch_points)
    flush(self);
}

// --- writing: one batch (transaction) at a time, in order ---

void answer_waiting(self_ptr self, std::uint64_t up_to, const caf::error* err) {
  auto& waiting = self->state.waiting;
  auto due = std::stable_partition(waiting.begin(), waiting.end(),
                                   [up_to](const auto& w) { return w.write > up_to; });
  std::vector<historian_state::waiter> done(std::make_move_iterator(due),
                                            std::make_move_iterator(waiting.end()));
  waiting.erase(due, waiting.end());
  for (auto& w : done)
    w.done(err);
}

/// Drops the oldest points beyond the bound while storage cannot keep up.
void bound_pending(self_ptr self) {
  auto& st = self->state;
  if (st.points.size() <= st.config.max_pending_points)
    return;
  const auto excess = st.points.size() - st.config.max_pending_points;
  st.points.erase(st.points.begin(), st.points.begin() + static_cast<std::ptrdiff_t>(excess));
  st.counters.points_dropped += static_cast<std::int64_t>(excess);
  spdlog::error("historian: storage is not keeping up; dropped the {} oldest points", excess);
}

void write_done(self_ptr self, std::uint64_t number, std::int64_t count) {
  auto& s = self->state;
  s.busy = false;
  s.closed_in_flight.clear();
  s.counters.points_written += count;
  s.last_write_ok = std::max(s.last_write_ok, number);
  answer_waiting(self, s.last_write_ok, nullptr);
  if (s.stopping || !s.waiting.empty() || !s.late.empty() ||
      s.points.size() >= s.config.batch_points)
    flush(self);
}

void write_failed(self_ptr self, std::uint64_t number, const std::shared_ptr<historian_batch>& sent,
                  const caf::error& err) {
  auto& s = self->state;
  s.busy = false;
  ++s.counters.write_failures;
  const bool refused =
      err.category() == errc_category && (static_cast<errc>(err.code()) == errc::bad_request ||
                                          static_cast<errc>(err.code()) == errc::not_found);
  if (refused) {
    // Refused rows would be refused again: report them and go on without them.
    spdlog::error("historian: storage refused a batch of {} points: {}", sent->points.size(),
                  self->system().render(err));
    s.counters.points_dropped += static_cast<std::int64_t>(sent->points.size());
    s.closed_in_flight.clear();
    answer_waiting(self, number, &err);
    return;
  }
  spdlog::warn("historian: {} points not stored ({}); retrying", sent->points.size(),
               self->system().render(err));
  // The failed batch goes first again; rows waiting since are newer than its rows.
  s.points.insert(s.points.begin(), sent->points.begin(), sent->points.end());
  for (auto& [key, r] : s.closed_in_flight)
    s.closed.emplace(key, r);
  s.closed_in_flight.clear();
  for (auto& [id, tag] : s.tags)
    tag.rollups_changed = true;
  bound_pending(self);
  self->delayed_send(self, s.config.retry_delay, write_atom::value);
}

/// A write that outlasted its request's timeout is slow, not lost: storage does not cancel it,
/// and sending the batch again would make storage write it twice while the backlog grows. So
/// ask for the batch's last point, a request storage answers only after the write (one mailbox,
/// in order): the batch is one transaction, so that point stored as sent means all of it is
/// (unless it was stored alike before: a replayed backfill whose write failed after the timeout
/// would pass for written). Not there: the write failed and the batch goes again.
void confirm_write(self_ptr self, std::uint64_t number, std::shared_ptr<historian_batch> sent) {
  auto storage = storage_of(self);
  if (!storage) {
    write_failed(self, number, sent, make_error(caf::sec::request_timeout));
    return;
  }
  spdlog::warn("historian: a write of {} points outlasted {} s; waiting for it",
               sent->points.size(), storage_timeout.count());
  const historian_point last = sent->points.back();
  self->request(storage, storage_timeout, caf::get_atom::value, hist_before_atom::value,
                last.tag_id, last.timestamp + 1, std::int64_t{1})
      .then(
          [self, number, sent, last](std::vector<historian_point>& found) {
            if (found.size() == 1 && found[0].timestamp == last.timestamp &&
                found[0].value == last.value && found[0].quality == last.quality)
              write_done(self, number, static_cast<std::int64_t>(sent->points.size()));
            else
              write_failed(self, number, sent, make_error(caf::sec::request_timeout));
          },
          [self, number, sent](caf::error& err) {
            if (err == caf::sec::request_timeout)
              confirm_write(self, number, sent);
            else
              write_failed(self, number, sent, err);
          });
}

void write_batch(self_ptr self) {
  auto& st = self->state;
  historian_batch batch;
  // One transaction takes at most batch_points, so that a backlog after an outage drains in
  // batches that each finish well within the request's timeout, instead of one that never does.
  const auto split = st.points.begin() + static_cast<std::ptrdiff_t>(
                                             std::min(st.points.size(), st.config.batch_points));
  batch.points.assign(st.points.begin(), split);
  st.points.erase(st.points.begin(), split);
  // In key order, each tag's points land together at the end of its range of the (tag, time)
  // key, instead of one page per point; stable, so the later of two points with one key wins.
  std::stable_sort(batch.points.begin(), batch.points.end(),
                   [](const historian_point& a, const historian_point& b) {
                     return a.tag_id != b.tag_id ? a.tag_id < b.tag_id : a.timestamp < b.timestamp;
                   });
  if (st.tags_deleted) {
    auto gone = [&st](const historian_point& p) { return st.tags.count(p.tag_id) == 0; };
    batch.points.erase(std::remove_if(batch.points.begin(), batch.points.end(), gone),
                       batch.points.end());
    for (auto it = st.closed.begin(); it != st.closed.end();)
      it = st.tags.count(it->first.tag_id) ? std::next(it) : st.closed.erase(it);
    st.tags_deleted = false;
  }
  for (const auto& [key, r] : st.closed)
    batch.rollups.push_back(row_of(key, r));
  for (auto& [id, tag] : st.tags) {
    if (!tag.rollups_changed)
      continue;
    tag.rollups_changed = false;
    for (const core::rollup* open : {&tag.minute, &tag.hour})
      if (!open->empty())
        batch.rollups.push_back(row_of(
            {id, open == &tag.minute ? core::minute_ms : core::hour_ms, open->start}, *open));
  }
  if (batch.points.empty() && batch.rollups.empty()) {
    answer_waiting(self, st.writes_started + 1, nullptr);  // everything received is stored
    return;
  }
  auto storage = storage_of(self);
  if (!storage) {
    st.points.insert(st.points.begin(), batch.points.begin(), batch.points.end());
    for (auto& [id, tag] : st.tags)
      tag.rollups_changed = true;
    self->delayed_send(self, st.config.retry_delay, write_atom::value);
    return;
  }
  st.busy = true;
  st.closed_in_flight = std::exchange(st.closed, {});
  const auto number = ++st.writes_started;
  const auto count = static_cast<std::int64_t>(batch.points.size());
  auto sent = std::make_shared<historian_batch>(std::move(batch));
  self->request(storage, storage_timeout, *sent)
      .then([self, number, count](caf::ok_atom) { write_done(self, number, count); },
            [self, number, sent](caf::error& err) {
              if (err == caf::sec::request_timeout && !sent->points.empty())
                confirm_write(self, number, sent);
              else
                write_failed(self, number, sent, err);
            });
}

/// Reads the stored rows the late samples fall in, adds them, then writes.
void resolve_late(self_ptr self) {
  auto& st = self->state;
  auto late = std::exchange(st.late, {});
  std::vector<historian_rollup_key> keys;
  for (const auto& l : late)
    keys.push_back({l.key.tag_id, l.key.width_ms, l.key.bucket_start});
  std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
    return rollup_key{a.tag_id, a.width_ms, a.bucket_start} <
           rollup_key{b.tag_id, b.width_ms, b.bucket_start};
  });
  keys.erase(std::unique(keys.begin(), keys.end(),
                         [](const auto& a, const auto& b) {
                           return a.tag_id == b.tag_id && a.width_ms == b.width_ms &&
                                  a.bucket_start == b.bucket_start;
                         }),
             keys.end());
  auto storage = storage_of(self);
  if (!storage) {
    st.late = std::move(late);
    self->delayed_send(self, st.config.retry_delay, write_atom::value);
    return;
  }
  st.busy = st.reading_late = true;
  self->request(storage, storage_timeout, caf::get_atom::value, hist_rollup_atom::value, keys)
      .then(
          [self, late](std::vector<historian_rollup_row>& rows) {
            auto& s = self->state;
            s.busy = s.reading_late = false;
            std::map<rollup_key, core::rollup> stored;
            for (const auto& row : rows)
              stored[{row.tag_id, row.width_ms, row.bucket_start}] = rollup_of(row);
            for (const auto& l : late) {
              auto waiting = s.closed.find(l.key);
              if (waiting == s.closed.end()) {
                auto from_storage = stored.find(l.key);
                core::rollup base;
                base.start = l.key.bucket_start;
                waiting =
                    s.closed
                        .emplace(l.key, from_storage != stored.end() ? from_storage->second : base)
                        .first;
              }
              waiting->second.add(l.sample);
            }
            write_batch(self);
          },
          [self, late](caf::error& err) {
            auto& s = self->state;
            s.busy = s.reading_late = false;
            ++s.counters.write_failures;
            spdlog::warn("historian: cannot read the rollups of {} late samples ({}); retrying",
                         late.size(), self->system().render(err));
            s.late.insert(s.late.begin(), late.begin(), late.end());
            self->delayed_send(self, s.config.retry_delay, write_atom::value);
          });
}

void flush(self_ptr self) {
  auto& st = self->state;
  if (st.busy)
    return;
  // Late samples whose row now waits to be written join it without a read.
  if (!st.late.empty()) {
    auto late = std::exchange(st.late, {});
    for (const auto& l : late)
      add_late(self, l.key, l.sample);
  }
  if (!st.late.empty())
    resolve_late(self);
  else
    write_batch(self);
}

/// Everything received so far, the compressors' held samples too, is written; `done` runs when
/// it is stored.
void flush_all(self_ptr self, std::function<void(const caf::error*)> done) {
  auto& st = self->state;
  for (auto& [id, tag] : st.tags)
    for (const auto& p : tag.compressor.flush())
      keep_point(self, id, p);
  // The write that will hold the last of what is here now: the next one (after a late read, the
  // one after), and one more for each further batch_points waiting.
  const auto batches = st.points.empty() ? 1 : (st.points.size() - 1) / st.config.batch_points + 1;
  const auto number = st.writes_started + (st.reading_late || !st.late.empty() ? 1 : 0) + batches;
  st.waiting.push_back({number, std::move(done)});
  flush(self);
}

// --- purging ---

void purge_by_size(self_ptr self);

void purge(self_ptr self) {
  auto& st = self->state;
  auto storage = storage_of(self);
  if (!storage || st.config.retention_ms <= 0) {
    purge_by_size(self);
    return;
  }
  const auto now = core::now_ms();
  const timestamp_ms samples_before = now - st.config.retention_ms;
  const timestamp_ms rollups_before =
      st.config.rollup_retention_ms > 0 ? now - st.config.rollup_retention_ms : 0;
  self->request(storage, storage_timeout, purge_atom::value, historian_atom::value, samples_before,
                rollups_before)
      .then(
          [self](std::int64_t rows) {
            self->state.counters.rows_purged += rows;
            if (rows > 0)
              spdlog::info("historian: purged {} rows older than the retention period", rows);
            purge_by_size(self);
          },
          [self](caf::error& err) {
            spdlog::warn("historian: purge failed: {}", self->system().render(err));
          });
}

/// Over the size cap: the oldest samples go, a share of the stored time span that matches the
/// excess (at least 5%), until the next purge finds it under the cap.
void purge_by_size(self_ptr self) {
  auto& st = self->state;
  auto storage = storage_of(self);
  if (!storage || st.config.max_bytes <= 0)
    return;
  self->request(storage, storage_timeout, caf::get_atom::value, stats_atom::value,
                historian_atom::value)
      .then(
          [self, storage](historian_stats& stats) {
            auto& s = self->state;
            s.stored = stats;
            s.stored_as_of = core::now_ms();
            if (stats.bytes <= s.config.max_bytes || stats.newest <= stats.oldest)
              return;
            const double excess =
                1.0 - static_cast<double>(s.config.max_bytes) / static_cast<double>(stats.bytes);
            const auto span = static_cast<double>(stats.newest - stats.oldest);
            const auto cut =
                stats.oldest + static_cast<std::int64_t>(span * std::max(0.05, excess));
            spdlog::warn(
                "historian: {} MB stored, above the cap of {} MB: purging samples before {}",
                stats.bytes >> 20, s.config.max_bytes >> 20, core::format_iso8601(cut));
            self->request(storage, storage_timeout, purge_atom::value, historian_atom::value, cut,
                          timestamp_ms{0})
                .then([self](std::int64_t rows) { self->state.counters.rows_purged += rows; },
                      [self](caf::error& err) {
                        spdlog::warn("historian: purge by size failed: {}",
                                     self->system().render(err));
                      });
          },
          [self](caf::error& err) {
            spdlog::warn("historian: cannot read the stored size: {}", self->system().render(err));
          });
}

// --- trend queries ---

/// What a trend query reads: planned by the historian, run by a worker of its own so that a
/// long read never holds up ingest.
struct trend_plan {
  historian_tag_record tag;
  trend_query query;
  core::series_query series;
  std::int64_t width_ms = 0;  // the rollups that answer; 0: the samples
  std::int64_t row_limit = 0;
  std::optional<core::historian_sample> pending;  // the current value, held by compression
};

std::vector<core::historian_sample> samples_of(const std::vector<historian_point>& points) {
  std::vector<core::historian_sample> out;
  out.reserve(points.size());
  for (const auto& p : points)
    out.push_back(sample_of(p));
  return out;
}

trend_series series_of(const trend_plan& plan, const std::vector<core::historian_sample>& values,
                       std::string source) {
  trend_series out;
  out.tag = plan.tag;
  out.query = plan.query;
  out.source = std::move(source);
  out.points.reserve(values.size());
  for (const auto& v : values)
    out.points.push_back({plan.tag.id, v.timestamp, v.value, code_of(v.q)});
  return out;
}

caf::error too_many(const trend_plan& plan) {
  if (plan.series.agg == core::aggregation::none)
    return make_error(errc::bad_request,
                      "the window holds more than " + std::to_string(plan.row_limit) +
                          " samples of tag '" + plan.tag.tag_name +
                          "': narrow it, or ask for an aggregation (aggregation=avg&interval=1m)");
  return make_error(errc::bad_request,
                    "an interval of less than a minute over this window would aggregate more "
                    "than " +
                        std::to_string(plan.row_limit) +
                        " samples: use whole minutes or hours, which rollups answer, or a "
                        "shorter window");
}

caf::behavior trend_worker(caf::event_based_actor* self, std::shared_ptr<const trend_plan> plan) {
  return {
      [self, plan](trend_atom) -> caf::result<trend_series> {
        auto storage = storage_of(self);
        if (!storage) {
          self->quit();
          return storage_restarting();
        }
        auto promise = self->make_response_promise<trend_series>();
        auto fail = [self, promise](caf::error& err) mutable {
          promise.deliver(std::move(err));
          self->quit();
        };
        const auto& q = plan->series;
        if (plan->width_ms == 0) {
          historian_filter filter{plan->tag.id, q.start, q.end, 0, plan->row_limit + 1};
          self->request(storage, storage_timeout, caf::get_atom::value, historian_atom::value,
                        filter)
              .then(
                  [self, plan, promise](std::vector<historian_point>& points) mutable {
                    if (static_cast<std::int64_t>(points.size()) > plan->row_limit) {
                      promise.deliver(too_many(*plan));
                      self->quit();
                      return;
                    }
                    auto series = series_of(
                        *plan, core::aggregate(samples_of(points), plan->series), "samples");
                    const auto& p = plan->pending;
                    if (plan->series.agg == core::aggregation::none && p &&
                        p->timestamp >= plan->series.start && p->timestamp < plan->series.end &&
                        (points.empty() || p->timestamp > points.back().timestamp))
                      series.current.push_back(point_of(plan->tag.id, *p));
                    promise.deliver(std::move(series));
                    self->quit();
                  },
                  fail);
          return promise;
        }
        // Rollups for the whole buckets, samples for the ends they do not cover.
        const auto covered = core::whole_buckets(q.start, q.end, plan->width_ms);
        // The database merges the rollups into the query's buckets: a year per day is 365 rows
        // to send and parse instead of 8,760 (on PostgreSQL most of the query's time).
        historian_filter rollups{
            plan->tag.id,   covered.start,   covered.end,
            plan->width_ms, plan->row_limit, q.interval_ms > plan->width_ms ? q.interval_ms : 0};
        historian_filter head{plan->tag.id, q.start, covered.start, 0, plan->row_limit};
        historian_filter tail{plan->tag.id, covered.end, q.end, 0, plan->row_limit};
        auto read_samples = [self, storage](const historian_filter& f) {
          return self->request(storage, storage_timeout, caf::get_atom::value,
                               historian_atom::value, f);
        };
        self->request(storage, storage_timeout, caf::get_atom::value, hist_rollup_atom::value,
                      rollups)
            .then(
                [self, plan, promise, fail, head, tail,
                 read_samples](std::vector<historian_rollup_row>& rows) mutable {
                  auto finer = std::make_shared<std::vector<core::rollup>>();
                  finer->reserve(rows.size());
                  for (const auto& row : rows)
                    finer->push_back(rollup_of(row));
                  auto edges = std::make_shared<std::vector<core::historian_sample>>();
                  auto finish = [self, plan, promise, finer, edges]() mutable {
                    const auto source =
                        plan->width_ms == core::hour_ms ? "rollups_1h" : "rollups_1m";
                    promise.deliver(series_of(
                        *plan, core::aggregate(*finer, plan->width_ms, *edges, plan->series),
                        source));
                    self->quit();
                  };
                  auto take = [edges](std::vector<historian_point>& points) {
                    for (const auto& p : points)
                      edges->push_back(sample_of(p));
                  };
                  if (head.end <= head.start) {
                    read_samples(tail).then(
                        [take, finish](std::vector<historian_point>& points) mutable {
                          take(points);
                          finish();
                        },
                        fail);
                    return;
                  }
                  read_samples(head).then(
                      [take, finish, fail, tail,
                       read_samples](std::vector<historian_point>& points) mutable {
                        take(points);
                        if (tail.end <= tail.start) {
                          finish();
                          return;
                        }
                        read_samples(tail).then(
                            [take, finish](std::vector<historian_point>& more) mutable {
                              take(more);
                              finish();
                            },
                            fail);
                      },
                      fail);
                },
                fail);
        return promise;
      },
  };
}

/// The plan for `query`, or why it cannot be answered.
caf::expected<trend_plan> plan_trend(self_ptr self, const trend_query& query) {
  auto& st = self->state;
  auto found = st.tags.find(query.tag_id);
  if (found == st.tags.end())
    return tag_not_found(query.tag_id);
  trend_plan plan;
  plan.tag = found->second.record;
  plan.query = query;
  plan.pending = found->second.compressor.pending();
  auto& q = plan.series;
  q.start = query.start;
  q.end = query.end;
  q.interval_ms = query.interval_ms;
  if (!core::parse_aggregation(query.aggregation, q.agg))
    return make_error(errc::bad_request,
                      "aggregation must be one of none, avg, min, max, first, last, count");
  if (auto why = core::validate(q); !why.empty())
    return make_error(errc::bad_request, why);
  if (q.agg == core::aggregation::none) {
    plan.row_limit = st.config.max_points;
    return plan;
  }
  const auto buckets =
      (q.end - core::bucket_start(q.start, q.interval_ms) + q.interval_ms - 1) / q.interval_ms;
  if (buckets > st.config.max_points)
    return make_error(errc::bad_request, "the query would return " + std::to_string(buckets) +
                                             " points; the most one query returns is " +
                                             std::to_string(st.config.max_points) +
                                             ": use a longer interval or a shorter window");
  for (auto width : {core::hour_ms, core::minute_ms})
    if (core::rollups_can_answer(q, width)) {
      plan.width_ms = width;
      break;
    }
  plan.row_limit = st.config.max_raw_rows;
  return plan;
}

historian_status status_of(self_ptr self) {
  auto& st = self->state;
  historian_status out = st.counters;
  out.stored = st.stored;
  out.stored_as_of = st.stored_as_of;
  out.tags = static_cast<std::int64_t>(st.tags.size());
  out.tags_enabled = std::count_if(st.tags.begin(), st.tags.end(),
                                   [](const auto& t) { return t.second.record.enabled; });
  out.points_pending = static_cast<std::int64_t>(st.points.size());
  out.retention_days = st.config.retention_ms / core::day_ms;
  out.max_bytes = st.config.max_bytes;
  return out;
}

// --- start and stop ---

caf::error not_loaded() {
  return make_error(errc::unavailable, "the historian is starting");
}

/// Loads the tags and the stored rows of their open buckets, before anything else is handled.
void start(self_ptr self) {
  auto storage = storage_of(self);
  if (!storage)
    throw std::runtime_error("historian: storage is not running");
  self->request(storage, storage_timeout, caf::get_atom::value, hist_tag_atom::value)
      .await(
          [self, storage](std::vector<historian_tag_record>& tags) {
            const auto now = core::now_ms();
            std::vector<historian_rollup_key> keys;
            for (const auto& tag : tags)
              for (auto width : rollup_widths)
                keys.push_back({tag.id, width, core::bucket_start(now, width)});
            self->request(storage, storage_timeout, caf::get_atom::value, hist_rollup_atom::value,
                          keys)
                .await(
                    [self, tags, now](std::vector<historian_rollup_row>& rows) {
                      for (const auto& tag : tags)
                        open_rollups_at(add_tag(self, tag), now, rows);
                      self->state.loaded = true;
                      self->state.bus.subscribe(self);
                      spdlog::info("historian: recording {} tags", tags.size());
                    },
                    [self](caf::error& err) {
                      spdlog::critical("historian: cannot read the open rollups: {}",
                                       self->system().render(err));
                      self->quit(err);
                    });
          },
          [self](caf::error& err) {
            spdlog::critical("historian: cannot load the tags: {}", self->system().render(err));
            self->quit(err);
          });
}

/// A clean stop writes what the compressors hold and what waits, then ends.
void stop(self_ptr self, caf::error reason) {
  auto& st = self->state;
  if (st.stopping)
    return;
  st.stopping = true;
  self->delayed_send(self, stop_timeout, stop_atom::value);
  flush_all(self, [self, reason](const caf::error* err) {
    if (err)
      spdlog::error("historian: the last batch was not stored: {}", self->system().render(*err));
    self->quit(reason);
  });
}

}  // namespace

caf::behavior historian(caf::stateful_actor<historian_state>* self, historian_config config) {
  auto& st = self->state;
  st.config = std::move(config);
  st.counters.retention_days = st.config.retention_ms / core::day_ms;
  st.bus = bus_subscription({}, topics::samples, std::chrono::milliseconds(250));
  start(self);
  self->delayed_send(self, st.config.flush_interval, write_atom::value);
  self->delayed_send(self, st.config.first_purge_delay, purge_tick_atom::value);

  self->set_default_handler(caf::print_and_drop);
  self->set_down_handler([self](caf::down_msg& down) { self->state.bus.on_down(self, down); });
  self->set_exit_handler([self](caf::exit_msg& msg) { stop(self, msg.reason); });

  return {
      [self](subscribe_atom) { self->state.bus.subscribe(self); },
      [self](write_atom) {
        auto& s = self->state;
        bound_pending(self);
        flush(self);
        if (!s.stopping)
          self->delayed_send(self, s.config.flush_interval, write_atom::value);
      },
      [self](purge_tick_atom) {
        purge(self);
        self->delayed_send(self, self->state.config.purge_interval, purge_tick_atom::value);
      },
      [self](stop_atom) {
        spdlog::error("historian: storage did not take the last batch in time; stopping");
        self->quit(caf::exit_reason::user_shutdown);
      },
      // --- samples: from the field bus, or straight from a sender (an edge node's backfill) ---
      [self](const sample_batch& batch) {
        auto& s = self->state;
        if (s.stopping)
          return;
        auto station = s.by_point.find(batch.station);
        if (station == s.by_point.end())
          return;
        const auto now = core::now_ms();
        for (const auto& sample : batch.samples) {
          if (sample.channel != 0)
            continue;  // a slot's first channel is its value (docs/register-map.md)
          auto slot = station->second.find(sample.slot);
          if (slot != station->second.end())
            ingest(self, s.tags.at(slot->second), sample, now);
        }
      },
      [self](flush_atom, historian_atom) -> caf::result<caf::ok_atom> {
        auto promise = self->make_response_promise<caf::ok_atom>();
        flush_all(self, [promise](const caf::error* err) mutable {
          if (err)
            promise.deliver(*err);
          else
            promise.deliver(caf::ok_atom::value);
        });
        return promise;
      },
      // --- tags ---
      [self](caf::get_atom, hist_tag_atom) -> caf::result<std::vector<historian_tag_record>> {
        if (!self->state.loaded)
          return not_loaded();
        std::vector<historian_tag_record> out;
        for (const auto& [id, tag] : self->state.tags)
          out.push_back(tag.record);
        return out;
      },
      [self](caf::get_atom, hist_tag_atom, std::int64_t id) -> caf::result<historian_tag_record> {
        if (!self->state.loaded)
          return not_loaded();
        auto found = self->state.tags.find(id);
        if (found == self->state.tags.end())
          return tag_not_found(id);
        return found->second.record;
      },
      [self](create_atom, historian_tag_record tag,
             const request_origin& origin) -> caf::result<historian_tag_record> {
        if (!self->state.loaded)
          return not_loaded();
        tag.id = 0;
        tag.created_at = tag.updated_at = core::now_ms();
        if (auto err = refusal(self, tag))
          return err;
        auto storage = storage_of(self);
        if (!storage)
          return storage_restarting();
        auto promise = self->make_response_promise<historian_tag_record>();
        auto audit = audit_of(origin, "historian_tag_create", "historian_tag", tag.tag_name,
                              tag_details(tag).dump());
        self->request(storage, storage_timeout, create_atom::value, tag, std::move(audit))
            .then(
                [self, promise](historian_tag_record& stored) mutable {
                  add_tag(self, stored);
                  spdlog::info("historian: recording '{}' ({} slot {})", stored.tag_name,
                               stored.rtu_station, stored.slot);
                  promise.deliver(stored);
                },
                [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
        return promise;
      },
      [self](caf::update_atom, historian_tag_record tag,
             const request_origin& origin) -> caf::result<historian_tag_record> {
        if (!self->state.loaded)
          return not_loaded();
        auto found = self->state.tags.find(tag.id);
        if (found == self->state.tags.end())
          return tag_not_found(tag.id);
        tag.created_at = found->second.record.created_at;
        tag.updated_at = core::now_ms();
        if (auto err = refusal(self, tag))
          return err;
        auto storage = storage_of(self);
        if (!storage)
          return storage_restarting();
        auto promise = self->make_response_promise<historian_tag_record>();
        auto audit = audit_of(origin, "historian_tag_update", "historian_tag",
                              std::to_string(tag.id), tag_details(tag).dump());
        self->request(storage, storage_timeout, caf::update_atom::value, tag, std::move(audit))
            .then(
                [self, promise](historian_tag_record& stored) mutable {
                  auto current = self->state.tags.find(stored.id);
                  if (current == self->state.tags.end()) {  // deleted meanwhile
                    promise.deliver(stored);
                    return;
                  }
                  auto& t = current->second;
                  // What the old settings held back is stored under them; the new ones start
                  // from here.
                  for (const auto& p : t.compressor.flush())
                    keep_point(self, stored.id, p);
                  unindex_tag(self, t.record);
                  t.record = stored;
                  t.compressor = core::compressor(compression_of(stored));
                  index_tag(self, stored);
                  promise.deliver(stored);
                },
                [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
        return promise;
      },
      [self](caf::delete_atom, hist_tag_atom, std::int64_t id,
             const request_origin& origin) -> caf::result<caf::ok_atom> {
        auto& s = self->state;
        if (!s.loaded)
          return not_loaded();
        auto found = s.tags.find(id);
        if (found == s.tags.end())
          return tag_not_found(id);
        auto storage = storage_of(self);
        if (!storage)
          return storage_restarting();
        // Stop recording first: storage takes the delete after any batch already sent, and
        // the batches after it leave the tag out.
        const auto name = found->second.record.tag_name;
        unindex_tag(self, found->second.record);
        s.tags.erase(found);
        s.tags_deleted = true;
        s.late.erase(std::remove_if(s.late.begin(), s.late.end(),
                                    [id](const auto& l) { return l.key.tag_id == id; }),
                     s.late.end());
        auto promise = self->make_response_promise<caf::ok_atom>();
        auto audit = audit_of(origin, "historian_tag_delete", "historian_tag", std::to_string(id),
                              json{{"tag_name", name}}.dump());
        self->request(storage, storage_timeout, caf::delete_atom::value, hist_tag_atom::value, id,
                      std::move(audit))
            .then([promise](caf::ok_atom) mutable { promise.deliver(caf::ok_atom::value); },
                  [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
        return promise;
      },
      // --- trends ---
      [self](caf::get_atom, trend_atom, const trend_query& query) -> caf::result<trend_series> {
        if (!self->state.loaded)
          return not_loaded();
        auto plan = plan_trend(self, query);
        if (!plan)
          return plan.error();
        auto worker =
            self->spawn(trend_worker, std::make_shared<const trend_plan>(std::move(*plan)));
        auto promise = self->make_response_promise<trend_series>();
        return promise.delegate(worker, trend_atom::value);
      },
      [self](caf::get_atom, stats_atom, historian_atom) -> caf::result<historian_status> {
        auto& s = self->state;
        const auto now = core::now_ms();
        if (now - s.stored_as_of < s.config.stats_max_age.count())
          return status_of(self);
        auto storage = storage_of(self);
        if (!storage)
          return storage_restarting();
        auto promise = self->make_response_promise<historian_status>();
        self->request(storage, storage_timeout, caf::get_atom::value, stats_atom::value,
                      historian_atom::value)
            .then(
                [self, promise](historian_stats& stats) mutable {
                  self->state.stored = std::move(stats);
                  self->state.stored_as_of = core::now_ms();
                  promise.deliver(status_of(self));
                },
                [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
        return promise;
      },
      [self](stats_atom) -> actor_stats {
        return {historian_state::name, mailbox_depth(self), self->state.restarts};
      },
  };
}

}  // namespace wtc
