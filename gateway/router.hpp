#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gateway/exchange.hpp"

namespace wtc::gateway {

struct route {
  std::string method;
  std::string pattern;  // "/api/v1/users/{user_id}"
  access required = access::anonymous;
  handler fn;
  std::vector<std::string> segments;  // the pattern split at '/'; "{name}" marks a parameter
  std::string label;                  // "GET /api/v1/users/{user_id}"
};

/// The table of routes. Every route the gateway answers is in it, with the access it demands:
/// the role test walks it, so a new route is covered the day it is added.
class router {
 public:
  void add(std::string method, std::string pattern, access required, handler fn);

  struct match {
    const route* found = nullptr;
    int index = -1;
    std::unordered_map<std::string, std::string> params;
    std::string allowed_methods;  // set when the path exists but not with this method
  };

  /// Matches a raw (still percent-encoded) path. Throws bad_input when a segment decodes to
  /// something no name may hold: a '/', a NUL or control character, "." or "..".
  match find(std::string_view method, std::string_view raw_path) const;

  const std::vector<route>& routes() const { return routes_; }

 private:
  std::vector<route> routes_;
};

}  // namespace wtc::gateway
