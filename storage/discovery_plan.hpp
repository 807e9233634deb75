#pragma once

// How a discovery merges into an RTU's sensors and controls: the decisions, without SQL, shared by
// both backends (docs/storage.md, "Discovery").

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "messages/field_types.hpp"

namespace wtc::storage {

/// The longest tag the schema admits (sensors.tag and controls.tag are VARCHAR(32)).
constexpr std::size_t max_tag_length = 32;

/// A sensor or control row of the RTU as discovery sees it: where it sits, what it is.
struct existing_point {
  std::int64_t id = 0;
  bool is_sensor = true;
  std::int32_t slot_number = 0;
  std::int32_t channel = 0;
  std::string tag;
  std::string control_type;  // controls only
};

/// An actuator whose module changed between discrete and analog: the hardware decides its type.
struct control_retype {
  std::int64_t id = 0;
  std::string control_type;
  bool has_range = false;
  double min_value = 0.0;
  double max_value = 0.0;
};

/// What a backend does, in this order, inside the discovery's transaction: deletions first, so
/// that the tags they free can be taken by the insertions.
struct discovery_plan {
  std::vector<std::int64_t> delete_sensors;
  std::vector<std::int64_t> delete_controls;
  std::vector<control_retype> retype_controls;
  std::vector<sensor_record> insert_sensors;    // slot_number set, slot_id not; tag final
  std::vector<control_record> insert_controls;  // likewise
  std::vector<std::string> warnings;            // one WARNING diagnostic each
};

/// Rejects a discovery that contradicts itself (bad_request): a slot number twice, two points on
/// one slot and channel, a point on a slot the discovery does not list.
void check_discovery(const discovery_result& found);

/// Decides the merge. `existing` holds every sensor and control of the RTU; `tag_uses(tag)` counts
/// the sensors and controls of the whole database (every RTU) that carry `tag`.
/// - A point found where the RTU has one of the same kind keeps the stored row untouched (tag,
///   type, unit, scaling, deadband): an engineer's configuration is never overwritten by a scan.
///   Only a control whose control_type changed (a DO module replaced by a PWM one) takes the
///   discovered control_type and range.
/// - A point found where the RTU has one of the other kind (a sensor slot that now holds an
///   actuator, or the reverse) follows the discovery: the stale row is deleted (a sensor's
///   historian samples with it) and a new row is created, with a warning.
/// - A new point gets the discovered tag (shortened to 32 characters if longer), or, when that
///   tag is taken anywhere (another RTU, or another point of this one), the first free of
///   `<tag>_2`, `<tag>_3`, ... (the tag shortened to fit 32 characters). Points are handled in
///   order of slot number and channel, so the same database and the same discovery always give
///   the same tags.
/// - Points the discovery does not list are kept.
discovery_plan plan_discovery(const discovery_result& found,
                              const std::vector<existing_point>& existing,
                              const std::function<std::int64_t(const std::string&)>& tag_uses);

/// `tag` shortened to whole characters (UTF-8) so that `tag + suffix` fits max_tag_length, then
/// `suffix` appended.
std::string tag_with_suffix(const std::string& tag, const std::string& suffix);

}  // namespace wtc::storage
