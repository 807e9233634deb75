// wtc-ws-load: the WebSocket load client of bench/rtu_live.sh. N connections to wtcd's /ws/live
// in one thread (epoll), counting what arrives and how late the sensor_updates are. It does what
// bench/ws_clients.mjs does in client mode, without --validate, at a fraction of its CPU, so that
// the fan-out phases measure the server rather than the client. Its result file has the same
// fields, so `node bench/ws_clients.mjs --merge` merges it with the node client's.
//
//   wtc-ws-load --url ws://127.0.0.1:8000/ws/live --clients 1000 --out result.json
//
// Protocol with the script that drives it (all on stdout, one line each):
//   "ready N"   every client is connected and has its first message (the hub's `subscribed`);
//   SIGUSR1     starts the measured window (counters are reset);
//   SIGUSR2     ends it: the result goes to --out as JSON, "done" is printed, the process exits 0.
//   SIGTERM/SIGINT end the process at once (130). Exit 3: not every client connected and
//   subscribed within --connect-timeout; 2: bad arguments; 4: SIGUSR2 before SIGUSR1.
//
// Latency of a sensor_update = the wall clock (CLOCK_REALTIME, sub-millisecond) when the read that
// brought the message returned, minus data.timestamp (wall clock, whole milliseconds, truncated,
// set by the rtu_actor when it has the cycle's values): up to 1 ms too high, 0.5 ms on average.
//
// event_loop_delay_ms: a timer due every 10 ms records how late it runs (0 when the loop is idle).
// Node's monitorEventLoopDelay records the interval between its ticks instead, 10 ms included, so
// an idle node process reports about 10 ms: subtract 10 to compare the two.
//
// Options: --url URL, --clients N (1), --out FILE (stdout), --cycle-ms MS (accepted, unused: it is
// for --validate's gap count, which this client does not do), --concurrency K (50: handshakes in
// flight at once), --connect-timeout S (120).
//
// The WebSocket side (RFC 6455): a random 16-byte Sec-WebSocket-Key, the 101 and
// Sec-WebSocket-Accept checked, no extensions; server frames of any length, several per read or
// split across reads, fragmented messages; every ping answered with a pong of the same payload
// (masked, as client frames must be) as soon as the read that holds it is parsed, since the
// server sends the next batch only after the pong; a close answered with a close.

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using json = nlohmann::ordered_json;

// ---------------------------------------------------------------- histogram of latencies
// Exactly ws_clients.mjs's: the same bins, so that the merge adds them up bin by bin.

constexpr double bin_ms = 0.1;       // bin width
constexpr double low_ms = -50;       // lowest bin
constexpr double high_ms = 120'000;  // anything later lands in the last bin (max is kept exactly)
const std::size_t bin_count = static_cast<std::size_t>(std::ceil((high_ms - low_ms) / bin_ms)) + 1;

/// JavaScript's Math.round (halves go up, also for negative numbers).
double js_round(double x) {
  return std::floor(x + 0.5);
}

/// Math.round of a count or a rate, as an integer (so that the JSON has 12, not 12.0).
std::int64_t js_round_int(double x) {
  return static_cast<std::int64_t>(std::floor(x + 0.5));
}

class histogram {
 public:
  histogram() : bins_(bin_count, 0) {}

  void reset() {
    std::fill(bins_.begin(), bins_.end(), 0u);
    n_ = 0;
    sum_ = 0;
    min_ = std::numeric_limits<double>::infinity();
    max_ = -std::numeric_limits<double>::infinity();
  }

  void add(double ms) {
    double b = std::floor((ms - low_ms) / bin_ms);
    std::size_t i = 0;
    if (b >= static_cast<double>(bin_count))
      i = bin_count - 1;
    else if (b > 0)
      i = static_cast<std::size_t>(b);
    ++bins_[i];
    ++n_;
    sum_ += ms;
    min_ = std::min(min_, ms);
    max_ = std::max(max_, ms);
  }

  /// Upper edge of the bin holding the q-th sample, capped by the exact maximum.
  double quantile(double q) const {
    const auto rank = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(n_))));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bin_count; ++i) {
      seen += bins_[i];
      if (seen >= rank)
        return std::min(low_ms + static_cast<double>(i + 1) * bin_ms, max_);
    }
    return max_;
  }

  json summary() const {
    auto r = [this](double x) -> json {
      if (n_ == 0 || !std::isfinite(x))
        return nullptr;
      return js_round(x * 100) / 100;
    };
    json s;
    s["n"] = n_;
    s["min"] = r(min_);
    s["mean"] = r(n_ ? sum_ / static_cast<double>(n_) : 0);
    s["p50"] = r(n_ ? quantile(0.5) : 0);
    s["p90"] = r(n_ ? quantile(0.9) : 0);
    s["p99"] = r(n_ ? quantile(0.99) : 0);
    s["p999"] = r(n_ ? quantile(0.999) : 0);
    s["max"] = r(max_);
    return s;
  }

  json sparse_record() const {
    json list = json::array();
    for (std::size_t i = 0; i < bin_count; ++i)
      if (bins_[i])
        list.push_back(json::array({i, bins_[i]}));
    json h;
    h["bins"] = std::move(list);
    h["n"] = n_;
    h["sum"] = sum_;
    h["min"] = n_ ? json(min_) : json(nullptr);
    h["max"] = n_ ? json(max_) : json(nullptr);
    return h;
  }

 private:
  std::vector<std::uint32_t> bins_;
  std::uint64_t n_ = 0;
  double sum_ = 0;
  double min_ = std::numeric_limits<double>::infinity();
  double max_ = -std::numeric_limits<double>::infinity();
};

