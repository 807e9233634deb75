#include "storage/columns.hpp"

#include <chrono>
#include <string>

#include "storage/store.hpp"

namespace wtc::storage {

role role_from_column(std::string_view text) {
  role parsed = role::viewer;
  if (!parse_role(text, parsed))
    throw storage_error(errc::internal,
                        "the database holds an unknown role '" + std::string(text) + "'");
  return parsed;
}

void check_window(const page& window) {
  if (window.skip < 0 || window.limit < 0)
    throw storage_error(errc::bad_request, "skip and limit must not be negative");
}

timestamp_ms clock_now() {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  using std::chrono::system_clock;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace wtc::storage
