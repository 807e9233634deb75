#pragma once

// The pure logic of the ISA-18.2 alarm system: rule conditions with an on-delay and a deadband,
// the alarm state machine (raise, acknowledge, return to normal), communication alarms for bad
// data, lost RTUs and lost edge nodes, shelving, maintenance windows, and the alarm-rate
// statistics. No actors, no I/O, no clock: every call is told the time. docs/alarms.md explains the
// state model and every choice made here; the alarm_manager actor persists and publishes what it
// returns.

#include <array>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "messages/field_types.hpp"

namespace wtc::core {

// --- rules ---

/// The contract's alarm_rules.condition: ">", "<", ">=", "<=", "==".
enum class alarm_condition : std::uint8_t { greater, less, greater_equal, less_equal, equal };

/// The contract's severities, ordered: a higher one compares greater.
enum class alarm_severity : std::uint8_t { low, medium, high, critical };

std::string_view to_string(alarm_condition c);
std::string_view to_string(alarm_severity s);
/// Exact contract spellings only ("HIGH", not "high"): the database CHECKs them.
bool parse_alarm_condition(std::string_view text, alarm_condition& out);
bool parse_alarm_severity(std::string_view text, alarm_severity& out);

/// How close a value must be to count as `==` its threshold: 1e-6 × max(1, |threshold|). It
/// absorbs the rounding of scaling, not measurement noise: `==` is meant for discrete and
/// enumerated values (a digital input, a state code).
double equality_tolerance(double threshold);

/// Whether `value` meets the condition: the alarm wants to raise.
bool condition_met(alarm_condition c, double value, double threshold);

/// Whether `value` is back to normal: the condition no longer holds even against the threshold
/// moved by `deadband` towards normal (for ">": value <= threshold − deadband). Between the two
/// the alarm keeps whatever state it has, so a value hovering at the threshold does not chatter.
/// With a deadband of 0 this is exactly "not condition_met".
bool returned_to_normal(alarm_condition c, double value, double threshold, double deadband);

/// An alarm rule: an alarm_rules row, typed, or one implied by a slot config's limits.
struct alarm_rule {
  std::int64_t id = 0;  // alarm_rules.id; negative for a slot config's implied rule
  std::string name;
  std::string rtu_station;
  std::int32_t slot = 0;
  alarm_condition condition = alarm_condition::greater;
  double threshold = 0.0;
  alarm_severity severity = alarm_severity::medium;
  std::int64_t delay_ms = 0;  // on-delay: the condition must hold this long, continuously
  std::string message;        // template: {name} {station} {slot} {value} {threshold} {condition}
  bool enabled = true;
  // The return-to-normal deadband in engineering units. Unset: the slot config's, else a
  // fraction of the slot's span, else 1% of |threshold| (docs/alarms.md, "Deadband").
  std::optional<double> deadband;
};

/// A rule as the REST body and the alarm_rules row give it: condition and severity as text.
struct alarm_rule_spec {
  std::int64_t id = 0;
  std::string name;
  std::string rtu_station;
  std::int32_t slot = 0;
  std::string condition;
  double threshold = 0.0;
  std::string severity;
  std::int64_t delay_ms = 0;
  std::string message;
  bool enabled = true;
  std::optional<double> deadband;
};

/// The longest on-delay a rule may have (one day; alarm_rules.delay_ms is a 32-bit INTEGER).
constexpr std::int64_t max_alarm_delay_ms = 86'400'000;
/// The highest slot number (PROFINET's 0x7FFF); slots index dense tables.
constexpr std::int32_t max_alarm_slot = 0x7FFF;

/// Checks a typed rule; returns an empty string when it is valid, else one sentence that names
/// the field, fit for the REST layer's 400 {"detail": ...}.
std::string validate_rule(const alarm_rule& r);

struct parsed_rule {
  std::optional<alarm_rule> rule;  // set when valid
  std::string error;               // else why not
};

/// Parses the text fields and checks everything validate_rule checks.
parsed_rule parse_rule(const alarm_rule_spec& spec);

/// The alarm_events.message of a rule at `value`: its template with the placeholders filled in,
/// or "<name>: <value> <condition> <threshold>" when it has none; at most 256 bytes, cut at a
/// UTF-8 character boundary.
std::string render_message(const alarm_rule& r, double value);

// --- slot configs: implied rules ---

/// Which of a slot config's limits a rule comes from.
enum class slot_limit : std::uint8_t {
  low_low = 1,
  low,
  warning_low,
  warning_high,
  high,
  high_high,
};

std::string_view to_string(slot_limit l);

/// The alarm part of a slot_configs row. Unset limits are NULL columns.
struct slot_limits {
  std::int64_t id = 0;  // slot_configs.id: implied rule ids derive from it
  std::string rtu_station;
  std::int32_t slot = 0;
  std::string name;
  std::string unit;
  std::string measurement_type;  // level, flow, temp, pressure, ...: picks the default deadband
  double scale_min = 0.0;
  double scale_max = 100.0;
  std::optional<double> alarm_low_low;
  std::optional<double> alarm_low;
  std::optional<double> warning_low;
  std::optional<double> warning_high;
  std::optional<double> alarm_high;
  std::optional<double> alarm_high_high;
  double deadband = 0.0;  // 0: not configured, use the default
  bool enabled = true;
};

/// Checks the limits: finite, ordered low_low <= low <= warning_low < warning_high <= high <=
/// high_high where set, a non-negative deadband. Empty when valid, else one sentence.
std::string validate_slot_limits(const slot_limits& cfg);

/// The id of an implied rule: −(config id × 8 + limit), negative so it can never collide with an
/// alarm_rules.id, and stable across restarts. Its events carry alarm_rule_id NULL.
std::int64_t implied_rule_id(std::int64_t config_id, slot_limit which);

/// The deadband a slot's alarms get when the config sets none: a fraction of the engineering span
/// by measurement type (flow and level 5%, pressure 2%, temperature and anything else 1%).
double default_slot_deadband(const slot_limits& cfg);

/// The rules a slot config's limits imply: high-high and low-low CRITICAL, high and low HIGH,
/// the warnings MEDIUM; ">" for the highs and "<" for the lows; the config's deadband (or the
/// default above). None when the config is disabled.
std::vector<alarm_rule> implied_rules(const slot_limits& cfg, std::int64_t delay_ms = 0);

// --- the evaluator's vocabulary ---

/// The contract's alarm_events.state.
enum class alarm_state : std::uint8_t { active, acknowledged, cleared };

/// The ISA-18.2 alarm states (its abbreviations are what to_string gives).
enum class isa_state : std::uint8_t {
  normal,                   // NORM
  unacknowledged,           // UNACK: active, not acknowledged
  acknowledged,             // ACKED: active, acknowledged
  returned_unacknowledged,  // RTNUN: back to normal, never acknowledged: stays listed
  shelved,                  // SHLVD: an operator shelved it for a while
  suppressed_by_design,     // DSUPR: a point's comm alarm while its whole RTU is down
  out_of_service,           // OOSRV: in a maintenance window, or its rule is disabled
};

/// What raised an alarm: a rule, bad data of a point, an RTU that is not communicating, or an edge
/// node whose link to the central node is lost. A node_comm alarm's rtu_station is the node's
/// name and its slot -1: the origin, not the name, tells it from an RTU's rtu_comm alarm.
enum class alarm_origin : std::uint8_t { rule, point_comm, rtu_comm, node_comm };

enum class alarm_event_kind : std::uint8_t {
  raised,        // a new occurrence, UNACK: insert an alarm_events row (ACTIVE), announce
  returned,      // RTNUN back to UNACK: the same occurrence is in alarm again before any ack
  cleared,       // back to normal: RTNUN (still listed) or, if it was acknowledged, NORM
  acknowledged,  // UNACK → ACKED, or RTNUN → NORM
  withdrawn,     // an occurrence leaves the list unacknowledged: shelf, maintenance, rule change
  suppressed,    // a shelf or maintenance window held back what would have been raised
  shelved,
  unshelved,
  maintenance_started,
  maintenance_ended,
};

enum class alarm_cause : std::uint8_t {
  none,
  shelf,             // an operator's shelf
  maintenance,       // a maintenance window
  rule_changed,      // the rule was disabled, moved to another slot or deleted
  expired,           // a shelf ran out, a window reached its end
  operator_request,  // an operator unshelved, or cancelled a window
};

enum class maintenance_status : std::uint8_t { scheduled, active, completed, cancelled };

std::string_view to_string(alarm_state s);
std::string_view to_string(isa_state s);
std::string_view to_string(alarm_origin o);
std::string_view to_string(alarm_event_kind k);
std::string_view to_string(alarm_cause c);
std::string_view to_string(maintenance_status s);
bool parse_maintenance_status(std::string_view text, maintenance_status& out);

/// One thing that happened, for the actor to persist and publish. The state fields describe the
/// occurrence after the transition.
struct alarm_transition {
  alarm_event_kind kind = alarm_event_kind::raised;
  alarm_cause cause = alarm_cause::none;
  // The evaluator's number of the occurrence (unique for its lifetime); the actor maps it to
  // the alarm_events row id. 0 for transitions of no occurrence (shelved, suppressed, ...).
  std::uint64_t occurrence = 0;
  alarm_origin origin = alarm_origin::rule;
  std::int64_t rule_id = 0;  // > 0 alarm_rules.id; < 0 implied; 0 comm alarms, shelves, windows
  std::string rtu_station;   // node_comm: the edge node's name
  std::int32_t slot = 0;  // -1: the RTU as a whole (its comm alarm, a whole-RTU window), node_comm
  alarm_severity severity = alarm_severity::medium;
  alarm_state state = alarm_state::active;
  bool acknowledged = false;
  bool listed = false;  // still in the active-alarm list after this
  double value = std::numeric_limits<double>::quiet_NaN();  // NaN: none (write NULL)
  std::int64_t at_ms = 0;
  std::int64_t until_ms = 0;  // shelved: when the shelf expires
  std::int64_t ref_id = 0;    // maintenance window id (maintenance_*, and by-maintenance causes)
  maintenance_status window_status = maintenance_status::scheduled;  // maintenance_* only
  std::string by;    // acknowledged_by, shelved_by, cancelled_by, scheduled_by
  std::string text;  // raised/returned/suppressed: the message; ack: the note; shelf: reason
};

enum class alarm_errc : std::uint8_t {
  ok,
  invalid,              // 400: malformed or out of range
  not_acknowledgeable,  // 400: already acknowledged, or no longer in the list
  not_found,            // 404: no such rule, shelf, window or alarm
  conflict,             // 409: a window with that id exists already
};

/// The answer to an operator's or engineer's request.
struct alarm_outcome {
  alarm_errc code = alarm_errc::ok;
  std::string detail;  // why not, one sentence
  std::vector<alarm_transition> transitions;
  bool ok() const { return code == alarm_errc::ok; }
};

/// An operator shelves one alarm (rule_id set) or every alarm of a slot (rule_id 0, comm alarm
/// included). Slot -1 is the RTU's own communication alarm.
struct shelf_request {
  std::string rtu_station;
  std::int32_t slot = 0;
  std::int64_t rule_id = 0;
  std::string shelved_by;
  std::string reason;
  std::int64_t duration_ms = 0;
};

/// A scheduled_maintenance row. SCHEDULED windows start at the first tick at or after
/// start_ms; ACTIVE ones are windows restored after a restart and apply at once.
struct maintenance_window {
  std::int64_t id = 0;
  std::string rtu_station;
  std::int32_t slot = -1;  // -1: the whole RTU
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  std::string scheduled_by;
  std::string reason;
  std::string work_order;
  maintenance_status status = maintenance_status::scheduled;
};

/// An alarm of the active list as stored (ACTIVE, ACKNOWLEDGED, or CLEARED and not acknowledged),
/// put back into a fresh evaluator after a restart.
struct restored_alarm {
  alarm_origin origin = alarm_origin::rule;
  std::int64_t rule_id = 0;  // for rule alarms
  std::string rtu_station;   // for comm alarms; node_comm: the node's name
  std::int32_t slot = 0;     // for comm alarms; -1 the RTU's (ignored for node_comm)
  bool active = true;        // ACTIVE or ACKNOWLEDGED
  bool acknowledged = false;
  std::int64_t activated_at = 0;
  double value = std::numeric_limits<double>::quiet_NaN();
  std::string message;
};

/// An entry of the active-alarm list (GET /api/v1/alarms).
struct listed_alarm {
  std::uint64_t occurrence = 0;
  alarm_origin origin = alarm_origin::rule;
  std::int64_t rule_id = 0;
  std::string rtu_station;  // node_comm: the node's name
  std::int32_t slot = 0;
  alarm_severity severity = alarm_severity::medium;
  alarm_state state = alarm_state::active;
  isa_state isa = isa_state::unacknowledged;
  bool acknowledged = false;
  std::int64_t activated_at = 0;
  double value_at_activation = std::numeric_limits<double>::quiet_NaN();
  std::string message;
};

struct alarm_counts {
  std::size_t unacknowledged = 0;           // UNACK
  std::size_t acknowledged = 0;             // ACKED
  std::size_t returned_unacknowledged = 0;  // RTNUN
  std::size_t shelved = 0;                  // alarms (rules and comm) held by a shelf
  std::size_t out_of_service = 0;           // in maintenance or disabled
  std::size_t suppressed_by_design = 0;
  std::array<std::size_t, 4> listed_by_severity{};  // indexed by alarm_severity
  std::size_t listed() const { return unacknowledged + acknowledged + returned_unacknowledged; }
};

// --- the evaluator ---

/// Owns the runtime state of every alarm: rules indexed by (rtu_station, slot), their condition
/// latches and on-delays, the occurrences in the active list, shelves and maintenance windows.
/// Every input returns the transitions it caused; time-driven changes (an on-delay that expires
/// without a new sample, a shelf that runs out, a window that starts or ends) happen in tick(),
/// which the actor calls at its resolution (next_due_ms() says when something is due).
///
/// The sample path allocates nothing unless a transition happens: resolve the station once per
/// batch with find_station() and pass the handle.
class alarm_evaluator {
 public:
  struct policy {
    std::int64_t comm_delay_ms = 10'000;  // on-delay of communication alarms
    // On-delay of an edge node's alarm: none, the link's heartbeat timeout has debounced it.
    std::int64_t node_comm_delay_ms = 0;
    alarm_severity comm_severity = alarm_severity::high;  // of every communication alarm
    bool offline_is_comm_failure = true;  // an OFFLINE RTU with enabled rules raises its alarm
    std::int64_t max_shelf_ms = 8 * 3'600'000;  // one shift
    double default_deadband_fraction = 0.01;    // of |threshold|, for rules with no slot config
  };

