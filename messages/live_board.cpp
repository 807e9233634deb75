#include "messages/live_board.hpp"

#include <atomic>
#include <limits>
#include <utility>

namespace wtc {

std::string_view live_frame::text() const {
  // The header is 2, 4 or 10 bytes, told by the second byte (the length field; never masked).
  if (wire.size() < 2)
    return {};
  const auto len7 = static_cast<unsigned char>(wire[1]) & 0x7F;
  const std::size_t header = len7 < 126 ? 2 : len7 == 126 ? 4 : 10;
  return std::string_view(wire).substr(std::min(header, wire.size()));
}

void append_frame_header(std::string& out, std::uint8_t opcode, std::size_t size) {
  out += static_cast<char>(0x80 | (opcode & 0x0F));  // FIN, no extension bits
  if (size < 126) {
    out += static_cast<char>(size);
  } else if (size <= 0xFFFF) {
    out += static_cast<char>(126);
    out += static_cast<char>((size >> 8) & 0xFF);
    out += static_cast<char>(size & 0xFF);
  } else {
    out += static_cast<char>(127);
    for (int shift = 56; shift >= 0; shift -= 8)
      out += static_cast<char>((static_cast<std::uint64_t>(size) >> shift) & 0xFF);
  }
}

live_frame_ptr make_live_frame(std::string type, std::string rtu, std::string tag, std::string key,
                               std::string_view text, std::int64_t produced_at_us) {
  auto f = std::make_shared<live_frame>();
  f->type = std::move(type);
  f->rtu = std::move(rtu);
  f->tag = std::move(tag);
  f->key = std::move(key);
  f->wire.reserve(text.size() + 10);
  append_frame_header(f->wire, 0x1, text.size());
  f->wire.append(text);
  f->produced_at_us = produced_at_us;
  return f;
}

namespace {

constexpr std::uint32_t no_point = std::numeric_limits<std::uint32_t>::max();

/// A remembered frame. `number` is the point's update count for a point's frame, the event
/// count for an event: what a reader compares with what it has seen to count what it missed.
struct entry {
  std::uint64_t seq = 0;
  std::uint32_t point = no_point;
  std::uint64_t number = 0;
  live_frame_ptr frame;
};

/// The latest frame of a key.
struct point {
  std::uint64_t seq = 0;
  std::uint64_t updates = 0;
  live_frame_ptr frame;
};

enum class verdict : std::uint8_t { unknown, pass, reject };

}  // namespace

struct live_board::reader::state {
  std::function<void()> wake;
  std::uint64_t cursor = 0;      // no frame before this one in the history is due
  bool old_points_due = false;   // the point table may hold due values older than the history
  std::uint64_t next_event = 1;  // the first event number not looked at
  live_filter filter;
  bool everything = true;
  std::vector<verdict> verdicts;    // the filter's verdict on each point, by point index
  std::vector<std::uint64_t> seen;  // each point's update number last sent, or skipped at start
  bool waiting = false;
  bool closed = false;
  std::uint64_t missed_pending = 0;  // counted, not yet reported by take()
  std::atomic<std::uint64_t> missed_total{0};
};

struct live_board::impl {
  explicit impl(live_board_config c)
      : config(c),
        history(std::max<std::size_t>(c.history, 16)),
        events(std::max<std::size_t>(c.event_history, 16)) {}

  live_board_config config;
  mutable std::mutex mutex;
  std::uint64_t head = 1;  // the sequence number of the next frame
  std::vector<entry> history;
  std::vector<entry> events;
  std::uint64_t events_total = 0;
  std::vector<point> points;
  std::unordered_map<std::string, std::uint32_t> point_index;
  std::vector<reader::state*> readers;
  std::atomic<std::size_t> reader_count{0};  // readers.size(), read without the lock
  std::vector<reader::state*> waiting;
  bool closed = false;
  std::string close_reason;
  std::uint64_t frames_sent = 0;
  std::uint64_t frames_missed = 0;

  // --- under the lock ---

  bool passes(reader::state& r, const entry& e) {
    if (r.everything)
      return true;
    if (e.point == no_point)
      return r.filter.matches(*e.frame);
    if (r.verdicts.size() <= e.point)
      r.verdicts.resize(points.size(), verdict::unknown);
    auto& v = r.verdicts[e.point];
    if (v == verdict::unknown)
      v = r.filter.matches(*e.frame) ? verdict::pass : verdict::reject;
    return v == verdict::pass;
  }

