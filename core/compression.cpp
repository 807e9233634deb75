#include "core/compression.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace wtc::core {

namespace {

constexpr double infinity = std::numeric_limits<double>::infinity();

// A BAD sample's value means nothing and a non-finite one cannot be interpolated: neither may
// take part in a door or a deadband.
bool usable(const historian_sample& s) {
  return s.q != quality::bad && std::isfinite(s.value);
}

}  // namespace

std::string_view to_string(compression_mode m) {
  switch (m) {
    case compression_mode::none:
      return "none";
    case compression_mode::deadband:
      return "deadband";
    case compression_mode::swinging_door:
      return "swinging_door";
  }
  return "none";
}

bool parse_compression_mode(std::string_view text, compression_mode& out) {
  for (auto m :
       {compression_mode::none, compression_mode::deadband, compression_mode::swinging_door}) {
    if (text == to_string(m)) {
      out = m;
      return true;
    }
  }
  return false;
}

std::string validate(const compression_config& c) {
  if (!(c.deviation >= 0.0) || !std::isfinite(c.deviation))
    return "compression deviation " + std::to_string(c.deviation) + " is not a finite number >= 0";
  if (c.max_interval_ms < 0)
    return "maximum interval between stored points " + std::to_string(c.max_interval_ms) +
           " ms is negative";
  return {};
}

compressor::compressor(const compression_config& c) : config_(c) {}

void compressor::archive(const historian_sample& s) {
  out_[out_count_++] = s;
  ++stored_;
  archived_ = s;
  archived_usable_ = usable(s);
  has_held_ = false;
  lookahead_count_ = 0;
  slope_low_ = -infinity;
  slope_high_ = infinity;
}

void compressor::hold(const historian_sample& s) {
  held_ = s;
  has_held_ = true;
}

stored_points compressor::push(const historian_sample& s) {
  out_count_ = 0;
  ++received_;
  if (started_ && s.timestamp <= last_seen_) {
    // Backfill: the live stream's door must not swing back in time, and the late sample is a
    // real value the archive lacks, so it is stored as it came.
    ++late_;
    ++stored_;
    out_[out_count_++] = s;
    return output();
  }
  last_seen_ = s.timestamp;
  if (!started_ || config_.mode == compression_mode::none) {
    started_ = true;
    archive(s);
    return output();
  }

  const bool is_usable = usable(s);
  const bool overdue =
      config_.max_interval_ms > 0 && s.timestamp - archived_.timestamp > config_.max_interval_ms;
  if (overdue) {
    // Storing what is held, not this sample, keeps the gap within the limit whenever a sample
    // lies inside it (each was within the limit when it came).
    resolve();
  }
  if (s.q != archived_.q || is_usable != archived_usable_) {
    // A change of quality is stored at its own time. Swinging door first stores what it needs
    // up to the last sample before the change, so the line into the change is exact; a
    // deadband's step needs no help, and neither does the end of a BAD run, whose values mean
    // nothing.
    if (archived_usable_ && config_.mode == compression_mode::swinging_door)
      resolve();
    archive(s);
    return output();
  }
  if (overdue && s.timestamp - archived_.timestamp > config_.max_interval_ms) {
    archive(s);  // nothing came in between: the gap cannot be helped
    return output();
  }

  if (!is_usable) {
    hold(s);  // a BAD run is kept as its first sample (and the max-interval ones)
  } else if (config_.mode == compression_mode::deadband) {
    if (std::fabs(s.value - archived_.value) > config_.deviation)
      archive(s);
    else
      hold(s);
  } else {
    swing(s);
  }
  return output();
}

// Swinging door. The textbook test closes the door once no line through the pivot fits every
// sample including the new one, and stores the held sample; but the line to the held sample need
// not be one of those that fit, and can miss an earlier sample by up to twice the deviation. Here
// a sample is held only when the line from the pivot to it fits every sample before it (PI's
// reference-slope test), so whatever is stored keeps the promise exactly. A noisy sample that
// cannot end the segment is looked past (up to max_lookahead of them) while some line still fits
// them all, in case a later one can: without that, noise makes nearly every sample a bad end.
compressor::door compressor::offer(const historian_sample& s) {
  const double dt = static_cast<double>(s.timestamp - archived_.timestamp);
  const double slope = (s.value - archived_.value) / dt;
  const double low = std::fmax(slope_low_, (s.value - config_.deviation - archived_.value) / dt);
  const double high = std::fmin(slope_high_, (s.value + config_.deviation - archived_.value) / dt);
  door result = door::closed;
  if (slope >= slope_low_ && slope <= slope_high_) {
    hold(s);
    lookahead_count_ = 0;
    result = door::held;
  } else if (low <= high && lookahead_count_ < max_lookahead) {
    lookahead_[lookahead_count_++] = s;
    result = door::looked_ahead;
  } else {
    return door::closed;
  }
  slope_low_ = low;
  slope_high_ = high;
  return result;
}

void compressor::swing(const historian_sample& s) {
  if (offer(s) != door::closed)
    return;  // nearly always: the rest runs once per point stored
  work_list work;
  std::size_t count = 0;
  for (std::size_t k = 0; k < lookahead_count_; ++k)
    work[count++] = lookahead_[k];
  work[count++] = s;
  archive(held_);
  refeed(work, count);
}

// The door closed: the held sample is stored and is the new pivot; the samples after it are
// offered again from there. Each closing stores one more and starts again after it, so the
// samples looked past are never more than the work list holds.
void compressor::refeed(const work_list& work, std::size_t count) {
  std::size_t held_at = 0;
  std::size_t i = 0;
  while (i < count) {
    switch (offer(work[i])) {
      case door::held:
        held_at = i;
        ++i;
        break;
      case door::looked_ahead:
        ++i;
        break;
      case door::closed:
        archive(work[held_at]);
        i = held_at + 1;
        break;
    }
  }
}

// Stores what is held back, so that the last sample seen ends up stored.
void compressor::resolve() {
  while (has_held_) {
    work_list work;
    const std::size_t count = lookahead_count_;
    std::copy(lookahead_.begin(), lookahead_.begin() + count, work.begin());
    archive(held_);
    refeed(work, count);
  }
}

stored_points compressor::flush() {
  out_count_ = 0;
  resolve();
  return output();
}

std::optional<historian_sample> compressor::pending() const {
  if (lookahead_count_ > 0)
    return lookahead_[lookahead_count_ - 1];
  if (has_held_)
    return held_;
  return std::nullopt;
}

std::vector<historian_sample> compress(const std::vector<historian_sample>& samples,
                                       const compression_config& c) {
  std::vector<historian_sample> out;
  compressor comp(c);
  for (const auto& s : samples)
    for (const auto& p : comp.push(s))
      out.push_back(p);
  for (const auto& p : comp.flush())
    out.push_back(p);
  return out;
}

}  // namespace wtc::core
