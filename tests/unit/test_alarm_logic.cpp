#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/alarm_logic.hpp"

namespace {

using wtc::quality;
using wtc::rtu_state;
using namespace wtc::core;

constexpr std::int64_t s = 1000;  // one second in ms
constexpr std::int64_t minute = 60 * s;
const std::string rtu = "water-treat-rtu-1";

alarm_rule ph_high(std::int64_t delay_ms = 0, double deadband = 0.1) {
  alarm_rule r;
  r.id = 5;
  r.name = "pH High Alarm";
  r.rtu_station = rtu;
  r.slot = 1;
  r.condition = alarm_condition::greater;
  r.threshold = 8.5;
  r.severity = alarm_severity::high;
  r.delay_ms = delay_ms;
  r.deadband = deadband;
  return r;
}

std::size_t count(const std::vector<alarm_transition>& ts, alarm_event_kind k) {
  return static_cast<std::size_t>(
      std::count_if(ts.begin(), ts.end(), [k](const alarm_transition& t) { return t.kind == k; }));
}

const alarm_transition* find(const std::vector<alarm_transition>& ts, alarm_event_kind k) {
  auto it =
      std::find_if(ts.begin(), ts.end(), [k](const alarm_transition& t) { return t.kind == k; });
  return it == ts.end() ? nullptr : &*it;
}

void append(std::vector<alarm_transition>& all, std::vector<alarm_transition> more) {
  for (auto& t : more)
    all.push_back(std::move(t));
}

/// An evaluator with one rule, and a log of every transition it returned.
class AlarmEvaluator : public ::testing::Test {
 protected:
  void add(const alarm_rule& r) {
    auto o = ev.upsert_rule(r, now);
    ASSERT_TRUE(o.ok()) << o.detail;
    append(log, std::move(o.transitions));
  }
  std::vector<alarm_transition> sample(double v, quality q = quality::good, std::int32_t slot = 1) {
    auto ts = ev.on_sample(rtu, slot, v, q, now);
    append(log, ts);
    return ts;
  }
  std::vector<alarm_transition> tick() {
    auto ts = ev.tick(now);
    append(log, ts);
    return ts;
  }
  /// Samples `v` once a second for `duration`, ticking every 250 ms between samples.
  void hold(double v, std::int64_t duration, quality q = quality::good) {
    for (std::int64_t end = now + duration; now < end;) {
      sample(v, q);
      for (int i = 0; i < 4; ++i) {
        now += 250;
        tick();
      }
    }
  }
  std::uint64_t only_listed() const {
    auto list = ev.listed();
    EXPECT_EQ(list.size(), 1u);
    return list.empty() ? 0 : list.front().occurrence;
  }

  alarm_evaluator ev;
  std::int64_t now = 1'000'000;
  std::vector<alarm_transition> log;
};

// --- conditions and validation ---

TEST(AlarmCondition, ParsesTheContractsSpellingsOnly) {
  alarm_condition c{};
  for (auto [text, want] : {std::pair{">", alarm_condition::greater},
                            {"<", alarm_condition::less},
                            {">=", alarm_condition::greater_equal},
                            {"<=", alarm_condition::less_equal},
                            {"==", alarm_condition::equal}}) {
    ASSERT_TRUE(parse_alarm_condition(text, c)) << text;
    EXPECT_EQ(c, want);
    EXPECT_EQ(to_string(c), text);
  }
  for (auto bad : {"", "=", "=>", "!=", "> ", "gt"})
    EXPECT_FALSE(parse_alarm_condition(bad, c)) << bad;
  alarm_severity sev{};
  ASSERT_TRUE(parse_alarm_severity("CRITICAL", sev));
  EXPECT_EQ(sev, alarm_severity::critical);
  EXPECT_FALSE(parse_alarm_severity("high", sev));
  EXPECT_LT(alarm_severity::medium, alarm_severity::high);
}

TEST(AlarmCondition, EqualityHasADefinedTolerance) {
  EXPECT_TRUE(condition_met(alarm_condition::equal, 1.0, 1.0));
  EXPECT_TRUE(condition_met(alarm_condition::equal, 1.0 + 1e-9, 1.0));  // scaling rounding
  EXPECT_FALSE(condition_met(alarm_condition::equal, 1.001, 1.0));
  EXPECT_TRUE(condition_met(alarm_condition::equal, 0.1 + 0.2, 0.3));
  EXPECT_DOUBLE_EQ(equality_tolerance(0.0), 1e-6);
  EXPECT_DOUBLE_EQ(equality_tolerance(5000.0), 5e-3);  // relative for large values
  EXPECT_TRUE(condition_met(alarm_condition::equal, 5000.004, 5000.0));
}

TEST(AlarmCondition, ReturnToNormalNeedsTheDeadband) {
  // ">": raised above 80, normal again only at or below 78.
  EXPECT_TRUE(condition_met(alarm_condition::greater, 80.1, 80.0));
  EXPECT_FALSE(returned_to_normal(alarm_condition::greater, 79.0, 80.0, 2.0));
  EXPECT_TRUE(returned_to_normal(alarm_condition::greater, 78.0, 80.0, 2.0));
  // "<" mirrors it.
  EXPECT_FALSE(returned_to_normal(alarm_condition::less, 21.0, 20.0, 2.0));
  EXPECT_TRUE(returned_to_normal(alarm_condition::less, 22.0, 20.0, 2.0));
  EXPECT_FALSE(returned_to_normal(alarm_condition::less_equal, 22.0, 20.0, 2.0));
  EXPECT_TRUE(returned_to_normal(alarm_condition::greater_equal, 77.9, 80.0, 2.0));
  EXPECT_FALSE(returned_to_normal(alarm_condition::greater_equal, 78.0, 80.0, 2.0));
  EXPECT_FALSE(returned_to_normal(alarm_condition::equal, 1.4, 1.0, 0.5));
  EXPECT_TRUE(returned_to_normal(alarm_condition::equal, 1.6, 1.0, 0.5));
  // Without a deadband, normal is exactly "not in alarm", for every condition.
  for (auto c : {alarm_condition::greater, alarm_condition::less, alarm_condition::greater_equal,
                 alarm_condition::less_equal, alarm_condition::equal})
    for (double v : {79.0, 80.0, 81.0})
      EXPECT_NE(condition_met(c, v, 80.0), returned_to_normal(c, v, 80.0, 0.0));
}

TEST(AlarmRuleValidation, NamesTheFieldThatIsWrong) {
  EXPECT_EQ(validate_rule(ph_high()), "");
  auto r = ph_high();
  r.name.clear();
  EXPECT_EQ(validate_rule(r), "name is required");
  r = ph_high();
  r.name = std::string(65, 'x');
  EXPECT_EQ(validate_rule(r), "name must be at most 64 characters");
  r = ph_high();
  r.rtu_station.clear();
  EXPECT_EQ(validate_rule(r), "rtu_station is required");
  r = ph_high();
  r.slot = -1;
  EXPECT_EQ(validate_rule(r), "slot must be between 0 and 32767");
  r = ph_high();
  r.threshold = std::nan("");
  EXPECT_EQ(validate_rule(r), "threshold must be a finite number");
  r = ph_high();
  r.delay_ms = -1;
  EXPECT_EQ(validate_rule(r), "delay_ms must be between 0 and 86400000");
  r = ph_high();
  r.deadband = -0.5;
  EXPECT_EQ(validate_rule(r), "deadband must be a finite number, 0 or more");
}

TEST(AlarmRuleValidation, ParsesTheRestBody) {
  alarm_rule_spec spec;
  spec.id = 5;
  spec.name = "pH High Alarm";
  spec.rtu_station = rtu;
  spec.slot = 1;
  spec.condition = ">";
  spec.threshold = 8.5;
  spec.severity = "HIGH";
  spec.delay_ms = 5000;
  auto parsed = parse_rule(spec);
  ASSERT_TRUE(parsed.rule) << parsed.error;
  EXPECT_EQ(parsed.rule->condition, alarm_condition::greater);
  EXPECT_EQ(parsed.rule->severity, alarm_severity::high);
  EXPECT_EQ(parsed.rule->delay_ms, 5000);

  spec.condition = "=>";
  parsed = parse_rule(spec);
  EXPECT_FALSE(parsed.rule);
  EXPECT_EQ(parsed.error, "condition must be one of >, <, >=, <=, == (got \"=>\")");
  spec.condition = ">=";
  spec.severity = "URGENT";
  EXPECT_EQ(parse_rule(spec).error,
            "severity must be one of LOW, MEDIUM, HIGH, CRITICAL (got \"URGENT\")");
  spec.severity = "LOW";
  spec.delay_ms = -5;
  EXPECT_EQ(parse_rule(spec).error, "delay_ms must be between 0 and 86400000");

  alarm_evaluator ev;
  auto bad = ph_high();
  bad.name.clear();
  auto o = ev.upsert_rule(bad, 0);
  EXPECT_EQ(o.code, alarm_errc::invalid);
  auto unsaved = ph_high();
  unsaved.id = 0;  // valid for the REST layer before the insert, not for the evaluator
  EXPECT_EQ(validate_rule(unsaved), "");
  EXPECT_EQ(ev.upsert_rule(unsaved, 0).detail, "rule id must not be 0");
  EXPECT_EQ(ev.rule_count(), 0u);
}

TEST(AlarmMessage, FillsTheTemplateAndStaysWithin256Bytes) {
  auto r = ph_high();
  EXPECT_EQ(render_message(r, 8.72), "pH High Alarm: 8.72 > 8.5");
  r.message = "{name} on {station} slot {slot}: {value} {condition} {threshold} {unknown}";
  EXPECT_EQ(render_message(r, 9.0), "pH High Alarm on water-treat-rtu-1 slot 1: 9 > 8.5 {unknown}");
  r.message = std::string(255, 'a') + "\xC3\xA9";  // "é" straddles byte 256
  EXPECT_EQ(render_message(r, 9.0), std::string(255, 'a'));
}

// --- the on-delay ---

TEST_F(AlarmEvaluator, AnExcursionShorterThanTheDelayRaisesNothing) {
  add(ph_high(5 * s));
  hold(7.0, 10 * s);
  hold(9.0, 4 * s);  // abnormal for 4 s against a 5 s delay
  hold(7.0, 10 * s);
  EXPECT_EQ(count(log, alarm_event_kind::raised), 0u);
  EXPECT_TRUE(ev.listed().empty());
  EXPECT_EQ(ev.rule_state(5), isa_state::normal);
}

TEST_F(AlarmEvaluator, AnExcursionLongerThanTheDelayRaisesExactlyOne) {
  add(ph_high(5 * s));
  hold(7.0, 10 * s);
  const std::int64_t began = now;
  hold(9.0, 6 * s);
  hold(7.0, 10 * s);
  ASSERT_EQ(count(log, alarm_event_kind::raised), 1u);
  const auto* raised = find(log, alarm_event_kind::raised);
  EXPECT_EQ(raised->at_ms, began + 5 * s);
  EXPECT_EQ(raised->rule_id, 5);
  EXPECT_EQ(raised->severity, alarm_severity::high);
  EXPECT_EQ(raised->state, alarm_state::active);
  EXPECT_DOUBLE_EQ(raised->value, 9.0);
  EXPECT_EQ(raised->text, "pH High Alarm: 9 > 8.5");
  EXPECT_EQ(count(log, alarm_event_kind::cleared), 1u);
}

TEST_F(AlarmEvaluator, TheDelayCompletesOnASample) {
  add(ph_high(5 * s));
  const std::int64_t began = now;
  for (int i = 0; i < 5; ++i, now += s)
    EXPECT_TRUE(sample(9.0).empty()) << i;
  auto ts = sample(9.0);  // exactly 5 s after the first abnormal sample
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].kind, alarm_event_kind::raised);
  EXPECT_EQ(ts[0].at_ms, began + 5 * s);
}

