#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/rtu_io.hpp"
#include "core/rtu_link.hpp"
#include "messages/interfaces.hpp"

namespace wtc {

struct rtu_actor_config {
  driver_factory make_driver;
  /// Whether a register-map profile of that name exists: an RTU is never stored with a profile
  /// that cannot be loaded.
  std::function<bool(const std::string&)> knows_profile;
  core::reconnect_backoff::policy backoff{500, 15'000, 0.2};
  int max_failed_cycles = 2;  // timeouts or bad replies in a row before the link counts as lost
  std::size_t recent_errors = 10;
  /// The node this fleet runs on: RTUs placed on another node are polled there (docs/nodes.md).
  std::string this_node{central_node};
};

/// What an rtu_actor knows of one sensor: its configuration and the last value it published.
struct live_sensor {
  sensor_record config;
  sample latest;
  bool has_value = false;
  double reported_value = 0;  // the last value marked `changed`, for the deadband
  quality reported_quality = quality::bad;
  bool reported = false;
};

struct live_actuator {
  control_record config;
  actuator_state latest;
};

struct rtu_actor_state {
  static inline const char* name = "rtu";
  rtu_actor_config config;
  rtu_record rtu;
  core::rtu_link link;
  core::reconnect_backoff backoff;
  core::cycle_monitor monitor;
  core::cycle_schedule schedule;
  std::mt19937_64 rng{std::random_device{}()};
  caf::actor io;
  std::uint64_t seq = 0;  // of the link's current generation: older outcomes are stale
  bool read_in_flight = false;
  std::uint64_t cycle_timer = 0;  // generation of the pending cycle timer
  field::device_description device;
  std::map<std::pair<std::int32_t, std::int32_t>, live_sensor> sensors;  // by slot, channel
  std::map<std::int32_t, live_actuator> actuators;                       // by slot
  caf::actor fleet_handle;
  // Commands in flight, answered in order: the worker carries them out one after the other.
  std::uint64_t command_counter = 0;
  std::map<std::uint64_t, caf::response_promise> pending_commands;
  std::map<std::uint64_t, request_origin> command_origins;
  timestamp_ms running_since = 0;
  double last_cycle_ms = 0;
  std::uint64_t cycles_ok = 0;
  std::uint64_t cycles_failed = 0;
  std::uint64_t cycles_busy = 0;  // slots that came while the previous read was still running
  std::uint64_t reconnects = 0;
  std::deque<std::string> errors;
};

/// One RTU: owns its connection state machine, its live values, and the only way to command its
/// actuators. The blocking field I/O runs in a worker beside it (rtu_io.hpp); every cycle's values
/// go to the field bus. Answers the requests of the RTU fleet (rtu_manager), which forwards the
/// API's calls for this RTU. Reports each change of its row to the fleet (update_atom, record).
caf::behavior rtu_actor(caf::stateful_actor<rtu_actor_state>* self, rtu_record rtu,
                        rtu_actor_config config, caf::actor fleet);

/// The tag discovery gives a new point: type and place, unique per RTU id (e.g. "PH_1_5").
std::string default_tag(const std::string& type, std::int64_t rtu_id, std::int32_t slot);

}  // namespace wtc