// ---------------------------------------------------------------- small helpers

double realtime_ms() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

std::int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

void write_stdout(std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(STDOUT_FILENO, text.data(), text.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

/// A number as JavaScript prints it in a template string, for the usual cases (300, 0.5).
std::string number_text(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", x);
  return buf;
}

[[noreturn]] void fail_exit(int code, const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  std::exit(code);
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

/// YYYY-MM-DDTHH:MM:SS[.fff]Z (UTC) to milliseconds since the epoch; NaN if it is not that.
double parse_iso_ms(std::string_view s) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto digits = [&s](std::size_t at, std::size_t count, unsigned& out) {
    if (at + count > s.size())
      return false;
    out = 0;
    for (std::size_t i = at; i < at + count; ++i) {
      if (s[i] < '0' || s[i] > '9')
        return false;
      out = out * 10 + static_cast<unsigned>(s[i] - '0');
    }
    return true;
  };
  unsigned y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (s.size() < 20 || !digits(0, 4, y) || s[4] != '-' || !digits(5, 2, mo) || s[7] != '-' ||
      !digits(8, 2, d) || s[10] != 'T' || !digits(11, 2, h) || s[13] != ':' || !digits(14, 2, mi) ||
      s[16] != ':' || !digits(17, 2, sec))
    return nan;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
    return nan;
  unsigned ms = 0;
  std::size_t at = 19;
  if (s[at] == '.') {
    ++at;
    std::size_t n = 0;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
      if (n < 3)
        ms = ms * 10 + static_cast<unsigned>(s[at] - '0');
      ++n;
      ++at;
    }
    if (n == 0)
      return nan;
    for (; n < 3; ++n)
      ms *= 10;
  }
  if (at + 1 != s.size() || s[at] != 'Z')
    return nan;
  const std::int64_t days = days_from_civil(y, mo, d);
  return static_cast<double>(((days * 24 + h) * 60 + mi) * 60 + sec) * 1000 + ms;
}

std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string accept_key_of(const std::string& key) {
  const std::string input = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return base64(digest, sizeof digest);
}

void random_bytes(void* out, std::size_t size) {
  auto* p = static_cast<unsigned char*>(out);
  while (size > 0) {
    const ssize_t n = getrandom(p, size, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      fail_exit(2, "wtc-ws-load: getrandom failed");
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

/// Whether a comma-separated header value holds `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    auto item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
      item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
      item.remove_suffix(1);
    if (iequals(item, token))
      return true;
    if (comma == std::string_view::npos)
      break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// ---------------------------------------------------------------- options

struct options {
  std::string url;
  std::string host;
  std::string port = "80";
  std::string target = "/";
  std::size_t clients = 1;
  std::string out;
  double cycle_ms = 100;
  std::size_t concurrency = 50;
  double connect_timeout_s = 120;
};

double number_arg(const std::string& name, const std::string& value) {
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !std::isfinite(v))
    throw std::runtime_error(name + " needs a number, not '" + value + "'");
  return v;
}

options parse_args(int argc, char** argv) {
  options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc)
        throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--url") {
      opt.url = next();
    } else if (a == "--clients") {
      const double v = number_arg(a, next());
      if (!(v >= 1) || v != std::floor(v))
        throw std::runtime_error("--clients must be at least 1");
      opt.clients = static_cast<std::size_t>(v);
    } else if (a == "--out") {
      opt.out = next();
    } else if (a == "--cycle-ms") {
      opt.cycle_ms = number_arg(a, next());
    } else if (a == "--concurrency") {
      const double v = number_arg(a, next());
      if (!(v >= 1))
        throw std::runtime_error("--concurrency must be at least 1");
      opt.concurrency = static_cast<std::size_t>(v);
    } else if (a == "--connect-timeout") {
      opt.connect_timeout_s = number_arg(a, next());
    } else if (a == "--validate" || a == "--merge") {
      throw std::runtime_error(a + " is not supported here: use node bench/ws_clients.mjs " + a);
    } else {
      throw std::runtime_error("unknown argument " + a);
    }
  }
  if (opt.url.empty())
    throw std::runtime_error("--url is required");
  // ws://HOST[:PORT][/PATH[?QUERY]]
  constexpr std::string_view scheme = "ws://";
  if (opt.url.compare(0, scheme.size(), scheme) != 0)
    throw std::runtime_error("--url must be ws://HOST:PORT/PATH (no wss://)");
  std::string rest = opt.url.substr(scheme.size());
  const auto slash = rest.find_first_of("/?");
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos)
    opt.target = rest[slash] == '/' ? rest.substr(slash) : "/" + rest.substr(slash);
  if (!authority.empty() && authority.front() == '[') {  // [v6]:port
    const auto close = authority.find(']');
    if (close == std::string::npos)
      throw std::runtime_error("bad host in --url");
    opt.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      opt.port = authority.substr(close + 2);
  } else {
    const auto colon = authority.rfind(':');
    opt.host = authority.substr(0, colon);
    if (colon != std::string::npos)
      opt.port = authority.substr(colon + 1);
  }
  if (opt.host.empty() || opt.port.empty())
    throw std::runtime_error("bad host or port in --url");
  return opt;
}

