#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/exchange.hpp"

namespace wtc::gateway {

/// Reads a JSON object body strictly: malformed JSON, nesting deeper than a request ever needs,
/// a non-object, an unknown field, a missing required field or a value of the wrong type or size
/// each throw bad_input with a message that names the problem.
class json_body {
 public:
  json_body(const request& req, const std::vector<std::string_view>& allowed_fields);

  std::string required_string(std::string_view field, std::size_t max_length) const;
  std::optional<std::string> optional_string(std::string_view field, std::size_t max_length) const;
  std::optional<bool> optional_bool(std::string_view field) const;
  std::optional<double> optional_number(std::string_view field) const;
  double required_number(std::string_view field) const;
  std::optional<std::int64_t> optional_integer(std::string_view field, std::int64_t min,
                                               std::int64_t max) const;
  bool has(std::string_view field) const;
  const nlohmann::json& raw() const { return doc_; }

 private:
  const nlohmann::json* find(std::string_view field) const;
  nlohmann::json doc_;
};

/// Query helpers: absent → `fallback`; present but malformed or out of range → bad_input.
std::int64_t query_integer(const request& req, const std::string& name, std::int64_t fallback,
                           std::int64_t min, std::int64_t max);
std::optional<std::string> query_string(const request& req, const std::string& name,
                                        std::size_t max_length);
/// An ISO 8601 time parameter, as UTC milliseconds.
std::optional<std::int64_t> query_time(const request& req, const std::string& name);
/// skip (default 0) and limit (default 100, at most 1000).
page query_page(const request& req);
/// Rejects query parameters other than `allowed`, naming the first unknown one.
void allow_query(const request& req, std::initializer_list<std::string_view> allowed);

/// `value` if it is one of `allowed` (exact spelling), else bad_input naming `what` and the
/// choices.
std::string one_of(const std::string& value, std::initializer_list<std::string_view> allowed,
                   const std::string& what);

/// A PROFINET station name (letters, digits, '-', '.', '_'; 1 to 32 characters, the column's
/// size), or bad_input naming `what`.
std::string checked_station(const std::string& name, const std::string& what);
/// The path parameter {station_name}, checked.
std::string station_param(const request& req);

/// A path parameter that must be a positive integer id.
std::int64_t path_id(const request& req, const std::string& name);

}  // namespace wtc::gateway
