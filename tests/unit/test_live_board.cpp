#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "messages/live_board.hpp"

namespace {

using wtc::append_frame_header;
using wtc::live_board;
using wtc::live_board_config;
using wtc::live_filter;
using wtc::live_frame_ptr;
using wtc::make_live_frame;

/// The messages in what a reader hands out (unmasked text frames, as a client receives them).
std::vector<std::string> messages_in(const std::string& wire) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < wire.size()) {
    EXPECT_EQ(static_cast<unsigned char>(wire[i]), 0x81);
    std::uint64_t len = static_cast<unsigned char>(wire[i + 1]);
    std::size_t header = 2;
    if (len == 126) {
      len = (std::uint64_t{static_cast<unsigned char>(wire[i + 2])} << 8) |
            static_cast<unsigned char>(wire[i + 3]);
      header = 4;
    } else if (len == 127) {
      len = 0;
      for (int k = 0; k < 8; ++k)
        len = (len << 8) | static_cast<unsigned char>(wire[i + 2 + k]);
      header = 10;
    }
    out.push_back(wire.substr(i + header, len));
    i += header + len;
  }
  return out;
}

/// A sensor value: the message text is "<tag>=<value>", which is all these tests look at.
live_frame_ptr value(const std::string& rtu, const std::string& tag, int v) {
  return make_live_frame("sensor_update", rtu, tag, "s|" + rtu + "|" + tag,
                         tag + "=" + std::to_string(v));
}

live_frame_ptr event(const std::string& rtu, const std::string& text) {
  return make_live_frame("rtu_state_change", rtu, "", "", text);
}

struct taken {
  std::vector<std::string> messages;
  std::uint64_t missed = 0;
  bool closing = false;
};

taken take(live_board::reader& r, std::size_t max_bytes = 1 << 20) {
  std::string wire;
  auto result = r.take(wire, max_bytes);
  EXPECT_EQ(messages_in(wire).size(), result.frames);
  return {messages_in(wire), result.missed, result.closing};
}

using list = std::vector<std::string>;

TEST(LiveFrame, IsFramedOnceAsAFinalTextFrameOfEverySize) {
  for (std::size_t size : {0u, 1u, 125u, 126u, 65535u, 65536u, 70000u}) {
    const std::string text(size, 'x');
    auto f = make_live_frame("t", "", "", "", text);
    EXPECT_EQ(f->text(), text) << size;
    const std::size_t header = size < 126 ? 2 : size <= 65535 ? 4 : 10;
    EXPECT_EQ(f->wire.size(), header + size) << size;
    EXPECT_EQ(static_cast<unsigned char>(f->wire[0]), 0x81);
  }
  std::string close;
  append_frame_header(close, 0x8, 2);
  EXPECT_EQ(close, std::string("\x88\x02", 2));
}

TEST(LiveBoard, AReaderThatKeepsUpGetsEveryFrameInOrder) {
  live_board board;
  auto r = board.open_reader([] {});
  board.publish({value("rtu-1", "T1", 1), value("rtu-1", "T2", 1), event("rtu-1", "up")});
  board.publish({value("rtu-1", "T1", 2)});
  auto got = take(*r);
  // T1=1 was superseded by T1=2 before the reader looked: only the latest of a point goes out.
  EXPECT_EQ(got.messages, (list{"T2=1", "up", "T1=2"}));
  EXPECT_EQ(got.missed, 1u);
  board.publish({value("rtu-1", "T1", 3)});
  got = take(*r);
  EXPECT_EQ(got.messages, (list{"T1=3"}));
  EXPECT_EQ(got.missed, 0u);
}

TEST(LiveBoard, AReaderSeesOnlyWhatIsPublishedAfterItOpened) {
  live_board board;
  board.publish({value("rtu-1", "T1", 1), event("rtu-1", "before")});
  auto r = board.open_reader([] {});
  EXPECT_TRUE(take(*r).messages.empty());
  board.publish({value("rtu-1", "T1", 2)});
  EXPECT_EQ(take(*r).messages, (list{"T1=2"}));
}