TEST_F(AlarmEvaluator, TheDelayExpiresOnATickWithoutANewSample) {
  add(ph_high(5 * s));
  sample(9.0);
  now += 4999;
  EXPECT_TRUE(tick().empty());
  EXPECT_EQ(ev.next_due_ms(), now + 1);
  now += 1;
  auto ts = tick();
  ASSERT_EQ(count(ts, alarm_event_kind::raised), 1u);
  EXPECT_DOUBLE_EQ(ts[0].value, 9.0);
  EXPECT_EQ(ev.next_due_ms(), std::numeric_limits<std::int64_t>::max());
}

TEST_F(AlarmEvaluator, ARestartedExcursionRestartsTheDelay) {
  add(ph_high(5 * s));
  hold(9.0, 3 * s);
  hold(8.0, 1 * s);  // back to normal briefly: the 5 s must start over
  hold(9.0, 4 * s);
  EXPECT_EQ(count(log, alarm_event_kind::raised), 0u);
  hold(9.0, 1 * s);
  EXPECT_EQ(count(log, alarm_event_kind::raised), 1u);
}

// --- the deadband ---

TEST_F(AlarmEvaluator, ChatterInsideTheDeadbandRaisesOneAlarm) {
  auto r = ph_high(0, 0.2);
  r.threshold = 8.5;
  add(r);
  for (int i = 0; i < 20; ++i) {  // 8.4, 8.6, 8.4, ...: across the threshold, inside 0.2
    sample(i % 2 ? 8.6 : 8.4);
    now += s;
  }
  EXPECT_EQ(count(log, alarm_event_kind::raised), 1u);
  EXPECT_EQ(count(log, alarm_event_kind::cleared), 0u);
  sample(8.3);  // 8.5 − 0.2: out of the deadband
  EXPECT_EQ(count(log, alarm_event_kind::cleared), 1u);
}

TEST_F(AlarmEvaluator, WithoutADeadbandTheSameSignalChatters) {
  add(ph_high(0, 0.0));
  for (int i = 0; i < 20; ++i) {
    sample(i % 2 ? 8.6 : 8.4);
    now += s;
  }
  // One occurrence flips between UNACK and RTNUN: no ack, so never a second row, but annunciated
  // again and again. This is what the deadband prevents.
  EXPECT_EQ(count(log, alarm_event_kind::raised), 1u);
  EXPECT_EQ(count(log, alarm_event_kind::returned), 9u);
  EXPECT_EQ(count(log, alarm_event_kind::cleared), 9u);
}

TEST_F(AlarmEvaluator, TheDefaultDeadbandComesFromTheSlotConfigThenTheThreshold) {
  auto r = ph_high(0);
  r.deadband.reset();  // 1% of 8.5 = 0.085
  add(r);
  sample(9.0);
  sample(8.45);
  EXPECT_EQ(count(log, alarm_event_kind::cleared), 0u);
  sample(8.40);
  EXPECT_EQ(count(log, alarm_event_kind::cleared), 1u);

  slot_limits cfg;  // a config for the slot: its deadband now applies to the rule
  cfg.id = 3;
  cfg.rtu_station = rtu;
  cfg.slot = 1;
  cfg.deadband = 1.0;
  ASSERT_TRUE(ev.set_slot_limits(cfg, now).ok());
  sample(9.0);
  sample(7.9);
  EXPECT_EQ(count(log, alarm_event_kind::cleared), 1u);
  sample(7.5);
  EXPECT_EQ(count(log, alarm_event_kind::cleared), 2u);
}

