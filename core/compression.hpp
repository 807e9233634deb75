#pragma once

// The historian's compression of one tag's stream: which samples are worth storing. Pure: the
// caller feeds samples and stores what comes out; no clock, no I/O. docs/historian.md explains
// the algorithms and what each mode guarantees about the samples it drops.

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "messages/field_types.hpp"

namespace wtc::core {

/// One value of one tag: what the historian receives and what it stores (a historian_samples
/// row without its ids). Trivially copyable, 24 bytes.
struct historian_sample {
  timestamp_ms timestamp = 0;
  double value = 0.0;
  quality q = quality::good;
};

inline bool operator==(const historian_sample& a, const historian_sample& b) {
  // A NaN equals a NaN here, so that a stored NaN compares equal to the sample it came from.
  return a.timestamp == b.timestamp && a.q == b.q &&
         (a.value == b.value || (std::isnan(a.value) && std::isnan(b.value)));
}
inline bool operator!=(const historian_sample& a, const historian_sample& b) {
  return !(a == b);
}

/// historian_tags.compression.
enum class compression_mode : std::uint8_t { none, deadband, swinging_door };

std::string_view to_string(compression_mode m);
/// Parses "none", "deadband" or "swinging_door"; returns false on anything else.
bool parse_compression_mode(std::string_view text, compression_mode& out);

struct compression_config {
  compression_mode mode = compression_mode::swinging_door;
  /// historian_tags.deadband, in engineering units: the exception deadband, or the swinging
  /// door's compression deviation. 0 keeps every change (deadband) or every bend (swinging door).
  double deviation = 0.1;
  /// A point is stored at least this often while samples keep coming (PI's CompMax), so that a
  /// flat signal still shows it is alive and a query finds the value before its window within
  /// this look-back. 0: no limit.
  std::int64_t max_interval_ms = 8 * 3'600'000;
};

/// Why `c` cannot be used, or an empty string when it can.
std::string validate(const compression_config& c);

/// How many samples swinging door may look past the last sample that could end a segment, hoping
/// for a later one that can (noise makes most samples poor ends). Bounds the compressor's memory
/// and the points one push() can give.
constexpr std::size_t max_lookahead = 32;

/// What one push() or flush() gives to store, oldest first: a view into the compressor, valid
/// until its next push() or flush(), so that the ingest path allocates and copies nothing.
class stored_points {
 public:
  stored_points(const historian_sample* data, std::size_t size) : data_(data), size_(size) {}

  const historian_sample* begin() const { return data_; }
  const historian_sample* end() const { return data_ + size_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const historian_sample& operator[](std::size_t i) const { return data_[i]; }

 private:
  const historian_sample* data_;
  std::size_t size_;
};

/// The compression state of one tag. Feed it the tag's samples in time order; it answers with
/// the points to store. Swinging door decides about a sample only when later ones arrive, so the
/// samples since the last point stored are held back (pending()) until then: call flush() before
/// shutting down, or to archive the current value on demand, or they are lost.
///
/// A sample not newer than the last one seen (late data from an edge node's backfill, or a
/// repeat of the same millisecond) bypasses compression: it is returned as-is and the state is
/// not touched, so the compression of the live stream goes on as if it had not come.
class compressor {
 public:
  explicit compressor(const compression_config& c = {});

  stored_points push(const historian_sample& s);
  /// Stores what is held back; compression goes on from the last sample seen.
  stored_points flush();

  /// The last sample seen when it is not stored yet: the tag's current value, which a query for
  /// recent data may want to show.
  std::optional<historian_sample> pending() const;

  const compression_config& config() const { return config_; }
  std::uint64_t received() const { return received_; }
  std::uint64_t stored() const { return stored_; }
  /// Samples that bypassed compression as late (they count in received() and stored() too).
  std::uint64_t late() const { return late_; }

 private:
  enum class door { held, looked_ahead, closed };
  using work_list = std::array<historian_sample, max_lookahead + 1>;

  void archive(const historian_sample& s);
  void hold(const historian_sample& s);
  door offer(const historian_sample& s);
  void swing(const historian_sample& s);
  void refeed(const work_list& work, std::size_t count);
  void resolve();
  stored_points output() const { return {out_.data(), out_count_}; }

  compression_config config_;
  bool started_ = false;
  timestamp_ms last_seen_ = 0;
  historian_sample archived_;  // the last point stored in time order: the door's pivot
  bool archived_usable_ = false;
  // Since archived_: the last sample that can end the segment (swinging door), or the last one
  // seen (deadband, a BAD run), then the samples looked at past it.
  historian_sample held_;
  bool has_held_ = false;
  std::array<historian_sample, max_lookahead> lookahead_;
  std::size_t lookahead_count_ = 0;
  // Slopes of the lines through archived_ that pass within the deviation of every sample since
  // it: Bristol's two doors, swung onto the pivot point itself.
  double slope_low_ = 0.0;
  double slope_high_ = 0.0;
  std::array<historian_sample, max_lookahead + 2> out_;
  std::size_t out_count_ = 0;
  std::uint64_t received_ = 0;
  std::uint64_t stored_ = 0;
  std::uint64_t late_ = 0;
};

/// Runs a compressor over `samples` and flushes it: for backfills, archives and tests.
std::vector<historian_sample> compress(const std::vector<historian_sample>& samples,
                                       const compression_config& c);

}  // namespace wtc::core
