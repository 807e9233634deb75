#include "core/alarm_logic.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

namespace wtc::core {
namespace {

template <class Enum, std::size_t N>
bool parse_enum(const std::array<std::pair<std::string_view, Enum>, N>& names,
                std::string_view text, Enum& out) {
  for (const auto& [name, value] : names)
    if (name == text) {
      out = value;
      return true;
    }
  return false;
}

template <class Enum, std::size_t N>
std::string_view name_of(const std::array<std::pair<std::string_view, Enum>, N>& names, Enum e) {
  const auto i = static_cast<std::size_t>(e);
  return i < N ? names[i].first : std::string_view{"?"};
}

constexpr std::array<std::pair<std::string_view, alarm_condition>, 5> condition_names{{
    {">", alarm_condition::greater},
    {"<", alarm_condition::less},
    {">=", alarm_condition::greater_equal},
    {"<=", alarm_condition::less_equal},
    {"==", alarm_condition::equal},
}};

constexpr std::array<std::pair<std::string_view, alarm_severity>, 4> severity_names{{
    {"LOW", alarm_severity::low},
    {"MEDIUM", alarm_severity::medium},
    {"HIGH", alarm_severity::high},
    {"CRITICAL", alarm_severity::critical},
}};

constexpr std::array<std::pair<std::string_view, maintenance_status>, 4> maintenance_names{{
    {"SCHEDULED", maintenance_status::scheduled},
    {"ACTIVE", maintenance_status::active},
    {"COMPLETED", maintenance_status::completed},
    {"CANCELLED", maintenance_status::cancelled},
}};

constexpr std::size_t max_message_bytes = 256;  // alarm_events.message VARCHAR(256)
constexpr std::size_t max_name_chars = 64;      // alarm_rules.name VARCHAR(64)
constexpr std::size_t max_station_chars = 32;   // rtu_station VARCHAR(32)
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

/// "%g" is what an operator wants to read: 8.5, 0.001, 1.2e+06; never a run of noise digits.
std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

/// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence: a database with a
/// strict encoding would refuse half a character.
std::string cut_utf8(std::string s, std::size_t max) {
  if (s.size() <= max)
    return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
    --n;
  s.resize(n);
  return s;
}

/// Echoes a client's text in an error message, shortened so a huge body cannot blow it up.
std::string echo(std::string_view text) {
  std::string s = cut_utf8(std::string(text.substr(0, 40)), 32);
  return "\"" + s + "\"";
}

std::string lower(std::string_view text) {
  std::string s(text);
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string check_station_and_slot(const std::string& station, std::int32_t slot,
                                   std::int32_t min_slot) {
  if (station.empty())
    return "rtu_station is required";
  if (station.size() > max_station_chars)
    return "rtu_station must be at most 32 characters";
  if (slot < min_slot || slot > max_alarm_slot)
    return "slot must be between " + std::to_string(min_slot) + " and " +
           std::to_string(max_alarm_slot);
  return {};
}

}  // namespace

// --- rules ---

std::string_view to_string(alarm_condition c) {
  return name_of(condition_names, c);
}

std::string_view to_string(alarm_severity s) {
  return name_of(severity_names, s);
}

bool parse_alarm_condition(std::string_view text, alarm_condition& out) {
  return parse_enum(condition_names, text, out);
}

bool parse_alarm_severity(std::string_view text, alarm_severity& out) {
  return parse_enum(severity_names, text, out);
}

double equality_tolerance(double threshold) {
  return 1e-6 * std::max(1.0, std::fabs(threshold));
}

bool condition_met(alarm_condition c, double value, double threshold) {
  switch (c) {
    case alarm_condition::greater:
      return value > threshold;
    case alarm_condition::less:
      return value < threshold;
    case alarm_condition::greater_equal:
      return value >= threshold;
    case alarm_condition::less_equal:
      return value <= threshold;
    case alarm_condition::equal:
      return std::fabs(value - threshold) <= equality_tolerance(threshold);
  }
  return false;
}

bool returned_to_normal(alarm_condition c, double value, double threshold, double deadband) {
  switch (c) {
    case alarm_condition::greater:
      return value <= threshold - deadband;
    case alarm_condition::less:
      return value >= threshold + deadband;
    case alarm_condition::greater_equal:
      return value < threshold - deadband;
    case alarm_condition::less_equal:
      return value > threshold + deadband;
    case alarm_condition::equal:
      return std::fabs(value - threshold) > equality_tolerance(threshold) + deadband;
  }
  return true;
}

std::string validate_rule(const alarm_rule& r) {
  if (r.name.empty())
    return "name is required";
  if (r.name.size() > max_name_chars)
    return "name must be at most 64 characters";
  if (auto err = check_station_and_slot(r.rtu_station, r.slot, 0); !err.empty())
    return err;
  if (static_cast<std::size_t>(r.condition) >= condition_names.size())
    return "condition must be one of >, <, >=, <=, ==";
  if (static_cast<std::size_t>(r.severity) >= severity_names.size())
    return "severity must be one of LOW, MEDIUM, HIGH, CRITICAL";
  if (!std::isfinite(r.threshold))
    return "threshold must be a finite number";
  if (r.delay_ms < 0 || r.delay_ms > max_alarm_delay_ms)
    return "delay_ms must be between 0 and " + std::to_string(max_alarm_delay_ms);
  if (r.deadband && (!std::isfinite(*r.deadband) || *r.deadband < 0.0))
    return "deadband must be a finite number, 0 or more";
  return {};
}

parsed_rule parse_rule(const alarm_rule_spec& spec) {
  parsed_rule result;
  alarm_rule r;
  if (!parse_alarm_condition(spec.condition, r.condition)) {
    result.error = "condition must be one of >, <, >=, <=, == (got " + echo(spec.condition) + ")";
    return result;
  }
  if (!parse_alarm_severity(spec.severity, r.severity)) {
    result.error =
        "severity must be one of LOW, MEDIUM, HIGH, CRITICAL (got " + echo(spec.severity) + ")";
    return result;
  }
  r.id = spec.id;
  r.name = spec.name;
  r.rtu_station = spec.rtu_station;
  r.slot = spec.slot;
  r.threshold = spec.threshold;
  r.delay_ms = spec.delay_ms;
  r.message = spec.message;
  r.enabled = spec.enabled;
  r.deadband = spec.deadband;
  result.error = validate_rule(r);
  if (result.error.empty())
    result.rule = std::move(r);
  return result;
}

std::string render_message(const alarm_rule& r, double value) {
  if (r.message.empty())
    return cut_utf8(r.name + ": " + format_number(value) + " " +
                        std::string(to_string(r.condition)) + " " + format_number(r.threshold),
                    max_message_bytes);
  std::string out;
  out.reserve(r.message.size() + 16);
  const std::string& t = r.message;
  for (std::size_t i = 0; i < t.size();) {
    const auto close = t[i] == '{' ? t.find('}', i) : std::string::npos;
    if (close == std::string::npos) {
      out += t[i++];
      continue;
    }
    const std::string_view key(t.data() + i + 1, close - i - 1);
    if (key == "name")
      out += r.name;
    else if (key == "station")
      out += r.rtu_station;
    else if (key == "slot")
      out += std::to_string(r.slot);
    else if (key == "value")
      out += format_number(value);
    else if (key == "threshold")
      out += format_number(r.threshold);
    else if (key == "condition")
      out += to_string(r.condition);
    else {
      out += t[i++];  // not ours: keep it as written
      continue;
    }
    i = close + 1;
  }
  return cut_utf8(std::move(out), max_message_bytes);
}

// --- slot configs ---

std::string_view to_string(slot_limit l) {
  switch (l) {
    case slot_limit::low_low:
      return "alarm_low_low";
    case slot_limit::low:
      return "alarm_low";
    case slot_limit::warning_low:
      return "warning_low";
    case slot_limit::warning_high:
      return "warning_high";
    case slot_limit::high:
      return "alarm_high";
    case slot_limit::high_high:
      return "alarm_high_high";
  }
  return "?";
}

namespace {

struct limit_ref {
  slot_limit which;
  const std::optional<double>& value;
};

/// The limits in ascending order of where they sit on the scale.
std::array<limit_ref, 6> limits_of(const slot_limits& c) {
  return {{{slot_limit::low_low, c.alarm_low_low},
           {slot_limit::low, c.alarm_low},
           {slot_limit::warning_low, c.warning_low},
           {slot_limit::warning_high, c.warning_high},
           {slot_limit::high, c.alarm_high},
           {slot_limit::high_high, c.alarm_high_high}}};
}

}  // namespace

std::string validate_slot_limits(const slot_limits& cfg) {
  if (auto err = check_station_and_slot(cfg.rtu_station, cfg.slot, 0); !err.empty())
    return err;
  if (!std::isfinite(cfg.scale_min) || !std::isfinite(cfg.scale_max))
    return "scale_min and scale_max must be finite numbers";
  if (!std::isfinite(cfg.deadband) || cfg.deadband < 0.0)
    return "deadband must be a finite number, 0 or more";
  const limit_ref* previous = nullptr;
  const auto limits = limits_of(cfg);
  for (const auto& l : limits) {
    if (!l.value)
      continue;
    if (!std::isfinite(*l.value))
      return std::string(to_string(l.which)) + " must be a finite number";
    if (previous && *previous->value > *l.value)
      return std::string(to_string(previous->which)) + " (" + format_number(*previous->value) +
             ") must not be above " + std::string(to_string(l.which)) + " (" +
             format_number(*l.value) + ")";
    previous = &l;
  }
  return {};
}

std::int64_t implied_rule_id(std::int64_t config_id, slot_limit which) {
  return -(config_id * 8 + static_cast<std::int64_t>(which));
}

double default_slot_deadband(const slot_limits& cfg) {
  const double span = std::fabs(cfg.scale_max - cfg.scale_min);
  if (!std::isfinite(span))
    return 0.0;
  const std::string type = lower(cfg.measurement_type);
  double fraction = 0.01;
  if (type == "flow" || type == "level")
    fraction = 0.05;
  else if (type == "pressure")
    fraction = 0.02;
  return fraction * span;
}

std::vector<alarm_rule> implied_rules(const slot_limits& cfg, std::int64_t delay_ms) {
  std::vector<alarm_rule> rules;
  if (!cfg.enabled)
    return rules;
  const std::string label =
      cfg.name.empty() ? cfg.rtu_station + " slot " + std::to_string(cfg.slot) : cfg.name;
  const double deadband = cfg.deadband > 0.0 ? cfg.deadband : default_slot_deadband(cfg);
  std::string message = "{name}: {value} {condition} {threshold}";
  if (!cfg.unit.empty())
    message += " " + cfg.unit;
  for (const auto& l : limits_of(cfg)) {
    if (!l.value)
      continue;
    alarm_rule r;
    r.id = implied_rule_id(cfg.id, l.which);
    r.rtu_station = cfg.rtu_station;
    r.slot = cfg.slot;
    r.threshold = *l.value;
    r.delay_ms = delay_ms;
    r.message = message;
    if (deadband > 0.0)
      r.deadband = deadband;
    const char* word = "";
    switch (l.which) {
      case slot_limit::low_low:
        word = "low-low";
        r.condition = alarm_condition::less;
        r.severity = alarm_severity::critical;
        break;
      case slot_limit::low:
        word = "low";
        r.condition = alarm_condition::less;
        r.severity = alarm_severity::high;
        break;
      case slot_limit::warning_low:
        word = "low warning";
        r.condition = alarm_condition::less;
        r.severity = alarm_severity::medium;
        break;
      case slot_limit::warning_high:
        word = "high warning";
        r.condition = alarm_condition::greater;
        r.severity = alarm_severity::medium;
        break;
      case slot_limit::high:
        word = "high";
        r.condition = alarm_condition::greater;
        r.severity = alarm_severity::high;
        break;
      case slot_limit::high_high:
        word = "high-high";
        r.condition = alarm_condition::greater;
        r.severity = alarm_severity::critical;
        break;
    }
    // The word must survive the cut: it is what tells the slot's alarms apart.
    const std::string suffix = std::string(" ") + word;
    r.name = cut_utf8(label, max_name_chars - suffix.size()) + suffix;
    rules.push_back(std::move(r));
  }
  return rules;
}

// --- names ---

std::string_view to_string(alarm_state s) {
  switch (s) {
    case alarm_state::active:
      return "ACTIVE";
    case alarm_state::acknowledged:
      return "ACKNOWLEDGED";
    case alarm_state::cleared:
      break;
  }
  return "CLEARED";
}

std::string_view to_string(isa_state s) {
  switch (s) {
    case isa_state::normal:
      return "NORM";
    case isa_state::unacknowledged:
      return "UNACK";
    case isa_state::acknowledged:
      return "ACKED";
    case isa_state::returned_unacknowledged:
      return "RTNUN";
    case isa_state::shelved:
      return "SHLVD";
    case isa_state::suppressed_by_design:
      return "DSUPR";
    case isa_state::out_of_service:
      break;
  }
  return "OOSRV";
}

std::string_view to_string(alarm_origin o) {
  switch (o) {
    case alarm_origin::rule:
      return "rule";
    case alarm_origin::point_comm:
      return "point_comm";
    case alarm_origin::rtu_comm:
      return "rtu_comm";
    case alarm_origin::node_comm:
      break;
  }
  return "node_comm";
}

std::string_view to_string(alarm_event_kind k) {
  switch (k) {
    case alarm_event_kind::raised:
      return "raised";
    case alarm_event_kind::returned:
      return "returned";
    case alarm_event_kind::cleared:
      return "cleared";
    case alarm_event_kind::acknowledged:
      return "acknowledged";
    case alarm_event_kind::withdrawn:
      return "withdrawn";
    case alarm_event_kind::suppressed:
      return "suppressed";
    case alarm_event_kind::shelved:
      return "shelved";
    case alarm_event_kind::unshelved:
      return "unshelved";
    case alarm_event_kind::maintenance_started:
      return "maintenance_started";
    case alarm_event_kind::maintenance_ended:
      break;
  }
  return "maintenance_ended";
}

std::string_view to_string(alarm_cause c) {
  switch (c) {
    case alarm_cause::none:
      return "none";
    case alarm_cause::shelf:
      return "shelf";
    case alarm_cause::maintenance:
      return "maintenance";
    case alarm_cause::rule_changed:
      return "rule_changed";
    case alarm_cause::expired:
      return "expired";
    case alarm_cause::operator_request:
      break;
  }
  return "operator_request";
}

std::string_view to_string(maintenance_status s) {
  return name_of(maintenance_names, s);
}

bool parse_maintenance_status(std::string_view text, maintenance_status& out) {
  return parse_enum(maintenance_names, text, out);
}

// --- the evaluator: structure ---

std::uint32_t alarm_evaluator::station_of(std::string_view name) {
  if (auto it = station_index_.find(name); it != station_index_.end())
    return it->second;
  const auto idx = static_cast<std::uint32_t>(stations_.size());
  stations_.push_back(station{std::string(name), {}, 0, false, 0});
  station_index_.emplace(std::string(name), idx);
  point_of(idx, -1);  // the RTU itself, for its communication alarm
  return idx;
}

std::uint32_t alarm_evaluator::node_of(std::string_view name) {
  if (auto it = node_index_.find(name); it != node_index_.end())
    return it->second;
  // A station of its own, out of station_index_: an RTU's lookups (samples, states, shelves,
  // windows) never reach it, so a node and an RTU of the same name stay apart.
  const auto idx = static_cast<std::uint32_t>(stations_.size());
  stations_.push_back(station{std::string(name), {}, 0, false, 0});
  node_index_.emplace(std::string(name), idx);
  const std::uint32_t comm = points_[point_of(idx, -1)].comm;
  source& c = sources_[comm];  // after point_of, which grows sources_
  c.origin = alarm_origin::node_comm;
  c.delay_ms = policy_.node_comm_delay_ms;
  c.armed = true;  // nothing else shows a lost node to the operator
  return idx;
}

std::uint32_t alarm_evaluator::point_of(std::uint32_t station_idx, std::int32_t slot) {
  const auto k = static_cast<std::size_t>(slot + 1);
  if (k < stations_[station_idx].points.size() && stations_[station_idx].points[k] != none)
    return stations_[station_idx].points[k];
  const auto idx = static_cast<std::uint32_t>(points_.size());
  const std::uint32_t comm = new_source();
  source& c = sources_[comm];
  c.origin = slot < 0 ? alarm_origin::rtu_comm : alarm_origin::point_comm;
  c.point = idx;
  c.delay_ms = policy_.comm_delay_ms;
  c.severity = policy_.comm_severity;
  point p;
  p.station = station_idx;
  p.slot = slot;
  p.comm = comm;
  points_.push_back(std::move(p));
  auto& slots = stations_[station_idx].points;
  if (k >= slots.size())
    slots.resize(k + 1, none);
  slots[k] = idx;
  sources_[comm].suppression = suppression_of(sources_[comm]);
  return idx;
}

std::uint32_t alarm_evaluator::find_point(std::string_view name, std::int32_t slot) const {
  const auto st = find_station(name);
  if (st == no_station || slot < -1)
    return none;
  const auto k = static_cast<std::size_t>(slot + 1);
  const auto& slots = stations_[st].points;
  return k < slots.size() ? slots[k] : none;
}

std::uint32_t alarm_evaluator::new_source() {
  std::uint32_t idx;
  if (!free_sources_.empty()) {
    idx = free_sources_.back();
    free_sources_.pop_back();
    sources_[idx] = source{};
  } else {
    idx = static_cast<std::uint32_t>(sources_.size());
    sources_.emplace_back();
  }
  sources_[idx].live = true;
  return idx;
}

alarm_evaluator::station_handle alarm_evaluator::find_station(std::string_view rtu_station) const {
  auto it = station_index_.find(rtu_station);
  return it == station_index_.end() ? no_station : it->second;
}

// --- the evaluator: the state machine ---

void alarm_evaluator::feed(std::uint32_t idx, bool abnormal, bool normal, double value,
                           std::int64_t now, std::vector<alarm_transition>& out) {
  source& s = sources_[idx];
  switch (s.state) {
    case latch::normal:
      if (!abnormal)
        return;
      if (s.delay_ms <= 0) {
        become_active(idx, value, now, out);
      } else {
        s.state = latch::pending;
        s.pending_since = now;
        start_pending(idx);
      }
      return;
    case latch::pending:
      if (!abnormal)
        s.state = latch::normal;  // the excursion ended before the delay: nothing happened
      else if (now - s.pending_since >= s.delay_ms)
        become_active(idx, value, now, out);
      return;
    case latch::active:
      if (normal)
        become_normal(idx, value, now, out);
      else if ((s.occurrence == 0 || !s.occ_active) && s.suppression == alarm_cause::none)
        annunciate(idx, value, now, out);  // released from a shelf while its data was bad
      return;
  }
}

void alarm_evaluator::become_active(std::uint32_t idx, double value, std::int64_t now,
                                    std::vector<alarm_transition>& out) {
  source& s = sources_[idx];
  s.state = latch::active;
  if (s.suppression == alarm_cause::none) {
    annunciate(idx, value, now, out);
    return;
  }
  // Held back, but on record: after the shelf or the work, someone may ask what happened.
  auto t = make(s, alarm_event_kind::suppressed, now);
  t.cause = s.suppression;
  t.value = value;
  t.text = message_of(s, value);
  if (s.suppression == alarm_cause::maintenance)
    t.ref_id = maintenance_of(s);
  out.push_back(std::move(t));
}

void alarm_evaluator::become_normal(std::uint32_t idx, double value, std::int64_t now,
                                    std::vector<alarm_transition>& out) {
  source& s = sources_[idx];
  s.state = latch::normal;
  if (s.occurrence == 0 || !s.occ_active)
    return;  // never annunciated (it was held back): nothing to clear
  s.occ_active = false;
  auto t = make(s, alarm_event_kind::cleared, now);
  t.value = value;
  if (s.acked) {
    t.listed = false;
    unlist(s);
  }
  out.push_back(std::move(t));
}

void alarm_evaluator::annunciate(std::uint32_t idx, double value, std::int64_t now,
                                 std::vector<alarm_transition>& out) {
  source& s = sources_[idx];
  if (s.occurrence != 0) {
    if (s.occ_active)
      return;
    // ISA-18.2: RTNUN goes back to UNACK. The operator has not seen it yet, so it is the same
    // alarm, not a second one beside it.
    s.occ_active = true;
    auto t = make(s, alarm_event_kind::returned, now);
    t.value = value;
    t.text = s.occ_message;
    out.push_back(std::move(t));
    return;
  }
  s.occurrence = next_occurrence_++;
  s.occ_active = true;
  s.acked = false;
  s.activated_at = now;
  s.activation_value = value;
  s.occ_message = message_of(s, value);
  listed_.emplace(s.occurrence, idx);
  auto t = make(s, alarm_event_kind::raised, now);
  t.value = value;
  t.text = s.occ_message;
  out.push_back(std::move(t));
}

void alarm_evaluator::withdraw(std::uint32_t idx, alarm_cause cause, std::int64_t ref_id,
                               std::int64_t now, std::vector<alarm_transition>& out) {
  source& s = sources_[idx];
  if (s.occurrence == 0)
    return;
  auto t = make(s, alarm_event_kind::withdrawn, now);
  t.cause = cause;
  t.ref_id = ref_id;
  t.state = alarm_state::cleared;
  t.listed = false;
  unlist(s);
  out.push_back(std::move(t));
}

void alarm_evaluator::unlist(source& s) {
  listed_.erase(s.occurrence);
  s.occurrence = 0;
  s.occ_active = false;
  s.acked = false;
}

void alarm_evaluator::start_pending(std::uint32_t idx) {
  source& s = sources_[idx];
  if (!s.in_pending_list) {
    s.in_pending_list = true;
    pending_.push_back(idx);
  }
}

void alarm_evaluator::cancel_pending(source& s) {
  if (s.state == latch::pending)
    s.state = latch::normal;
}

double alarm_evaluator::value_of(const source& s) const {
  return s.origin == alarm_origin::rule ? points_[s.point].value : nan;
}

bool alarm_evaluator::data_ok(const source& s) const {
  const point& p = points_[s.point];
  switch (s.origin) {
    case alarm_origin::rule:
      return p.has_value && p.q != quality::bad && !stations_[p.station].down;
    case alarm_origin::point_comm:
      return !stations_[p.station].down;
    case alarm_origin::rtu_comm:
    case alarm_origin::node_comm:
      break;
  }
  return true;
}

std::string alarm_evaluator::message_of(const source& s, double value) const {
  if (s.origin == alarm_origin::rule)
    return render_message(s.rule, value);
  const point& p = points_[s.point];
  const std::string& name = stations_[p.station].name;
  if (s.origin == alarm_origin::rtu_comm)
    return cut_utf8("RTU " + name + " is not communicating", max_message_bytes);
  if (s.origin == alarm_origin::node_comm)
    return cut_utf8("Edge node '" + name + "' is not communicating", max_message_bytes);
  return cut_utf8(
      "Communication lost: " + name + " slot " + std::to_string(p.slot) + " (quality BAD)",
      max_message_bytes);
}

alarm_transition alarm_evaluator::make(const source& s, alarm_event_kind kind,
                                       std::int64_t now) const {
  alarm_transition t;
  t.kind = kind;
  t.occurrence = s.occurrence;
  t.origin = s.origin;
  t.rule_id = s.origin == alarm_origin::rule ? s.rule.id : 0;
  const point& p = points_[s.point];
  t.rtu_station = stations_[p.station].name;
  t.slot = p.slot;
  t.severity = s.severity;
  if (s.occurrence != 0 && s.occ_active)
    t.state = s.acked ? alarm_state::acknowledged : alarm_state::active;
  else
    t.state = alarm_state::cleared;
  t.acknowledged = s.acked;
  t.listed = s.occurrence != 0;
  t.at_ms = now;
  return t;
}

// --- the evaluator: configuration ---

void alarm_evaluator::resolve_deadband(source& s) const {
  if (s.rule.deadband)
    s.deadband = *s.rule.deadband;
  else if (points_[s.point].config_deadband > 0.0)
    s.deadband = points_[s.point].config_deadband;
  else
    s.deadband = policy_.default_deadband_fraction * std::fabs(s.rule.threshold);
}

void alarm_evaluator::attach_rule(std::uint32_t idx, std::int64_t now,
                                  std::vector<alarm_transition>& out) {
  source& s = sources_[idx];
  point& p = points_[s.point];
  p.rules.push_back(idx);
  s.armed = s.rule.enabled;
  if (s.armed) {
    ++p.enabled_rules;
    ++stations_[p.station].enabled_rules;
  }
  resolve_deadband(s);
  s.suppression = suppression_of(s);
  rearm_comm(s.point, now, out);
}

void alarm_evaluator::detach_rule(std::uint32_t idx, std::int64_t now,
                                  std::vector<alarm_transition>& out) {
  withdraw(idx, alarm_cause::rule_changed, 0, now, out);
  source& s = sources_[idx];
  s.state = latch::normal;
  point& p = points_[s.point];
  p.rules.erase(std::remove(p.rules.begin(), p.rules.end(), idx), p.rules.end());
  if (s.armed) {
    --p.enabled_rules;
    --stations_[p.station].enabled_rules;
    s.armed = false;
  }
  rearm_comm(s.point, now, out);
}

void alarm_evaluator::arm(std::uint32_t idx, bool want, bool abnormal, std::int64_t now,
                          std::vector<alarm_transition>& out) {
  source& c = sources_[idx];
  if (c.armed == want)
    return;
  c.armed = want;
  if (!want) {
    withdraw(idx, alarm_cause::rule_changed, 0, now, out);
    c.state = latch::normal;
  } else if (abnormal) {
    feed(idx, true, false, nan, now, out);
  }
}

void alarm_evaluator::rearm_comm(std::uint32_t point_idx, std::int64_t now,
                                 std::vector<alarm_transition>& out) {
  // Communication alarms only matter where rules depend on the data: a slot with enabled
  // rules for its own, an RTU with any for the RTU's.
  const point& p = points_[point_idx];
  const station& st = stations_[p.station];
  const std::uint32_t rtu_comm = points_[st.points[0]].comm;
  arm(p.comm, p.enabled_rules > 0, p.has_value && p.q == quality::bad && !st.down, now, out);
  arm(rtu_comm, st.enabled_rules > 0, st.down, now, out);
}

alarm_outcome alarm_evaluator::upsert_rule(const alarm_rule& r, std::int64_t now_ms) {
  alarm_outcome result;
  // 0 would read as "no rule" in transitions and as "the whole slot" in shelves.
  result.detail = r.id != 0 ? validate_rule(r) : "rule id must not be 0";
  if (!result.detail.empty()) {
    result.code = alarm_errc::invalid;
    return result;
  }
  auto& out = result.transitions;
  auto it = rule_index_.find(r.id);
  if (it == rule_index_.end()) {
    const std::uint32_t idx = new_source();
    const std::uint32_t p = point_of(station_of(r.rtu_station), r.slot);
    source& s = sources_[idx];  // after point_of, which may grow sources_
    s.origin = alarm_origin::rule;
    s.point = p;
    s.rule = r;
    s.severity = r.severity;
    s.delay_ms = r.delay_ms;
    rule_index_.emplace(r.id, idx);
    attach_rule(idx, now_ms, out);
    return result;
  }
  const std::uint32_t idx = it->second;
  const point& old = points_[sources_[idx].point];
  const bool moved = stations_[old.station].name != r.rtu_station || old.slot != r.slot;
  if (moved || sources_[idx].rule.condition != r.condition) {
    // Another point or another direction: the old latch means nothing for the new rule.
    detach_rule(idx, now_ms, out);
    const std::uint32_t p = point_of(station_of(r.rtu_station), r.slot);
    source& s = sources_[idx];
    s.point = p;
    s.rule = r;
    s.severity = r.severity;
    s.delay_ms = r.delay_ms;
    attach_rule(idx, now_ms, out);
    return result;
  }
  source& s = sources_[idx];
  s.rule = r;
  s.severity = r.severity;
  s.delay_ms = r.delay_ms;
  resolve_deadband(s);
  cancel_pending(s);  // the on-delay starts over against the new limits
  if (s.armed != r.enabled) {
    point& p = points_[s.point];
    if (r.enabled) {
      s.armed = true;
      ++p.enabled_rules;
      ++stations_[p.station].enabled_rules;
    } else {
      withdraw(idx, alarm_cause::rule_changed, 0, now_ms, out);
      sources_[idx].state = latch::normal;
      sources_[idx].armed = false;
      --p.enabled_rules;
      --stations_[p.station].enabled_rules;
    }
    rearm_comm(sources_[idx].point, now_ms, out);
  }
  return result;
}

alarm_outcome alarm_evaluator::remove_rule(std::int64_t rule_id, std::int64_t now_ms) {
  alarm_outcome result;
  auto it = rule_index_.find(rule_id);
  if (it == rule_index_.end()) {
    result.code = alarm_errc::not_found;
    result.detail = "no alarm rule " + std::to_string(rule_id);
    return result;
  }
  const std::uint32_t idx = it->second;
  detach_rule(idx, now_ms, result.transitions);
  rule_index_.erase(it);
  if (sources_[idx].in_pending_list)
    pending_.erase(std::remove(pending_.begin(), pending_.end(), idx), pending_.end());
  sources_[idx] = source{};
  free_sources_.push_back(idx);
  return result;
}

void alarm_evaluator::set_point_config(std::uint32_t point_idx, std::int64_t config_id,
                                       double deadband) {
  point& p = points_[point_idx];
  p.config_id = config_id;
  p.config_deadband = deadband;
  for (auto idx : p.rules)
    resolve_deadband(sources_[idx]);
}

alarm_outcome alarm_evaluator::set_slot_limits(const slot_limits& cfg, std::int64_t now_ms) {
  alarm_outcome result;
  result.detail = cfg.id > 0 ? validate_slot_limits(cfg) : "slot config id must be positive";
  if (!result.detail.empty()) {
    result.code = alarm_errc::invalid;
    return result;
  }
  const std::uint32_t p = point_of(station_of(cfg.rtu_station), cfg.slot);
  if (auto it = config_points_.find(cfg.id); it != config_points_.end() && it->second != p)
    set_point_config(it->second, 0, 0.0);  // the config moved to another slot
  config_points_[cfg.id] = p;
  const double deadband = !cfg.enabled       ? 0.0
                          : cfg.deadband > 0 ? cfg.deadband
                                             : default_slot_deadband(cfg);
  set_point_config(p, cfg.id, deadband);
  const auto rules = implied_rules(cfg);
  for (const auto& l : limits_of(cfg)) {
    const auto id = implied_rule_id(cfg.id, l.which);
    auto r =
        std::find_if(rules.begin(), rules.end(), [id](const alarm_rule& x) { return x.id == id; });
    alarm_outcome step = r != rules.end()        ? upsert_rule(*r, now_ms)
                         : rule_index_.count(id) ? remove_rule(id, now_ms)
                                                 : alarm_outcome{};
    if (!step.ok())
      return step;
    for (auto& t : step.transitions)
      result.transitions.push_back(std::move(t));
  }
  return result;
}

alarm_outcome alarm_evaluator::remove_slot_limits(std::int64_t config_id, std::int64_t now_ms) {
  alarm_outcome result;
  auto it = config_points_.find(config_id);
  if (it == config_points_.end()) {
    result.code = alarm_errc::not_found;
    result.detail = "no slot config " + std::to_string(config_id);
    return result;
  }
  for (auto which : {slot_limit::low_low, slot_limit::low, slot_limit::warning_low,
                     slot_limit::warning_high, slot_limit::high, slot_limit::high_high}) {
    const auto id = implied_rule_id(config_id, which);
    if (rule_index_.count(id) == 0)
      continue;
    auto step = remove_rule(id, now_ms);
    for (auto& t : step.transitions)
      result.transitions.push_back(std::move(t));
  }
  set_point_config(it->second, 0, 0.0);
  config_points_.erase(it);
  return result;
}

// --- the evaluator: inputs ---

std::vector<alarm_transition> alarm_evaluator::on_sample(station_handle station_idx,
                                                         std::int32_t slot, double value, quality q,
                                                         std::int64_t now_ms) {
  std::vector<alarm_transition> out;
  if (station_idx >= stations_.size() || slot < 0)
    return out;
  const auto& slots = stations_[station_idx].points;
  const auto k = static_cast<std::size_t>(slot) + 1;
  if (k >= slots.size() || slots[k] == none)
    return out;
  point& p = points_[slots[k]];
  if (!std::isfinite(value))
    q = quality::bad;
  p.value = value;
  p.q = q;
  p.has_value = true;
  if (p.enabled_rules == 0)
    return out;
  if (q == quality::bad) {
    // Not a process alarm, either way: the rules hold what they have until the data is good.
    for (auto idx : p.rules)
      cancel_pending(sources_[idx]);
    if (stations_[station_idx].down)
      cancel_pending(sources_[p.comm]);  // the RTU's own alarm says it all
    else
      feed(p.comm, true, false, nan, now_ms, out);
    return out;
  }
  feed(p.comm, false, true, nan, now_ms, out);
  for (auto idx : p.rules) {
    const source& s = sources_[idx];
    if (!s.armed)
      continue;
    const auto& r = s.rule;
    feed(idx, condition_met(r.condition, value, r.threshold),
         returned_to_normal(r.condition, value, r.threshold, s.deadband), value, now_ms, out);
  }
  return out;
}

std::vector<alarm_transition> alarm_evaluator::on_sample(std::string_view rtu_station,
                                                         std::int32_t slot, double value, quality q,
                                                         std::int64_t now_ms) {
  return on_sample(find_station(rtu_station), slot, value, q, now_ms);
}

std::vector<alarm_transition> alarm_evaluator::on_rtu_state(std::string_view rtu_station,
                                                            rtu_state s, std::int64_t now_ms) {
  std::vector<alarm_transition> out;
  bool down = false;
  switch (s) {
    case rtu_state::running:
      break;
    case rtu_state::error:
      down = true;
      break;
    case rtu_state::offline:
      down = policy_.offline_is_comm_failure;
      break;
    case rtu_state::connecting:
    case rtu_state::discovery:
      return out;  // on the way up, or a retry: the outage goes on until RUNNING
  }
  const std::uint32_t st_idx = station_of(rtu_station);
  stations_[st_idx].down = down;
  const auto& slots = stations_[st_idx].points;
  const std::uint32_t rtu_comm = points_[slots[0]].comm;
  if (sources_[rtu_comm].armed)
    feed(rtu_comm, down, !down, nan, now_ms, out);
  if (down)
    for (std::size_t k = 1; k < slots.size(); ++k) {
      if (slots[k] == none)
        continue;
      // The values are stale from now on; an on-delay must not complete on them.
      const point& p = points_[slots[k]];
      for (auto idx : p.rules)
        cancel_pending(sources_[idx]);
      cancel_pending(sources_[p.comm]);
    }
  return out;
}

std::vector<alarm_transition> alarm_evaluator::on_node_link(std::string_view node, bool reachable,
                                                            std::int64_t now_ms) {
  std::vector<alarm_transition> out;
  if (node.empty())
    return out;
  auto known = node_index_.find(node);
  if (reachable && known == node_index_.end())
    return out;  // never lost: nothing to clear, and nothing to keep for it
  const std::uint32_t st_idx = known != node_index_.end() ? known->second : node_of(node);
  feed(points_[stations_[st_idx].points[0]].comm, !reachable, reachable, nan, now_ms, out);
  return out;
}

std::vector<alarm_transition> alarm_evaluator::tick(std::int64_t now_ms) {
  std::vector<alarm_transition> out;
  // Windows first, then shelves, then on-delays: an alarm released at this instant and due at
  // this instant is annunciated, not held back.
  for (auto& w : windows_) {
    if (w.status == maintenance_status::scheduled && w.start_ms <= now_ms)
      start_window(w, now_ms, out);
    if (w.status == maintenance_status::active && w.end_ms <= now_ms)
      end_window(w, maintenance_status::completed, std::string(), now_ms, out);
  }
  windows_.erase(std::remove_if(windows_.begin(), windows_.end(),
                                [](const maintenance_window& w) {
                                  return w.status == maintenance_status::completed ||
                                         w.status == maintenance_status::cancelled;
                                }),
                 windows_.end());
  for (std::size_t i = 0; i < shelves_.size();) {
    if (shelves_[i].until_ms <= now_ms)
      end_shelf(i, alarm_cause::expired, std::string(), now_ms, out);
    else
      ++i;
  }
  for (std::size_t i = 0; i < pending_.size();) {
    const std::uint32_t idx = pending_[i];
    source& s = sources_[idx];
    bool keep = false;
    if (s.live && s.armed && s.state == latch::pending) {
      if (!data_ok(s))
        s.state = latch::normal;
      else if (now_ms - s.pending_since >= s.delay_ms)
        become_active(idx, value_of(s), now_ms, out);
      else
        keep = true;
    }
    if (keep) {
      ++i;
    } else {
      sources_[idx].in_pending_list = false;
      pending_[i] = pending_.back();
      pending_.pop_back();
    }
  }
  return out;
}

std::int64_t alarm_evaluator::next_due_ms() const {
  std::int64_t due = std::numeric_limits<std::int64_t>::max();
  for (auto idx : pending_) {
    const source& s = sources_[idx];
    if (s.live && s.state == latch::pending)
      due = std::min(due, s.pending_since + s.delay_ms);
  }
  for (const auto& sh : shelves_)
    due = std::min(due, sh.until_ms);
  for (const auto& w : windows_) {
    if (w.status == maintenance_status::scheduled)
      due = std::min(due, w.start_ms);
    else if (w.status == maintenance_status::active)
      due = std::min(due, w.end_ms);
  }
  return due;
}

// --- the evaluator: suppression ---

alarm_cause alarm_evaluator::suppression_of(const source& s) const {
  const point& p = points_[s.point];
  if (p.maintenance > 0 || stations_[p.station].maintenance > 0)
    return alarm_cause::maintenance;
  for (const auto& sh : shelves_)
    if (sh.point == s.point &&
        (sh.rule_id == 0 || (s.origin == alarm_origin::rule && sh.rule_id == s.rule.id)))
      return alarm_cause::shelf;
  return alarm_cause::none;
}

std::int64_t alarm_evaluator::maintenance_of(const source& s) const {
  const point& p = points_[s.point];
  const std::string& name = stations_[p.station].name;
  for (const auto& w : windows_)
    if (w.status == maintenance_status::active && w.rtu_station == name &&
        (w.slot == -1 || w.slot == p.slot))
      return w.id;
  return 0;
}

void alarm_evaluator::refresh_point(std::uint32_t point_idx, std::int64_t now,
                                    std::vector<alarm_transition>& out) {
  auto judge = [&](std::uint32_t idx) {
    source& s = sources_[idx];
    const alarm_cause before = s.suppression;
    const alarm_cause after = suppression_of(s);
    if (before == after)
      return;
    s.suppression = after;
    if (before == alarm_cause::none) {
      withdraw(idx, after, after == alarm_cause::maintenance ? maintenance_of(s) : 0, now, out);
    } else if (after == alarm_cause::none && s.armed && s.state == latch::active && data_ok(s)) {
      // Released: judged again now. Still abnormal means annunciated again, as a new alarm.
      annunciate(idx, value_of(s), now, out);
    }
  };
  for (auto idx : points_[point_idx].rules)
    judge(idx);
  judge(points_[point_idx].comm);
}

void alarm_evaluator::refresh_station(std::uint32_t station_idx, std::int64_t now,
                                      std::vector<alarm_transition>& out) {
  for (auto p : stations_[station_idx].points)
    if (p != none)
      refresh_point(p, now, out);
}

void alarm_evaluator::start_window(maintenance_window& w, std::int64_t now,
                                   std::vector<alarm_transition>& out) {
  w.status = maintenance_status::active;
  out.push_back(window_transition(w, alarm_event_kind::maintenance_started, w.scheduled_by, now));
  apply_window(w, +1, now, out);
}

void alarm_evaluator::end_window(maintenance_window& w, maintenance_status to,
                                 const std::string& by, std::int64_t now,
                                 std::vector<alarm_transition>& out) {
  const bool was_active = w.status == maintenance_status::active;
  w.status = to;
  auto t = window_transition(w, alarm_event_kind::maintenance_ended, by, now);
  t.cause =
      to == maintenance_status::completed ? alarm_cause::expired : alarm_cause::operator_request;
  out.push_back(std::move(t));
  if (was_active)
    apply_window(w, -1, now, out);
}

void alarm_evaluator::apply_window(const maintenance_window& w, int delta, std::int64_t now,
                                   std::vector<alarm_transition>& out) {
  const std::uint32_t st = station_of(w.rtu_station);
  if (w.slot < 0) {
    stations_[st].maintenance += delta;
    refresh_station(st, now, out);
  } else {
    const std::uint32_t p = point_of(st, w.slot);
    points_[p].maintenance += delta;
    refresh_point(p, now, out);
  }
}

alarm_transition alarm_evaluator::window_transition(const maintenance_window& w,
                                                    alarm_event_kind kind, const std::string& by,
                                                    std::int64_t now) const {
  alarm_transition t;
  t.kind = kind;
  t.rtu_station = w.rtu_station;
  t.slot = w.slot;
  t.ref_id = w.id;
  t.window_status = w.status;
  t.state = alarm_state::cleared;
  t.at_ms = now;
  t.by = by;
  t.text = w.reason;
  return t;
}

void alarm_evaluator::end_shelf(std::size_t i, alarm_cause cause, const std::string& by,
                                std::int64_t now, std::vector<alarm_transition>& out) {
  const shelf sh = std::move(shelves_[i]);
  shelves_.erase(shelves_.begin() + static_cast<std::ptrdiff_t>(i));
  out.push_back(shelf_transition(sh, alarm_event_kind::unshelved, now));
  out.back().cause = cause;
  out.back().by = by.empty() ? sh.by : by;
  refresh_point(sh.point, now, out);
}

alarm_transition alarm_evaluator::shelf_transition(const shelf& sh, alarm_event_kind kind,
                                                   std::int64_t now) const {
  const point& p = points_[sh.point];
  alarm_transition t;
  t.kind = kind;
  t.cause = alarm_cause::shelf;
  t.origin = sh.rule_id != 0 ? alarm_origin::rule
             : p.slot < 0    ? alarm_origin::rtu_comm
                             : alarm_origin::point_comm;
  t.rule_id = sh.rule_id;
  t.rtu_station = stations_[p.station].name;
  t.slot = p.slot;
  t.state = alarm_state::cleared;
  t.at_ms = now;
  t.until_ms = sh.until_ms;
  t.by = sh.by;
  t.text = sh.reason;
  return t;
}

// --- the evaluator: operators ---

alarm_outcome alarm_evaluator::acknowledge(std::uint64_t occurrence, const std::string& by,
                                           const std::string& note, std::int64_t now_ms) {
  alarm_outcome result;
  if (by.empty()) {
    result.code = alarm_errc::invalid;
    result.detail = "acknowledged_by is required";
    return result;
  }
  if (occurrence == 0 || occurrence >= next_occurrence_) {
    result.code = alarm_errc::not_found;
    result.detail = "no alarm " + std::to_string(occurrence);
    return result;
  }
  auto it = listed_.find(occurrence);
  if (it == listed_.end()) {
    result.code = alarm_errc::not_acknowledgeable;
    result.detail = "alarm " + std::to_string(occurrence) +
                    " is not acknowledgeable: it has returned to normal and was acknowledged, or "
                    "was shelved or taken out of service";
    return result;
  }
  source& s = sources_[it->second];
  if (s.acked) {
    result.code = alarm_errc::not_acknowledgeable;
    result.detail = "alarm " + std::to_string(occurrence) + " is already acknowledged";
    return result;
  }
  s.acked = true;
  auto t = make(s, alarm_event_kind::acknowledged, now_ms);
  t.by = by;
  t.text = note;
  if (!s.occ_active) {
    t.listed = false;  // RTNUN → NORM: nothing left to see
    unlist(s);
  }
  result.transitions.push_back(std::move(t));
  return result;
}

alarm_outcome alarm_evaluator::shelve(const shelf_request& req, std::int64_t now_ms) {
  alarm_outcome result;
  result.code = alarm_errc::invalid;
  if (auto err = check_station_and_slot(req.rtu_station, req.slot, -1); !err.empty()) {
    result.detail = err;
    return result;
  }
  if (req.shelved_by.empty()) {
    result.detail = "shelved_by is required";
    return result;
  }
  if (req.reason.empty()) {
    result.detail = "a reason is required to shelve an alarm";
    return result;
  }
  if (req.duration_ms <= 0 || req.duration_ms > policy_.max_shelf_ms) {
    result.detail = "the shelf duration must be more than 0 and at most " +
                    std::to_string(policy_.max_shelf_ms / 60'000) + " minutes";
    return result;
  }
  if (req.rule_id != 0) {
    auto it = rule_index_.find(req.rule_id);
    if (it == rule_index_.end()) {
      result.code = alarm_errc::not_found;
      result.detail = "no alarm rule " + std::to_string(req.rule_id);
      return result;
    }
    const auto& r = sources_[it->second].rule;
    if (r.rtu_station != req.rtu_station || r.slot != req.slot) {
      result.detail = "alarm rule " + std::to_string(req.rule_id) + " is on " + r.rtu_station +
                      " slot " + std::to_string(r.slot);
      return result;
    }
  }
  result.code = alarm_errc::ok;
  const std::uint32_t p = point_of(station_of(req.rtu_station), req.slot);
  auto it = std::find_if(shelves_.begin(), shelves_.end(), [&](const shelf& sh) {
    return sh.point == p && sh.rule_id == req.rule_id;
  });
  if (it == shelves_.end())
    it = shelves_.insert(shelves_.end(), shelf{p, req.rule_id, 0, {}, {}});
  it->until_ms = now_ms + req.duration_ms;
  it->by = req.shelved_by;
  it->reason = req.reason;
  result.transitions.push_back(shelf_transition(*it, alarm_event_kind::shelved, now_ms));
  refresh_point(p, now_ms, result.transitions);
  return result;
}

alarm_outcome alarm_evaluator::unshelve(std::string_view rtu_station, std::int32_t slot,
                                        std::int64_t rule_id, const std::string& by,
                                        std::int64_t now_ms) {
  alarm_outcome result;
  const std::uint32_t p = find_point(rtu_station, slot);
  auto it = std::find_if(shelves_.begin(), shelves_.end(), [&](const shelf& sh) {
    return p != none && sh.point == p && sh.rule_id == rule_id;
  });
  if (it == shelves_.end()) {
    result.code = alarm_errc::not_found;
    result.detail = "no shelf on " + std::string(rtu_station) + " slot " + std::to_string(slot) +
                    (rule_id != 0 ? " rule " + std::to_string(rule_id) : std::string());
    return result;
  }
  end_shelf(static_cast<std::size_t>(it - shelves_.begin()), alarm_cause::operator_request, by,
            now_ms, result.transitions);
  return result;
}

alarm_outcome alarm_evaluator::add_maintenance(const maintenance_window& w, std::int64_t now_ms) {
  alarm_outcome result;
  result.code = alarm_errc::invalid;
  if (w.id <= 0)
    result.detail = "maintenance id must be positive";
  else if (auto err = check_station_and_slot(w.rtu_station, w.slot, -1); !err.empty())
    result.detail = err;
  else if (w.end_ms <= w.start_ms)
    result.detail = "end_time must be after start_time";
  else if (w.reason.empty())
    result.detail = "reason is required";
  else if (w.scheduled_by.empty())
    result.detail = "scheduled_by is required";
  else if (w.status != maintenance_status::scheduled && w.status != maintenance_status::active)
    result.detail = "only a SCHEDULED or ACTIVE window can be added";
  else if (w.status == maintenance_status::scheduled && w.end_ms <= now_ms)
    result.detail = "end_time is in the past";
  if (!result.detail.empty())
    return result;
  if (std::any_of(windows_.begin(), windows_.end(),
                  [&](const maintenance_window& x) { return x.id == w.id; })) {
    result.code = alarm_errc::conflict;
    result.detail = "maintenance window " + std::to_string(w.id) + " exists already";
    return result;
  }
  result.code = alarm_errc::ok;
  windows_.push_back(w);
  // Create the slot now, so a rule added during the window is covered by it too.
  const std::uint32_t st = station_of(w.rtu_station);
  if (w.slot >= 0)
    point_of(st, w.slot);
  if (w.status == maintenance_status::active)  // restored: the row says ACTIVE already
    apply_window(windows_.back(), +1, now_ms, result.transitions);
  return result;
}

alarm_outcome alarm_evaluator::cancel_maintenance(std::int64_t window_id, const std::string& by,
                                                  std::int64_t now_ms) {
  alarm_outcome result;
  auto it = std::find_if(windows_.begin(), windows_.end(),
                         [&](const maintenance_window& w) { return w.id == window_id; });
  if (it == windows_.end()) {
    result.code = alarm_errc::not_found;
    result.detail = "no scheduled or active maintenance window " + std::to_string(window_id);
    return result;
  }
  end_window(*it, maintenance_status::cancelled, by, now_ms, result.transitions);
  windows_.erase(it);
  return result;
}

std::uint64_t alarm_evaluator::restore_alarm(const restored_alarm& a) {
  std::uint32_t idx = none;
  if (a.origin == alarm_origin::rule) {
    if (auto it = rule_index_.find(a.rule_id); it != rule_index_.end())
      idx = it->second;
  } else if (a.origin == alarm_origin::node_comm) {
    // Always armed: the node needs no rule to be known again. An empty name is no node.
    if (!a.rtu_station.empty()) {
      const std::uint32_t st = node_of(a.rtu_station);
      idx = points_[stations_[st].points[0]].comm;
    }
  } else {
    const auto p = find_point(a.rtu_station, a.origin == alarm_origin::rtu_comm ? -1 : a.slot);
    if (p != none)
      idx = points_[p].comm;
  }
  if (idx == none || sources_[idx].occurrence != 0 || (!a.active && a.acknowledged))
    return 0;
  source& s = sources_[idx];
  s.occurrence = next_occurrence_++;
  s.occ_active = a.active;
  s.acked = a.acknowledged;
  s.activated_at = a.activated_at;
  s.activation_value = a.value;
  s.occ_message = a.message;
  if (a.active)
    s.state = latch::active;  // so that it clears (through its deadband), not raises again
  listed_.emplace(s.occurrence, idx);
  return s.occurrence;
}

// --- the evaluator: reading ---

isa_state alarm_evaluator::isa_of(const source& s) const {
  if (s.occurrence != 0) {
    if (!s.occ_active)
      return isa_state::returned_unacknowledged;
    return s.acked ? isa_state::acknowledged : isa_state::unacknowledged;
  }
  if (!s.armed)
    return s.origin == alarm_origin::rule ? isa_state::out_of_service : isa_state::normal;
  if (s.suppression == alarm_cause::maintenance)
    return isa_state::out_of_service;
  if (s.suppression == alarm_cause::shelf)
    return isa_state::shelved;
  if (s.origin == alarm_origin::point_comm && stations_[points_[s.point].station].down)
    return isa_state::suppressed_by_design;
  return isa_state::normal;
}

std::vector<listed_alarm> alarm_evaluator::listed() const {
  std::vector<listed_alarm> list;
  list.reserve(listed_.size());
  for (const auto& [occurrence, idx] : listed_) {
    const source& s = sources_[idx];
    const point& p = points_[s.point];
    listed_alarm a;
    a.occurrence = occurrence;
    a.origin = s.origin;
    a.rule_id = s.origin == alarm_origin::rule ? s.rule.id : 0;
    a.rtu_station = stations_[p.station].name;
    a.slot = p.slot;
    a.severity = s.severity;
    a.state = !s.occ_active ? alarm_state::cleared
              : s.acked     ? alarm_state::acknowledged
                            : alarm_state::active;
    a.isa = isa_of(s);
    a.acknowledged = s.acked;
    a.activated_at = s.activated_at;
    a.value_at_activation = s.activation_value;
    a.message = s.occ_message;
    list.push_back(std::move(a));
  }
  std::sort(list.begin(), list.end(), [](const listed_alarm& a, const listed_alarm& b) {
    return a.occurrence < b.occurrence;
  });
  return list;
}

std::optional<isa_state> alarm_evaluator::rule_state(std::int64_t rule_id) const {
  auto it = rule_index_.find(rule_id);
  if (it == rule_index_.end())
    return std::nullopt;
  return isa_of(sources_[it->second]);
}

std::optional<isa_state> alarm_evaluator::comm_state(std::string_view rtu_station,
                                                     std::int32_t slot) const {
  const auto p = find_point(rtu_station, slot);
  if (p == none)
    return std::nullopt;
  return isa_of(sources_[points_[p].comm]);
}

std::optional<isa_state> alarm_evaluator::node_comm_state(std::string_view node) const {
  auto it = node_index_.find(node);
  if (it == node_index_.end())
    return std::nullopt;
  return isa_of(sources_[points_[stations_[it->second].points[0]].comm]);
}

alarm_counts alarm_evaluator::counts() const {
  alarm_counts c;
  for (const auto& s : sources_) {
    if (!s.live)
      continue;
    switch (isa_of(s)) {
      case isa_state::normal:
        break;
      case isa_state::unacknowledged:
        ++c.unacknowledged;
        break;
      case isa_state::acknowledged:
        ++c.acknowledged;
        break;
      case isa_state::returned_unacknowledged:
        ++c.returned_unacknowledged;
        break;
      case isa_state::shelved:
        ++c.shelved;
        break;
      case isa_state::suppressed_by_design:
        ++c.suppressed_by_design;
        break;
      case isa_state::out_of_service:
        ++c.out_of_service;
        break;
    }
    if (s.occurrence != 0)
      ++c.listed_by_severity[static_cast<std::size_t>(s.severity)];
  }
  return c;
}

// --- statistics ---

void sliding_window_counter::record(std::int64_t at_ms) {
  if (times_.empty() || at_ms >= times_.back())
    times_.push_back(at_ms);
  else
    times_.insert(std::upper_bound(times_.begin(), times_.end(), at_ms), at_ms);
  expire(times_.back());
}

std::size_t sliding_window_counter::count(std::int64_t now_ms) const {
  const auto first = std::upper_bound(times_.begin(), times_.end(), now_ms - window_ms_);
  const auto last = std::upper_bound(first, times_.end(), now_ms);
  return static_cast<std::size_t>(last - first);
}

void sliding_window_counter::expire(std::int64_t now_ms) {
  while (!times_.empty() && times_.front() <= now_ms - window_ms_)
    times_.pop_front();
}

flood_detector::change flood_detector::record(std::int64_t at_ms) {
  window_.record(at_ms);
  return update(at_ms);
}

flood_detector::change flood_detector::update(std::int64_t now_ms) {
  const std::size_t n = window_.count(now_ms);
  window_.expire(now_ms);
  if (!in_flood_ && n > policy_.start_above) {
    in_flood_ = true;
    return change::started;
  }
  if (in_flood_ && n < policy_.end_below) {
    in_flood_ = false;
    return change::ended;
  }
  return change::none;
}

std::string_view to_string(rate_rating r) {
  switch (r) {
    case rate_rating::acceptable:
      return "acceptable";
    case rate_rating::manageable:
      return "manageable";
    case rate_rating::overloaded:
      break;
  }
  return "overloaded";
}

alarm_rate rate_per_10_min(std::size_t alarms, std::int64_t period_ms, int operators) {
  alarm_rate rate;
  if (alarms == 0)
    return rate;
  if (period_ms <= 0) {
    rate.per_10_min = std::numeric_limits<double>::infinity();
    rate.rating = rate_rating::overloaded;
    return rate;
  }
  rate.per_10_min = static_cast<double>(alarms) * 600'000.0 / static_cast<double>(period_ms) /
                    static_cast<double>(std::max(1, operators));
  rate.rating = rate.per_10_min <= 1.0   ? rate_rating::acceptable
                : rate.per_10_min <= 2.0 ? rate_rating::manageable
                                         : rate_rating::overloaded;
  return rate;
}

}  // namespace wtc::core
