#include "gateway/http_server.hpp"

#include <array>
#include <atomic>
#include <random>
#include <stdexcept>
#include <thread>

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "gateway/replies.hpp"
#include "gateway/response_head.hpp"
#include "gateway/uri.hpp"
#include "gateway/websocket_session.hpp"

namespace wtc::gateway {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

using clock_type = std::chrono::steady_clock;
constexpr std::size_t write_chunk_bytes = 64 * 1024;
// The io_context's own executor rather than a type-erased one: every operation of a connection
// runs on the one io thread that owns it.
using executor_type = net::io_context::executor_type;
using socket_type = net::basic_stream_socket<tcp, executor_type>;
using timer_type =
    net::basic_waitable_timer<clock_type, net::wait_traits<clock_type>, executor_type>;

bool valid_request_id(beast::string_view id) {
  if (id.empty() || id.size() > 64)
    return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  return true;
}

/// Request ids for requests that bring none: a per-process random prefix and a counter.
std::string next_request_id() {
  static const std::string prefix = [] {
    std::random_device rd;
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", rd());
    return std::string(buf);
  }();
  static std::atomic<std::uint64_t> counter{0};
  std::string id = prefix;
  id += '-';
  id += std::to_string(counter.fetch_add(1, std::memory_order_relaxed) + 1);
  return id;
}

/// Keeps printable ASCII only: a user agent is stored with the session, and a stray byte must not
/// make a UTF-8 database refuse a login.
std::string printable_prefix(beast::string_view text, std::size_t max_length) {
  std::string out;
  for (char c : text.substr(0, max_length))
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

struct shared_state {
  server_config config;
  http_server::dispatcher dispatch;
  http_metrics& metrics;
};

class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(socket_type&& socket, std::shared_ptr<const shared_state> state)
      : socket_(std::move(socket)), idle_timer_(socket_.get_executor()), state_(std::move(state)) {
    beast::error_code ec;
    auto remote = socket_.remote_endpoint(ec);
    if (!ec)
      client_ip_ = remote.address().to_string();
  }

  void run() {
    net::dispatch(socket_.get_executor(), [self = shared_from_this()] {
      self->watch_idle(self->state_->config.idle_timeout);
      self->do_read();
    });
  }

 private:
  /// One timer per connection, re-armed once per idle period rather than per request: it closes
  /// a connection that has neither sent a request nor taken its reply for `idle_timeout`.
  void watch_idle(clock_type::duration after) {
    idle_timer_.expires_after(after);
    idle_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->closed_)
        return;
      const auto timeout = self->state_->config.idle_timeout;
      if (self->awaiting_reply_)
        return self->watch_idle(timeout);
      const auto now = clock_type::now();
      if (now < self->active_since_ + timeout)
        return self->watch_idle(self->active_since_ + timeout - now);
      beast::error_code ignored;
      self->socket_.close(ignored);
    });
  }

  void do_read() {
    parser_.emplace();
    parser_->body_limit(state_->config.body_limit);
    parser_->header_limit(static_cast<std::uint32_t>(state_->config.header_limit));
    active_since_ = clock_type::now();
    http::async_read(socket_, buffer_, *parser_,
                     beast::bind_front_handler(&http_session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset) {
      return do_close();
    }
    started_ = clock_type::now();
    if (ec == http::error::body_limit)
      return reject(413, "request body exceeds the limit of " +
                             std::to_string(state_->config.body_limit) + " bytes");
    if (ec == http::error::header_limit)
      return reject(431, "request headers exceed the limit of " +
                             std::to_string(state_->config.header_limit) + " bytes");
    if (ec)
      return reject(400, "malformed HTTP request: " + ec.message());
    handle(parser_->release());
  }

  /// Answers a request that could not be parsed, then closes: the stream's framing is lost.
  void reject(unsigned status, const std::string& detail) {
    keep_alive_ = false;
    request_id_ = next_request_id();
    version_ = 11;
    route_index_ = -1;
    spdlog::info("http {} from {}: {} [request {}]", status, client_ip_, detail, request_id_);
    write(error_reply(status, detail));
  }

  void handle(http::request<http::string_body>&& msg) {
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();
    auto id_header = msg["X-Request-Id"];
    request_id_ = valid_request_id(id_header) ? std::string(id_header) : next_request_id();
    origin_header_ = std::string(msg[http::field::origin]);

    request req;
    req.method = std::string(msg.method_string());
    const auto target = msg.target();
    const auto qmark = target.find('?');
    req.path = std::string(target.substr(0, qmark));
    req.origin.ip_address = client_ip_;
    req.origin.request_id = request_id_;
    req.origin_header = origin_header_;
    req.content_type = std::string(msg[http::field::content_type]);
    req.user_agent = printable_prefix(msg[http::field::user_agent], 256);
    const auto auth = msg[http::field::authorization];
    if (auth.size() > 7 && beast::iequals(auth.substr(0, 7), "Bearer "))
      req.token = std::string(auth.substr(7));
    req.body = std::move(msg.body());
    method_ = req.method;
    path_ = req.path;
    if (state_->config.websocket && req.path == state_->config.websocket->config().path)
      return upgrade(std::move(msg));

    if (target.empty() || target.front() != '/')
      return write(error_reply(400, "the request target must be an absolute path"));
    if (req.method == "OPTIONS" && msg.count(http::field::access_control_request_method))
      return write_preflight();
    if (qmark != beast::string_view::npos) {
      try {
        req.query =
            parse_query(std::string_view(target.data() + qmark + 1, target.size() - qmark - 1));
      } catch (const bad_input& e) {
        return write(error_reply(400, e.what()));
      }
    }

    awaiting_reply_ = true;
    auto ex = std::make_shared<exchange>(std::move(req), [self = shared_from_this()](response res) {
      // dispatch: a handler that answers on the io thread writes at once, others are queued.
      net::dispatch(self->socket_.get_executor(), [self, res = std::move(res)]() mutable {
        self->awaiting_reply_ = false;
        self->route_index_ = self->current_ ? self->current_->route_index : -1;
        self->current_.reset();
        self->write(std::move(res));
      });
    });
    current_ = ex;
    state_->dispatch(ex);
  }

  /// Hands the connection over to the WebSocket service, or answers 426 to a plain request.
  void upgrade(http::request<http::string_body>&& msg) {
    route_index_ = -1;
    if (!is_websocket_upgrade(msg)) {
      auto res = error_reply(426, "this path serves WebSocket connections only");
      res.headers.emplace_back("Upgrade", "websocket");
      return write(std::move(res));
    }
    closed_ = true;
    idle_timer_.cancel();
    start_websocket_session(*state_->config.websocket, tcp::socket(std::move(socket_)),
                            std::move(msg), client_ip_, request_id_);
  }

  bool origin_allowed() const {
    if (origin_header_.empty())
      return false;
    for (const auto& allowed : state_->config.cors_origins)
      if (allowed == "*" || allowed == origin_header_)
        return true;
    return false;
  }

  void write_preflight() {
    route_index_ = -1;
    response res;
    res.status = 204;
    res.content_type.clear();
    if (origin_allowed()) {
      res.headers = {{"Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS"},
                     {"Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id"},
                     {"Access-Control-Max-Age", "600"}};
    }
    write(std::move(res));
  }

  void write(response res) {
    if (!response_head::allows_body(res.status))
      res.body.clear();
    response_head head(head_, res.status, version_);
    if (!res.content_type.empty())
      head.field("Content-Type", res.content_type);
    for (const auto& [name, value] : res.headers)
      head.field(name, value);
    if (origin_allowed()) {
      head.field("Access-Control-Allow-Origin", origin_header_);
      head.field("Vary", "Origin");
      head.field("Access-Control-Expose-Headers", "X-Request-Id, Retry-After");
    }
    head.field("Server", "wtc");
    head.field("X-Request-Id", request_id_);
    head.field("X-Content-Type-Options", "nosniff");
    head.field("Cache-Control", "no-store");
    head.finish(res.body.size(), keep_alive_);
    body_ = std::move(res.body);

    const double seconds = std::chrono::duration<double>(clock_type::now() - started_).count();
    state_->metrics.record(route_index_, res.status, seconds);
    if (res.status >= 500)
      spdlog::error("{} {} -> {} ({:.1f} ms) [request {}]", method_, path_, res.status,
                    seconds * 1e3, request_id_);
    else
      spdlog::debug("{} {} -> {} ({:.1f} ms) [request {}]", method_, path_, res.status,
                    seconds * 1e3, request_id_);

    const std::array<net::const_buffer, 2> buffers{net::buffer(head_), net::buffer(body_)};
    // Every chunk the client takes counts as activity: a large export to a slow client is not
    // idle as long as it keeps reading.
    auto progress = [this](const beast::error_code& ec, std::size_t) -> std::size_t {
      active_since_ = clock_type::now();
      return ec ? 0 : write_chunk_bytes;
    };
    net::async_write(socket_, buffers, progress,
                     beast::bind_front_handler(&http_session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) {
      if (ec != net::error::operation_aborted)
        spdlog::debug("http write to {} failed: {}", client_ip_, ec.message());
      return do_close();
    }
    if (!keep_alive_)
      return do_close();
    do_read();
  }

  void do_close() {
    closed_ = true;
    idle_timer_.cancel();
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
  }

  socket_type socket_;
  timer_type idle_timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<const shared_state> state_;
  std::string client_ip_;
  std::string request_id_;
  std::string origin_header_;
  std::string method_;
  std::string path_;
  std::string head_;  // the reply's status line and fields, reused from request to request
  std::string body_;
  exchange_ptr current_;
  clock_type::time_point started_;
  clock_type::time_point active_since_;
  int route_index_ = -1;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool awaiting_reply_ = false;
  bool closed_ = false;
};

}  // namespace

