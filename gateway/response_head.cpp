#include "gateway/response_head.hpp"

#include <ostream>

#include <boost/beast/http/status.hpp>

namespace wtc::gateway {

response_head::response_head(std::string& out, unsigned status, unsigned version)
    : out_(out), status_(status), version_(version) {
  out_.clear();
  out_ += version_ == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out_ += std::to_string(status_);
  out_ += ' ';
  const auto reason =
      boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status_));
  out_.append(reason.data(), reason.size());
  out_ += "\r\n";
}

void response_head::field(std::string_view name, std::string_view value) {
  out_.append(name);
  out_ += ": ";
  const auto start = out_.size();
  out_.append(value);
  for (auto i = start; i < out_.size(); ++i)
    if (out_[i] == '\r' || out_[i] == '\n' || out_[i] == '\0')
      out_[i] = ' ';
  out_ += "\r\n";
}

void response_head::finish(std::size_t body_size, bool keep_alive) {
  if (allows_body(status_))
    field("Content-Length", std::to_string(body_size));
  // HTTP/1.1 keeps a connection open unless told otherwise, HTTP/1.0 closes it unless told.
  if (version_ == 10 && keep_alive)
    field("Connection", "keep-alive");
  else if (version_ != 10 && !keep_alive)
    field("Connection", "close");
  out_ += "\r\n";
}

bool response_head::allows_body(unsigned status) {
  return status >= 200 && status != 204 && status != 304;
}

}  // namespace wtc::gateway
