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

caf::error make_error(errc code) { return make_error(code, to_string(code)); }

error_view view(const caf::error& err) {
  if (err.category() == errc_category) {
    std::string detail;
    const auto& ctx = err.context();
    if (ctx.match_elements<std::string>())
      detail = ctx.get_as<std::string>(0);
    return {static_cast<errc>(err.code()), detail};
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