  /// What take() picked: a frame, with what to note when it goes out.
  struct pick {
    std::uint64_t seq;
    std::uint32_t point;
    std::uint64_t number;
    const live_frame* frame;
  };
  std::vector<pick> picked;  // scratch of take(), under the lock

  std::uint64_t seen_of(reader::state& r, std::uint32_t point) {
    if (r.seen.size() <= point)
      r.seen.resize(points.size(), 0);
    return r.seen[point];
  }

  /// Whether the reader has yet to get this frame: a point's latest value it has not been sent,
  /// which its filter passes.
  bool due(reader::state& r, const entry& e) {
    return points[e.point].seq == e.seq && seen_of(r, e.point) < e.number && passes(r, e);
  }

  /// See reader::take. Under the lock.
  std::size_t take(reader::state& r, std::string& out, std::size_t max_bytes) {
    picked.clear();
    std::size_t budget = 0;  // bytes picked
    auto room = [&] { return picked.empty() || budget < max_bytes; };

    // Every event still held, whatever the budget: they are few, and none supersedes another.
    const std::uint64_t oldest_event =
        events_total >= events.size() ? events_total - events.size() + 1 : 1;
    if (r.next_event < oldest_event) {
      r.missed_pending += oldest_event - r.next_event;  // forgotten before it could be read
      r.next_event = oldest_event;
    }
    for (; r.next_event <= events_total; ++r.next_event) {
      const entry& e = events[r.next_event % events.size()];
      if (passes(r, e)) {
        picked.push_back({e.seq, no_point, e.number, e.frame.get()});
        budget += e.frame->wire.size();
      }
    }

    // Values older than the history: the point table has them. They have waited longest.
    const std::uint64_t history_start = head > history.size() ? head - history.size() : 1;
    if (r.cursor < history_start) {
      r.old_points_due = true;
      r.cursor = history_start;
    }
    if (r.old_points_due) {
      r.old_points_due = false;
      for (std::uint32_t i = 0; i < points.size(); ++i) {
        const point& p = points[i];
        if (p.seq >= history_start || seen_of(r, i) >= p.updates)
          continue;
        entry e{p.seq, i, p.updates, p.frame};
        if (!passes(r, e))
          continue;
        if (!room()) {
          r.old_points_due = true;
          break;
        }
        picked.push_back({p.seq, i, p.updates, p.frame.get()});
        budget += p.frame->wire.size();
      }
    }

    // Values in the history: those in its older half have waited long enough to go first; then
    // the newest, newest first, so that a client that cannot take everything gets what is
    // freshest. What does not fit stays due: the cursor never passes it.
    const std::uint64_t half = head > history.size() / 2 ? head - history.size() / 2 : 1;
    std::uint64_t cursor = std::max(r.cursor, half);  // where the older half is done
    for (std::uint64_t seq = r.cursor; seq < std::min(half, head); ++seq) {
      const entry& e = history[seq % history.size()];
      if (e.point == no_point || !due(r, e))
        continue;
      if (!room()) {
        cursor = seq;
        break;
      }
      picked.push_back({e.seq, e.point, e.number, e.frame.get()});
      budget += e.frame->wire.size();
    }
    bool all_taken = true;  // of the newer half
    for (std::uint64_t seq = head; seq-- > std::max(r.cursor, half);) {
      const entry& e = history[seq % history.size()];
      if (e.point == no_point || !due(r, e))
        continue;
      if (!room()) {
        all_taken = false;  // this and what is below it stay due
        break;
      }
      picked.push_back({e.seq, e.point, e.number, e.frame.get()});
      budget += e.frame->wire.size();
    }
    r.cursor = all_taken && cursor >= std::max(r.cursor, half) ? head : cursor;

    // Out in the order published, so that a client sees an RTU's state change and its values in
    // the order they happened.
    std::sort(picked.begin(), picked.end(),
              [](const pick& a, const pick& b) { return a.seq < b.seq; });
    out.reserve(out.size() + budget);
    for (const pick& p : picked) {
      if (p.point != no_point) {
        auto& seen = r.seen[p.point];
        r.missed_pending += p.number - seen - 1;  // the updates superseded in between
        seen = p.number;
      }
      out += p.frame->wire;
    }
    return picked.size();
  }

  /// Marks everything published so far as seen by `r`: it receives what comes from now on.
  void start_from_now(reader::state& r) {
    r.cursor = head;
    r.next_event = events_total + 1;
    r.old_points_due = false;
    r.seen.resize(points.size());
    for (std::size_t i = 0; i < points.size(); ++i)
      r.seen[i] = points[i].updates;
  }

  void wake_all_readers() {
    for (auto* r : readers) {
      r->waiting = false;
      if (r->wake)
        r->wake();
    }
    waiting.clear();
  }

