#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace wtc {

/// Domain errors. Every layer reports failure as one of these; the gateway maps each to one HTTP
/// status in a single table (gateway/errors.cpp), so the meaning of a status never drifts.
enum class errc : std::uint8_t {
  bad_request = 1,    // 400: the input is malformed or out of range
  unauthorized,       // 401: no, unknown or expired token, or wrong credentials
  forbidden,          // 403: the role is insufficient, or an interlock refuses
  not_found,          // 404
  conflict,           // 409: duplicate, or the resource's state forbids the change
  too_many_requests,  // 429: throttled; the message carries the retry delay in seconds
  unavailable,        // 503: a dependency (the database) cannot be reached
  internal,           // 500
};

std::string to_string(errc code);

/// The CAF error category of `errc`, registered in register_types().
constexpr caf::atom_value errc_category = caf::atom("wtc");

caf::error make_error(errc code, std::string detail);
caf::error make_error(errc code);

/// A `too_many_requests` error that tells the client when to retry (the Retry-After header).
caf::error make_throttle_error(std::string detail, std::int64_t retry_after_s);

/// Extracts the domain code and detail message from an error that crossed an actor boundary.
/// Errors of other categories (a request timeout, an actor that died) map to `unavailable`.
struct error_view {
  errc code;
  std::string detail;
  std::int64_t retry_after_s = 0;
};
error_view view(const caf::error& err);

}  // namespace wtc