// One io_context per thread: a shared io_context's queue lock costs more under load than it
// balances, and a connection never needs more than one thread.
struct http_server::impl {
  impl(server_config config, dispatcher dispatch, http_metrics& metrics, thread_start start_hook)
      : state(std::make_shared<shared_state>(
            shared_state{std::move(config), std::move(dispatch), metrics})),
        on_thread_start(std::move(start_hook)) {
    for (int i = 0; i < std::max(1, state->config.io_threads); ++i)
      contexts.push_back(std::make_unique<net::io_context>(1));
    acceptor.emplace(*contexts.front());
    signals.emplace(*contexts.front(), SIGINT, SIGTERM);
  }

  net::io_context& next_context() { return *contexts[next++ % contexts.size()]; }

  void do_accept() {
    acceptor->async_accept(next_context(), [this](beast::error_code ec, socket_type socket) {
      if (ec) {
        if (ec == net::error::operation_aborted)
          return;
        spdlog::warn("http accept failed: {}", ec.message());
      } else {
        socket.set_option(tcp::no_delay(true), ec);
        std::make_shared<http_session>(std::move(socket), state)->run();
      }
      do_accept();
    });
  }

  std::shared_ptr<const shared_state> state;
  thread_start on_thread_start;
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::size_t next = 0;  // only touched by the accepting thread
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::signal_set> signals;
  std::vector<std::thread> threads;
  std::uint16_t bound_port = 0;
  bool running = false;
};

