#pragma once

// The WebSocket protocol (RFC 6455) as the server needs it, without I/O: the handshake's accept
// key, and a parser for what clients send. The sessions in websocket_session.cpp write the
// frames themselves (messages/live_board.hpp frames the hub's messages once for every client),
// so that one write carries many messages; this is the reading half.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wtc::gateway {

/// Close codes of RFC 6455 section 7.4.1 that the server sends.
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;
inline constexpr std::uint16_t invalid_payload = 1007;  // text that is not UTF-8
inline constexpr std::uint16_t too_big = 1009;
}  // namespace close_code

/// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key: base64(SHA-1(key + GUID)).
std::string websocket_accept_key(std::string_view client_key);

/// Whether `key` is a valid Sec-WebSocket-Key: the base64 form of 16 bytes.
bool valid_websocket_key(std::string_view key);

/// Whether `text` is well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool valid_utf8(std::string_view text);

/// What a client sent, one complete unit at a time.
struct ws_event {
  enum class kind {
    text,    // a whole text message (fragments joined), valid UTF-8
    binary,  // a whole binary message
    ping,    // payload: the ping's data, to echo in the pong
    pong,
    close,  // code (1005 when the frame had none) and reason
    error,  // the client broke the protocol: close with `code`; `reason` says why
  };
  kind what = kind::text;
  std::string payload;
  std::uint16_t code = 0;
};

/// Turns the bytes a client sends into events. Client frames must be masked; control frames
/// must be final and at most 125 bytes; a message (all its fragments) may hold at most
/// `max_message` bytes, which the parser checks from the frame headers, before the payload
/// arrives, so that its buffer never holds more than one frame of that size. After an error
/// event the parser takes nothing more.
class ws_frame_parser {
 public:
  explicit ws_frame_parser(std::size_t max_message) : max_message_(max_message) {}

  /// Consumes `size` bytes and appends the events they complete.
  void feed(const char* data, std::size_t size, std::vector<ws_event>& out);

 private:
  /// Parses one frame from the front of buffer_, if it is all there; false when more is needed.
  bool next_frame(std::vector<ws_event>& out);
  void fail(std::uint16_t code, std::string reason, std::vector<ws_event>& out);

  std::size_t max_message_;
  std::string buffer_;       // received, not yet parsed
  std::string message_;      // the fragments of the message in progress
  bool in_message_ = false;  // a text or binary frame without FIN has come
  bool message_is_text_ = false;
  bool failed_ = false;
};

}  // namespace wtc::gateway