// --- acknowledgement and the ISA-18.2 states ---

TEST_F(AlarmEvaluator, AcknowledgingAnActiveAlarmKeepsItListedUntilItClears) {
  add(ph_high());
  sample(9.0);
  const auto occ = only_listed();
  EXPECT_EQ(ev.rule_state(5), isa_state::unacknowledged);

  auto o = ev.acknowledge(occ, "operator1", "dosing checked", now);
  ASSERT_TRUE(o.ok()) << o.detail;
  ASSERT_EQ(o.transitions.size(), 1u);
  EXPECT_EQ(o.transitions[0].kind, alarm_event_kind::acknowledged);
  EXPECT_EQ(o.transitions[0].state, alarm_state::acknowledged);
  EXPECT_EQ(o.transitions[0].by, "operator1");
  EXPECT_EQ(o.transitions[0].text, "dosing checked");
  EXPECT_TRUE(o.transitions[0].listed);
  EXPECT_EQ(ev.rule_state(5), isa_state::acknowledged);
  EXPECT_EQ(ev.listed().at(0).state, alarm_state::acknowledged);

  auto ts = sample(8.0);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].kind, alarm_event_kind::cleared);
  EXPECT_EQ(ts[0].state, alarm_state::cleared);
  EXPECT_FALSE(ts[0].listed);
  EXPECT_TRUE(ev.listed().empty());
  EXPECT_EQ(ev.rule_state(5), isa_state::normal);
}

TEST_F(AlarmEvaluator, AClearedUnacknowledgedAlarmStaysUntilAcknowledged) {
  add(ph_high());
  sample(9.0);
  const auto occ = only_listed();
  auto ts = sample(8.0);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].kind, alarm_event_kind::cleared);
  EXPECT_EQ(ts[0].state, alarm_state::cleared);
  EXPECT_FALSE(ts[0].acknowledged);
  EXPECT_TRUE(ts[0].listed);
  EXPECT_EQ(ev.rule_state(5), isa_state::returned_unacknowledged);
  ASSERT_EQ(ev.listed().size(), 1u);
  EXPECT_EQ(ev.listed()[0].state, alarm_state::cleared);
  EXPECT_FALSE(ev.listed()[0].acknowledged);

  auto o = ev.acknowledge(occ, "operator1", "", now);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o.transitions.at(0).state, alarm_state::cleared);
  EXPECT_TRUE(o.transitions.at(0).acknowledged);
  EXPECT_FALSE(o.transitions.at(0).listed);
  EXPECT_TRUE(ev.listed().empty());
  EXPECT_EQ(ev.rule_state(5), isa_state::normal);
}

TEST_F(AlarmEvaluator, AcknowledgingTwiceOrANormalAlarmIsRefused) {
  add(ph_high());
  sample(9.0);
  const auto occ = only_listed();
  ASSERT_TRUE(ev.acknowledge(occ, "op", "", now).ok());
  auto again = ev.acknowledge(occ, "op", "", now);
  EXPECT_EQ(again.code, alarm_errc::not_acknowledgeable);
  EXPECT_EQ(again.detail, "alarm " + std::to_string(occ) + " is already acknowledged");
  EXPECT_TRUE(again.transitions.empty());

  sample(8.0);  // ACKED → NORM
  EXPECT_EQ(ev.acknowledge(occ, "op", "", now).code, alarm_errc::not_acknowledgeable);
  EXPECT_EQ(ev.acknowledge(occ + 100, "op", "", now).code, alarm_errc::not_found);
  EXPECT_EQ(ev.acknowledge(0, "op", "", now).code, alarm_errc::not_found);
  sample(9.0);
  EXPECT_EQ(ev.acknowledge(only_listed(), "", "", now).code, alarm_errc::invalid);
}

TEST_F(AlarmEvaluator, ReturningBeforeAnAckIsTheSameAlarmAnnunciatedAgain) {
  add(ph_high());
  sample(9.0);
  const auto occ = only_listed();
  sample(8.0);  // RTNUN
  auto ts = sample(9.2);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].kind, alarm_event_kind::returned);
  EXPECT_EQ(ts[0].occurrence, occ);
  EXPECT_EQ(ts[0].state, alarm_state::active);
  EXPECT_EQ(ev.rule_state(5), isa_state::unacknowledged);
  EXPECT_EQ(only_listed(), occ);

  ASSERT_TRUE(ev.acknowledge(occ, "op", "", now).ok());
  sample(8.0);
  ts = sample(9.0);  // after an ack and a return to normal: a new occurrence
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].kind, alarm_event_kind::raised);
  EXPECT_NE(ts[0].occurrence, occ);
}

// --- communication alarms ---

TEST_F(AlarmEvaluator, BadQualityGivesACommunicationAlarmNotAProcessOne) {
  add(ph_high(5 * s));
  hold(7.0, 5 * s);
  hold(std::nan(""), 30 * s, quality::bad);  // a broken sensor reads as garbage and BAD
  EXPECT_EQ(count(log, alarm_event_kind::raised), 1u);
  const auto* raised = find(log, alarm_event_kind::raised);
  EXPECT_EQ(raised->origin, alarm_origin::point_comm);
  EXPECT_EQ(raised->rule_id, 0);
  EXPECT_EQ(raised->slot, 1);
  EXPECT_EQ(raised->severity, alarm_severity::high);
  EXPECT_TRUE(std::isnan(raised->value));
  EXPECT_EQ(raised->text, "Communication lost: water-treat-rtu-1 slot 1 (quality BAD)");
  EXPECT_EQ(ev.rule_state(5), isa_state::normal);
  EXPECT_EQ(ev.comm_state(rtu, 1), isa_state::unacknowledged);

  auto ts = sample(7.0);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].kind, alarm_event_kind::cleared);
  EXPECT_EQ(ts[0].origin, alarm_origin::point_comm);
}

TEST_F(AlarmEvaluator, BadQualityHoldsAProcessAlarmWhereItIs) {
  add(ph_high());
  sample(9.0);
  hold(0.0, 20 * s, quality::bad);  // 0.0 would clear it, if it counted
  EXPECT_EQ(count(log, alarm_event_kind::cleared), 0u);
  EXPECT_EQ(ev.rule_state(5), isa_state::unacknowledged);
  EXPECT_EQ(count(log, alarm_event_kind::raised), 2u);  // the process alarm and the comm alarm
  sample(9.0);  // good again and still high: no second process alarm
  EXPECT_EQ(count(log, alarm_event_kind::raised), 2u);
}

TEST_F(AlarmEvaluator, BadQualityInterruptsAnOnDelay) {
  add(ph_high(5 * s));
  hold(9.0, 3 * s);
  sample(9.0, quality::bad);
  now += 3 * s;
  tick();
  hold(9.0, 4 * s);
  EXPECT_EQ(count(log, alarm_event_kind::raised), 0u);
  hold(9.0, 1 * s);
  EXPECT_EQ(count(log, alarm_event_kind::raised), 1u);
}

TEST_F(AlarmEvaluator, UncertainValuesAreJudged) {
  add(ph_high());
  sample(9.0, quality::uncertain);  // out of range or forced: still the best value there is
  EXPECT_EQ(count(log, alarm_event_kind::raised), 1u);
}

