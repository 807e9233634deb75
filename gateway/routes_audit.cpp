#include "gateway/actor_bridge.hpp"
#include "gateway/api.hpp"
#include "gateway/json_body.hpp"
#include "gateway/json_mapping.hpp"
#include "messages/interfaces.hpp"

namespace wtc::gateway {

void add_audit_routes(router& routes, api_context& ctx) {
  routes.add("GET", "/api/v1/audit", access::admin, [&ctx](const exchange_ptr& ex) {
    const auto& req = ex->req;
    allow_query(
        req, {"user", "action", "resource_type", "resource_id", "start", "end", "skip", "limit"});
    audit_filter filter;
    filter.user = query_string(req, "user", 64).value_or("");
    filter.action = query_string(req, "action", 32).value_or("");
    filter.resource_type = query_string(req, "resource_type", 32).value_or("");
    filter.resource_id = query_string(req, "resource_id", 64).value_or("");
    filter.start = query_time(req, "start").value_or(0);
    filter.end = query_time(req, "end").value_or(0);
    if (filter.start != 0 && filter.end != 0 && filter.end < filter.start)
      throw bad_input("'end' must not be before 'start'");
    filter.window = query_page(req);
    ask(
        ex, lookup<storage_api>(ctx.sys, names::storage), ctx.settings.actor_timeout,
        [ex, window = filter.window](paged<audit_entry>& found) {
          auto list = nlohmann::json::array();
          for (const auto& entry : found.items)
            list.push_back(to_json(entry));
          ex->reply(json_reply(200, {{"entries", std::move(list)},
                                     {"total", found.total},
                                     {"skip", window.skip},
                                     {"limit", window.limit}}));
        },
        caf::get_atom::value, audit_atom::value, filter);
  });
}

}  // namespace wtc::gateway
