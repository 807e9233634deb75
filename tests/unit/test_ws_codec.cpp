#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gateway/ws_codec.hpp"

namespace {

using wtc::gateway::valid_utf8;
using wtc::gateway::valid_websocket_key;
using wtc::gateway::websocket_accept_key;
using wtc::gateway::ws_event;
using wtc::gateway::ws_frame_parser;
using kind = ws_event::kind;

/// A frame as a client sends it: masked with `mask`.
std::string client_frame(std::uint8_t first_byte, const std::string& payload,
                         const char mask[4] = "\x12\x34\x56\x78") {
  std::string out;
  out += static_cast<char>(first_byte);
  if (payload.size() < 126) {
    out += static_cast<char>(0x80 | payload.size());
  } else if (payload.size() <= 0xFFFF) {
    out += static_cast<char>(0x80 | 126);
    out += static_cast<char>(payload.size() >> 8);
    out += static_cast<char>(payload.size() & 0xFF);
  } else {
    out += static_cast<char>(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8)
      out += static_cast<char>((payload.size() >> shift) & 0xFF);
  }
  out.append(mask, 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    out += static_cast<char>(payload[i] ^ mask[i % 4]);
  return out;
}

std::vector<ws_event> parse(const std::string& bytes, std::size_t max_message = 4096) {
  ws_frame_parser parser(max_message);
  std::vector<ws_event> out;
  parser.feed(bytes.data(), bytes.size(), out);
  return out;
}

TEST(WebSocketHandshake, AcceptKeyIsTheOneOfRfc6455) {
  // RFC 6455 section 1.3.
  EXPECT_EQ(websocket_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_TRUE(valid_websocket_key("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_FALSE(valid_websocket_key(""));
  EXPECT_FALSE(valid_websocket_key("dGhlIHNhbXBsZSBub25jZQ"));
  EXPECT_FALSE(valid_websocket_key("dGhlIHNhbXBsZSBub25j*Q=="));
}

TEST(Utf8, AcceptsWellFormedTextAndRejectsTheRest) {
  EXPECT_TRUE(
      valid_utf8("pH 7.2, 25 \xC2\xB0"
                 "C, \xE2\x82\xAC, \xF0\x9F\x92\xA7"));
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));      // a surrogate
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(valid_utf8("\xE2\x82"));          // cut short
  EXPECT_FALSE(valid_utf8("\xFF"));
}

TEST(WebSocketParser, ReadsMaskedTextOfEveryLengthForm) {
  for (std::size_t size : {0u, 5u, 125u, 126u, 4000u, 70000u}) {
    const std::string text(size, 'a');
    auto events = parse(client_frame(0x81, text), 100000);
    ASSERT_EQ(events.size(), 1u) << size;
    EXPECT_EQ(events[0].what, kind::text);
    EXPECT_EQ(events[0].payload, text);
  }
}

TEST(WebSocketParser, JoinsFragmentsAndAnswersControlFramesBetweenThem) {
  const std::string bytes = client_frame(0x01, R"({"type":)") + client_frame(0x89, "hi") +
                            client_frame(0x80, R"("subscribe"})");
  auto events = parse(bytes);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].what, kind::ping);
  EXPECT_EQ(events[0].payload, "hi");
  EXPECT_EQ(events[1].what, kind::text);
  EXPECT_EQ(events[1].payload, R"({"type":"subscribe"})");
}

TEST(WebSocketParser, TakesBytesInAnyPieces) {
  const std::string bytes = client_frame(0x81, std::string(300, 'z')) + client_frame(0x8A, "f7");
  ws_frame_parser parser(4096);
  std::vector<ws_event> events;
  for (char c : bytes)
    parser.feed(&c, 1, events);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].payload, std::string(300, 'z'));
  EXPECT_EQ(events[1].what, kind::pong);
  EXPECT_EQ(events[1].payload, "f7") << "the flow control matches pongs by their payload";
}

TEST(WebSocketParser, ReadsCloseCodesAndReasons) {
  auto events = parse(client_frame(0x88, std::string("\x03\xE8"
                                                     "bye",
                                                     5)));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].what, kind::close);
  EXPECT_EQ(events[0].code, 1000);
  EXPECT_EQ(events[0].payload, "bye");
  events = parse(client_frame(0x88, ""));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].code, 1005) << "no code given";
}

struct broken {
  const char* why;
  std::string bytes;
  std::uint16_t code;
};

TEST(WebSocketParser, ProtocolErrorsEndTheStreamWithTheRightCloseCode) {
  std::string unmasked = "\x81\x02hi";
  const std::vector<broken> cases{
      {"unmasked", unmasked, 1002},
      {"reserved bit", client_frame(0xC1, "x"), 1002},
      {"unknown opcode", client_frame(0x83, "x"), 1002},
      {"fragmented ping", client_frame(0x09, "x"), 1002},
      {"long ping", client_frame(0x89, std::string(126, 'p')), 1002},
      {"stray continuation", client_frame(0x80, "x"), 1002},
      {"message inside a message", client_frame(0x01, "a") + client_frame(0x81, "b"), 1002},
      {"too big", client_frame(0x81, std::string(5000, 'x')), 1009},
      {"too big in fragments",
       client_frame(0x01, std::string(3000, 'x')) + client_frame(0x80, std::string(3000, 'x')),
       1009},
      {"not UTF-8", client_frame(0x81, "\xC0\xAF"), 1007},
      {"one-byte close", client_frame(0x88, "\x03"), 1002},
      {"reserved close code", client_frame(0x88, std::string("\x03\xED", 2)), 1002},
  };
  for (const auto& c : cases) {
    auto events = parse(c.bytes);
    ASSERT_FALSE(events.empty()) << c.why;
    EXPECT_EQ(events.back().what, kind::error) << c.why;
    EXPECT_EQ(events.back().code, c.code) << c.why;
    EXPECT_FALSE(events.back().payload.empty()) << c.why;
  }
}

TEST(WebSocketParser, RefusesAnOversizedFrameFromItsHeaderAlone) {
  // Only the header of a 1 GiB frame: the parser must not wait to buffer it.
  std::string header = "\x81\xFF";
  for (int shift = 56; shift >= 0; shift -= 8)
    header += static_cast<char>((std::uint64_t{1} << 30 >> shift) & 0xFF);
  auto events = parse(header);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].code, 1009);
}

TEST(WebSocketParser, TakesNothingAfterAnError) {
  ws_frame_parser parser(4096);
  std::vector<ws_event> events;
  const std::string bad = "\x81\x02hi";
  parser.feed(bad.data(), bad.size(), events);
  const std::string good = client_frame(0x81, "ok");
  parser.feed(good.data(), good.size(), events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].what, kind::error);
}

}  // namespace