TEST(LiveBoard, WakesAWaitingReaderOnceAndABusyOneNever) {
  live_board board;
  int wakes = 0;
  auto r = board.open_reader([&] { ++wakes; });
  board.publish({value("rtu-1", "T1", 1)});
  EXPECT_EQ(wakes, 0) << "the reader has not taken yet, so it is not waiting";
  EXPECT_EQ(take(*r).messages.size(), 1u);  // took everything: now it waits
  board.publish({value("rtu-1", "T1", 2)});
  board.publish({value("rtu-1", "T1", 3)});
  EXPECT_EQ(wakes, 1) << "one wake until it takes again";
  EXPECT_EQ(take(*r).messages, (list{"T1=3"}));
  board.publish({value("rtu-1", "T1", 4)});
  EXPECT_EQ(wakes, 2);
}

TEST(LiveBoard, TakesAtMostTheBytesAskedForAndKeepsTheRest) {
  live_board board;
  auto r = board.open_reader([] {});
  std::vector<live_frame_ptr> frames;
  for (int t = 0; t < 10; ++t)
    frames.push_back(value("rtu-1", "T" + std::to_string(t), t));
  board.publish(frames);
  const std::size_t one = frames[0]->wire.size();
  auto first = take(*r, 3 * one);
  EXPECT_EQ(first.messages, (list{"T7=7", "T8=8", "T9=9"})) << "the freshest, in order";
  auto tiny = take(*r, 1);
  EXPECT_EQ(tiny.messages, (list{"T6=6"})) << "at least one frame, however small the limit";
  board.publish({value("rtu-1", "T0", 10)});
  EXPECT_EQ(take(*r, 2 * one).messages, (list{"T5=5", "T0=10"}))
      << "T0's new value supersedes its old one, and is the freshest";
  EXPECT_EQ(take(*r).messages, (list{"T1=1", "T2=2", "T3=3", "T4=4"}));
  EXPECT_EQ(take(*r).messages.size(), 0u);
}

TEST(LiveBoard, ValuesThatWaitedHalfTheHistoryGoBeforeFresherOnes) {
  live_board board(live_board_config{64, 16});
  auto r = board.open_reader([] {});
  board.publish({value("rtu-1", "QUIET", 1)});
  for (int round = 1; round <= 40; ++round)
    board.publish({value("rtu-1", "BUSY", round)});
  const std::size_t one = value("rtu-1", "BUSY", 40)->wire.size();
  EXPECT_EQ(take(*r, one).messages, (list{"QUIET=1"}))
      << "41 frames ago, more than half the history: it has waited long enough";
  EXPECT_EQ(take(*r, one).messages, (list{"BUSY=40"}));
}

TEST(LiveBoard, AReaderFurtherBehindThanTheHistoryGetsTheLatestOfEachPointAndTheEvents) {
  live_board board(live_board_config{64, 16});
  auto r = board.open_reader([] {});
  for (int round = 1; round <= 100; ++round) {
    board.publish({value("rtu-1", "T1", round), value("rtu-1", "T2", round)});
    if (round == 50)
      board.publish({event("rtu-1", "down")});
  }
  auto got = take(*r);
  EXPECT_EQ(got.messages, (list{"down", "T1=100", "T2=100"}));
  EXPECT_EQ(got.missed, 2u * 99u) << "every value superseded before the reader took it";
  for (int round = 101; round <= 200; ++round)
    board.publish({value("rtu-1", "T1", round), value("rtu-1", "T2", round)});
  got = take(*r);
  EXPECT_EQ(got.messages, (list{"T1=200", "T2=200"}));
  EXPECT_EQ(got.missed, 2u * 99u);
  EXPECT_EQ(r->missed(), 4u * 99u);
  EXPECT_EQ(board.stats().frames_missed, 4u * 99u);
}