TEST_F(AlarmEvaluator, AnRtuThatIsDownRaisesOneAlarmForAllItsSlots) {
  add(ph_high());
  auto r2 = ph_high();
  r2.id = 6;
  r2.slot = 2;
  add(r2);
  append(log, ev.on_rtu_state(rtu, rtu_state::running, now));
  sample(7.0);
  sample(7.0, quality::good, 2);
  append(log, ev.on_rtu_state(rtu, rtu_state::error, now));
  for (int i = 0; i < 30; ++i) {  // its values turn BAD; after 15 s it retries, and fails
    sample(0.0, quality::bad);
    sample(0.0, quality::bad, 2);
    if (i == 15)
      append(log, ev.on_rtu_state(rtu, rtu_state::connecting, now));
    if (i == 16)
      append(log, ev.on_rtu_state(rtu, rtu_state::error, now));
    now += s;
    tick();
  }
  ASSERT_EQ(count(log, alarm_event_kind::raised), 1u);
  const auto* raised = find(log, alarm_event_kind::raised);
  EXPECT_EQ(raised->origin, alarm_origin::rtu_comm);
  EXPECT_EQ(raised->slot, -1);
  EXPECT_EQ(raised->text, "RTU water-treat-rtu-1 is not communicating");
  EXPECT_EQ(ev.comm_state(rtu, 1), isa_state::suppressed_by_design);
  EXPECT_EQ(ev.comm_state(rtu, -1), isa_state::unacknowledged);

  auto ts = ev.on_rtu_state(rtu, rtu_state::running, now);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].kind, alarm_event_kind::cleared);
  EXPECT_EQ(ts[0].origin, alarm_origin::rtu_comm);
}

TEST_F(AlarmEvaluator, AnRtuWithoutRulesRaisesNothing) {
  append(log, ev.on_rtu_state("rtu-without-rules", rtu_state::error, now));
  now += 60 * s;
  tick();
  EXPECT_TRUE(log.empty());
}

TEST_F(AlarmEvaluator, SamplesOfUnknownSlotsAreIgnored) {
  add(ph_high());
  EXPECT_TRUE(sample(99.0, quality::good, 7).empty());
  EXPECT_TRUE(ev.on_sample("elsewhere", 1, 99.0, quality::good, now).empty());
  EXPECT_EQ(ev.find_station("elsewhere"), alarm_evaluator::no_station);
}

// --- edge nodes ---

const std::string node = "site-a";

TEST_F(AlarmEvaluator, ALostNodeIsAlarmedAtOnceWithoutRulesAndItsReturnClearsIt) {
  auto ts = ev.on_node_link(node, false, now);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].kind, alarm_event_kind::raised);
  EXPECT_EQ(ts[0].origin, alarm_origin::node_comm);
  EXPECT_EQ(ts[0].rtu_station, node);
  EXPECT_EQ(ts[0].slot, -1);
  EXPECT_EQ(ts[0].rule_id, 0);
  EXPECT_EQ(ts[0].severity, alarm_severity::high);
  EXPECT_EQ(ts[0].state, alarm_state::active);
  EXPECT_TRUE(ts[0].listed);
  EXPECT_TRUE(std::isnan(ts[0].value));
  EXPECT_EQ(ts[0].at_ms, now);
  EXPECT_EQ(ts[0].text, "Edge node 'site-a' is not communicating");
  const auto occ = ts[0].occurrence;
  EXPECT_EQ(ev.node_comm_state(node), isa_state::unacknowledged);
  auto list = ev.listed();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].origin, alarm_origin::node_comm);
  EXPECT_EQ(list[0].rtu_station, node);
  EXPECT_EQ(list[0].slot, -1);
  EXPECT_EQ(list[0].message, "Edge node 'site-a' is not communicating");
  const auto c = ev.counts();
  EXPECT_EQ(c.unacknowledged, 1u);
  EXPECT_EQ(c.listed_by_severity[static_cast<std::size_t>(alarm_severity::high)], 1u);

  // Told again (a second notice of the same loss), or time passing: nothing new.
  now += minute;
  EXPECT_TRUE(ev.on_node_link(node, false, now).empty());
  EXPECT_TRUE(ev.tick(now).empty());

  // Back: cleared, and listed until acknowledged (RTNUN).
  ts = ev.on_node_link(node, true, now);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].kind, alarm_event_kind::cleared);
  EXPECT_EQ(ts[0].occurrence, occ);
  EXPECT_EQ(ts[0].origin, alarm_origin::node_comm);
  EXPECT_EQ(ts[0].state, alarm_state::cleared);
  EXPECT_TRUE(ts[0].listed);
  EXPECT_EQ(ev.node_comm_state(node), isa_state::returned_unacknowledged);
  EXPECT_EQ(ev.counts().returned_unacknowledged, 1u);
  auto acked = ev.acknowledge(occ, "op", "link back after the router reboot", now);
  ASSERT_TRUE(acked.ok()) << acked.detail;
  ASSERT_EQ(acked.transitions.size(), 1u);
  EXPECT_EQ(acked.transitions[0].origin, alarm_origin::node_comm);
  EXPECT_FALSE(acked.transitions[0].listed);
  EXPECT_TRUE(ev.listed().empty());
  EXPECT_EQ(ev.node_comm_state(node), isa_state::normal);
}

TEST_F(AlarmEvaluator, ANodeAlarmAcknowledgedWhileLostEndsWhenTheLinkReturns) {
  const auto occ = ev.on_node_link(node, false, now).at(0).occurrence;
  auto acked = ev.acknowledge(occ, "op", "", now);
  ASSERT_TRUE(acked.ok()) << acked.detail;
  EXPECT_EQ(acked.transitions.at(0).state, alarm_state::acknowledged);
  EXPECT_EQ(ev.node_comm_state(node), isa_state::acknowledged);
  EXPECT_EQ(ev.acknowledge(occ, "op", "", now).code, alarm_errc::not_acknowledgeable);
  now += 5 * s;
  auto ts = ev.on_node_link(node, true, now);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].kind, alarm_event_kind::cleared);
  EXPECT_FALSE(ts[0].listed);
  EXPECT_TRUE(ev.listed().empty());
  // The next loss is a new occurrence.
  ts = ev.on_node_link(node, false, now);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].kind, alarm_event_kind::raised);
  EXPECT_NE(ts[0].occurrence, occ);
}

TEST_F(AlarmEvaluator, ALinkLostAgainBeforeAnAckIsTheSameAlarmAnnunciatedAgain) {
  const auto occ = ev.on_node_link(node, false, now).at(0).occurrence;
  now += s;
  ASSERT_EQ(ev.on_node_link(node, true, now).size(), 1u);
  now += s;
  auto ts = ev.on_node_link(node, false, now);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].kind, alarm_event_kind::returned);
  EXPECT_EQ(ts[0].occurrence, occ);
  EXPECT_EQ(ts[0].state, alarm_state::active);
  EXPECT_EQ(ts[0].text, "Edge node 'site-a' is not communicating");
  EXPECT_EQ(ev.listed().size(), 1u);
}

TEST_F(AlarmEvaluator, ANodeThatJoinsWithoutHavingBeenLostRaisesAndKeepsNothing) {
  EXPECT_TRUE(ev.on_node_link(node, true, now).empty());
  EXPECT_TRUE(ev.on_node_link("", false, now).empty());
  EXPECT_EQ(ev.node_comm_state(node), std::nullopt);
  EXPECT_TRUE(ev.listed().empty());
}