  using station_handle = std::uint32_t;
  static constexpr station_handle no_station = std::numeric_limits<station_handle>::max();

  alarm_evaluator() = default;
  explicit alarm_evaluator(policy p) : policy_(p) {}

  // Configuration. A rule takes effect with the next sample of its slot.

  /// Adds or replaces a rule (by id). Disabling it, or moving it to another slot, withdraws its
  /// listed occurrence; changing its limits keeps its state for the next sample to judge.
  alarm_outcome upsert_rule(const alarm_rule& r, std::int64_t now_ms);
  alarm_outcome remove_rule(std::int64_t rule_id, std::int64_t now_ms);
  /// Applies a slot config: its implied rules replace the previous ones of the same config, and
  /// its deadband and span become the default of the slot's explicit rules.
  alarm_outcome set_slot_limits(const slot_limits& cfg, std::int64_t now_ms);
  alarm_outcome remove_slot_limits(std::int64_t config_id, std::int64_t now_ms);

  // Inputs.

  /// The handle of a station the evaluator knows, or no_station (then its samples mean nothing).
  station_handle find_station(std::string_view rtu_station) const;
  /// One value of a slot, in engineering units. BAD quality (or a non-finite value) holds the
  /// slot's rules where they are and arms the slot's communication alarm; UNCERTAIN values are
  /// judged like GOOD ones.
  std::vector<alarm_transition> on_sample(station_handle station, std::int32_t slot, double value,
                                          quality q, std::int64_t now_ms);
  std::vector<alarm_transition> on_sample(std::string_view rtu_station, std::int32_t slot,
                                          double value, quality q, std::int64_t now_ms);
  /// The RTU's connection state. ERROR (and OFFLINE, per policy) arm its communication alarm,
  /// RUNNING clears it, CONNECTING and DISCOVERY hold it (a retry loop is still an outage).
  std::vector<alarm_transition> on_rtu_state(std::string_view rtu_station, rtu_state s,
                                             std::int64_t now_ms);
  /// An edge node's link to the central node: lost (reachable false) arms the node's
  /// communication alarm, which is raised after policy.node_comm_delay_ms (at once by default);
  /// back (true) clears it. Always armed, rules or not; names are a namespace of their own, so a
  /// node and an RTU of the same name never share an alarm. Not shelvable, no maintenance window.
  std::vector<alarm_transition> on_node_link(std::string_view node, bool reachable,
                                             std::int64_t now_ms);
  std::vector<alarm_transition> tick(std::int64_t now_ms);
  /// The earliest time tick() has something to do; max() when nothing is pending.
  std::int64_t next_due_ms() const;

