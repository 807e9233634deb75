#include "gateway/websocket_session.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <nlohmann/json.hpp>

#include "gateway/replies.hpp"
#include "gateway/uri.hpp"
#include "gateway/ws_codec.hpp"

namespace wtc::gateway {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

// Batch sizes of the flow control (ws_session::take_from_board).
constexpr std::size_t min_batch = 1024;
constexpr std::size_t initial_batch = 8 * 1024;
constexpr std::size_t batch_step = 2 * 1024;

struct websocket_service::impl {
  websocket_config config;
  std::shared_ptr<live_board> board;
  authenticator authenticate;

  std::atomic<std::uint64_t> open{0};
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> rejected{0};
};

namespace {

std::string json_string(std::string_view text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// Appends a whole text message, framed, to `out`.
void append_text(std::string& out, std::string_view text) {
  append_frame_header(out, 0x1, text.size());
  out += text;
}

/// Appends a control frame (ping, pong, close) with `payload` (at most 125 bytes) to `out`.
void append_control(std::string& out, std::uint8_t opcode, std::string_view payload) {
  payload = payload.substr(0, 125);
  append_frame_header(out, opcode, payload.size());
  out += payload;
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
  std::string payload;
  payload += static_cast<char>(code >> 8);
  payload += static_cast<char>(code & 0xFF);
  // 123 bytes of reason at most, cut on a character boundary.
  std::size_t n = std::min<std::size_t>(reason.size(), 123);
  while (n > 0 && n < reason.size() && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80)
    --n;
  payload += reason.substr(0, n);
  return payload;
}

/// The token of an upgrade request: `Authorization: Bearer ...`, else the `token` query
/// parameter (browsers cannot set headers on a WebSocket). Throws bad_input on a bad query.
std::string token_of(const http::request<http::string_body>& req) {
  const auto auth = req[http::field::authorization];
  if (auth.size() > 7 && beast::iequals(auth.substr(0, 7), "Bearer "))
    return std::string(auth.substr(7));
  const auto target = req.target();
  const auto qmark = target.find('?');
  if (qmark == beast::string_view::npos)
    return {};
  auto query = parse_query(std::string_view(target.data() + qmark + 1, target.size() - qmark - 1));
  auto it = query.find("token");
  return it == query.end() ? std::string{} : it->second;
}

/// Reads a subscribe message's list field: an array of non-empty strings.
bool read_list(const nlohmann::json& value, const std::string& name, std::vector<std::string>& out,
               std::string& error) {
  if (!value.is_array()) {
    error = "field '" + name + "' must be an array of strings";
    return false;
  }
  for (const auto& item : value) {
    if (!item.is_string() || item.get_ref<const std::string&>().empty() ||
        item.get_ref<const std::string&>().size() > 128) {
      error = "field '" + name + "' must hold non-empty strings of at most 128 characters";
      return false;
    }
    out.push_back(item.get<std::string>());
  }
  return true;
}

std::string subscribed_text(const live_filter& filter) {
  nlohmann::ordered_json data{
      {"rtus", filter.rtus}, {"tags", filter.tags}, {"types", filter.types}};
  return R"({"type":"subscribed","data":)" +
         data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "}";
}

std::string_view key_of(const http::request<http::string_body>& req) {
  const auto key = req[http::field::sec_websocket_key];
  return std::string_view(key.data(), key.size());
}

/// One WebSocket connection, on one io thread (each io_context has one), so no handler of a
/// session runs beside another. The handshake is Beast's HTTP; the frames are written here: a
/// write carries every message due (the board hands them out already framed), which is what
/// lets a thousand clients share a stream that has ten thousand messages a second.
///
/// The session writes one batch at a time. While a batch is in flight, the board keeps what
/// comes for this client and, if the client falls behind, hands out only each point's latest
/// value with a count of what was superseded (the `overflow` message): a slow client costs no
/// one else anything, and what it does get is recent.
class ws_session : public std::enable_shared_from_this<ws_session> {
 public:
  ws_session(tcp::socket&& socket, std::shared_ptr<websocket_service::impl> service,
             std::string client_ip, std::string request_id)
      : stream_(std::move(socket)),
        svc_(std::move(service)),
        parser_(svc_->config.max_message),
        idle_timer_(stream_.get_executor()),
        close_timer_(stream_.get_executor()),
        batch_limit_(std::min(svc_->config.batch_bytes, initial_batch)),
        client_ip_(std::move(client_ip)),
        id_(std::move(request_id)) {}

  ~ws_session() {
    if (reader_)
      reader_->close();
    if (counted_)
      svc_->open.fetch_sub(1, std::memory_order_relaxed);
  }

  ws_session(const ws_session&) = delete;
  ws_session& operator=(const ws_session&) = delete;

  void start(http::request<http::string_body>&& req) {
    req_ = std::move(req);
    if (!svc_->board)
      return reject(error_reply(errc::unavailable, "the live stream is not available"));
    if (svc_->open.load(std::memory_order_relaxed) >= svc_->config.max_clients)
      return reject(error_reply(errc::unavailable, "too many live clients; try again later"));
    if (req_[http::field::sec_websocket_version] != "13") {
      auto res = error_reply(426, "this server speaks WebSocket version 13");
      res.headers.emplace_back("Sec-WebSocket-Version", "13");
      return reject(std::move(res));
    }
    if (!valid_websocket_key(key_of(req_)))
      return reject(error_reply(400, "missing or malformed Sec-WebSocket-Key"));
    if (!svc_->config.require_auth)
      return accept("anonymous");
    std::string token;
    try {
      token = token_of(req_);
    } catch (const bad_input& e) {
      return reject(error_reply(400, e.what()));
    }
    if (token.empty())
      return reject(error_reply(errc::unauthorized,
                                "authentication required: send 'Authorization: Bearer <token>' "
                                "or the query parameter 'token'"));
    if (token.size() > 256)
      return reject(error_reply(errc::unauthorized, "invalid or expired token"));

    request r;
    r.method = std::string(req_.method_string());
    r.path = svc_->config.path;
    r.token = std::move(token);
    r.origin.ip_address = client_ip_;
    r.origin.request_id = id_;
    // The authenticator answers an exchange: with an error reply (401, 503) on failure, or by
    // calling `next`, which answers 101 here. Either way the answer comes back to this thread.
    auto self = shared_from_this();
    auto ex = std::make_shared<exchange>(std::move(r), [self](response res) {
      net::dispatch(self->stream_.get_executor(), [self, res = std::move(res)]() mutable {
        if (res.status == 101)
          self->accept(res.body);
        else
          self->reject(std::move(res));
      });
    });
    svc_->authenticate(ex, [](const exchange_ptr& authed) {
      response ok;
      ok.status = 101;
      ok.body = authed->req.origin.username;
      authed->reply(std::move(ok));
    });
  }

 private:
  /// Answers the upgrade request with an HTTP error and closes.
  void reject(response r) {
    svc_->rejected.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("websocket {} from {}: {} [request {}]", r.status, client_ip_, r.body, id_);
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), req_.version());
    res->set(http::field::server, "wtc");
    res->set(http::field::content_type, r.content_type);
    res->set("X-Request-Id", id_);
    res->set(http::field::cache_control, "no-store");
    for (auto& [name, value] : r.headers)
      res->set(name, value);
    res->body() = std::move(r.body);
    res->keep_alive(false);
    res->prepare_payload();
    stream_.expires_after(svc_->config.handshake_timeout);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code, std::size_t) {
                        beast::error_code ec;
                        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
                      });
  }

  /// Answers 101: from then on the connection speaks WebSocket.
  void accept(const std::string& who) {
    who_ = who;
    auto res = std::make_shared<http::response<http::empty_body>>(http::status::switching_protocols,
                                                                  req_.version());
    res->set(http::field::server, "wtc");
    res->set(http::field::upgrade, "websocket");
    res->set(http::field::connection, "Upgrade");
    res->set(http::field::sec_websocket_accept, websocket_accept_key(key_of(req_)));
    if (svc_->config.socket_send_buffer > 0) {
      beast::error_code ignored;
      stream_.socket().set_option(
          net::socket_base::send_buffer_size(static_cast<int>(svc_->config.socket_send_buffer)),
          ignored);
    }
    stream_.expires_after(svc_->config.handshake_timeout);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                        self->on_accepted(ec);
                      });
  }

  void on_accepted(beast::error_code ec) {
    if (ec) {
      spdlog::debug("websocket handshake with {} failed: {} [request {}]", client_ip_, ec.message(),
                    id_);
      return;
    }
    // Liveness is the idle timer's business from here: a quiet client is pinged, not cut off.
    stream_.expires_never();
    svc_->open.fetch_add(1, std::memory_order_relaxed);
    counted_ = true;
    svc_->accepted.fetch_add(1, std::memory_order_relaxed);
    std::weak_ptr<ws_session> weak = shared_from_this();
    reader_ = svc_->board->open_reader([weak, ex = stream_.get_executor()] {
      net::post(ex, [weak] {
        if (auto s = weak.lock())
          s->do_write();
      });
    });
    spdlog::debug("websocket: {} connected from {} [request {}]", who_, client_ip_, id_);
    last_received_ = clock_type::now();
    append_text(local_, subscribed_text({}));
    arm_idle_timer();
    do_read();
    do_write();
  }

  // --- writing: one batch in flight at a time ---

  void do_write() {
    if (writing_ || ended_)
      return;
    out_.assign(urgent_);  // pongs and the close frame first
    urgent_.clear();
    if (!close_sent_) {
      out_ += local_;
      local_.clear();
      if (!flow_pending_)
        take_from_board();
    }
    if (out_.empty())
      return;  // the board, or the client's pong, wakes the session when there is more
    writing_ = true;
    net::async_write(stream_.socket(), net::buffer(out_),
                     beast::bind_front_handler(&ws_session::on_write, shared_from_this()));
  }

  /// Appends what the board has for this client, and a ping behind it: the client's pong says
  /// that it has read the batch, and only then does the next one go. So the client's socket
  /// never holds more than one batch, and whatever it is sent is as fresh as the board has. (A
  /// client that never answers pings gets one batch, and the keepalive ends it.)
  void take_from_board() {
    const std::size_t start = out_.size();
    auto taken = reader_->take(out_, batch_limit_);
    if (taken.closing) {
      queue_close(close_code::going_away, taken.reason);
      out_ += urgent_;
      urgent_.clear();
      return;
    }
    // A client that cannot keep up should not spend what it can take on notices: they go at
    // most once per overflow_interval.
    missed_ += taken.missed;
    const auto now = clock_type::now();
    if (missed_ > missed_told_ && now - told_at_ >= svc_->config.overflow_interval) {
      std::string notice;
      append_text(notice, R"({"type":"overflow","data":{"missed":)" +
                              std::to_string(missed_ - missed_told_) + R"(,"missed_total":)" +
                              std::to_string(missed_) + "}}");
      out_.insert(start, notice);
      missed_told_ = missed_;
      told_at_ = now;
    }
    if (taken.frames == 0)
      return;
    flow_pending_ = true;
    flow_sent_at_ = clock_type::now();
    append_control(out_, 0x9, "f" + std::to_string(++flow_seq_));
  }

  /// The client has read everything up to the ping `payload`: adapt the batch size so that a
  /// round trip stays within the target (halve it when slower, grow it by a step when faster).
  void on_flow_pong(std::string_view payload) {
    if (!flow_pending_ || payload != "f" + std::to_string(flow_seq_))
      return;  // an unsolicited pong, or the keepalive's
    flow_pending_ = false;
    const auto round_trip = clock_type::now() - flow_sent_at_;
    if (round_trip > svc_->config.flow_target)
      batch_limit_ = std::max(min_batch, batch_limit_ / 2);
    else
      batch_limit_ = std::min(svc_->config.batch_bytes, batch_limit_ + batch_step);
  }

  void on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec)
      return end();  // the read side sees the same end
    if (close_sent_ && urgent_.empty()) {
      // Both closes exchanged, or the client broke the protocol: the server closes TCP first
      // (section 7.1.1). Otherwise it waits for the client's close, or for close_timer_.
      if (close_received_ || failed_)
        return end();
      return;
    }
    do_write();
  }

  /// Sends a close frame after what is queued, then waits for the client's own close frame.
  void queue_close(std::uint16_t code, std::string_view reason) {
    if (close_sent_ || ended_)
      return;
    close_sent_ = true;
    append_control(urgent_, 0x8, close_payload(code, reason));
    close_timer_.expires_after(svc_->config.handshake_timeout);
    close_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec)
        self->end();
    });
  }

  /// Closes the connection at once.
  void end() {
    if (ended_)
      return;
    ended_ = true;
    if (reader_)
      reader_->close();
    idle_timer_.cancel();
    close_timer_.cancel();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  // --- reading ---

  void do_read() {
    stream_.socket().async_read_some(
        net::buffer(read_buffer_),
        beast::bind_front_handler(&ws_session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t size) {
    if (ec) {
      if (ec != net::error::eof && ec != net::error::operation_aborted)
        spdlog::debug("websocket {} from {}: {} [request {}]", who_, client_ip_, ec.message(), id_);
      return end();
    }
    last_received_ = clock_type::now();
    ping_outstanding_ = false;
    events_.clear();
    parser_.feed(read_buffer_.data(), size, events_);
    for (auto& e : events_) {
      switch (e.what) {
        case ws_event::kind::text:
          if (!close_sent_)
            handle(e.payload);
          break;
        case ws_event::kind::binary:
          reply_error(
              "messages must be JSON text, such as {\"type\":\"subscribe\",\"rtus\":[...]}");
          break;
        case ws_event::kind::ping:
          if (!close_sent_)
            append_control(urgent_, 0xA, e.payload);
          break;
        case ws_event::kind::pong:
          on_flow_pong(e.payload);
          break;
        case ws_event::kind::close:
          close_received_ = true;
          if (close_sent_) {
            if (!writing_)
              return end();
          } else {
            // Echo the client's code, as section 5.5.1 asks.
            queue_close(e.code == 1005 ? close_code::normal : e.code, {});
          }
          break;
        case ws_event::kind::error:
          spdlog::debug("websocket {} from {}: {} [request {}]", who_, client_ip_, e.payload, id_);
          failed_ = true;  // section 7.1.7: no waiting for the client's close
          queue_close(e.code, e.payload);
          break;
      }
    }
    do_write();
    if (!close_received_ && !failed_ && !ended_)
      do_read();
  }

  void handle(const std::string& text) {
    const auto msg = nlohmann::json::parse(text, nullptr, false);
    if (msg.is_discarded())
      return reply_error("the message is not valid JSON");
    if (!msg.is_object() || !msg.contains("type") || !msg["type"].is_string())
      return reply_error("a message must be a JSON object with a string field 'type'");
    const auto& type = msg["type"].get_ref<const std::string&>();
    if (type != "subscribe")
      return reply_error("unknown message type '" + type.substr(0, 32) +
                         "'; the server accepts 'subscribe'");
    live_filter filter;
    std::string error;
    for (const auto& [name, value] : msg.items()) {
      if (name == "type")
        continue;
      std::vector<std::string>* list = name == "rtus"    ? &filter.rtus
                                       : name == "tags"  ? &filter.tags
                                       : name == "types" ? &filter.types
                                                         : nullptr;
      if (list == nullptr)
        return reply_error("unknown field '" + name.substr(0, 32) +
                           "'; subscribe takes 'rtus', 'tags' and 'types'");
      if (!value.is_null() && !read_list(value, name, *list, error))
        return reply_error(error);
    }
    // The confirmation goes out before anything taken under the new filter: what follows it
    // obeys it.
    append_text(local_, subscribed_text(filter));
    reader_->set_filter(std::move(filter));
  }

  void reply_error(std::string_view detail) {
    append_text(local_, R"({"type":"error","data":{"detail":)" + json_string(detail) + "}}");
  }

  // --- liveness ---

  /// Nothing received for half the idle timeout: a ping. For all of it: the connection ends.
  void arm_idle_timer() {
    const auto idle = svc_->config.idle_timeout;
    if (idle.count() <= 0)
      return;
    idle_timer_.expires_after(idle / 2);
    idle_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->ended_)
        return;
      const auto quiet = clock_type::now() - self->last_received_;
      if (quiet >= self->svc_->config.idle_timeout) {
        spdlog::debug("websocket {} from {}: nothing received for {} ms, closing [request {}]",
                      self->who_, self->client_ip_, self->svc_->config.idle_timeout.count(),
                      self->id_);
        return self->end();
      }
      if (quiet >= self->svc_->config.idle_timeout / 2 && !self->ping_outstanding_ &&
          !self->close_sent_) {
        self->ping_outstanding_ = true;
        append_control(self->urgent_, 0x9, "wtc");
        self->do_write();
      }
      self->arm_idle_timer();
    });
  }

  beast::tcp_stream stream_;
  std::shared_ptr<websocket_service::impl> svc_;
  ws_frame_parser parser_;
  net::steady_timer idle_timer_;
  net::steady_timer close_timer_;
  std::size_t batch_limit_;    // bytes of the next batch at most, adapted to the client
  bool flow_pending_ = false;  // a batch's ping is unanswered
  std::uint64_t flow_seq_ = 0;
  clock_type::time_point flow_sent_at_;
  live_board::reader_ptr reader_;
  http::request<http::string_body> req_;
  std::array<char, 4096> read_buffer_{};
  std::vector<ws_event> events_;
  std::string urgent_;        // control frames: written before anything else
  std::string local_;         // this client's own messages (subscribed, error), before the stream
  std::string out_;           // the batch being written
  std::uint64_t missed_ = 0;  // skipped by the board for this client
  std::uint64_t missed_told_ = 0;  // of which the client has been told
  clock_type::time_point told_at_;
  clock_type::time_point last_received_;
  std::string client_ip_;
  std::string id_;
  std::string who_;  // the user, or "anonymous"
  bool counted_ = false;
  bool writing_ = false;
  bool close_sent_ = false;
  bool close_received_ = false;
  bool ping_outstanding_ = false;
  bool failed_ = false;  // the client broke the protocol
  bool ended_ = false;
};

}  // namespace