TEST(NodeCommAlarm, AnOnDelayIfThePolicyGivesOne) {
  alarm_evaluator::policy p;
  p.node_comm_delay_ms = 2 * s;
  p.comm_severity = alarm_severity::critical;
  alarm_evaluator ev(p);
  std::int64_t now = 1'000'000;
  // A loss shorter than the delay raises nothing.
  EXPECT_TRUE(ev.on_node_link(node, false, now).empty());
  now += s;
  EXPECT_TRUE(ev.tick(now).empty());
  EXPECT_TRUE(ev.on_node_link(node, true, now).empty());
  now += 5 * s;
  EXPECT_TRUE(ev.tick(now).empty());
  // A longer one raises when the delay completes, at the tick.
  EXPECT_TRUE(ev.on_node_link(node, false, now).empty());
  EXPECT_EQ(ev.next_due_ms(), now + 2 * s);
  now += 2 * s;
  auto ts = ev.tick(now);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].kind, alarm_event_kind::raised);
  EXPECT_EQ(ts[0].origin, alarm_origin::node_comm);
  EXPECT_EQ(ts[0].severity, alarm_severity::critical);
  EXPECT_EQ(ts[0].at_ms, now);
}

TEST_F(AlarmEvaluator, ARestoredNodeAlarmClearsWhenTheNodeJoinsAndIsNotRaisedTwice) {
  restored_alarm a;
  a.origin = alarm_origin::node_comm;
  a.rtu_station = node;
  a.slot = -1;
  a.active = true;
  a.activated_at = now - minute;
  a.message = "Edge node 'site-a' is not communicating";
  const auto occ = ev.restore_alarm(a);
  ASSERT_NE(occ, 0u);
  EXPECT_EQ(ev.restore_alarm(a), 0u);  // one per node
  EXPECT_EQ(ev.node_comm_state(node), isa_state::unacknowledged);
  auto list = ev.listed();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].origin, alarm_origin::node_comm);
  EXPECT_EQ(list[0].activated_at, now - minute);
  // Still lost (told so after the restart): not raised again.
  EXPECT_TRUE(ev.on_node_link(node, false, now).empty());
  auto ts = ev.on_node_link(node, true, now);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].kind, alarm_event_kind::cleared);
  EXPECT_EQ(ts[0].occurrence, occ);
  EXPECT_TRUE(ev.acknowledge(occ, "op", "", now).ok());
  EXPECT_TRUE(ev.listed().empty());

  // A cleared, unacknowledged one comes back as RTNUN; a cleared, acknowledged one not at all.
  alarm_evaluator fresh;
  a.active = false;
  const auto rtnun = fresh.restore_alarm(a);
  ASSERT_NE(rtnun, 0u);
  EXPECT_EQ(fresh.node_comm_state(node), isa_state::returned_unacknowledged);
  EXPECT_TRUE(fresh.on_node_link(node, true, now).empty());
  a.rtu_station = "site-b";
  a.acknowledged = true;
  EXPECT_EQ(fresh.restore_alarm(a), 0u);
}

TEST_F(AlarmEvaluator, ANodeAndAnRtuOfTheSameNameHaveTheirOwnAlarms) {
  auto r = ph_high();
  r.rtu_station = node;  // an RTU named like the node
  add(r);
  append(log, ev.on_rtu_state(node, rtu_state::error, now));
  now += 10 * s;
  tick();
  ASSERT_EQ(count(log, alarm_event_kind::raised), 1u);
  const auto rtu_occ = find(log, alarm_event_kind::raised)->occurrence;
  EXPECT_EQ(find(log, alarm_event_kind::raised)->origin, alarm_origin::rtu_comm);
  EXPECT_EQ(ev.node_comm_state(node), std::nullopt);

  auto ts = ev.on_node_link(node, false, now);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].kind, alarm_event_kind::raised);
  EXPECT_EQ(ts[0].origin, alarm_origin::node_comm);
  const auto node_occ = ts[0].occurrence;
  EXPECT_NE(node_occ, rtu_occ);
  EXPECT_EQ(ev.listed().size(), 2u);

  // A shelf or a window on the RTU (slot -1) holds the RTU's alarm, not the node's.
  auto shelf = ev.shelve({node, -1, 0, "op", "radio works", 10 * minute}, now);
  ASSERT_TRUE(shelf.ok()) << shelf.detail;
  ASSERT_EQ(count(shelf.transitions, alarm_event_kind::withdrawn), 1u);
  EXPECT_EQ(find(shelf.transitions, alarm_event_kind::withdrawn)->occurrence, rtu_occ);
  EXPECT_EQ(ev.node_comm_state(node), isa_state::unacknowledged);
  maintenance_window w;
  w.id = 1;
  w.rtu_station = node;
  w.slot = -1;
  w.start_ms = now;
  w.end_ms = now + minute;
  w.scheduled_by = "eng";
  w.reason = "works";
  ASSERT_TRUE(ev.add_maintenance(w, now).ok());
  EXPECT_EQ(count(ev.tick(now), alarm_event_kind::withdrawn), 0u);
  EXPECT_EQ(ev.node_comm_state(node), isa_state::unacknowledged);
  ASSERT_TRUE(ev.cancel_maintenance(1, "eng", now).ok());
  ASSERT_TRUE(ev.unshelve(node, -1, 0, "op", now).ok());
  EXPECT_EQ(ev.comm_state(node, -1), isa_state::unacknowledged);  // raised again: still down

  // Each clears with its own input only.
  ts = ev.on_rtu_state(node, rtu_state::running, now);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].origin, alarm_origin::rtu_comm);
  EXPECT_EQ(ev.node_comm_state(node), isa_state::unacknowledged);
  ts = ev.on_node_link(node, true, now);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].origin, alarm_origin::node_comm);
  EXPECT_EQ(ts[0].occurrence, node_occ);

  // A restored row finds the alarm of its origin: an rtu_comm row of the node's name does not
  // take the node's alarm, nor the other way round.
  alarm_evaluator fresh;
  restored_alarm a;
  a.origin = alarm_origin::rtu_comm;
  a.rtu_station = node;
  a.slot = -1;
  EXPECT_EQ(fresh.restore_alarm(a), 0u);  // no RTU of that name with rules
  a.origin = alarm_origin::node_comm;
  EXPECT_NE(fresh.restore_alarm(a), 0u);
  EXPECT_EQ(fresh.comm_state(node, -1), std::nullopt);
  EXPECT_EQ(fresh.find_station(node), alarm_evaluator::no_station);
}

// --- shelving ---