  void forget(reader::state* r) {
    readers.erase(std::remove(readers.begin(), readers.end(), r), readers.end());
    reader_count.store(readers.size(), std::memory_order_relaxed);
    waiting.erase(std::remove(waiting.begin(), waiting.end(), r), waiting.end());
  }
};

live_board::live_board(live_board_config config) : impl_(std::make_shared<impl>(config)) {}

live_board::~live_board() {
  close("the server is stopping");
}

void live_board::publish(const std::vector<live_frame_ptr>& frames) {
  auto& b = *impl_;
  std::lock_guard<std::mutex> lock(b.mutex);
  if (b.closed)
    return;
  for (const auto& f : frames) {
    entry e;
    e.seq = b.head++;
    e.frame = f;
    if (f->key.empty()) {
      e.number = ++b.events_total;
      b.events[e.number % b.events.size()] = e;
    } else {
      auto [it, added] = b.point_index.emplace(f->key, static_cast<std::uint32_t>(b.points.size()));
      if (added)
        b.points.emplace_back();
      point& p = b.points[it->second];
      p.seq = e.seq;
      p.frame = f;
      e.point = it->second;
      e.number = ++p.updates;
    }
    b.history[e.seq % b.history.size()] = std::move(e);
  }
  for (auto* r : b.waiting) {
    r->waiting = false;
    if (r->wake)
      r->wake();
  }
  b.waiting.clear();
}

live_board::reader_ptr live_board::open_reader(std::function<void()> wake) {
  auto s = std::make_unique<reader::state>();
  s->wake = std::move(wake);
  auto& b = *impl_;
  std::lock_guard<std::mutex> lock(b.mutex);
  b.start_from_now(*s);
  b.readers.push_back(s.get());
  b.reader_count.store(b.readers.size(), std::memory_order_relaxed);
  return reader_ptr(new reader(impl_, std::move(s)));
}

void live_board::close(std::string reason) {
  auto& b = *impl_;
  std::lock_guard<std::mutex> lock(b.mutex);
  if (b.closed)
    return;
  b.closed = true;
  b.close_reason = std::move(reason);
  b.wake_all_readers();
}

live_board_stats live_board::stats() const {
  auto& b = *impl_;
  std::lock_guard<std::mutex> lock(b.mutex);
  live_board_stats out;
  out.readers = b.readers.size();
  out.frames_published = b.head - 1;
  out.frames_sent = b.frames_sent;
  out.frames_missed = b.frames_missed;
  for (const auto* r : b.readers)
    out.frames_missed += r->missed_pending;
  out.points = b.points.size();
  return out;
}

bool live_board::has_readers() const {
  return impl_->reader_count.load(std::memory_order_relaxed) > 0;
}

live_board::reader::reader(std::shared_ptr<impl> board, std::unique_ptr<state> s)
    : board_(std::move(board)), state_(std::move(s)) {}

live_board::reader::~reader() {
  close();
}

live_board::reader::take_result live_board::reader::take(std::string& out, std::size_t max_bytes) {
  auto& b = *board_;
  auto& r = *state_;
  std::lock_guard<std::mutex> lock(b.mutex);
  take_result result;
  if (r.closed)
    return result;
  if (b.closed) {
    result.closing = true;
    result.reason = b.close_reason;
    return result;
  }
  result.frames = b.take(r, out, max_bytes);
  result.missed = std::exchange(r.missed_pending, 0);
  r.missed_total.fetch_add(result.missed, std::memory_order_relaxed);
  b.frames_missed += result.missed;
  b.frames_sent += result.frames;
  if (r.cursor == b.head && !r.old_points_due && !r.waiting) {
    r.waiting = true;
    b.waiting.push_back(&r);
  }
  return result;
}

void live_board::reader::set_filter(live_filter filter) {
  auto& b = *board_;
  std::lock_guard<std::mutex> lock(b.mutex);
  auto& r = *state_;
  r.everything = filter.all();
  r.filter = std::move(filter);
  r.verdicts.clear();
  b.start_from_now(r);
}

void live_board::reader::close() {
  auto& b = *board_;
  std::lock_guard<std::mutex> lock(b.mutex);
  auto& r = *state_;
  if (r.closed)
    return;
  r.closed = true;
  r.wake = nullptr;
  b.frames_missed += std::exchange(r.missed_pending, 0);
  b.forget(&r);
}

std::uint64_t live_board::reader::missed() const {
  return state_->missed_total.load(std::memory_order_relaxed);
}

}  // namespace wtc
