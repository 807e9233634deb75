#include "gateway/dispatcher.hpp"

#include <spdlog/spdlog.h>

#include "gateway/replies.hpp"

namespace wtc::gateway {
namespace {

bool plausible_token(const std::string& token) {
  if (token.size() != 64)
    return false;
  for (char c : token)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

}  // namespace

void invoke(const handler& fn, const exchange_ptr& ex) {
  try {
    fn(ex);
  } catch (const bad_input& e) {
    ex->reply(error_reply(400, e.what()));
  } catch (const std::exception& e) {
    spdlog::error("{} {} failed: {} [request {}]", ex->req.method, ex->req.path, e.what(),
                  ex->req.origin.request_id);
    ex->reply(error_reply(
        500, "internal error; see the server log for request " + ex->req.origin.request_id));
  }
}

void dispatcher::operator()(const exchange_ptr& ex) const {
  router::match found;
  try {
    found = routes_.find(ex->req.method, ex->req.path);
  } catch (const bad_input& e) {
    ex->reply(error_reply(400, e.what()));
    return;
  }
  if (found.found == nullptr) {
    if (!found.allowed_methods.empty()) {
      auto res = error_reply(405, "method " + ex->req.method + " is not allowed on this path");
      res.headers.emplace_back("Allow", found.allowed_methods);
      ex->reply(std::move(res));
    } else {
      ex->reply(error_reply(404, "no such resource: " + ex->req.path));
    }
    return;
  }
  const route& r = *found.found;
  ex->route_index = found.index;
  ex->req.params = std::move(found.params);
  if (r.required == access::anonymous) {
    invoke(r.fn, ex);
    return;
  }
  if (ex->req.token.empty()) {
    ex->reply(error_reply(errc::unauthorized,
                          "authentication required: send 'Authorization: Bearer <token>'"));
    return;
  }
  if (!plausible_token(ex->req.token)) {
    ex->reply(error_reply(errc::unauthorized, "invalid or expired token"));
    return;
  }
  authenticate_(ex, [&r](const exchange_ptr& authed) {
    const auto have = static_cast<std::uint8_t>(authed->req.session.user_role);
    if (have < static_cast<std::uint8_t>(r.required)) {
      authed->reply(error_reply(403, "this requires the " + std::string(to_string(r.required)) +
                                         " role; you are " +
                                         std::string(to_string(authed->req.session.user_role))));
      return;
    }
    invoke(r.fn, authed);
  });
}

}  // namespace wtc::gateway
