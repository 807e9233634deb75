#include "gateway/websocket_session.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "gateway/replies.hpp"
#include "gateway/uri.hpp"

namespace wtc::gateway {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace ws_detail {

/// A client's queue: filled by the hub from its thread, emptied by the session on its io
/// thread, under one mutex that nobody else takes (so it is uncontended but for those two).
///
/// Bounded: when a frame arrives at a full queue (`limit` frames), the queue keeps only the
/// latest frame of each key (a sensor's newest value replaces its older ones; keyless frames
/// stay), then, if more than half of the limit is still queued, drops the oldest frames down to
/// half. Every frame lost so counts as missed, and the session sends an `overflow` message with
/// the count before the next frame. Each such step frees at least half the queue, so a client
/// that never reads costs a bounded amount of memory and O(1) work per frame.
class outbox final : public live_client {
 public:
  explicit outbox(std::size_t limit) : limit_(std::max<std::size_t>(limit, 2)) {}

  bool deliver(const live_frame_ptr* frames, std::size_t count) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!wake_ || closing_)
      return false;
    for (std::size_t i = 0; i < count; ++i) {
      if (queue_.size() >= limit_)
        make_room();
      queue_.push_back(frames[i]);
    }
    wake_session();
    return true;
  }

  std::uint64_t missed() const override { return missed_total_.load(std::memory_order_relaxed); }

  void close(std::string_view reason) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!wake_ || closing_)
      return;
    closing_ = true;
    close_reason_ = std::string(reason.substr(0, 120));  // a close reason holds 123 bytes
    wake_session();
  }

  /// `wake` tells the session there is something to take; it is called under the lock, from
  /// any thread, and must only post.
  void attach(std::function<void()> wake) {
    std::lock_guard<std::mutex> lock(mutex_);
    wake_ = std::move(wake);
  }

  /// After this the outbox refuses frames and never calls the session again.
  void detach() {
    std::lock_guard<std::mutex> lock(mutex_);
    wake_ = nullptr;
    queue_.clear();
  }

  struct item {
    live_frame_ptr frame;      // empty: nothing queued (the session may go idle)
    std::uint64_t missed = 0;  // lost since the previous take, to report before `frame`
    bool closing = false;
    std::string reason;
  };

  /// The next frame to write. When there is none, the next delivery wakes the session again.
  item take() {
    std::lock_guard<std::mutex> lock(mutex_);
    item out;
    if (closing_) {
      out.closing = true;
      out.reason = close_reason_;
      return out;
    }
    out.missed = std::exchange(missed_since_take_, 0);
    if (queue_.empty()) {
      awake_ = false;
      return out;
    }
    out.frame = std::move(queue_.front());
    queue_.pop_front();
    return out;
  }

 private:
  void wake_session() {
    if (awake_)
      return;  // a wake-up is on its way, or the session is writing and will take again
    awake_ = true;
    wake_();
  }

  void make_room() {
    const std::size_t before = queue_.size();
    seen_.clear();
    // Newest first: the first frame of a key seen is its latest.
    for (auto it = queue_.rbegin(); it != queue_.rend(); ++it) {
      const std::string& key = (*it)->key;
      if (key.empty() || seen_.insert(std::string_view(key)).second)
        kept_.push_back(std::move(*it));
    }
    queue_.clear();
    const std::size_t keep = std::min(kept_.size(), limit_ / 2);
    for (std::size_t i = keep; i-- > 0;)
      queue_.push_back(std::move(kept_[i]));
    kept_.clear();
    seen_.clear();
    const std::uint64_t lost = before - queue_.size();
    missed_since_take_ += lost;
    missed_total_.fetch_add(lost, std::memory_order_relaxed);
  }

  const std::size_t limit_;
  std::mutex mutex_;
  std::deque<live_frame_ptr> queue_;
  std::function<void()> wake_;
  bool awake_ = false;
  bool closing_ = false;
  std::string close_reason_;
  std::uint64_t missed_since_take_ = 0;
  std::atomic<std::uint64_t> missed_total_{0};
  std::vector<live_frame_ptr> kept_;           // scratch of make_room
  std::unordered_set<std::string_view> seen_;  // likewise
};

}  // namespace ws_detail