// ---------------------------------------------------------------- the clients

constexpr std::size_t read_size = 256 * 1024;
constexpr std::size_t max_handshake_bytes = 16 * 1024;
constexpr std::uint64_t max_frame_bytes = 64 * 1024 * 1024;
constexpr std::int64_t handshake_timeout_ns = 30'000'000'000;  // as ws_clients.mjs asks of `ws`
constexpr std::int64_t tick_ns = 10'000'000;                   // the event-loop delay timer
constexpr std::uint64_t signal_tag = 0;
constexpr std::uint64_t timer_tag = 1;
constexpr std::uint64_t first_conn_tag = 2;

enum class phase : std::uint8_t { idle, connecting, handshaking, open, closed };

struct connection {
  int fd = -1;
  phase state = phase::idle;
  bool subscribed = false;
  bool overflowed = false;
  bool close_sent = false;
  bool close_received = false;
  std::uint8_t fragment_opcode = 0;  // opcode of a fragmented message in progress, else 0
  std::uint32_t epoll_events = 0;
  std::uint64_t messages = 0;
  std::int64_t started_ns = 0;  // when the connection attempt began (monotonic)
  std::string accept;           // the Sec-WebSocket-Accept expected
  std::string in;               // bytes not parsed yet (handshake, or a frame split across reads)
  std::string out;              // bytes not sent yet
  std::string fragments;        // payload of a fragmented message so far
};

struct type_count {
  std::string type;
  std::uint64_t count;
};

class load_client {
 public:
  explicit load_client(options opt)
      : opt_(std::move(opt)), conns_(opt_.clients), read_buf_(read_size) {
    random_bytes(&mask_state_, sizeof mask_state_);
    mask_state_ |= 1;
  }

