// Historian/Trends: the contract's tag list and create, each tag's GET/PUT/DELETE in the style of
// the alarm rules, the trend of a tag (raw or aggregated, JSON or CSV) and the storage statistics.
// Viewers read; admins write tags. The routes check what can be checked without data; the
// historian checks the rest (unique names and points, what a query would return) and answers
// with a domain error. docs/historian.md describes the historian, docs/api-decisions.md the
// choices made here.

#include <array>
#include <charconv>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/rollup.hpp"
#include "core/time.hpp"
#include "gateway/actor_bridge.hpp"
#include "gateway/api.hpp"
#include "gateway/json_body.hpp"
#include "gateway/json_mapping.hpp"
#include "messages/interfaces.hpp"

namespace wtc::gateway {
namespace {

historian_api historian(api_context& ctx) {
  return lookup<historian_api>(ctx.sys, names::historian);
}

// The columns' sizes (historian_tags: tag_name VARCHAR(64), unit VARCHAR(16)) and the ranges the
// historian takes: a sample at most every 100 ms and at least once a day, a heartbeat (a stored
// point at least every max_interval_ms) from a second to a week.
constexpr std::size_t max_tag_name = 64;
constexpr std::size_t max_unit = 16;
constexpr std::int64_t max_slot = 32767;
constexpr std::int64_t min_sample_rate_ms = 100;
constexpr std::int64_t max_sample_rate_ms = 86'400'000;
constexpr std::int64_t min_heartbeat_ms = 1'000;
constexpr std::int64_t max_heartbeat_ms = 7 * 86'400'000LL;
// The widths of a trend's buckets: from a second to a day (finer is the raw data, coarser more
// than a trend needs).
constexpr std::int64_t min_bucket_ms = 1'000;
constexpr std::int64_t max_bucket_ms = 86'400'000;
constexpr std::int64_t default_bucket_ms = 60'000;

const std::vector<std::string_view> tag_fields = {
    "rtu_station",    "slot",     "tag_name",    "unit",
    "sample_rate_ms", "deadband", "compression", "max_interval_ms",
    "enabled",        "id",       "created_at",  "updated_at"};
const std::vector<std::string_view> tag_shown_only = {"id", "created_at", "updated_at"};

/// The fields of `body` written over `tag`; each checked on its own here, together (unique name
/// and point) by the historian.
historian_tag_record merged(historian_tag_record tag, const json_body& body) {
  const auto& raw = body.raw();
  const auto given_null = [&raw](const char* field) {
    auto it = raw.find(field);
    return it != raw.end() && it->is_null();
  };
  for (auto field : {"rtu_station", "slot", "tag_name", "sample_rate_ms", "deadband", "compression",
                     "max_interval_ms", "enabled"})
    if (given_null(field))
      throw bad_input(std::string("field '") + field + "' must not be null");
  if (body.has("tag_name")) {
    tag.tag_name = *body.optional_string("tag_name", max_tag_name);
    if (tag.tag_name.empty())
      throw bad_input("field 'tag_name' must not be empty");
    for (unsigned char c : tag.tag_name)
      if (c < 0x20 || c == 0x7f)
        throw bad_input("field 'tag_name' must not hold control characters");
  }
  if (body.has("rtu_station"))
    tag.rtu_station =
        checked_station(*body.optional_string("rtu_station", 32), "field 'rtu_station'");
  if (body.has("slot"))
    tag.slot = static_cast<std::int32_t>(*body.optional_integer("slot", 0, max_slot));
  if (given_null("unit"))
    tag.unit.clear();
  else if (body.has("unit"))
    tag.unit = *body.optional_string("unit", max_unit);
  if (body.has("sample_rate_ms"))
    tag.sample_rate_ms =
        *body.optional_integer("sample_rate_ms", min_sample_rate_ms, max_sample_rate_ms);
  if (body.has("deadband")) {
    tag.deadband = *body.optional_number("deadband");
    if (!std::isfinite(tag.deadband) || tag.deadband < 0)
      throw bad_input("field 'deadband' must be a finite number, 0 or more");
  }
  if (body.has("compression"))
    tag.compression = one_of(*body.optional_string("compression", 16),
                             {"none", "deadband", "swinging_door"}, "field 'compression'");
  if (body.has("max_interval_ms"))
    tag.max_interval_ms =
        *body.optional_integer("max_interval_ms", min_heartbeat_ms, max_heartbeat_ms);
  if (body.has("enabled"))
    tag.enabled = *body.optional_bool("enabled");
  return tag;
}

/// A required time parameter of the trend query.
std::int64_t required_time(const request& req, const std::string& name) {
  auto ms = query_time(req, name);
  if (!ms)
    throw bad_input("query parameter '" + name +
                    "' is required: an ISO 8601 time such as 2026-01-17T12:00:00Z");
  return *ms;
}

/// The trend query of GET /api/v1/trends/{tag_id}: [start, end), the aggregation and the width
/// of its buckets.
trend_query trend_query_from(const request& req) {
  trend_query q;
  q.tag_id = path_id(req, "tag_id");
  q.start = required_time(req, "start");
  q.end = required_time(req, "end");
  if (q.end <= q.start)
    throw bad_input("'end' must be after 'start'");
  auto agg = core::aggregation::none;
  if (auto text = query_string(req, "aggregation", 16);
      text && !core::parse_aggregation(*text, agg))
    throw bad_input(
        "query parameter 'aggregation' must be one of none, avg, min, max, first, last, count");
  q.aggregation = std::string(core::to_string(agg));
  q.interval_ms = default_bucket_ms;
  if (auto text = query_string(req, "interval", 16)) {
    // Raw data has no buckets: an interval without an aggregation is a mistake worth naming
    // rather than an answer that is not what the client thinks it is.
    if (agg == core::aggregation::none)
      throw bad_input(
          "query parameter 'interval' is the width of an aggregation's buckets: give "
          "'aggregation' too (avg, min, max, first, last or count)");
    auto ms = core::parse_interval(*text);
    if (!ms)
      throw bad_input(
          "query parameter 'interval' must be a positive whole number and a unit, such as 1s, "
          "5m, 1h or 1d");
    if (*ms < min_bucket_ms || *ms > max_bucket_ms)
      throw bad_input("query parameter 'interval' must be from 1s to 1d");
    q.interval_ms = *ms;
  }
  return q;
}

/// A file name for Content-Disposition: the tag's name with anything but letters, digits, '-',
/// '_' and '.' replaced by '_' (a tag name may hold quotes, spaces or non-ASCII letters).
std::string file_name(const std::string& tag_name) {
  std::string out;
  for (unsigned char c : tag_name) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.';
    out += safe ? static_cast<char>(c) : '_';
  }
  return out.empty() ? "trend" : out;
}

/// The trend as RFC 4180 CSV: `time,value,quality`, ISO 8601 times, an empty value where JSON
/// has null, CRLF line ends; an attachment named after the tag.
response trend_csv(const trend_series& series) {
  std::string body = "time,value,quality\r\n";
  body.reserve(body.size() + series.points.size() * 48);
  std::array<char, 32> number{};
  for (const auto& p : series.points) {
    body += core::format_iso8601(p.timestamp);
    body += ',';
    if (std::isfinite(p.value)) {
      // The shortest text that reads back as the same double, as JSON has it.
      auto [end, ec] = std::to_chars(number.data(), number.data() + number.size(), p.value);
      body.append(number.data(), ec == std::errc{} ? end : number.data());
    }
    body += ',';
    body += historian_quality_name(p.quality);
    body += "\r\n";
  }
  response res;
  res.body = std::move(body);
  res.content_type = "text/csv; charset=utf-8";
  res.headers.emplace_back("Content-Disposition",
                           "attachment; filename=\"" + file_name(series.tag.tag_name) + ".csv\"");
  return res;
}

}  // namespace