websocket_service::websocket_service(websocket_config config, std::shared_ptr<live_board> board,
                                     authenticator authenticate)
    : impl_(std::make_shared<impl>()) {
  impl_->config = std::move(config);
  impl_->board = std::move(board);
  impl_->authenticate = std::move(authenticate);
}

websocket_service::~websocket_service() {
  detach_all();
}

const websocket_config& websocket_service::config() const {
  return impl_->config;
}

websocket_stats websocket_service::stats() const {
  websocket_stats out;
  out.open = impl_->open.load(std::memory_order_relaxed);
  out.accepted = impl_->accepted.load(std::memory_order_relaxed);
  out.rejected = impl_->rejected.load(std::memory_order_relaxed);
  if (impl_->board)
    out.missed = impl_->board->stats().frames_missed;
  return out;
}

void websocket_service::detach_all() {
  if (impl_->board)
    impl_->board->close("the server is stopping");
}

bool is_websocket_upgrade(const http::request<http::string_body>& req) {
  return beast::websocket::is_upgrade(req);
}

void start_websocket_session(websocket_service& service, tcp::socket socket,
                             http::request<http::string_body> req, std::string client_ip,
                             std::string request_id) {
  std::make_shared<ws_session>(std::move(socket), service.impl_, std::move(client_ip),
                               std::move(request_id))
      ->start(std::move(req));
}

}  // namespace wtc::gateway
