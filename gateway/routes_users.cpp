#include "gateway/actor_bridge.hpp"
#include "gateway/api.hpp"
#include "gateway/json_body.hpp"
#include "gateway/json_mapping.hpp"
#include "messages/interfaces.hpp"

namespace wtc::gateway {
namespace {

session_api sessions(api_context& ctx) {
  return lookup<session_api>(ctx.sys, names::sessions);
}

role role_field(const json_body& body) {
  role r = role::viewer;
  auto text = body.optional_string("role", 16);
  if (text && !parse_role(*text, r))
    throw bad_input("field 'role' must be one of viewer, operator, admin");
  return r;
}

/// Usernames end up in logs, audit rows and RTU user lists: keep them to a safe alphabet.
std::string checked_username(std::string name) {
  if (name.empty())
    throw bad_input("field 'username' must not be empty");
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      throw bad_input("field 'username' may hold only letters, digits, '.', '_' and '-'");
  return name;
}

}  // namespace

void add_user_routes(router& routes, api_context& ctx) {
  routes.add("GET", "/api/v1/users", access::admin, [&ctx](const exchange_ptr& ex) {
    allow_query(ex->req, {"skip", "limit"});
    const auto window = query_page(ex->req);
    ask(
        ex, sessions(ctx), ctx.settings.actor_timeout,
        [ex, window](paged<user_record>& users) {
          auto list = nlohmann::json::array();
          for (const auto& user : users.items)
            list.push_back(to_json(user));
          ex->reply(json_reply(200, {{"users", std::move(list)},
                                     {"total", users.total},
                                     {"skip", window.skip},
                                     {"limit", window.limit}}));
        },
        caf::get_atom::value, users_atom::value, window);
  });

  routes.add("POST", "/api/v1/users", access::admin, [&ctx](const exchange_ptr& ex) {
    json_body body(ex->req, {"username", "password", "role"});
    auto username = checked_username(body.required_string("username", 64));
    auto password = body.required_string("password", 128);
    if (!body.has("role"))
      throw bad_input("missing required field 'role'");
    const auto r = role_field(body);
    ask(
        ex, sessions(ctx), ctx.settings.actor_timeout,
        [ex](user_record& user) { ex->reply(json_reply(201, to_json(user))); }, create_atom::value,
        user_atom::value, std::move(username), std::move(password), r, ex->req.origin);
  });

  routes.add("GET", "/api/v1/users/{user_id}", access::admin, [&ctx](const exchange_ptr& ex) {
    const auto id = path_id(ex->req, "user_id");
    ask(
        ex, sessions(ctx), ctx.settings.actor_timeout,
        [ex](user_record& user) { ex->reply(json_reply(200, to_json(user))); },
        caf::get_atom::value, user_atom::value, id);
  });

  routes.add("PUT", "/api/v1/users/{user_id}", access::admin, [&ctx](const exchange_ptr& ex) {
    const auto id = path_id(ex->req, "user_id");
    json_body body(ex->req, {"role", "active", "sync_to_rtus"});
    user_update update;
    if (body.has("role")) {
      update.set_role = true;
      update.user_role = role_field(body);
    }
    if (auto active = body.optional_bool("active")) {
      update.set_active = true;
      update.active = *active;
    }
    if (auto sync = body.optional_bool("sync_to_rtus")) {
      update.set_sync_to_rtus = true;
      update.sync_to_rtus = *sync;
    }
    if (!update.set_role && !update.set_active && !update.set_sync_to_rtus)
      throw bad_input("nothing to update: give role, active or sync_to_rtus");
    ask(
        ex, sessions(ctx), ctx.settings.actor_timeout,
        [ex](user_record& user) { ex->reply(json_reply(200, to_json(user))); },
        caf::update_atom::value, user_atom::value, id, update, ex->req.origin);
  });

  routes.add("DELETE", "/api/v1/users/{user_id}", access::admin, [&ctx](const exchange_ptr& ex) {
    const auto id = path_id(ex->req, "user_id");
    ask(
        ex, sessions(ctx), ctx.settings.actor_timeout,
        [ex](caf::ok_atom) {
          ex->reply(json_reply(200, {{"status", "ok"}, {"detail", "user deleted"}}));
        },
        caf::delete_atom::value, user_atom::value, id, ex->req.origin);
  });
}

}  // namespace wtc::gateway