  // Operators.

  /// Acknowledges an occurrence: UNACK → ACKED, RTNUN → NORM. Anything else is
  /// not_acknowledgeable; an occurrence this evaluator never issued is not_found.
  alarm_outcome acknowledge(std::uint64_t occurrence, const std::string& by,
                            const std::string& note, std::int64_t now_ms);
  /// Shelves until now + duration (replacing a shelf on the same target). A listed occurrence
  /// of a shelved alarm is withdrawn; what it would raise meanwhile is recorded as suppressed.
  alarm_outcome shelve(const shelf_request& req, std::int64_t now_ms);
  /// Ends a shelf before it expires; the alarms are judged again at once.
  alarm_outcome unshelve(std::string_view rtu_station, std::int32_t slot, std::int64_t rule_id,
                         const std::string& by, std::int64_t now_ms);
  alarm_outcome add_maintenance(const maintenance_window& w, std::int64_t now_ms);
  /// SCHEDULED or ACTIVE → CANCELLED; an ACTIVE window's alarms are judged again at once.
  alarm_outcome cancel_maintenance(std::int64_t window_id, const std::string& by,
                                   std::int64_t now_ms);

  /// Puts a stored occurrence back after a restart (after rules, configs, windows and shelves);
  /// returns its new occurrence number, or 0 when its rule or point is unknown or already has one.
  std::uint64_t restore_alarm(const restored_alarm& a);

