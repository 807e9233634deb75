#include "gateway/ws_codec.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <utility>

namespace wtc::gateway {

namespace {

constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

enum opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

bool valid_close_code(std::uint16_t code) {
  // Section 7.4: 1004-1006 and 1015 are never sent on the wire; 1012-1014 are registered since.
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

}  // namespace

std::string websocket_accept_key(std::string_view client_key) {
  std::string input(client_key);
  input += guid;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  unsigned char encoded[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(encoded, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(n));
}

bool valid_websocket_key(std::string_view key) {
  // 16 bytes in base64: 22 characters and "==".
  if (key.size() != 24 || key.substr(22) != "==")
    return false;
  for (char c : key.substr(0, 22)) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/';
    if (!ok)
      return false;
  }
  return true;
}

bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if ((c & 0xE0) == 0xC0) {
      extra = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (n - i <= extra)
      return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += extra + 1;
  }
  return true;
}

void ws_frame_parser::feed(const char* data, std::size_t size, std::vector<ws_event>& out) {
  if (failed_)
    return;
  buffer_.append(data, size);
  while (!failed_ && next_frame(out)) {
  }
}

void ws_frame_parser::fail(std::uint16_t code, std::string reason, std::vector<ws_event>& out) {
  failed_ = true;
  buffer_.clear();
  message_.clear();
  ws_event e;
  e.what = ws_event::kind::error;
  e.code = code;
  e.payload = std::move(reason);
  out.push_back(std::move(e));
}

bool ws_frame_parser::next_frame(std::vector<ws_event>& out) {
  const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data());
  const std::size_t have = buffer_.size();
  if (have < 2)
    return false;
  const bool fin = (p[0] & 0x80) != 0;
  const std::uint8_t op = p[0] & 0x0F;
  if ((p[0] & 0x70) != 0) {
    fail(close_code::protocol_error, "no extension was negotiated, yet a reserved bit is set", out);
    return false;
  }
  if ((p[1] & 0x80) == 0) {
    fail(close_code::protocol_error, "frames from a client must be masked", out);
    return false;
  }
  const bool control = (op & 0x8) != 0;
  if (op != continuation && op != text && op != binary && op != close && op != ping && op != pong) {
    fail(close_code::protocol_error, "unknown opcode " + std::to_string(op), out);
    return false;
  }
  std::uint64_t length = p[1] & 0x7F;
  std::size_t header = 2;
  if (length == 126) {
    if (have < 4)
      return false;
    length = (std::uint64_t{p[2]} << 8) | p[3];
    header = 4;
  } else if (length == 127) {
    if (have < 10)
      return false;
    length = 0;
    for (int i = 0; i < 8; ++i)
      length = (length << 8) | p[2 + i];
    header = 10;
  }
  if (control && (!fin || length > 125)) {
    fail(close_code::protocol_error, "a control frame must be final and at most 125 bytes", out);
    return false;
  }
  if (!control) {
    if (op == continuation && !in_message_) {
      fail(close_code::protocol_error, "a continuation frame without a message to continue", out);
      return false;
    }
    if (op != continuation && in_message_) {
      fail(close_code::protocol_error, "a new message began before the last one ended", out);
      return false;
    }
    if (length > max_message_ || message_.size() + length > max_message_) {
      fail(close_code::too_big,
           "a message may hold at most " + std::to_string(max_message_) + " bytes", out);
      return false;
    }
  }
  const std::size_t total = header + 4 + static_cast<std::size_t>(length);
  if (have < total)
    return false;

  const unsigned char* mask = p + header;
  std::string payload(static_cast<std::size_t>(length), '\0');
  for (std::size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<char>(p[header + 4 + i] ^ mask[i % 4]);
  buffer_.erase(0, total);

  ws_event e;
  switch (op) {
    case ping:
      e.what = ws_event::kind::ping;
      e.payload = std::move(payload);
      out.push_back(std::move(e));
      return true;
    case pong:
      e.what = ws_event::kind::pong;
      e.payload = std::move(payload);
      out.push_back(std::move(e));
      return true;
    case close:
      e.what = ws_event::kind::close;
      if (payload.size() == 1) {
        fail(close_code::protocol_error, "a close frame's payload cannot be 1 byte", out);
        return false;
      }
      e.code = 1005;  // no status code present
      if (payload.size() >= 2) {
        e.code = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                            static_cast<unsigned char>(payload[1]));
        e.payload = payload.substr(2);
        if (!valid_close_code(e.code)) {
          fail(close_code::protocol_error, "invalid close code " + std::to_string(e.code), out);
          return false;
        }
        if (!valid_utf8(e.payload)) {
          fail(close_code::invalid_payload, "the close reason is not UTF-8", out);
          return false;
        }
      }
      out.push_back(std::move(e));
      return true;
    default:
      break;
  }
  if (op != continuation)
    message_is_text_ = op == text;
  message_ += payload;
  in_message_ = !fin;
  if (!fin)
    return true;
  e.what = message_is_text_ ? ws_event::kind::text : ws_event::kind::binary;
  e.payload = std::move(message_);
  message_.clear();
  if (e.what == ws_event::kind::text && !valid_utf8(e.payload)) {
    fail(close_code::invalid_payload, "a text message must be UTF-8", out);
    return false;
  }
  out.push_back(std::move(e));
  return true;
}

}  // namespace wtc::gateway
