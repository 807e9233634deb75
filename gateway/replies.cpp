#include "gateway/replies.hpp"

namespace wtc::gateway {

unsigned status_of(errc code) {
  switch (code) {
    case errc::bad_request:
      return 400;
    case errc::unauthorized:
      return 401;
    case errc::forbidden:
      return 403;
    case errc::not_found:
      return 404;
    case errc::conflict:
      return 409;
    case errc::too_many_requests:
      return 429;
    case errc::unavailable:
      return 503;
    case errc::internal:
      return 500;
  }
  return 500;
}

response json_reply(unsigned status, const nlohmann::json& body) {
  response res;
  res.status = status;
  // Replace invalid UTF-8 rather than throw: a stored string must never turn a read into a 500.
  res.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return res;
}

response error_reply(unsigned status, const std::string& detail) {
  return json_reply(status, {{"detail", detail}});
}

response error_reply(errc code, const std::string& detail) {
  auto res = error_reply(status_of(code), detail);
  if (code == errc::unauthorized)
    res.headers.emplace_back("WWW-Authenticate", "Bearer");
  return res;
}

response error_reply(const caf::error& err) {
  auto v = view(err);
  auto res = error_reply(v.code, v.detail);
  if (v.code == errc::too_many_requests && v.retry_after_s > 0)
    res.headers.emplace_back("Retry-After", std::to_string(v.retry_after_s));
  return res;
}

}  // namespace wtc::gateway
