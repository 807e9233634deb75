#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace wtc::gateway {

/// Writes an HTTP/1.x response's status line and header fields into a caller-owned buffer, so a
/// reply goes out as that buffer and the body, in one gathered write, with no per-field
/// allocation. The body itself is never copied.
class response_head {
 public:
  /// Clears `out` (keeping its capacity) and writes the status line. `version` is 10 or 11.
  response_head(std::string& out, unsigned status, unsigned version);

  /// Appends one field. A CR, LF or NUL in the value is replaced by a space: a value echoed from
  /// a request must not be able to start a field or a response of its own.
  void field(std::string_view name, std::string_view value);

  /// Appends Content-Length (except where the status forbids a body: 1xx, 204, 304), the
  /// Connection field the version needs to say `keep_alive`, and the blank line.
  void finish(std::size_t body_size, bool keep_alive);

  /// Whether a response with this status may carry a body.
  static bool allows_body(unsigned status);

 private:
  std::string& out_;
  unsigned status_;
  unsigned version_;
};

}  // namespace wtc::gateway