  // Reading.

  std::vector<listed_alarm> listed() const;
  /// The ISA-18.2 state of a rule's alarm; nothing for an unknown rule.
  std::optional<isa_state> rule_state(std::int64_t rule_id) const;
  /// The state of a slot's communication alarm (slot -1: the RTU's).
  std::optional<isa_state> comm_state(std::string_view rtu_station, std::int32_t slot) const;
  /// The state of an edge node's communication alarm; nothing for a node never lost.
  std::optional<isa_state> node_comm_state(std::string_view node) const;
  alarm_counts counts() const;
  std::size_t rule_count() const { return rule_index_.size(); }

 private:
  static constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();

  enum class latch : std::uint8_t { normal, pending, active };

  struct source {
    bool live = false;
    alarm_origin origin = alarm_origin::rule;
    std::uint32_t point = 0;
    alarm_rule rule;  // origin rule only
    double deadband = 0.0;
    std::int64_t delay_ms = 0;
    alarm_severity severity = alarm_severity::medium;
    bool armed = false;  // a rule that is enabled; a comm alarm that has rules behind it
    latch state = latch::normal;
    std::int64_t pending_since = 0;
    bool in_pending_list = false;
    alarm_cause suppression = alarm_cause::none;  // none, shelf or maintenance
    std::uint64_t occurrence = 0;                 // 0: not listed
    bool occ_active = false;
    bool acked = false;
    std::int64_t activated_at = 0;
    double activation_value = 0.0;
    std::string occ_message;
  };

