#include "ws_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace wtc::test {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct ws_client::impl {
  net::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer buffer;
  std::string error;
  bool timed_out = false;

  /// Runs the io_context until `done`; the stream's expiry bounds every operation.
  void run_until(const bool& done) {
    while (!done) {
      if (ioc.stopped())
        ioc.restart();
      if (ioc.run_one() == 0)
        break;
    }
  }
};

ws_client::ws_client() : impl_(std::make_unique<impl>()) {}
ws_client::~ws_client() = default;

ws_handshake ws_client::connect(std::uint16_t port, const ws_options& options) {
  auto& d = *impl_;
  ws_handshake out;
  auto& stream = beast::get_lowest_layer(d.ws);
  beast::error_code ec;
  stream.socket().open(tcp::v4(), ec);
  if (options.receive_buffer > 0)
    stream.socket().set_option(net::socket_base::receive_buffer_size(options.receive_buffer), ec);
  stream.expires_after(std::chrono::seconds(5));
  bool done = false;
  stream.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                       [&](beast::error_code e) {
                         ec = e;
                         done = true;
                       });
  d.run_until(done);
  if (ec) {
    out.error = ec.message();
    return out;
  }
  const std::string bearer = options.bearer;
  d.ws.set_option(websocket::stream_base::decorator([bearer](websocket::request_type& req) {
    if (!bearer.empty())
      req.set(http::field::authorization, "Bearer " + bearer);
  }));
  websocket::response_type res;
  done = false;
  stream.expires_after(std::chrono::seconds(5));
  d.ws.async_handshake(res, "127.0.0.1:" + std::to_string(port), options.target,
                       [&](beast::error_code e) {
                         ec = e;
                         done = true;
                       });
  d.run_until(done);
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(field.value());
  }
  out.body = res.body();
  if (ec)
    out.error = ec.message();
  return out;
}

std::optional<std::string> ws_client::read(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  beast::error_code ec;
  bool done = false;
  beast::get_lowest_layer(d.ws).expires_after(timeout);
  d.buffer.clear();
  d.ws.async_read(d.buffer, [&](beast::error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  d.run_until(done);
  if (ec) {
    d.error = ec.message();
    d.timed_out = ec == beast::error::timeout;
    return std::nullopt;
  }
  return beast::buffers_to_string(d.buffer.data());
}

std::optional<nlohmann::json> ws_client::read_json(std::chrono::milliseconds timeout) {
  auto text = read(timeout);
  if (!text)
    return std::nullopt;
  auto parsed = nlohmann::json::parse(*text, nullptr, false);
  EXPECT_FALSE(parsed.is_discarded()) << "not JSON: " << *text;
  return parsed;
}

void ws_client::write(const std::string& bytes, bool text) {
  auto& d = *impl_;
  beast::error_code ec;
  bool done = false;
  beast::get_lowest_layer(d.ws).expires_after(std::chrono::seconds(5));
  d.ws.text(text);
  d.ws.async_write(net::buffer(bytes), [&](beast::error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  d.run_until(done);
  EXPECT_FALSE(ec) << "write failed: " << ec.message();
}

void ws_client::send_text(const std::string& text) {
  write(text, true);
}

void ws_client::send_binary(const std::string& bytes) {
  write(bytes, false);
}

const std::string& ws_client::error() const {
  return impl_->error;
}

bool ws_client::timed_out() const {
  return impl_->timed_out;
}

int ws_client::close_code() const {
  return static_cast<int>(impl_->ws.reason().code);
}

int plain_get(std::uint16_t port, const std::string& target) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(std::chrono::seconds(5));
  beast::error_code ec;
  stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec)
    return 0;
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(stream, req, ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res, ec);
  return ec ? 0 : static_cast<int>(res.result_int());
}

}  // namespace wtc::test