TEST_F(AlarmEvaluator, AShelvedAlarmIsWithdrawnAndRaisedAgainWhenTheShelfExpires) {
  add(ph_high());
  sample(9.0);
  const auto occ = only_listed();
  shelf_request req{rtu, 1, 0, "operator1", "sensor being recalibrated", 30 * minute};
  auto o = ev.shelve(req, now);
  ASSERT_TRUE(o.ok()) << o.detail;
  const auto* shelved = find(o.transitions, alarm_event_kind::shelved);
  ASSERT_TRUE(shelved);
  EXPECT_EQ(shelved->until_ms, now + 30 * minute);
  EXPECT_EQ(shelved->text, "sensor being recalibrated");
  const auto* withdrawn = find(o.transitions, alarm_event_kind::withdrawn);
  ASSERT_TRUE(withdrawn);
  EXPECT_EQ(withdrawn->occurrence, occ);
  EXPECT_EQ(withdrawn->cause, alarm_cause::shelf);
  EXPECT_TRUE(ev.listed().empty());
  EXPECT_EQ(ev.rule_state(5), isa_state::shelved);
  EXPECT_EQ(ev.acknowledge(occ, "op", "", now).code, alarm_errc::not_acknowledgeable);

  // Meanwhile it clears and comes back: held back, recorded, not annunciated.
  log.clear();
  sample(8.0);
  sample(9.1);
  EXPECT_EQ(count(log, alarm_event_kind::raised), 0u);
  EXPECT_EQ(count(log, alarm_event_kind::suppressed), 1u);
  EXPECT_EQ(find(log, alarm_event_kind::suppressed)->cause, alarm_cause::shelf);

  now += 30 * minute - 1;
  EXPECT_TRUE(tick().empty());
  now += 1;
  auto ts = tick();  // expiry: judged again, still high, so annunciated again
  ASSERT_EQ(ts.size(), 2u);
  EXPECT_EQ(ts[0].kind, alarm_event_kind::unshelved);
  EXPECT_EQ(ts[0].cause, alarm_cause::expired);
  EXPECT_EQ(ts[1].kind, alarm_event_kind::raised);
  EXPECT_NE(ts[1].occurrence, occ);
  EXPECT_DOUBLE_EQ(ts[1].value, 9.1);
  EXPECT_EQ(ev.rule_state(5), isa_state::unacknowledged);
}

TEST_F(AlarmEvaluator, AShelfThatExpiresOnANormalValueRaisesNothing) {
  add(ph_high());
  sample(9.0);
  ASSERT_TRUE(ev.shelve({rtu, 1, 5, "op", "nuisance", 10 * minute}, now).ok());
  sample(8.0);
  now += 10 * minute;
  auto ts = tick();
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].kind, alarm_event_kind::unshelved);
  EXPECT_EQ(ev.rule_state(5), isa_state::normal);
}

TEST_F(AlarmEvaluator, ShelvingOneRuleLeavesTheOthersOfTheSlot) {
  add(ph_high());
  auto hh = ph_high();
  hh.id = 7;
  hh.threshold = 9.5;
  hh.severity = alarm_severity::critical;
  add(hh);
  ASSERT_TRUE(ev.shelve({rtu, 1, 5, "op", "known issue", 10 * minute}, now).ok());
  sample(10.0);
  EXPECT_EQ(count(log, alarm_event_kind::raised), 1u);
  EXPECT_EQ(find(log, alarm_event_kind::raised)->rule_id, 7);
  EXPECT_EQ(ev.rule_state(5), isa_state::shelved);
}

TEST_F(AlarmEvaluator, AnOperatorCanUnshelveEarly) {
  add(ph_high());
  ASSERT_TRUE(ev.shelve({rtu, 1, 0, "op", "nuisance", 10 * minute}, now).ok());
  sample(9.0);
  auto o = ev.unshelve(rtu, 1, 0, "supervisor", now);
  ASSERT_TRUE(o.ok());
  ASSERT_EQ(o.transitions.size(), 2u);
  EXPECT_EQ(o.transitions[0].kind, alarm_event_kind::unshelved);
  EXPECT_EQ(o.transitions[0].cause, alarm_cause::operator_request);
  EXPECT_EQ(o.transitions[0].by, "supervisor");
  EXPECT_EQ(o.transitions[1].kind, alarm_event_kind::raised);
  EXPECT_EQ(ev.unshelve(rtu, 1, 0, "supervisor", now).code, alarm_errc::not_found);
}

TEST_F(AlarmEvaluator, ShelvingIsChecked) {
  add(ph_high());
  EXPECT_EQ(ev.shelve({rtu, 1, 0, "op", "why", 8 * 60 * minute + 1}, now).detail,
            "the shelf duration must be more than 0 and at most 480 minutes");
  EXPECT_EQ(ev.shelve({rtu, 1, 0, "op", "why", 0}, now).code, alarm_errc::invalid);
  EXPECT_EQ(ev.shelve({rtu, 1, 0, "op", "", minute}, now).detail,
            "a reason is required to shelve an alarm");
  EXPECT_EQ(ev.shelve({rtu, 1, 0, "", "why", minute}, now).code, alarm_errc::invalid);
  EXPECT_EQ(ev.shelve({rtu, 1, 99, "op", "why", minute}, now).code, alarm_errc::not_found);
  EXPECT_EQ(ev.shelve({rtu, 2, 5, "op", "why", minute}, now).code, alarm_errc::invalid);
  EXPECT_EQ(ev.shelve({rtu, -2, 0, "op", "why", minute}, now).code, alarm_errc::invalid);
}

TEST_F(AlarmEvaluator, TheRtuCommAlarmCanBeShelvedOnItsOwn) {
  add(ph_high());
  ASSERT_TRUE(ev.shelve({rtu, -1, 0, "op", "link works planned", 10 * minute}, now).ok());
  append(log, ev.on_rtu_state(rtu, rtu_state::error, now));
  now += minute;
  tick();
  EXPECT_EQ(count(log, alarm_event_kind::raised), 0u);
  EXPECT_EQ(count(log, alarm_event_kind::suppressed), 1u);
  EXPECT_EQ(ev.comm_state(rtu, -1), isa_state::shelved);
}

// --- maintenance windows ---

TEST_F(AlarmEvaluator, AMaintenanceWindowSuppressesAndRecordsIt) {
  add(ph_high());
  sample(9.0);  // an alarm is up when the work begins
  const auto occ = only_listed();
  maintenance_window w;
  w.id = 11;
  w.rtu_station = rtu;
  w.slot = -1;
  w.start_ms = now + 10 * minute;
  w.end_ms = now + 70 * minute;
  w.scheduled_by = "engineer";
  w.reason = "replace pH probe";
  w.work_order = "WO-1234";
  ASSERT_TRUE(ev.add_maintenance(w, now).ok());
  EXPECT_EQ(ev.next_due_ms(), w.start_ms);

  now = w.start_ms - 1;
  EXPECT_TRUE(tick().empty());
  now = w.start_ms;
  auto ts = tick();
  ASSERT_EQ(ts.size(), 2u);
  EXPECT_EQ(ts[0].kind, alarm_event_kind::maintenance_started);
  EXPECT_EQ(ts[0].ref_id, 11);
  EXPECT_EQ(ts[0].window_status, maintenance_status::active);
  EXPECT_EQ(ts[0].text, "replace pH probe");
  EXPECT_EQ(ts[1].kind, alarm_event_kind::withdrawn);
  EXPECT_EQ(ts[1].occurrence, occ);
  EXPECT_EQ(ts[1].cause, alarm_cause::maintenance);
  EXPECT_EQ(ts[1].ref_id, 11);
  EXPECT_EQ(ev.rule_state(5), isa_state::out_of_service);
  EXPECT_EQ(ev.next_due_ms(), w.end_ms);

  // The probe is out: the value swings and the RTU even drops off.
  log.clear();
  sample(2.0);
  sample(12.0);
  append(log, ev.on_rtu_state(rtu, rtu_state::error, now));
  now += 5 * minute;
  tick();
  EXPECT_EQ(count(log, alarm_event_kind::raised), 0u);
  ASSERT_EQ(count(log, alarm_event_kind::suppressed), 2u);
  for (const auto& t : log)
    if (t.kind == alarm_event_kind::suppressed) {
      EXPECT_EQ(t.cause, alarm_cause::maintenance);
      EXPECT_EQ(t.ref_id, 11);
    }
  append(log, ev.on_rtu_state(rtu, rtu_state::running, now));
  sample(7.0);

  now = w.end_ms;
  ts = tick();
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].kind, alarm_event_kind::maintenance_ended);
  EXPECT_EQ(ts[0].window_status, maintenance_status::completed);
  EXPECT_EQ(ts[0].cause, alarm_cause::expired);
  EXPECT_EQ(ev.rule_state(5), isa_state::normal);
  EXPECT_EQ(ev.next_due_ms(), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(sample(9.0).size(), 1u);  // back in service
}