  struct point {
    std::uint32_t station = 0;
    std::int32_t slot = 0;
    std::vector<std::uint32_t> rules;  // sources of origin rule, enabled or not
    std::uint32_t comm = none;         // its communication alarm's source
    std::size_t enabled_rules = 0;
    double value = std::numeric_limits<double>::quiet_NaN();
    quality q = quality::bad;
    bool has_value = false;
    int maintenance = 0;  // active windows on this slot
    std::int64_t config_id = 0;
    double config_deadband = 0.0;  // resolved from the slot config, 0 when there is none
  };

  /// An RTU, or an edge node (in node_index_, not station_index_: its only point is the -1 one,
  /// whose comm source is the node's alarm).
  struct station {
    std::string name;
    std::vector<std::uint32_t> points;  // by slot + 1; none where unknown
    std::size_t enabled_rules = 0;
    bool down = false;
    int maintenance = 0;  // active whole-RTU windows
  };

  struct shelf {
    std::uint32_t point = 0;
    std::int64_t rule_id = 0;
    std::int64_t until_ms = 0;
    std::string by;
    std::string reason;
  };

  std::uint32_t station_of(std::string_view name);                   // creates it if new
  std::uint32_t node_of(std::string_view name);                      // creates it if new
  std::uint32_t point_of(std::uint32_t station, std::int32_t slot);  // creates it if new
  std::uint32_t find_point(std::string_view name, std::int32_t slot) const;
  std::uint32_t new_source();

