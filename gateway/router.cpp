#include "gateway/router.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include "gateway/replies.hpp"
#include "gateway/uri.hpp"

namespace wtc::gateway {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  out.reserve(8);  // deeper than any route: one allocation per request, not one per level
  if (!path.empty() && path.front() == '/')
    path.remove_prefix(1);
  while (true) {
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos)
      break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool is_parameter(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

std::string decode_segment(std::string_view raw) {
  auto decoded = percent_decode(raw);
  if (!decoded)
    throw bad_input("malformed percent-escape in the path");
  if (*decoded == "." || *decoded == "..")
    throw bad_input("'.' and '..' are not valid names");
  for (unsigned char c : *decoded)
    if (c < 0x20 || c == 0x7f || c == '/' || c == '\\')
      throw bad_input("a path segment holds a '/', '\\' or control character");
  return std::move(*decoded);
}

}  // namespace

std::string_view to_string(access level) {
  switch (level) {
    case access::anonymous:
      return "anonymous";
    case access::viewer:
      return "viewer";
    case access::operator_:
      return "operator";
    case access::admin:
      return "admin";
  }
  return "anonymous";
}

void router::add(std::string method, std::string pattern, access required, handler fn) {
  route r;
  r.label = method + " " + pattern;
  for (auto segment : split_path(pattern))
    r.segments.emplace_back(segment);
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.required = required;
  r.fn = std::move(fn);
  for (const auto& existing : routes_)
    if (existing.label == r.label)
      throw std::logic_error("route added twice: " + r.label);
  routes_.push_back(std::move(r));
}

router::match router::find(std::string_view method, std::string_view raw_path) const {
  // A literal segment beats a parameter: "/alarms/rules" must not be read as alarm "rules", and
  // "/trends/stats" not as trend "stats". The path is the most literal pattern that matches it,
  // whatever the method: a method that pattern lacks is a 405 listing its methods, not a request
  // for the parameter route ("DELETE /trends/tags" is not about a tag named "tags").
  match result;
  std::size_t best_parameters = SIZE_MAX;
  std::vector<std::pair<std::size_t, std::size_t>> candidates;  // route index, parameters
  const auto segments = split_path(raw_path);
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const auto& r = routes_[i];
    if (r.segments.size() != segments.size())
      continue;
    std::size_t parameters = 0;
    bool same = true;
    for (std::size_t k = 0; k < segments.size() && same; ++k) {
      if (is_parameter(r.segments[k]))
        same = !segments[k].empty() && ++parameters;
      else
        same = r.segments[k] == segments[k];
    }
    if (!same)
      continue;
    candidates.emplace_back(i, parameters);
    best_parameters = std::min(best_parameters, parameters);
  }
  std::vector<std::string_view> allowed;
  for (const auto& [i, parameters] : candidates) {
    if (parameters != best_parameters)
      continue;
    const auto& r = routes_[i];
    if (r.method != method) {
      if (std::find(allowed.begin(), allowed.end(), r.method) == allowed.end())
        allowed.push_back(r.method);
    } else if (result.found == nullptr) {
      result.found = &r;
      result.index = static_cast<int>(i);
    }
  }
  for (auto m : allowed)
    result.allowed_methods += (result.allowed_methods.empty() ? "" : ", ") + std::string(m);
  if (result.found) {
    const auto& r = *result.found;
    for (std::size_t k = 0; k < segments.size(); ++k)
      if (is_parameter(r.segments[k]))
        result.params.emplace(r.segments[k].substr(1, r.segments[k].size() - 2),
                              decode_segment(segments[k]));
  }
  return result;
}

}  // namespace wtc::gateway