http_server::http_server(server_config config, dispatcher dispatch, http_metrics& metrics,
                         thread_start on_thread_start)
    : impl_(std::make_unique<impl>(std::move(config), std::move(dispatch), metrics,
                                   std::move(on_thread_start))) {}

http_server::~http_server() {
  stop();
}

void http_server::start() {
  auto& d = *impl_;
  const auto& cfg = d.state->config;
  beast::error_code ec;
  auto address = net::ip::make_address(cfg.bind_address, ec);
  if (ec)
    throw std::runtime_error("invalid bind address '" + cfg.bind_address + "'");
  tcp::endpoint endpoint{address, cfg.port};
  d.acceptor->open(endpoint.protocol(), ec);
  if (!ec)
    d.acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    d.acceptor->bind(endpoint, ec);
  if (!ec)
    d.acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + cfg.bind_address + ":" +
                             std::to_string(cfg.port) + ": " + ec.message());
  d.bound_port = d.acceptor->local_endpoint().port();
  d.do_accept();
  d.running = true;
  for (auto& ioc : d.contexts)
    d.threads.emplace_back([&d, &ioc] {
      if (d.on_thread_start)
        d.on_thread_start([&ioc](std::function<void()> work) { net::post(*ioc, std::move(work)); });
      // Keep running while idle: the connections come and go, the thread stays.
      auto guard = net::make_work_guard(*ioc);
      ioc->run();
    });
}

void http_server::on_termination_signal(std::function<void(int)> on_signal) {
  impl_->signals->async_wait([on_signal = std::move(on_signal)](beast::error_code ec, int signo) {
    if (!ec)
      on_signal(signo);
  });
}

void http_server::stop() {
  auto& d = *impl_;
  if (!d.running)
    return;
  d.running = false;
  for (auto& ioc : d.contexts)
    ioc->stop();
  for (auto& t : d.threads)
    t.join();
  d.threads.clear();
  // No io thread runs any more: cut the WebSocket sessions off from the live hub, whose thread
  // would otherwise keep posting to io contexts that are about to go.
  if (d.state->config.websocket)
    d.state->config.websocket->detach_all();
}

std::uint16_t http_server::port() const {
  return impl_->bound_port;
}

}  // namespace wtc::gateway
