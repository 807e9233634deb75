#pragma once

#include <string>

#include <caf/error.hpp>
#include <nlohmann/json.hpp>

#include "gateway/exchange.hpp"
#include "messages/errors.hpp"

namespace wtc::gateway {

/// Thrown by request parsing helpers: becomes a 400 with the message as detail.
class bad_input : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The HTTP status of each domain error: the one table of the REST edge.
unsigned status_of(errc code);

response json_reply(unsigned status, const nlohmann::json& body);
response error_reply(unsigned status, const std::string& detail);
/// A 401 carries `WWW-Authenticate: Bearer`.
response error_reply(errc code, const std::string& detail);
/// For an error that came back from an actor (domain errors, timeouts, dead actors).
response error_reply(const caf::error& err);

}  // namespace wtc::gateway