  // The state machine of one alarm.
  void feed(std::uint32_t idx, bool abnormal, bool normal, double value, std::int64_t now,
            std::vector<alarm_transition>& out);
  void become_active(std::uint32_t idx, double value, std::int64_t now,
                     std::vector<alarm_transition>& out);
  void become_normal(std::uint32_t idx, double value, std::int64_t now,
                     std::vector<alarm_transition>& out);
  void annunciate(std::uint32_t idx, double value, std::int64_t now,
                  std::vector<alarm_transition>& out);
  void withdraw(std::uint32_t idx, alarm_cause cause, std::int64_t ref_id, std::int64_t now,
                std::vector<alarm_transition>& out);
  void unlist(source& s);
  void start_pending(std::uint32_t idx);
  static void cancel_pending(source& s);
  double value_of(const source& s) const;
  bool data_ok(const source& s) const;
  std::string message_of(const source& s, double value) const;
  alarm_transition make(const source& s, alarm_event_kind kind, std::int64_t now) const;
  isa_state isa_of(const source& s) const;

  // Configuration.
  void resolve_deadband(source& s) const;
  void attach_rule(std::uint32_t idx, std::int64_t now, std::vector<alarm_transition>& out);
  void detach_rule(std::uint32_t idx, std::int64_t now, std::vector<alarm_transition>& out);
  void arm(std::uint32_t idx, bool want, bool abnormal, std::int64_t now,
           std::vector<alarm_transition>& out);
  void rearm_comm(std::uint32_t point_idx, std::int64_t now, std::vector<alarm_transition>& out);
  void set_point_config(std::uint32_t point_idx, std::int64_t config_id, double deadband);