struct websocket_service::impl {
  websocket_config config;
  std::shared_ptr<live_endpoint> hub;
  authenticator authenticate;

  mutable std::mutex mutex;
  std::unordered_set<ws_detail::outbox*> open;  // of the sessions past the handshake
  std::uint64_t missed_by_closed = 0;
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> next_id{0};
};

namespace {

using ws_detail::outbox;

std::string json_string(std::string_view text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// A frame for this one client (errors, overflow notices): no key, never merged.
live_frame_ptr local_frame(std::string type, std::string text) {
  auto f = std::make_shared<live_frame>();
  f->type = std::move(type);
  f->text = std::move(text);
  return f;
}

std::string error_text(std::string_view detail) {
  return R"({"type":"error","data":{"detail":)" + json_string(detail) + "}}";
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

class ws_session : public std::enable_shared_from_this<ws_session> {
 public:
  ws_session(tcp::socket&& socket, std::shared_ptr<websocket_service::impl> service,
             std::string client_ip, std::string request_id)
      : ws_(std::move(socket)),
        svc_(std::move(service)),
        outbox_(std::make_shared<outbox>(svc_->config.queue_limit)),
        client_ip_(std::move(client_ip)),
        id_(std::move(request_id)) {}

  ~ws_session() {
    outbox_->detach();
    if (registered_) {
      std::lock_guard<std::mutex> lock(svc_->mutex);
      svc_->open.erase(outbox_.get());
      svc_->missed_by_closed += outbox_->missed();
    }
  }

  ws_session(const ws_session&) = delete;
  ws_session& operator=(const ws_session&) = delete;

  void start(http::request<http::string_body>&& req) {
    req_ = std::move(req);
    if (!svc_->hub || !svc_->hub->available())
      return reject(
          error_reply(errc::unavailable, "the live hub is restarting; try again shortly"));
    {
      std::lock_guard<std::mutex> lock(svc_->mutex);
      if (svc_->open.size() >= svc_->config.max_clients)
        return reject(error_reply(errc::unavailable, "too many live clients; try again later"));
    }
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
      net::dispatch(self->ws_.get_executor(), [self, res = std::move(res)]() mutable {
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
    auto& stream = ws_.next_layer();
    stream.expires_after(svc_->config.handshake_timeout);
    http::async_write(stream, *res,
                      [self = shared_from_this(), res](beast::error_code, std::size_t) {
                        beast::error_code ec;
                        self->ws_.next_layer().socket().shutdown(tcp::socket::shutdown_send, ec);
                      });
  }

  void accept(const std::string& who) {
    who_ = who;
    websocket::stream_base::timeout limits{};
    limits.handshake_timeout = svc_->config.handshake_timeout;
    limits.idle_timeout = svc_->config.idle_timeout.count() > 0
                              ? websocket::stream_base::duration(svc_->config.idle_timeout)
                              : websocket::stream_base::none();
    limits.keep_alive_pings = true;
    ws_.set_option(limits);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "wtc"); }));
    ws_.read_message_max(svc_->config.max_message);
    if (svc_->config.socket_send_buffer > 0) {
      beast::error_code ignored;
      ws_.next_layer().socket().set_option(
          net::socket_base::send_buffer_size(static_cast<int>(svc_->config.socket_send_buffer)),
          ignored);
    }
    ws_.async_accept(req_, beast::bind_front_handler(&ws_session::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec) {
    if (ec) {
      spdlog::debug("websocket handshake with {} failed: {} [request {}]", client_ip_, ec.message(),
                    id_);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(svc_->mutex);
      svc_->open.insert(outbox_.get());
      registered_ = true;
    }
    svc_->accepted.fetch_add(1, std::memory_order_relaxed);
    std::weak_ptr<ws_session> weak = shared_from_this();
    outbox_->attach([weak, ex = ws_.get_executor()] {
      net::post(ex, [weak] {
        if (auto s = weak.lock())
          s->on_wake();
      });
    });
    spdlog::debug("websocket: {} connected from {} [request {}]", who_, client_ip_, id_);
    if (!svc_->hub->join(outbox_, {}))
      outbox_->close("the live hub is restarting; reconnect shortly");
    do_read();
  }

  // --- writing: one frame in flight at a time, taken from the outbox ---

  void on_wake() {
    if (!writing_)
      do_write();
  }

  void do_write() {
    if (held_) {
      current_ = std::move(held_);
      return write(current_->text);
    }
    auto next = outbox_->take();
    if (next.closing) {
      writing_ = false;
      return do_close(websocket::close_code::going_away, next.reason);
    }
    if (next.missed > 0) {
      writing_ = true;
      held_ = std::move(next.frame);
      notice_ = R"({"type":"overflow","data":{"missed":)" + std::to_string(next.missed) +
                R"(,"missed_total":)" + std::to_string(outbox_->missed()) + "}}";
      return write(notice_);
    }
    if (!next.frame) {
      writing_ = false;
      return;
    }
    writing_ = true;
    current_ = std::move(next.frame);
    write(current_->text);
  }

  void write(const std::string& text) {
    ws_.text(true);
    ws_.async_write(net::buffer(text),
                    beast::bind_front_handler(&ws_session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    current_.reset();
    if (ec) {
      // The read side sees the same end and leaves the hub.
      writing_ = false;
      outbox_->detach();
      return;
    }
    do_write();
  }

  void do_close(websocket::close_code code, const std::string& reason) {
    if (closing_)
      return;
    closing_ = true;
    ws_.async_close(websocket::close_reason(code, reason),
                    [self = shared_from_this()](beast::error_code) {});
  }

  // --- reading: subscribe messages, and the control frames Beast answers itself ---

  void do_read() {
    ws_.async_read(in_, beast::bind_front_handler(&ws_session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      // Closed by the client, idle timeout, reset, or a message over the limit (Beast has then
      // sent close 1009): the session ends.
      if (ec != websocket::error::closed && ec != net::error::operation_aborted)
        spdlog::debug("websocket {} from {}: {} [request {}]", who_, client_ip_, ec.message(), id_);
      outbox_->detach();
      svc_->hub->leave(outbox_);
      return;
    }
    if (!ws_.got_text())
      reply_error("messages must be JSON text, such as {\"type\":\"subscribe\",\"rtus\":[...]}");
    else
      handle(beast::buffers_to_string(in_.data()));
    in_.consume(in_.size());
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
    if (!svc_->hub->join(outbox_, std::move(filter)))
      reply_error("the live hub is restarting; subscribe again shortly");
  }

  void reply_error(const std::string& detail) {
    auto frame = local_frame("error", error_text(detail));
    outbox_->deliver(&frame, 1);
  }

  websocket::stream<beast::tcp_stream> ws_;
  std::shared_ptr<websocket_service::impl> svc_;
  std::shared_ptr<outbox> outbox_;
  http::request<http::string_body> req_;
  beast::flat_buffer in_;
  live_frame_ptr current_;  // the frame being written
  live_frame_ptr held_;     // the next one, while an overflow notice goes first
  std::string notice_;      // the overflow notice being written
  std::string client_ip_;
  std::string id_;
  std::string who_;  // the user, or "anonymous"
  bool registered_ = false;
  bool writing_ = false;
  bool closing_ = false;
};

}  // namespace

websocket_service::websocket_service(websocket_config config, std::shared_ptr<live_endpoint> hub,
                                     authenticator authenticate)
    : impl_(std::make_shared<impl>()) {
  impl_->config = std::move(config);
  impl_->hub = std::move(hub);
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
  std::lock_guard<std::mutex> lock(impl_->mutex);
  out.open = impl_->open.size();
  out.accepted = impl_->accepted.load(std::memory_order_relaxed);
  out.rejected = impl_->rejected.load(std::memory_order_relaxed);
  out.missed = impl_->missed_by_closed;
  for (const auto* box : impl_->open)
    out.missed += box->missed();
  return out;
}

void websocket_service::detach_all() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  for (auto* box : impl_->open)
    box->detach();
}

bool is_websocket_upgrade(const http::request<http::string_body>& req) {
  return websocket::is_upgrade(req);
}

void start_websocket_session(websocket_service& service, tcp::socket socket,
                             http::request<http::string_body> req, std::string client_ip,
                             std::string request_id) {
  std::make_shared<ws_session>(std::move(socket), service.impl_, std::move(client_ip),
                               std::move(request_id))
      ->start(std::move(req));
}

}  // namespace wtc::gateway
