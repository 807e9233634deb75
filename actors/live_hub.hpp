#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include <caf/typed_event_based_actor.hpp>

#include "actors/bus_subscription.hpp"
#include "messages/live.hpp"
#include "messages/live_board.hpp"

namespace wtc {

struct live_hub_config {
  /// How soon to look for the field bus again while it is not registered (start-up, restart).
  std::chrono::milliseconds resubscribe_delay{250};
  /// Where the messages go. It outlives the hub: a restarted hub goes on writing to the same
  /// board, and the clients reading it stay connected.
  std::shared_ptr<live_board> board;
};

struct live_hub_state {
  static inline const char* name = "live_hub";

  live_hub_config config;
  bus_subscription bus;
  bool waiting_logged = false;
  std::vector<live_frame_ptr> frames;  // scratch: the frames of the message at hand
  live_stats stats;
};

/// The live-data hub: from the field bus (and live_message sources) to the WebSocket clients.
///
/// Field bus messages become the WebSocket API's messages:
/// - sample_batch: a sensor_update for each sample marked `changed` (beyond its deadband);
/// - actuator_batch: an actuator_update for each actuator in it;
/// - rtu_event: always an rtu_state_change; then rtu_connected when the RTU enters RUNNING
///   (from any other state), or rtu_disconnected when it leaves RUNNING (for any other state).
///   The two bracket the time in which an RTU's sensor_updates flow; a connection attempt that
///   fails before RUNNING shows as rtu_state_change only.
/// Each message is serialised and framed once, onto config.board, and only while someone reads
/// the board.
live_hub_api::behavior_type live_hub(live_hub_api::stateful_pointer<live_hub_state> self,
                                     live_hub_config config);

}  // namespace wtc