  // Shelves and windows.
  alarm_cause suppression_of(const source& s) const;
  std::int64_t maintenance_of(const source& s) const;
  /// Recomputes the suppression of a point's alarms after a shelf or window changed: newly held
  /// ones are withdrawn, newly released ones are judged again.
  void refresh_point(std::uint32_t point_idx, std::int64_t now, std::vector<alarm_transition>& out);
  void refresh_station(std::uint32_t station_idx, std::int64_t now,
                       std::vector<alarm_transition>& out);
  void start_window(maintenance_window& w, std::int64_t now, std::vector<alarm_transition>& out);
  void end_window(maintenance_window& w, maintenance_status to, const std::string& by,
                  std::int64_t now, std::vector<alarm_transition>& out);
  void apply_window(const maintenance_window& w, int delta, std::int64_t now,
                    std::vector<alarm_transition>& out);
  alarm_transition window_transition(const maintenance_window& w, alarm_event_kind kind,
                                     const std::string& by, std::int64_t now) const;
  void end_shelf(std::size_t i, alarm_cause cause, const std::string& by, std::int64_t now,
                 std::vector<alarm_transition>& out);
  alarm_transition shelf_transition(const shelf& sh, alarm_event_kind kind, std::int64_t now) const;

  policy policy_;
  std::vector<source> sources_;
  std::vector<std::uint32_t> free_sources_;
  std::vector<point> points_;
  std::vector<station> stations_;
  std::map<std::string, std::uint32_t, std::less<>> station_index_;
  std::map<std::string, std::uint32_t, std::less<>> node_index_;  // edge nodes, in stations_
  std::unordered_map<std::int64_t, std::uint32_t> rule_index_;
  std::unordered_map<std::uint64_t, std::uint32_t> listed_;  // occurrence → source
  std::vector<std::uint32_t> pending_;                       // sources in an on-delay
  std::vector<shelf> shelves_;
  std::vector<maintenance_window> windows_;
  std::unordered_map<std::int64_t, std::uint32_t> config_points_;  // slot config id → point
  std::uint64_t next_occurrence_ = 1;
};

// --- statistics ---

/// Counts events in a sliding time window, exactly. Times should not go backwards; a late one
/// is still counted in its place.
class sliding_window_counter {
 public:
  explicit sliding_window_counter(std::int64_t window_ms = 600'000) : window_ms_(window_ms) {}

  void record(std::int64_t at_ms);
  /// Events in (now − window, now], for a `now` no earlier than the latest event recorded.
  std::size_t count(std::int64_t now_ms) const;
  /// Forgets events that left the window.
  void expire(std::int64_t now_ms);
  std::int64_t window_ms() const { return window_ms_; }

 private:
  std::int64_t window_ms_;
  std::deque<std::int64_t> times_;  // ascending
};

/// ISA-18.2's alarm flood: more than 10 alarms in 10 minutes (per operator). A flood ends when
/// the count falls below 5, so a rate that hovers at 10 does not flip in and out of it.
class flood_detector {
 public:
  struct policy {
    std::int64_t window_ms = 600'000;
    std::size_t start_above = 10;
    std::size_t end_below = 5;
  };
  enum class change : std::uint8_t { none, started, ended };

  flood_detector() : flood_detector(policy{}) {}
  explicit flood_detector(policy p) : policy_(p), window_(p.window_ms) {}

  /// An alarm was annunciated (raised or returned).
  change record(std::int64_t at_ms);
  /// Time passed: a flood can end without new alarms.
  change update(std::int64_t now_ms);
  bool in_flood() const { return in_flood_; }
  std::size_t count(std::int64_t now_ms) const { return window_.count(now_ms); }

 private:
  policy policy_;
  sliding_window_counter window_;
  bool in_flood_ = false;
};

/// ISA-18.2's benchmark of the average annunciated alarm rate per operator: about 1 per
/// 10 minutes is very likely acceptable, about 2 the most that is manageable.
enum class rate_rating : std::uint8_t { acceptable, manageable, overloaded };

std::string_view to_string(rate_rating r);

struct alarm_rate {
  double per_10_min = 0.0;  // per operator
  rate_rating rating = rate_rating::acceptable;
};

/// The average rate of `alarms` annunciated over `period_ms`, spread over `operators`.
alarm_rate rate_per_10_min(std::size_t alarms, std::int64_t period_ms, int operators = 1);

}  // namespace wtc::core