TEST_F(AlarmEvaluator, AWindowThatEndsOnAnAbnormalValueRaisesIt) {
  add(ph_high());
  maintenance_window w{12, rtu, 1, now, now + minute, "eng", "probe", "", {}};
  ASSERT_TRUE(ev.add_maintenance(w, now).ok());
  tick();
  sample(9.0);
  now += minute;
  auto ts = tick();
  ASSERT_EQ(ts.size(), 2u);
  EXPECT_EQ(ts[0].kind, alarm_event_kind::maintenance_ended);
  EXPECT_EQ(ts[1].kind, alarm_event_kind::raised);
}

TEST_F(AlarmEvaluator, AWindowCanBeCancelled) {
  add(ph_high());
  maintenance_window w{13, rtu, 1, now, now + 60 * minute, "eng", "probe", "", {}};
  ASSERT_TRUE(ev.add_maintenance(w, now).ok());
  tick();
  sample(9.0);
  auto o = ev.cancel_maintenance(13, "supervisor", now);
  ASSERT_TRUE(o.ok());
  ASSERT_EQ(o.transitions.size(), 2u);
  EXPECT_EQ(o.transitions[0].kind, alarm_event_kind::maintenance_ended);
  EXPECT_EQ(o.transitions[0].window_status, maintenance_status::cancelled);
  EXPECT_EQ(o.transitions[0].by, "supervisor");
  EXPECT_EQ(o.transitions[1].kind, alarm_event_kind::raised);
  EXPECT_EQ(ev.cancel_maintenance(13, "supervisor", now).code, alarm_errc::not_found);
}

TEST_F(AlarmEvaluator, WindowsAreChecked) {
  maintenance_window w{14, rtu, -1, now + minute, now + 2 * minute, "eng", "work", "", {}};
  ASSERT_TRUE(ev.add_maintenance(w, now).ok());
  EXPECT_EQ(ev.add_maintenance(w, now).code, alarm_errc::conflict);
  auto bad = w;
  bad.id = 15;
  bad.end_ms = bad.start_ms;
  EXPECT_EQ(ev.add_maintenance(bad, now).detail, "end_time must be after start_time");
  bad = w;
  bad.id = 16;
  bad.reason.clear();
  EXPECT_EQ(ev.add_maintenance(bad, now).detail, "reason is required");
  bad = w;
  bad.id = 17;
  bad.slot = -2;
  EXPECT_EQ(ev.add_maintenance(bad, now).code, alarm_errc::invalid);
  bad = w;
  bad.id = 18;
  bad.start_ms = now - 2 * minute;
  bad.end_ms = now - minute;
  EXPECT_EQ(ev.add_maintenance(bad, now).detail, "end_time is in the past");
}

// --- slot configs ---

slot_limits ph_limits() {
  slot_limits c;
  c.id = 3;
  c.rtu_station = rtu;
  c.slot = 1;
  c.name = "pH 1";
  c.unit = "pH";
  c.scale_min = 0.0;
  c.scale_max = 14.0;
  c.alarm_low_low = 5.5;
  c.alarm_low = 6.0;
  c.warning_low = 6.5;
  c.warning_high = 8.0;
  c.alarm_high = 8.5;
  c.alarm_high_high = 9.5;
  return c;
}

TEST(ImpliedRules, SlotLimitsBecomeRulesWithGradedSeverities) {
  const auto rules = implied_rules(ph_limits());
  ASSERT_EQ(rules.size(), 6u);
  struct want {
    const char* name;
    alarm_condition c;
    double threshold;
    alarm_severity sev;
    slot_limit which;
  };
  const want wants[] = {
      {"pH 1 low-low", alarm_condition::less, 5.5, alarm_severity::critical, slot_limit::low_low},
      {"pH 1 low", alarm_condition::less, 6.0, alarm_severity::high, slot_limit::low},
      {"pH 1 low warning", alarm_condition::less, 6.5, alarm_severity::medium,
       slot_limit::warning_low},
      {"pH 1 high warning", alarm_condition::greater, 8.0, alarm_severity::medium,
       slot_limit::warning_high},
      {"pH 1 high", alarm_condition::greater, 8.5, alarm_severity::high, slot_limit::high},
      {"pH 1 high-high", alarm_condition::greater, 9.5, alarm_severity::critical,
       slot_limit::high_high},
  };
  for (std::size_t i = 0; i < rules.size(); ++i) {
    SCOPED_TRACE(wants[i].name);
    EXPECT_EQ(rules[i].name, wants[i].name);
    EXPECT_EQ(rules[i].condition, wants[i].c);
    EXPECT_DOUBLE_EQ(rules[i].threshold, wants[i].threshold);
    EXPECT_EQ(rules[i].severity, wants[i].sev);
    EXPECT_EQ(rules[i].id, implied_rule_id(3, wants[i].which));
    EXPECT_LT(rules[i].id, 0);
    ASSERT_TRUE(rules[i].deadband);
    EXPECT_DOUBLE_EQ(*rules[i].deadband, 0.14);  // 1% of the 0–14 span
    EXPECT_EQ(validate_rule(rules[i]), "");
  }
  EXPECT_EQ(render_message(rules[5], 9.7), "pH 1 high-high: 9.7 > 9.5 pH");
}

TEST(ImpliedRules, OnlySetLimitsAndTheConfiguredDeadband) {
  slot_limits c;
  c.id = 4;
  c.rtu_station = rtu;
  c.slot = 2;
  c.measurement_type = "level";
  c.scale_max = 400.0;
  c.alarm_high = 350.0;
  auto rules = implied_rules(c);
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].name, "water-treat-rtu-1 slot 2 high");
  EXPECT_DOUBLE_EQ(*rules[0].deadband, 20.0);  // level: 5% of 400
  c.deadband = 2.5;
  EXPECT_DOUBLE_EQ(*implied_rules(c)[0].deadband, 2.5);
  c.enabled = false;
  EXPECT_TRUE(implied_rules(c).empty());
  EXPECT_NE(implied_rule_id(4, slot_limit::high), implied_rule_id(5, slot_limit::low_low));
}

TEST(ImpliedRules, LimitsMustBeOrdered) {
  EXPECT_EQ(validate_slot_limits(ph_limits()), "");
  auto c = ph_limits();
  c.alarm_low = 7.0;
  EXPECT_EQ(validate_slot_limits(c), "alarm_low (7) must not be above warning_low (6.5)");
  c = ph_limits();
  c.warning_high.reset();
  c.alarm_high = 6.2;  // below warning_low, with warning_high unset between them
  EXPECT_EQ(validate_slot_limits(c), "warning_low (6.5) must not be above alarm_high (6.2)");
  c = ph_limits();
  c.alarm_high_high = std::nan("");
  EXPECT_EQ(validate_slot_limits(c), "alarm_high_high must be a finite number");
  c = ph_limits();
  c.deadband = -1;
  EXPECT_EQ(validate_slot_limits(c), "deadband must be a finite number, 0 or more");
}

