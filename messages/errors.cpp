#include "messages/errors.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace wtc {

std::string to_string(errc code) {
  switch (code) {
    case errc::bad_request:
      return "bad_request";
    case errc::unauthorized:
      return "unauthorized";
    case errc::forbidden:
      return "forbidden";
    case errc::not_found:
      return "not_found";
    case errc::conflict:
      return "conflict";
    case errc::too_many_requests:
      return "too_many_requests";
    case errc::unavailable:
      return "unavailable";
    case errc::internal:
      return "internal";
  }
  return "unknown";
}

caf::error make_error(errc code, std::string detail) {
  return caf::error{static_cast<std::uint8_t>(code), errc_category,
                    caf::make_message(std::move(detail))};
}

caf::error make_error(errc code) {
  return make_error(code, to_string(code));
}

caf::error make_throttle_error(std::string detail, std::int64_t retry_after_s) {
  return caf::error{static_cast<std::uint8_t>(errc::too_many_requests), errc_category,
                    caf::make_message(std::move(detail), retry_after_s)};
}

error_view view(const caf::error& err) {
  if (err.category() == errc_category) {
    error_view result{static_cast<errc>(err.code()), {}, 0};
    const auto& ctx = err.context();
    if (ctx.match_elements<std::string>()) {
      result.detail = ctx.get_as<std::string>(0);
    } else if (ctx.match_elements<std::string, std::int64_t>()) {
      result.detail = ctx.get_as<std::string>(0);
      result.retry_after_s = ctx.get_as<std::int64_t>(1);
    }
    if (result.detail.empty())
      result.detail = to_string(result.code);
    return result;
  }
  if (err.category() == caf::atom("system")) {
    auto code = static_cast<caf::sec>(err.code());
    if (code == caf::sec::request_timeout)
      return {errc::unavailable, "the responsible subsystem did not answer in time"};
    return {errc::unavailable, "the responsible subsystem is restarting: " + to_string(code)};
  }
  return {errc::internal, "unexpected error"};
}

}  // namespace wtc