  int run() {
    resolve();
    setup_loop();
    started_ns_ = monotonic_ns();
    connect_deadline_ns_ = started_ns_ + static_cast<std::int64_t>(opt_.connect_timeout_s * 1e9);
    while (next_ < conns_.size() && in_flight_ < opt_.concurrency)
      start(next_++);
    std::vector<epoll_event> events(512);
    for (;;) {
      const int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), -1);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        fail_exit(1, std::string("wtc-ws-load: epoll_wait: ") + std::strerror(errno));
      }
      for (int i = 0; i < n; ++i) {
        const auto tag = events[static_cast<std::size_t>(i)].data.u64;
        const auto ev = events[static_cast<std::size_t>(i)].events;
        if (tag == signal_tag)
          on_signal();
        else if (tag == timer_tag)
          on_tick();
        else
          on_socket(static_cast<std::size_t>(tag - first_conn_tag), ev);
      }
    }
  }

 private:
  // --- set-up ---

  void resolve() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int rc = getaddrinfo(opt_.host.c_str(), opt_.port.c_str(), &hints, &res);
    if (rc != 0 || res == nullptr)
      fail_exit(2, "wtc-ws-load: cannot resolve " + opt_.host + ": " + gai_strerror(rc));
    std::memcpy(&addr_, res->ai_addr, res->ai_addrlen);
    addr_len_ = res->ai_addrlen;
    family_ = res->ai_family;
    freeaddrinfo(res);
    const bool default_port = opt_.port == "80";
    const bool v6 = opt_.host.find(':') != std::string::npos;
    host_header_ = (v6 ? "[" + opt_.host + "]" : opt_.host) + (default_port ? "" : ":" + opt_.port);
  }

  void setup_loop() {
    // One descriptor per client: raise the soft limit as far as the hard one allows.
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
      lim.rlim_cur = lim.rlim_max;
      setrlimit(RLIMIT_NOFILE, &lim);
    }
    // SIGTERM/SIGINT: at once. SIGUSR1/SIGUSR2: through the loop, between two reads.
    struct sigaction sa {};
    sa.sa_handler = [](int) { _exit(130); };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    signal_fd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (signal_fd_ < 0 || epoll_fd_ < 0 || timer_fd_ < 0)
      fail_exit(1, std::string("wtc-ws-load: set-up: ") + std::strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = signal_tag;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, signal_fd_, &ev);
    ev.data.u64 = timer_tag;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, timer_fd_, &ev);
    arm_timer(monotonic_ns() + tick_ns);
  }

  void arm_timer(std::int64_t due_ns) {
    tick_due_ns_ = due_ns;
    itimerspec its{};
    its.it_value.tv_sec = due_ns / 1'000'000'000;
    its.it_value.tv_nsec = due_ns % 1'000'000'000;
    timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &its, nullptr);
  }

  // --- connecting ---

  void start(std::size_t i) {
    connection& c = conns_[i];
    ++in_flight_;
    c.started_ns = monotonic_ns();
    c.fd = socket(family_, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0)
      return fail(i, std::string("socket: ") + std::strerror(errno));
    // Pongs are tiny: without this, Nagle could hold one behind the previous one's ACK.
    const int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    unsigned char key_bytes[16];
    random_bytes(key_bytes, sizeof key_bytes);
    const std::string key = base64(key_bytes, sizeof key_bytes);
    c.accept = accept_key_of(key);
    c.out = "GET " + opt_.target + " HTTP/1.1\r\nHost: " + host_header_ +
            "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
            "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    c.state = phase::connecting;
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u64 = first_conn_tag + i;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev) != 0)
      return fail(i, std::string("epoll_ctl: ") + std::strerror(errno));
    c.epoll_events = EPOLLOUT;
    if (connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_), addr_len_) != 0 &&
        errno != EINPROGRESS)
      return fail(i, std::string("connect: ") + std::strerror(errno));
  }

  /// The attempt of client i is over (open or failed): the next one may start.
  void attempt_over() {
    --in_flight_;
    while (next_ < conns_.size() && in_flight_ < opt_.concurrency)
      start(next_++);
    if (next_ == conns_.size() && in_flight_ == 0 && connected_ < conns_.size())
      fail_exit(3, "only " + std::to_string(connected_) + " of " + std::to_string(conns_.size()) +
                       " clients connected");
  }

  void on_connected(std::size_t i) {
    connection& c = conns_[i];
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
      err = errno;
    if (err != 0)
      return fail(i, std::string("connect: ") + std::strerror(err));
    c.state = phase::handshaking;
    flush(i);
  }

  void on_handshake_bytes(std::size_t i, const char* data, std::size_t size) {
    connection& c = conns_[i];
    c.in.append(data, size);
    const auto end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (c.in.size() > max_handshake_bytes)
        fail(i, "handshake response too long");
      return;
    }
    const std::string_view head(c.in.data(), end + 2);
    std::string_view status = head.substr(0, head.find("\r\n"));
    if (status.size() < 12 || status.substr(0, 5) != "HTTP/" || status.substr(8, 1) != " ")
      return fail(i, "bad handshake response: " + std::string(status));
    if (status.substr(9, 3) != "101")
      return fail(i, "Unexpected server response: " + std::string(status.substr(9, 3)));
    bool upgrade = false, connection_upgrade = false, accepted = false;
    std::size_t pos = status.size() + 2;
    while (pos < head.size()) {
      const auto eol = head.find("\r\n", pos);
      const std::string_view line = head.substr(pos, eol - pos);
      pos = eol + 2;
      const auto colon = line.find(':');
      if (colon == std::string_view::npos)
        return fail(i, "bad header line in the handshake response");
      const std::string_view name = line.substr(0, colon);
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
      if (iequals(name, "upgrade"))
        upgrade = iequals(value, "websocket");
      else if (iequals(name, "connection"))
        connection_upgrade = has_token(value, "upgrade");
      else if (iequals(name, "sec-websocket-accept"))
        accepted = value == c.accept;
      else if (iequals(name, "sec-websocket-extensions"))
        return fail(i, "server sent Sec-WebSocket-Extensions, though none was asked for");
      else if (iequals(name, "sec-websocket-protocol"))
        return fail(i, "server sent a subprotocol, though none was asked for");
    }
    if (!upgrade || !connection_upgrade)
      return fail(i, "invalid Upgrade or Connection header in the handshake response");
    if (!accepted)
      return fail(i, "invalid Sec-WebSocket-Accept header");
    c.state = phase::open;
    ++connected_;
    std::string rest = c.in.substr(end + 4);
    c.in.clear();
    c.accept.clear();
    c.accept.shrink_to_fit();
    attempt_over();
    if (!rest.empty())
      on_frames(i, rest.data(), rest.size(), realtime_ms());
  }

  // --- sockets ---

  void on_socket(std::size_t i, std::uint32_t ev) {
    connection& c = conns_[i];
    switch (c.state) {
      case phase::connecting:
        return on_connected(i);
      case phase::handshaking:
      case phase::open:
        if (ev & EPOLLOUT) {
          flush(i);
          if (c.state == phase::closed)
            return;
        }
        if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
          read_from(i);
        return;
      case phase::idle:
      case phase::closed:
        return;
    }
  }

  void read_from(std::size_t i) {
    connection& c = conns_[i];
    ssize_t n;
    do {
      n = recv(c.fd, read_buf_.data(), read_buf_.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return;
      return fail(i, std::strerror(errno));
    }
    if (n == 0) {
      if (c.state == phase::handshaking)
        return fail(i, "connection closed during the handshake");
      return closed(i);
    }
    const auto size = static_cast<std::size_t>(n);
    if (c.state == phase::handshaking)
      return on_handshake_bytes(i, read_buf_.data(), size);
    on_frames(i, read_buf_.data(), size, realtime_ms());
  }

  /// Bytes of an open connection: every whole frame in them is handled, the rest kept.
  void on_frames(std::size_t i, char* data, std::size_t size, double recv_ms) {
    connection& c = conns_[i];
    if (c.in.empty()) {
      const std::size_t used = parse_frames(i, data, size, recv_ms);
      if (c.state == phase::open && used < size)
        c.in.assign(data + used, size - used);
    } else {
      c.in.append(data, size);
      const std::size_t used = parse_frames(i, c.in.data(), c.in.size(), recv_ms);
      if (c.state == phase::open)
        c.in.erase(0, used);
    }
    if (c.state == phase::open && !c.out.empty())
      flush(i);  // the pongs (and a close) of these frames, now
  }

  std::size_t parse_frames(std::size_t i, char* p, std::size_t size, double recv_ms) {
    connection& c = conns_[i];
    std::size_t pos = 0;
    while (c.state == phase::open && size - pos >= 2) {
      const auto b0 = static_cast<unsigned char>(p[pos]);
      const auto b1 = static_cast<unsigned char>(p[pos + 1]);
      const bool fin = (b0 & 0x80) != 0;
      const std::uint8_t opcode = b0 & 0x0F;
      const bool masked = (b1 & 0x80) != 0;
      std::uint64_t len = b1 & 0x7F;
      std::size_t header = 2;
      if (len == 126) {
        if (size - pos < 4)
          break;
        len = (std::uint64_t{static_cast<unsigned char>(p[pos + 2])} << 8) |
              static_cast<unsigned char>(p[pos + 3]);
        header = 4;
      } else if (len == 127) {
        if (size - pos < 10)
          break;
        len = 0;
        for (std::size_t k = 2; k < 10; ++k)
          len = (len << 8) | static_cast<unsigned char>(p[pos + k]);
        header = 10;
      }
      if (len > max_frame_bytes) {
        fail(i, "frame of " + std::to_string(len) + " bytes");
        break;
      }
      const std::size_t mask_at = pos + header;
      if (masked)
        header += 4;
      if (size - pos < header + len)
        break;
      char* payload = p + pos + header;
      if (masked)  // servers must not mask, but the payload is readable anyway
        for (std::size_t k = 0; k < len; ++k)
          payload[k] = static_cast<char>(payload[k] ^ p[mask_at + (k & 3)]);
      pos += header + static_cast<std::size_t>(len);
      on_frame(i, fin, opcode, payload, static_cast<std::size_t>(len), recv_ms);
    }
    return pos;
  }

  void on_frame(std::size_t i, bool fin, std::uint8_t opcode, const char* payload, std::size_t len,
                double recv_ms) {
    connection& c = conns_[i];
    switch (opcode) {
      case 0x1:  // text
      case 0x2:  // binary
        if (c.fragment_opcode != 0)
          return fail(i, "new message inside a fragmented one");
        if (c.close_received)
          return;
        if (fin)
          return on_message(c, payload, len, recv_ms);
        c.fragment_opcode = opcode;
        c.fragments.assign(payload, len);
        return;
      case 0x0:  // continuation
        if (c.fragment_opcode == 0)
          return fail(i, "continuation frame without a message");
        c.fragments.append(payload, len);
        if (fin) {
          c.fragment_opcode = 0;
          if (!c.close_received)
            on_message(c, c.fragments.data(), c.fragments.size(), recv_ms);
          c.fragments.clear();
        }
        return;
      case 0x9:  // ping: the pong goes when this read's frames are parsed
        if (!fin || len > 125)
          return fail(i, "bad ping frame");
        if (!c.close_sent)
          append_control(c, 0xA, payload, len);
        return;
      case 0xA:  // pong
        return;
      case 0x8:  // close: echo its code, then wait for the server to close TCP
        c.close_received = true;
        if (!c.close_sent) {
          append_control(c, 0x8, payload, std::min<std::size_t>(len, 2));
          c.close_sent = true;
        }
        return;
      default:
        return fail(i, "frame with opcode " + std::to_string(opcode));
    }
  }

  void append_control(connection& c, std::uint8_t opcode, const char* payload, std::size_t len) {
    // xorshift64*: any unpredictable key will do for masking.
    mask_state_ ^= mask_state_ >> 12;
    mask_state_ ^= mask_state_ << 25;
    mask_state_ ^= mask_state_ >> 27;
    const std::uint64_t r = mask_state_ * 0x2545F4914F6CDD1DULL;
    char mask[4];
    for (int k = 0; k < 4; ++k)
      mask[k] = static_cast<char>(r >> (8 * k));
    c.out += static_cast<char>(0x80 | opcode);
    c.out += static_cast<char>(0x80 | len);
    c.out.append(mask, 4);
    for (std::size_t k = 0; k < len; ++k)
      c.out += static_cast<char>(payload[k] ^ mask[k & 3]);
  }

  void flush(std::size_t i) {
    connection& c = conns_[i];
    std::size_t sent = 0;
    while (sent < c.out.size()) {
      const ssize_t n = send(c.fd, c.out.data() + sent, c.out.size() - sent, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
          break;
        return fail(i, std::strerror(errno));
      }
      sent += static_cast<std::size_t>(n);
    }
    c.out.erase(0, sent);
    set_events(i, c.out.empty() ? EPOLLIN : (EPOLLIN | EPOLLOUT));
  }

  void set_events(std::size_t i, std::uint32_t want) {
    connection& c = conns_[i];
    if (c.epoll_events == want)
      return;
    epoll_event ev{};
    ev.events = want;
    ev.data.u64 = first_conn_tag + i;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev) != 0)
      return fail(i, std::string("epoll_ctl: ") + std::strerror(errno));
    c.epoll_events = want;
  }

  /// The connection ended (by the server, or after an error): it is not reopened.
  void closed(std::size_t i) {
    connection& c = conns_[i];
    if (c.state == phase::closed)
      return;
    const bool attempting = c.state == phase::connecting || c.state == phase::handshaking;
    if (c.state == phase::open && measuring_)
      ++closed_;
    c.state = phase::closed;
    if (c.fd >= 0)
      ::close(c.fd);  // also leaves the epoll set
    c.fd = -1;
    std::string().swap(c.in);
    std::string().swap(c.out);
    std::string().swap(c.fragments);
    if (attempting)
      attempt_over();
  }

  void fail(std::size_t i, const std::string& what) {
    if (conns_[i].state == phase::closed)
      return;
    ++errors_;
    if (errors_ <= 5)
      std::fprintf(stderr, "client %zu: %s\n", i, what.c_str());
    if (conns_[i].state == phase::idle)
      conns_[i].state = phase::connecting;  // so that closed() ends the attempt
    closed(i);
  }

  // --- messages ---

  void on_message(connection& c, const char* p, std::size_t len, double recv_ms) {
    if (!measuring_) {
      // Outside the window only the joining matters: the hub's `subscribed` comes first, and
      // any message at all shows that the hub has the client.
      if (!c.subscribed) {
        c.subscribed = true;
        if (++subscribed_ == conns_.size())
          announce_ready();
      }
      return;
    }
    ++messages_;
    ++c.messages;
    constexpr std::size_t type_at = 9;  // after {"type":"
    std::string_view msg(p, len);
    std::size_t type_end = msg.size() > type_at ? msg.find('"', type_at) : std::string_view::npos;
    const std::string_view type = type_end == std::string_view::npos
                                      ? std::string_view{}
                                      : msg.substr(type_at, type_end - type_at);
    count_type(type);
    if (type == "sensor_update") {
      constexpr std::string_view ts_key = "\"timestamp\":\"";
      const auto k = msg.find(ts_key, type_end);
      if (k == std::string_view::npos) {
        ++invalid_;
        return;
      }
      const std::size_t s = k + ts_key.size();
      const auto e = msg.find('"', s);
      if (e == std::string_view::npos) {
        ++invalid_;
        return;
      }
      const std::string_view text = msg.substr(s, e - s);
      if (text != last_ts_text_) {  // samples of one cycle share their timestamp
        last_ts_text_.assign(text);
        last_ts_ms_ = parse_iso_ms(text);
      }
      if (!std::isfinite(last_ts_ms_)) {
        ++invalid_;
        return;
      }
      const double lat = recv_ms - last_ts_ms_;
      hist_.add(lat);
      const double sec = std::floor((recv_ms - window_start_ms_) / 1000);
      if (sec >= 0 && sec < static_cast<double>(per_second_.size())) {
        auto& b = per_second_[static_cast<std::size_t>(sec)];
        ++b.first;
        b.second += lat;
      }
    } else if (type == "overflow") {
      ++overflow_notices_;
      c.overflowed = true;
      constexpr std::string_view missed_key = "\"missed\":";
      const auto k = msg.find(missed_key);
      if (k == std::string_view::npos) {
        ++invalid_;
        return;
      }
      const std::string number(msg.substr(k + missed_key.size(), 24));
      char* end = nullptr;
      const long long v = std::strtoll(number.c_str(), &end, 10);
      if (end == number.c_str()) {
        ++invalid_;
        return;
      }
      overflow_missed_ += v;
    }
  }

  void count_type(std::string_view type) {
    for (auto& t : by_type_)
      if (t.type == type) {
        ++t.count;
        return;
      }
    by_type_.push_back({std::string(type), 1});
  }

  void announce_ready() {
    if (ready_)
      return;
    ready_ = true;
    ready_after_s_ = static_cast<double>(monotonic_ns() - started_ns_) / 1e9;
    write_stdout("ready " + std::to_string(subscribed_) + "\n");
  }

  // --- timer and signals ---

  void on_tick() {
    std::uint64_t expirations = 0;
    if (read(timer_fd_, &expirations, sizeof expirations) < 0)
      return;
    const std::int64_t now = monotonic_ns();
    if (measuring_)
      loop_delays_ms_.push_back(static_cast<double>(now - tick_due_ns_) / 1e6);
    arm_timer(now + tick_ns);  // like a repeating libuv timer: the next tick from this one
    if (!ready_) {
      if (now >= connect_deadline_ns_)
        fail_exit(3, "only " + std::to_string(subscribed_) + " of " +
                         std::to_string(conns_.size()) + " clients subscribed after " +
                         number_text(opt_.connect_timeout_s) + "s (connected " +
                         std::to_string(connected_) + ", errors " + std::to_string(errors_) + ")");
      if (now - last_handshake_check_ns_ >= 1'000'000'000) {
        last_handshake_check_ns_ = now;
        for (std::size_t i = 0; i < next_; ++i) {
          const auto st = conns_[i].state;
          if ((st == phase::connecting || st == phase::handshaking) &&
              now - conns_[i].started_ns > handshake_timeout_ns)
            fail(i, "Opening handshake has timed out");
        }
      }
    }
  }

  void on_signal() {
    signalfd_siginfo si{};
    while (read(signal_fd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
      if (si.ssi_signo == SIGUSR1)
        start_window();
      else if (si.ssi_signo == SIGUSR2)
        end_window();
    }
  }

  void start_window() {
    hist_.reset();
    messages_ = 0;
    by_type_.clear();
    overflow_notices_ = 0;
    overflow_missed_ = 0;
    invalid_ = 0;
    closed_ = 0;
    for (auto& c : conns_) {
      c.messages = 0;
      c.overflowed = false;
    }
    loop_delays_ms_.clear();
    loop_delays_ms_.reserve(1 << 16);
    per_second_.assign(3600, {0, 0.0});
    cpu_start_s_ = cpu_seconds();
    window_start_ns_ = monotonic_ns();
    window_start_ms_ = realtime_ms();
    measuring_ = true;
  }

  [[noreturn]] void end_window() {
    if (!measuring_)
      fail_exit(4, "SIGUSR2 before SIGUSR1");
    measuring_ = false;
    const double window_s = static_cast<double>(monotonic_ns() - window_start_ns_) / 1e9;
    const double cpu_s = cpu_seconds() - cpu_start_s_;

    json out;
    out["processes"] = 1;
    out["clients"] = conns_.size();
    out["connected"] = connected_;
    out["window_s"] = window_s;
    const double joined = js_round(ready_after_s_ * 10) / 10;
    out["joined_after_s"] = joined;
    out["window_started_after_join_s"] =
        js_round(static_cast<double>(window_start_ns_ - started_ns_) / 1e8) / 10 - joined;
    out["messages"] = messages_;
    json by_type = json::object();
    std::uint64_t sensor_updates = 0;
    for (const auto& t : by_type_) {
      by_type[t.type] = t.count;
      if (t.type == "sensor_update")
        sensor_updates = t.count;
    }
    out["by_type"] = std::move(by_type);
    std::size_t with_overflow = 0;
    for (const auto& c : conns_)
      with_overflow += c.overflowed ? 1 : 0;
    out["overflow"] = {{"notices", overflow_notices_},
                       {"missed", overflow_missed_},
                       {"clients_with_overflow", with_overflow}};
    out["closed_during_window"] = closed_;
    out["errors"] = errors_;
    out["invalid"] = invalid_;
    out["ts_gaps"] = 0;
    // Rounded to 0.1 as finish() does in ws_clients.mjs.
    out["client_cpu_percent"] = js_round(cpu_s * 100 / window_s * 10) / 10;
    std::sort(loop_delays_ms_.begin(), loop_delays_ms_.end());
    double p99 = 0, max = 0;
    if (!loop_delays_ms_.empty()) {
      const auto n = loop_delays_ms_.size();
      const auto rank = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(n)));
      p99 = loop_delays_ms_[std::min(n - 1, std::max<std::size_t>(rank, 1) - 1)];
      max = loop_delays_ms_.back();
    }
    out["event_loop_delay_ms"] = {{"p99", p99}, {"max", max}};
    json by_second = json::array();
    const auto seconds =
        std::min<std::size_t>(per_second_.size(), static_cast<std::size_t>(std::ceil(window_s)));
    for (std::size_t s = 0; s < seconds; ++s) {
      const auto& b = per_second_[s];
      if (b.first)
        by_second.push_back(js_round(b.second / static_cast<double>(b.first) * 10) / 10);
      else
        by_second.push_back(nullptr);
    }
    out["mean_latency_by_second_ms"] = std::move(by_second);

    // What finish() adds.
    const double w = window_s > 0 ? window_s : 1;
    out["messages_per_s"] = js_round_int(static_cast<double>(messages_) / w);
    out["sensor_updates_per_s"] = js_round_int(static_cast<double>(sensor_updates) / w);
    std::vector<std::uint64_t> per_client;
    per_client.reserve(conns_.size());
    for (const auto& c : conns_)
      per_client.push_back(c.messages);
    std::vector<std::uint64_t> sorted = per_client;
    std::sort(sorted.begin(), sorted.end());
    const auto n = sorted.size();
    const auto mid = std::min(n - 1, static_cast<std::size_t>(std::max(
                                         0.0, std::ceil(0.5 * static_cast<double>(n)) - 1)));
    out["per_client_messages_per_s"] = {
        {"min", js_round_int(static_cast<double>(sorted.front()) / w)},
        {"p50", js_round_int(static_cast<double>(sorted[mid]) / w)},
        {"max", js_round_int(static_cast<double>(sorted.back()) / w)},
        {"mean", js_round_int(static_cast<double>(messages_) / static_cast<double>(n) / w)}};
    out["latency_ms"] = hist_.summary();
    out["per_client_messages"] = per_client;
    out["latency_hist"] = hist_.sparse_record();

    const std::string text = out.dump(-1, ' ', false, json::error_handler_t::replace);
    if (opt_.out.empty()) {
      write_stdout(text + "\n");
    } else {
      std::ofstream f(opt_.out, std::ios::binary | std::ios::trunc);
      f << text;
      f.close();
      if (!f)
        fail_exit(1, "wtc-ws-load: cannot write " + opt_.out);
    }
    write_stdout("done\n");
    std::exit(0);  // the kernel closes the sockets
  }

  options opt_;
  std::vector<connection> conns_;
  std::vector<char> read_buf_;
  sockaddr_storage addr_{};
  socklen_t addr_len_ = 0;
  int family_ = AF_INET;
  std::string host_header_;
  int epoll_fd_ = -1;
  int signal_fd_ = -1;
  int timer_fd_ = -1;
  std::uint64_t mask_state_ = 0;

  std::size_t next_ = 0;       // the next client to start
  std::size_t in_flight_ = 0;  // attempts under way (TCP connect or handshake)
  std::size_t connected_ = 0;
  std::size_t subscribed_ = 0;
  std::uint64_t errors_ = 0;
  bool ready_ = false;
  double ready_after_s_ = 0;
  std::int64_t started_ns_ = 0;
  std::int64_t connect_deadline_ns_ = 0;
  std::int64_t last_handshake_check_ns_ = 0;
  std::int64_t tick_due_ns_ = 0;

  bool measuring_ = false;
  std::int64_t window_start_ns_ = 0;
  double window_start_ms_ = 0;
  double cpu_start_s_ = 0;
  histogram hist_;
  std::uint64_t messages_ = 0;
  std::vector<type_count> by_type_;
  std::uint64_t overflow_notices_ = 0;
  std::int64_t overflow_missed_ = 0;
  std::uint64_t invalid_ = 0;
  std::uint64_t closed_ = 0;
  std::vector<double> loop_delays_ms_;
  std::vector<std::pair<std::uint64_t, double>> per_second_;  // count, sum of latencies
  std::string last_ts_text_;
  double last_ts_ms_ = std::numeric_limits<double>::quiet_NaN();
};

}  // namespace

int main(int argc, char** argv) {
  options opt;
  try {
    opt = parse_args(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wtc-ws-load: %s\n", e.what());
    return 2;
  }
  load_client client(std::move(opt));
  return client.run();
}