TEST_F(AlarmEvaluator, ASlotConfigArmsItsImpliedRules) {
  ASSERT_TRUE(ev.set_slot_limits(ph_limits(), now).ok());
  EXPECT_EQ(ev.rule_count(), 6u);
  sample(7.0);
  auto ts = sample(9.7);
  ASSERT_EQ(ts.size(), 3u);  // high warning, high, high-high
  std::vector<alarm_severity> sevs;
  for (const auto& t : ts) {
    EXPECT_EQ(t.kind, alarm_event_kind::raised);
    EXPECT_LT(t.rule_id, 0);
    sevs.push_back(t.severity);
  }
  EXPECT_EQ(std::count(sevs.begin(), sevs.end(), alarm_severity::critical), 1);

  auto c = ph_limits();
  c.alarm_high_high.reset();  // the high-high limit goes: its alarm with it
  auto o = ev.set_slot_limits(c, now);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(ev.rule_count(), 5u);
  ASSERT_EQ(count(o.transitions, alarm_event_kind::withdrawn), 1u);
  EXPECT_EQ(find(o.transitions, alarm_event_kind::withdrawn)->cause, alarm_cause::rule_changed);
  EXPECT_EQ(ev.listed().size(), 2u);
  ASSERT_TRUE(ev.remove_slot_limits(3, now).ok());
  EXPECT_EQ(ev.rule_count(), 0u);
  EXPECT_TRUE(ev.listed().empty());
}

// --- rule changes and restarts ---

TEST_F(AlarmEvaluator, DisablingOrDeletingARuleWithdrawsItsAlarm) {
  add(ph_high());
  sample(9.0);
  auto r = ph_high();
  r.enabled = false;
  auto o = ev.upsert_rule(r, now);
  ASSERT_TRUE(o.ok());
  ASSERT_EQ(o.transitions.size(), 1u);
  EXPECT_EQ(o.transitions[0].kind, alarm_event_kind::withdrawn);
  EXPECT_EQ(ev.rule_state(5), isa_state::out_of_service);
  EXPECT_TRUE(sample(9.5).empty());
  r.enabled = true;
  ASSERT_TRUE(ev.upsert_rule(r, now).ok());
  EXPECT_EQ(sample(9.5).size(), 1u);
  EXPECT_EQ(ev.remove_rule(5, now).transitions.size(), 1u);
  EXPECT_EQ(ev.remove_rule(5, now).code, alarm_errc::not_found);
  EXPECT_FALSE(ev.rule_state(5));
}

TEST_F(AlarmEvaluator, ANewLimitIsJudgedByTheNextSample) {
  add(ph_high());
  sample(9.0);
  auto r = ph_high();
  r.threshold = 9.5;  // same rule, higher limit: 9.0 is now normal (beyond the 0.1 deadband)
  ASSERT_TRUE(ev.upsert_rule(r, now).ok());
  auto ts = sample(9.0);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].kind, alarm_event_kind::cleared);
}

TEST_F(AlarmEvaluator, RestoredAlarmsClearInsteadOfRaisingAgain) {
  add(ph_high());
  restored_alarm a;
  a.rule_id = 5;
  a.active = true;
  a.activated_at = now - minute;
  a.value = 9.0;
  a.message = "pH High Alarm: 9 > 8.5";
  const auto occ = ev.restore_alarm(a);
  ASSERT_NE(occ, 0u);
  EXPECT_EQ(ev.restore_alarm(a), 0u);  // one per alarm
  EXPECT_TRUE(sample(9.0).empty());
  auto ts = sample(7.0);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].kind, alarm_event_kind::cleared);
  EXPECT_EQ(ts[0].occurrence, occ);
  EXPECT_TRUE(ev.acknowledge(occ, "op", "", now).ok());
  EXPECT_TRUE(ev.listed().empty());
}

TEST_F(AlarmEvaluator, CountsByState) {
  add(ph_high());
  auto low = ph_high();
  low.id = 6;
  low.slot = 2;
  low.condition = alarm_condition::less;
  low.threshold = 6.0;
  low.severity = alarm_severity::low;
  add(low);
  auto third = ph_high();
  third.id = 8;
  third.slot = 3;
  add(third);
  sample(9.0);
  sample(5.0, quality::good, 2);
  ASSERT_TRUE(ev.acknowledge(ev.listed()[1].occurrence, "op", "", now).ok());
  ASSERT_TRUE(ev.shelve({rtu, 3, 0, "op", "spare", minute}, now).ok());
  const auto c = ev.counts();
  EXPECT_EQ(c.unacknowledged, 1u);
  EXPECT_EQ(c.acknowledged, 1u);
  EXPECT_EQ(c.shelved, 2u);  // the rule and the slot's comm alarm
  EXPECT_EQ(c.listed(), 2u);
  EXPECT_EQ(c.listed_by_severity[static_cast<std::size_t>(alarm_severity::high)], 1u);
  EXPECT_EQ(c.listed_by_severity[static_cast<std::size_t>(alarm_severity::low)], 1u);
}

// --- statistics ---

TEST(SlidingWindowCounter, CountsExactlyWhatIsInsideTheWindow) {
  sliding_window_counter w(10 * minute);
  w.record(0);
  w.record(5 * minute);
  w.record(10 * minute);
  EXPECT_EQ(w.count(10 * minute), 2u);  // (0, 10 min]: the one at 0 has left
  w.record(3 * minute);                 // late, still counted in its place
  EXPECT_EQ(w.count(12 * minute), 3u);
  EXPECT_EQ(w.count(13 * minute), 2u);
  EXPECT_EQ(w.count(19 * minute), 1u);
  EXPECT_EQ(w.count(20 * minute), 0u);  // (10, 20]
}

TEST(FloodDetector, MoreThanTenInTenMinutesIsAFlood) {
  flood_detector f;
  std::int64_t t = 0;
  for (int i = 0; i < 10; ++i, t += 30 * s)
    EXPECT_EQ(f.record(t), flood_detector::change::none) << i;
  EXPECT_FALSE(f.in_flood());
  EXPECT_EQ(f.record(t), flood_detector::change::started);  // the 11th within 5 minutes
  EXPECT_TRUE(f.in_flood());
  EXPECT_EQ(f.record(t + s), flood_detector::change::none);
  // No more alarms: the window empties; below 5 the flood is over.
  EXPECT_EQ(f.update(t + 5 * minute), flood_detector::change::none);
  EXPECT_EQ(f.update(t + 9 * minute), flood_detector::change::ended);
  EXPECT_FALSE(f.in_flood());
}

TEST(FloodDetector, TenSpreadOverMoreThanTenMinutesIsNot) {
  flood_detector f;
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(f.record(i * 61 * s), flood_detector::change::none);
  EXPECT_EQ(f.count(99 * 61 * s), 10u);
  EXPECT_FALSE(f.in_flood());
}

TEST(AlarmRate, AgainstTheIsaBenchmark) {
  const std::int64_t hour = 60 * minute;
  auto r = rate_per_10_min(6, hour);
  EXPECT_DOUBLE_EQ(r.per_10_min, 1.0);
  EXPECT_EQ(r.rating, rate_rating::acceptable);
  EXPECT_EQ(rate_per_10_min(12, hour).rating, rate_rating::manageable);
  EXPECT_EQ(rate_per_10_min(13, hour).rating, rate_rating::overloaded);
  EXPECT_EQ(rate_per_10_min(24, hour, 2).rating, rate_rating::manageable);  // two operators
  EXPECT_EQ(rate_per_10_min(0, 0).rating, rate_rating::acceptable);
  EXPECT_EQ(rate_per_10_min(1, 0).rating, rate_rating::overloaded);
  EXPECT_EQ(to_string(rate_rating::manageable), "manageable");
}

}  // namespace
