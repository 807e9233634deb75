#pragma once

// Value types of the alarm system: the rows of alarm_rules, slot_configs, alarm_events,
// shelved_alarms and scheduled_maintenance, and what the alarm manager hands to storage. Each has
// an `inspect` overload and is registered in register_types(). The enumerated columns hold their
// column values (the schema's CHECKs enforce them); core/alarm_logic.hpp parses them. Nullable
// columns follow the program's conventions: 0 for an id or a time that is not set, a flag beside a
// nullable number.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "messages/types.hpp"

namespace wtc {

/// An alarm_rules row, with migration 0004's deadband (docs/storage.md).
struct alarm_rule_record {
  std::int64_t id = 0;
  std::string name;
  std::string rtu_station;
  std::int32_t slot = 0;
  std::string condition = ">";  // >, <, >=, <=, ==
  double threshold = 0.0;
  std::string severity = "MEDIUM";  // LOW, MEDIUM, HIGH, CRITICAL
  std::int64_t delay_ms = 0;
  std::string message;  // empty: NULL (the default message)
  bool enabled = true;
  bool has_deadband = false;  // false (NULL): the slot config's, else the default
  double deadband = 0.0;
  timestamp_ms created_at = 0;
  timestamp_ms updated_at = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, alarm_rule_record& x) {
  return f(x.id, x.name, x.rtu_station, x.slot, x.condition, x.threshold, x.severity, x.delay_ms,
           x.message, x.enabled, x.has_deadband, x.deadband, x.created_at, x.updated_at);
}

/// A slot_configs row: the limits that imply alarm rules (core::implied_rules).
struct slot_config_record {
  std::int64_t id = 0;
  std::string rtu_station;
  std::int32_t slot = 0;
  std::int32_t subslot = 1;
  std::string slot_type = "AI";  // AI, AO, DI, DO
  std::string name;              // empty: NULL
  std::string unit;
  std::string measurement_type;
  std::string actuator_type;
  double scale_min = 0.0;
  double scale_max = 100.0;
  bool has_alarm_low_low = false;
  double alarm_low_low = 0.0;
  bool has_alarm_low = false;
  double alarm_low = 0.0;
  bool has_warning_low = false;
  double warning_low = 0.0;
  bool has_warning_high = false;
  double warning_high = 0.0;
  bool has_alarm_high = false;
  double alarm_high = 0.0;
  bool has_alarm_high_high = false;
  double alarm_high_high = 0.0;
  double deadband = 0.0;
  bool enabled = true;
  timestamp_ms created_at = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, slot_config_record& x) {
  return f(x.id, x.rtu_station, x.slot, x.subslot, x.slot_type, x.name, x.unit, x.measurement_type,
           x.actuator_type, x.scale_min, x.scale_max, x.has_alarm_low_low, x.alarm_low_low,
           x.has_alarm_low, x.alarm_low, x.has_warning_low, x.warning_low, x.has_warning_high,
           x.warning_high, x.has_alarm_high, x.alarm_high, x.has_alarm_high_high, x.alarm_high_high,
           x.deadband, x.enabled, x.created_at);
}

/// An alarm_events row with migration 0004's columns. The alarm manager is its only writer and
/// assigns the ids itself (it needs them before the row is written, to announce the alarm), so a
/// row is written whole, inserted or replaced by id.
struct alarm_event_record {
  std::int64_t id = 0;
  std::int64_t alarm_rule_id = 0;   // 0: NULL (an implied rule's or a communication alarm)
  std::int64_t source_rule_id = 0;  // the evaluator's rule: > 0 a rule, < 0 implied, 0 comm
  std::string origin = "rule";      // rule, point_comm, rtu_comm, node_comm
  std::string rtu_station;          // node_comm: the edge node's name
  std::int32_t slot = 0;            // -1: the RTU as a whole (and a node_comm alarm)
  std::string state = "ACTIVE";     // ACTIVE, ACKNOWLEDGED, CLEARED
  std::string severity = "MEDIUM";  // LOW, MEDIUM, HIGH, CRITICAL
  bool has_value = false;           // false: value_at_activation NULL
  double value_at_activation = 0.0;
  std::string message;
  timestamp_ms activated_at = 0;
  timestamp_ms acknowledged_at = 0;  // 0: NULL
  std::string acknowledged_by;       // empty: NULL
  timestamp_ms cleared_at = 0;       // 0: NULL
  std::string note;                  // empty: NULL
  // In the active-alarm list (ACTIVE, ACKNOWLEDGED, or CLEARED and never acknowledged): what a
  // restart puts back.
  bool listed = false;
  // Empty (NULL) for an annunciated alarm; "shelf" or "maintenance <id>" for one a shelf or a
  // maintenance window held back, recorded CLEARED and never listed.
  std::string suppressed_by;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, alarm_event_record& x) {
  return f(x.id, x.alarm_rule_id, x.source_rule_id, x.origin, x.rtu_station, x.slot, x.state,
           x.severity, x.has_value, x.value_at_activation, x.message, x.activated_at,
           x.acknowledged_at, x.acknowledged_by, x.cleared_at, x.note, x.listed, x.suppressed_by);
}

/// A shelved_alarms row, with migration 0004's alarm_rule_id: one alarm (a rule's, > 0 or an
/// implied rule's, < 0) or, with 0, every alarm of the slot.
struct alarm_shelf_record {
  std::int64_t id = 0;
  std::string rtu_station;
  std::int32_t slot = 0;  // -1: the RTU's communication alarm
  std::int64_t alarm_rule_id = 0;
  std::string shelved_by;
  timestamp_ms shelved_at = 0;
  std::int32_t shelf_duration_minutes = 0;
  timestamp_ms expires_at = 0;
  std::string reason;
  bool active = true;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, alarm_shelf_record& x) {
  return f(x.id, x.rtu_station, x.slot, x.alarm_rule_id, x.shelved_by, x.shelved_at,
           x.shelf_duration_minutes, x.expires_at, x.reason, x.active);
}

/// A scheduled_maintenance row.
struct maintenance_record {
  std::int64_t id = 0;
  std::string rtu_station;
  std::int32_t slot = -1;  // -1: the whole RTU
  std::string scheduled_by;
  timestamp_ms scheduled_at = 0;
  timestamp_ms start_time = 0;
  timestamp_ms end_time = 0;
  std::string reason;
  std::string work_order;            // empty: NULL
  std::string status = "SCHEDULED";  // SCHEDULED, ACTIVE, COMPLETED, CANCELLED
  timestamp_ms activated_at = 0;     // 0: NULL
  timestamp_ms completed_at = 0;
  std::string cancelled_by;
  timestamp_ms cancelled_at = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, maintenance_record& x) {
  return f(x.id, x.rtu_station, x.slot, x.scheduled_by, x.scheduled_at, x.start_time, x.end_time,
           x.reason, x.work_order, x.status, x.activated_at, x.completed_at, x.cancelled_by,
           x.cancelled_at);
}

/// What the alarm manager writes in one transaction: whole rows, inserted or replaced by id, and
/// the audit rows of the operators' requests among them.
struct alarm_state_batch {
  std::vector<alarm_event_record> events;
  std::vector<alarm_shelf_record> shelves;
  std::vector<maintenance_record> windows;
  std::vector<audit_entry> audits;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, alarm_state_batch& x) {
  return f(x.events, x.shelves, x.windows, x.audits);
}

/// Everything the alarm manager needs at start-up, read in one go.
struct alarm_restore {
  std::vector<alarm_rule_record> rules;
  std::vector<slot_config_record> slot_configs;
  std::vector<maintenance_record> open_windows;    // SCHEDULED and ACTIVE, by id
  std::vector<alarm_shelf_record> active_shelves;  // by id
  std::vector<alarm_event_record> listed_events;   // listed, by id
  // One more than the largest id stored, at least 1: where the manager's numbering starts.
  std::int64_t next_event_id = 1;
  std::int64_t next_shelf_id = 1;
  std::int64_t next_window_id = 1;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, alarm_restore& x) {
  return f(x.rules, x.slot_configs, x.open_windows, x.active_shelves, x.listed_events,
           x.next_event_id, x.next_shelf_id, x.next_window_id);
}

/// Filters of GET /api/v1/alarms/history; empty strings and zero times do not filter.
struct alarm_history_filter {
  timestamp_ms start = 0;  // activated_at >= start
  timestamp_ms end = 0;    // activated_at < end
  std::string severity;
  std::string rtu_station;
  std::int64_t limit = 100;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, alarm_history_filter& x) {
  return f(x.start, x.end, x.severity, x.rtu_station, x.limit);
}

/// The alarm manager's statistics (GET /api/v1/alarms/statistics): the alarms in the list by
/// ISA-18.2 state, severity and RTU, and the annunciation rate behind the flood detection.
struct alarm_statistics {
  std::int64_t rules = 0;  // rules evaluated, implied ones included
  std::int64_t listed = 0;
  std::int64_t unacknowledged = 0;
  std::int64_t acknowledged = 0;
  std::int64_t returned_unacknowledged = 0;
  std::int64_t shelved = 0;
  std::int64_t out_of_service = 0;
  std::int64_t suppressed_by_design = 0;
  std::vector<std::pair<std::string, std::int64_t>> by_severity;  // listed alarms
  std::vector<std::pair<std::string, std::int64_t>> by_state;     // ACTIVE, ACKNOWLEDGED, CLEARED
  std::vector<std::pair<std::string, std::int64_t>> by_rtu;
  std::int64_t annunciated_last_10_min = 0;  // exact sliding window
  std::int64_t annunciated_last_24_h = 0;    // from alarm_events
  bool flood = false;
  timestamp_ms flood_since = 0;  // 0: no flood now
  std::int64_t floods = 0;       // floods that started since wtcd started
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, alarm_statistics& x) {
  return f(x.rules, x.listed, x.unacknowledged, x.acknowledged, x.returned_unacknowledged,
           x.shelved, x.out_of_service, x.suppressed_by_design, x.by_severity, x.by_state, x.by_rtu,
           x.annunciated_last_10_min, x.annunciated_last_24_h, x.flood, x.flood_since, x.floods);
}

}  // namespace wtc
