#pragma once

#include <functional>

#include "gateway/router.hpp"

namespace wtc::gateway {

/// Resolves a request's session and calls `next` with it filled in, or replies with the error.
using authenticator =
    std::function<void(const exchange_ptr& ex, std::function<void(const exchange_ptr&)> next)>;

/// From a parsed request to its handler: the route, then the caller's identity and role, then
/// the handler, with every failure on the way answered as `{"detail": ...}`.
class dispatcher {
 public:
  dispatcher(const router& routes, authenticator authenticate)
      : routes_(routes), authenticate_(std::move(authenticate)) {}

  void operator()(const exchange_ptr& ex) const;

 private:
  const router& routes_;
  authenticator authenticate_;
};

/// Runs a handler, answering 400 for bad_input and 500 for anything else it throws.
void invoke(const handler& fn, const exchange_ptr& ex);

}  // namespace wtc::gateway
