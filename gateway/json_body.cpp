#include "gateway/json_body.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/time.hpp"
#include "gateway/replies.hpp"

namespace wtc::gateway {
namespace {

constexpr int max_json_depth = 32;

/// nlohmann's parser recurses once per nesting level: a body of a million '[' would overflow the
/// stack. Count the depth first, outside of strings.
void check_depth(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > max_json_depth)
        throw bad_input("JSON nested deeper than " + std::to_string(max_json_depth) + " levels");
    } else if (c == ']' || c == '}')
      --depth;
  }
}

std::optional<std::int64_t> to_integer(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

std::string quote_name(std::string_view field) {
  return "'" + std::string(field) + "'";
}

bool station_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

}  // namespace

json_body::json_body(const request& req, const std::vector<std::string_view>& allowed_fields) {
  if (req.body.empty())
    throw bad_input("a JSON object body is required");
  if (!req.content_type.empty() && req.content_type.find("application/json") == std::string::npos)
    throw bad_input("Content-Type must be application/json");
  check_depth(req.body);
  try {
    doc_ = nlohmann::json::parse(req.body);
  } catch (const nlohmann::json::parse_error& e) {
    throw bad_input(std::string("malformed JSON: ") + e.what());
  }
  if (!doc_.is_object())
    throw bad_input("the body must be a JSON object");
  for (const auto& [key, value] : doc_.items()) {
    if (std::find(allowed_fields.begin(), allowed_fields.end(), key) == allowed_fields.end())
      throw bad_input("unknown field " + quote_name(key));
  }
}

const nlohmann::json* json_body::find(std::string_view field) const {
  auto it = doc_.find(std::string(field));
  if (it == doc_.end() || it->is_null())
    return nullptr;
  return &*it;
}

bool json_body::has(std::string_view field) const {
  return find(field) != nullptr;
}

std::string json_body::required_string(std::string_view field, std::size_t max_length) const {
  auto value = optional_string(field, max_length);
  if (!value)
    throw bad_input("missing required field " + quote_name(field));
  return *value;
}

std::optional<std::string> json_body::optional_string(std::string_view field,
                                                      std::size_t max_length) const {
  const auto* v = find(field);
  if (v == nullptr)
    return std::nullopt;
  if (!v->is_string())
    throw bad_input("field " + quote_name(field) + " must be a string");
  auto text = v->get<std::string>();
  if (text.size() > max_length)
    throw bad_input("field " + quote_name(field) + " is longer than " + std::to_string(max_length) +
                    " characters");
  return text;
}

std::optional<bool> json_body::optional_bool(std::string_view field) const {
  const auto* v = find(field);
  if (v == nullptr)
    return std::nullopt;
  if (!v->is_boolean())
    throw bad_input("field " + quote_name(field) + " must be true or false");
  return v->get<bool>();
}

std::optional<double> json_body::optional_number(std::string_view field) const {
  const auto* v = find(field);
  if (v == nullptr)
    return std::nullopt;
  if (!v->is_number())
    throw bad_input("field " + quote_name(field) + " must be a number");
  return v->get<double>();
}

double json_body::required_number(std::string_view field) const {
  auto value = optional_number(field);
  if (!value)
    throw bad_input("missing required field " + quote_name(field));
  return *value;
}

std::optional<std::int64_t> json_body::optional_integer(std::string_view field, std::int64_t min,
                                                        std::int64_t max) const {
  const auto* v = find(field);
  if (v == nullptr)
    return std::nullopt;
  if (!v->is_number_integer())
    throw bad_input("field " + quote_name(field) + " must be an integer");
  const auto value = v->get<std::int64_t>();
  if (value < min || value > max)
    throw bad_input("field " + quote_name(field) + " must be between " + std::to_string(min) +
                    " and " + std::to_string(max));
  return value;
}

std::int64_t query_integer(const request& req, const std::string& name, std::int64_t fallback,
                           std::int64_t min, std::int64_t max) {
  auto it = req.query.find(name);
  if (it == req.query.end())
    return fallback;
  auto value = to_integer(it->second);
  if (!value)
    throw bad_input("query parameter '" + name + "' must be an integer");
  if (*value < min || *value > max)
    throw bad_input("query parameter '" + name + "' must be between " + std::to_string(min) +
                    " and " + std::to_string(max));
  return *value;
}

std::optional<std::string> query_string(const request& req, const std::string& name,
                                        std::size_t max_length) {
  auto it = req.query.find(name);
  if (it == req.query.end())
    return std::nullopt;
  if (it->second.size() > max_length)
    throw bad_input("query parameter '" + name + "' is longer than " + std::to_string(max_length) +
                    " characters");
  return it->second;
}

std::optional<std::int64_t> query_time(const request& req, const std::string& name) {
  auto it = req.query.find(name);
  if (it == req.query.end())
    return std::nullopt;
  auto ms = core::parse_iso8601(it->second);
  if (!ms)
    throw bad_input("query parameter '" + name +
                    "' must be an ISO 8601 time such as 2026-01-17T12:00:00Z");
  return ms;
}

page query_page(const request& req) {
  page window;
  window.skip = query_integer(req, "skip", 0, 0, 1'000'000'000);
  window.limit = query_integer(req, "limit", 100, 1, 1000);
  return window;
}

void allow_query(const request& req, std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : req.query)
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      throw bad_input("unknown query parameter '" + key + "'");
}

std::string one_of(const std::string& value, std::initializer_list<std::string_view> allowed,
                   const std::string& what) {
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end())
    return value;
  std::string names;
  for (auto name : allowed)
    names += (names.empty() ? "" : ", ") + std::string(name);
  throw bad_input(what + " must be one of " + names);
}

std::int64_t path_id(const request& req, const std::string& name) {
  auto it = req.params.find(name);
  auto value = it == req.params.end() ? std::nullopt : to_integer(it->second);
  if (!value || *value <= 0)
    throw bad_input("'" + name + "' must be a positive integer");
  return *value;
}

std::string checked_station(const std::string& name, const std::string& what) {
  if (name.empty() || name.size() > 32)
    throw bad_input(what + " must be 1 to 32 characters");
  for (char c : name)
    if (!station_char(c))
      throw bad_input(what + " may hold only letters, digits, '-', '.' and '_'");
  return name;
}

std::string station_param(const request& req) {
  return checked_station(req.params.at("station_name"), "station name");
}

}  // namespace wtc::gateway
