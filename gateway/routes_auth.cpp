#include <caf/atom.hpp>

#include "core/time.hpp"
#include "gateway/actor_bridge.hpp"
#include "gateway/api.hpp"
#include "gateway/json_body.hpp"
#include "gateway/json_mapping.hpp"
#include "messages/interfaces.hpp"

namespace wtc::gateway {
namespace {

constexpr std::size_t max_username = 64;
constexpr std::size_t max_password = 128;

session_api sessions(api_context& ctx) {
  return lookup<session_api>(ctx.sys, names::sessions);
}

}  // namespace

authenticator session_authenticator(api_context& ctx) {
  return [&ctx](const exchange_ptr& ex, std::function<void(const exchange_ptr&)> next) {
    // Validation is answered at once from memory (a crash in the handler still answers with
    // the error), so it needs no timeout, whose clock round trip would cost more than it.
    ask(
        ex, sessions(ctx), caf::infinite,
        [ex, next = std::move(next)](session_record& session) {
          ex->req.origin.username = session.username;
          ex->req.origin.user_role = session.user_role;
          ex->req.session = std::move(session);
          next(ex);
        },
        validate_atom::value, ex->req.token);
  };
}

void add_auth_routes(router& routes, api_context& ctx) {
  routes.add("POST", "/api/v1/auth/login", access::anonymous, [&ctx](const exchange_ptr& ex) {
    json_body body(ex->req, {"username", "password"});
    auto username = body.required_string("username", max_username);
    auto password = body.required_string("password", max_password);
    for (unsigned char c : username)
      if (c < 0x20 || c == 0x7f)
        throw bad_input("field 'username' must not hold control characters");
    ask(
        ex, sessions(ctx), ctx.settings.actor_timeout,
        [ex](issued_token& issued) { ex->reply(json_reply(200, to_json(issued))); },
        login_atom::value, std::move(username), std::move(password), ex->req.origin,
        ex->req.user_agent);
  });

  routes.add("POST", "/api/v1/auth/logout", access::viewer, [&ctx](const exchange_ptr& ex) {
    ask(
        ex, sessions(ctx), ctx.settings.actor_timeout,
        [ex](caf::ok_atom) {
          ex->reply(json_reply(200, {{"status", "ok"}, {"detail", "logged out"}}));
        },
        logout_atom::value, ex->req.token, ex->req.origin);
  });

  routes.add("GET", "/api/v1/auth/session", access::viewer,
             [](const exchange_ptr& ex) { ex->reply(json_reply(200, to_json(ex->req.session))); });

  routes.add("POST", "/api/v1/auth/refresh", access::viewer, [&ctx](const exchange_ptr& ex) {
    ask(
        ex, sessions(ctx), ctx.settings.actor_timeout,
        [ex](issued_token& issued) { ex->reply(json_reply(200, to_json(issued))); },
        refresh_atom::value, ex->req.token, ex->req.origin);
  });

  routes.add("GET", "/api/v1/auth/me", access::viewer, [&ctx](const exchange_ptr& ex) {
    ask(
        ex, sessions(ctx), ctx.settings.actor_timeout,
        [ex](user_record& user) { ex->reply(json_reply(200, to_json(user))); },
        caf::get_atom::value, user_atom::value, ex->req.session.username);
  });

  routes.add("POST", "/api/v1/auth/change-password", access::viewer,
             [&ctx](const exchange_ptr& ex) {
               json_body body(ex->req, {"current_password", "new_password"});
               auto current = body.required_string("current_password", max_password);
               auto fresh = body.required_string("new_password", max_password);
               ask(
                   ex, sessions(ctx), ctx.settings.actor_timeout,
                   [ex](caf::ok_atom) {
                     ex->reply(json_reply(200, {{"status", "ok"},
                                                {"detail",
                                                 "password changed; every session of this user "
                                                 "has ended, log in again"}}));
                   },
                   password_atom::value, ex->req.token, std::move(current), std::move(fresh),
                   ex->req.origin);
             });
}

}  // namespace wtc::gateway
