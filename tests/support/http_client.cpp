#include "http_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace wtc::test {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

}  // namespace

http_result http_client::request(const std::string& method, const std::string& target,
                                 const std::string& body, const std::string& token,
                                 const std::map<std::string, std::string>& headers) const {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(tcp::endpoint(net::ip::make_address(host_), port_));
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, host_);
  if (req.method() == http::verb::unknown)
    req.method_string(method);
  if (!token.empty())
    req.set(http::field::authorization, "Bearer " + token);
  if (!body.empty())
    req.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : headers)
    req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  http::read(stream, buffer, parser);
  auto res = parser.release();
  http_result out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(field.value());
  }
  out.body = std::move(res.body());
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return out;
}

int http_client::raw(const std::string& raw_request, std::string* response_text) const {
  net::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(tcp::endpoint(net::ip::make_address(host_), port_));
  beast::error_code ec;
  net::write(socket, net::buffer(raw_request), ec);
  std::string text;
  char buf[4096];
  while (true) {
    const auto n = socket.read_some(net::buffer(buf), ec);
    text.append(buf, n);
    if (ec || text.find("\r\n\r\n") != std::string::npos)
      break;
  }
  if (response_text != nullptr)
    *response_text = text;
  if (text.rfind("HTTP/1.1 ", 0) != 0 || text.size() < 12)
    return 0;
  return std::stoi(text.substr(9, 3));
}

std::string http_client::login(const std::string& username, const std::string& password) const {
  auto res = post("/api/v1/auth/login", {{"username", username}, {"password", password}});
  EXPECT_EQ(res.status, 200) << res.body;
  auto doc = res.json();
  return doc.is_object() && doc.contains("token") ? doc["token"].get<std::string>() : std::string{};
}

}  // namespace wtc::test
