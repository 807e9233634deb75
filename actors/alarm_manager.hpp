#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/bus_subscription.hpp"
#include "core/alarm_logic.hpp"
#include "messages/interfaces.hpp"
#include "messages/loop_timing.hpp"

namespace wtc {

struct alarm_manager_config {
  core::alarm_evaluator::policy policy;
  /// How often on-delays, shelves and windows are checked: the resolution of time-driven changes.
  std::chrono::milliseconds tick_interval{100};
  /// After a failed write, the unwritten changes are sent again this much later.
  std::chrono::milliseconds retry_delay{std::chrono::seconds(1)};
  /// From a sample's production by its rtu_actor to the alarm_raised it caused; may be null.
  std::shared_ptr<latency_histogram> raise_latency;
};

struct alarm_manager_state {
  static inline const char* name = "alarms";

  /// What waits for the changes made so far to be stored: an operator's reply. Called with
  /// nullptr once they are, with the error when they cannot be.
  using on_stored = std::function<void(const caf::error*)>;

  alarm_manager_config config;
  core::alarm_evaluator evaluator;
  bus_subscription bus;
  bool loaded = false;

  std::map<std::int64_t, alarm_rule_record> rules;             // by id
  std::map<std::int64_t, slot_config_record> slot_configs;     // by id
  std::unordered_map<std::uint64_t, alarm_event_record> open;  // listed occurrences, by occurrence
  std::unordered_map<std::int64_t, std::uint64_t> occurrence_of;  // alarm_events id -> occurrence
  std::map<std::int64_t, alarm_shelf_record> shelves;             // active, by id
  std::map<std::int64_t, maintenance_record> windows;             // SCHEDULED and ACTIVE, by id
  std::int64_t next_event_id = 1;
  std::int64_t next_shelf_id = 1;
  std::int64_t next_window_id = 1;

  core::flood_detector flood;
  timestamp_ms flood_since = 0;
  std::int64_t floods = 0;

  // Writing: changes gather in `unsent` and go to storage one batch at a time, in order.
  alarm_state_batch unsent;
  std::vector<on_stored> unsent_replies;
  bool writing = false;
  alarm_state_batch in_flight;
  std::vector<on_stored> writing_replies;
  std::uint64_t restarts = 0;
};

/// The alarm manager (messages/interfaces.hpp, alarm_api), registered as names::alarms: subscribed
/// to every RTU's samples and states, it runs them through core::alarm_evaluator, persists every
/// transition to alarm_events (ids assigned here, so an alarm is announced at once) and announces
/// it on the live stream. It restores listed alarms, shelves and windows after a restart.
/// docs/alarms.md describes the state model.
caf::behavior alarm_manager(caf::stateful_actor<alarm_manager_state>* self,
                            alarm_manager_config config);

}  // namespace wtc
