#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include <caf/typed_event_based_actor.hpp>

#include "messages/live.hpp"

namespace wtc {

struct live_hub_config {
  /// How soon to look for the field bus again while it is not registered (start-up, restart).
  std::chrono::milliseconds resubscribe_delay{250};
};

struct live_hub_state {
  static inline const char* name = "live_hub";

  struct client {
    live_client_ptr sink;
    live_filter filter;
    bool everything = true;  // filter.all(), cached: most clients want everything
  };

  live_hub_config config;
  std::vector<client> clients;
  field_bus_api bus;  // the bus it is subscribed to, monitored; invalid while away
  bool resubscribe_pending = false;
  bool waiting_logged = false;
  std::vector<live_frame_ptr> frames;    // scratch: the frames of the message at hand
  std::vector<live_frame_ptr> selected;  // scratch: those a filtered client receives
  live_stats stats;
  std::uint64_t missed_by_departed = 0;  // frames_missed of clients that have left

  live_hub_state() = default;
  live_hub_state(const live_hub_state&) = delete;
  live_hub_state& operator=(const live_hub_state&) = delete;
  /// Ends every client's stream, whatever ends the hub (shutdown or crash): the clients
  /// reconnect, and join the restarted hub.
  ~live_hub_state();
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
/// Each message is serialised once; every client whose filter matches gets the same buffer.
live_hub_api::behavior_type live_hub(live_hub_api::stateful_pointer<live_hub_state> self,
                                     live_hub_config config);

}  // namespace wtc