void add_trend_routes(router& routes, api_context& ctx) {
  const auto timeout = ctx.settings.actor_timeout;

  // "/trends/tags" and "/trends/stats" are literal paths: the router prefers them to
  // "/trends/{tag_id}" (a tag id is a positive integer anyway).

  routes.add("GET", "/api/v1/trends/tags", access::viewer, [&ctx, timeout](const exchange_ptr& ex) {
    allow_query(ex->req, {});
    ask(ex, historian(ctx), timeout, reply_list<historian_tag_record>(ex), caf::get_atom::value,
        hist_tag_atom::value);
  });

  routes.add("POST", "/api/v1/trends/tags", access::admin, [&ctx, timeout](const exchange_ptr& ex) {
    json_body body(ex->req, tag_fields);
    for (auto field : tag_shown_only)
      if (body.has(field))
        throw bad_input("field '" + std::string(field) + "' is set by the controller");
    for (auto field : {"rtu_station", "slot", "tag_name"})
      if (!body.has(field))
        throw bad_input(std::string("missing required field '") + field + "'");
    ask(ex, historian(ctx), timeout, reply_one<historian_tag_record>(ex), create_atom::value,
        merged(historian_tag_record{}, body), ex->req.origin);
  });

  routes.add("GET", "/api/v1/trends/tags/{tag_id}", access::viewer,
             [&ctx, timeout](const exchange_ptr& ex) {
               allow_query(ex->req, {});
               ask(ex, historian(ctx), timeout, reply_one<historian_tag_record>(ex),
                   caf::get_atom::value, hist_tag_atom::value, path_id(ex->req, "tag_id"));
             });

  // A PUT may give any of the fields: the others keep their values. What GET shows may come
  // back as it was (id, created_at, updated_at are the controller's).
  routes.add("PUT", "/api/v1/trends/tags/{tag_id}", access::admin,
             [&ctx, timeout](const exchange_ptr& ex) {
               const auto id = path_id(ex->req, "tag_id");
               auto body = std::make_shared<json_body>(ex->req, tag_fields);
               if (body->has("id") && body->raw().at("id") != id)
                 throw bad_input("field 'id' does not match the tag in the path");
               // Checked here, where a bad_input becomes the 400: the merge below runs in the
               // answer's handler, which can no longer throw one.
               merged(historian_tag_record{}, *body);
               ask(
                   ex, historian(ctx), timeout,
                   [&ctx, timeout, ex, body](historian_tag_record& current) {
                     auto tag = merged(current, *body);
                     ask(ex, historian(ctx), timeout, reply_one<historian_tag_record>(ex),
                         caf::update_atom::value, tag, ex->req.origin);
                   },
                   caf::get_atom::value, hist_tag_atom::value, id);
             });

  routes.add("DELETE", "/api/v1/trends/tags/{tag_id}", access::admin,
             [&ctx, timeout](const exchange_ptr& ex) {
               const auto id = path_id(ex->req, "tag_id");
               ask(
                   ex, historian(ctx), timeout,
                   [ex, id](caf::ok_atom) {
                     ex->reply(json_reply(
                         200, {{"status", "ok"},
                               {"detail", "historian tag " + std::to_string(id) + " deleted"}}));
                   },
                   caf::delete_atom::value, hist_tag_atom::value, id, ex->req.origin);
             });

  routes.add("GET", "/api/v1/trends/stats", access::viewer,
             [&ctx, timeout](const exchange_ptr& ex) {
               allow_query(ex->req, {});
               ask(ex, historian(ctx), timeout, reply_one<historian_status>(ex),
                   caf::get_atom::value, stats_atom::value, historian_atom::value);
             });

  routes.add("GET", "/api/v1/trends/{tag_id}", access::viewer,
             [&ctx, timeout](const exchange_ptr& ex) {
               allow_query(ex->req, {"start", "end", "aggregation", "interval", "format"});
               const bool csv = one_of(query_string(ex->req, "format", 8).value_or("json"),
                                       {"json", "csv"}, "query parameter 'format'") == "csv";
               ask(
                   ex, historian(ctx), timeout,
                   [ex, csv](trend_series& series) {
                     ex->reply(csv ? trend_csv(series) : json_reply(200, to_json(series)));
                   },
                   caf::get_atom::value, trend_atom::value, trend_query_from(ex->req));
             });
}

}  // namespace wtc::gateway