TEST(LiveBoard, AValueOlderThanTheHistoryIsStillDelivered) {
  live_board board(live_board_config{16, 16});
  auto r = board.open_reader([] {});
  board.publish({value("rtu-1", "QUIET", 1)});
  for (int round = 1; round <= 100; ++round)
    board.publish({value("rtu-1", "BUSY", round)});
  EXPECT_EQ(take(*r).messages, (list{"QUIET=1", "BUSY=100"}));
}

TEST(LiveBoard, EventsForgottenBeforeAFarBehindReaderLookedAreCountedAsMissed) {
  live_board board(live_board_config{16, 16});
  auto r = board.open_reader([] {});
  for (int i = 0; i < 40; ++i)
    board.publish({event("rtu-1", "e" + std::to_string(i))});
  auto got = take(*r);
  ASSERT_EQ(got.messages.size(), 16u) << "the events the board still holds";
  EXPECT_EQ(got.messages.front(), "e24");
  EXPECT_EQ(got.messages.back(), "e39");
  EXPECT_EQ(got.missed, 24u);
}

TEST(LiveBoard, FiltersNarrowByRtuTagAndTypeAndCanBeReplaced) {
  live_board board;
  auto by_rtu = board.open_reader([] {});
  by_rtu->set_filter(live_filter{{"rtu-2"}, {}, {}});
  auto by_tag = board.open_reader([] {});
  by_tag->set_filter(live_filter{{}, {"T1"}, {}});
  auto by_type = board.open_reader([] {});
  by_type->set_filter(live_filter{{}, {}, {"rtu_state_change"}});
  for (std::string rtu : {"rtu-1", "rtu-2"})
    board.publish({value(rtu, "T1", 1), value(rtu, "T2", 1), event(rtu, rtu + " up")});
  EXPECT_EQ(take(*by_rtu).messages, (list{"T1=1", "T2=1", "rtu-2 up"}));
  EXPECT_EQ(take(*by_tag).messages, (list{"T1=1", "rtu-1 up", "T1=1", "rtu-2 up"}))
      << "an event without a tag is not narrowed by tags";
  EXPECT_EQ(take(*by_type).messages, (list{"rtu-1 up", "rtu-2 up"}));

  by_type->set_filter({});
  board.publish({value("rtu-1", "T2", 2)});
  EXPECT_EQ(take(*by_type).messages, (list{"T2=2"}));
}

TEST(LiveBoard, ASlowReaderCostsAFastOneNothing) {
  live_board board(live_board_config{128, 16});
  auto fast = board.open_reader([] {});
  auto slow = board.open_reader([] {});
  for (int round = 1; round <= 1000; ++round) {
    board.publish({value("rtu-1", "T1", round)});
    auto got = take(*fast);
    ASSERT_EQ(got.messages, (list{"T1=" + std::to_string(round)}));
    ASSERT_EQ(got.missed, 0u);
  }
  EXPECT_EQ(take(*slow).messages, (list{"T1=1000"}));
}

TEST(LiveBoard, ClosingEndsEveryReadersStreamAndWakesThem) {
  live_board board;
  int wakes = 0;
  auto r = board.open_reader([&] { ++wakes; });
  take(*r);
  board.close("the server is stopping");
  EXPECT_EQ(wakes, 1);
  std::string wire;
  auto result = r->take(wire, 1024);
  EXPECT_TRUE(result.closing);
  EXPECT_EQ(result.reason, "the server is stopping");
  board.publish({value("rtu-1", "T1", 1)});
  EXPECT_EQ(wakes, 1) << "nothing after the close";
}

TEST(LiveBoard, AClosedReaderIsForgottenAndNeverWoken) {
  live_board board;
  int wakes = 0;
  auto r = board.open_reader([&] { ++wakes; });
  take(*r);
  EXPECT_TRUE(board.has_readers());
  r->close();
  EXPECT_FALSE(board.has_readers());
  board.publish({value("rtu-1", "T1", 1)});
  EXPECT_EQ(wakes, 0);
  EXPECT_EQ(board.stats().readers, 0u);
}

}  // namespace
