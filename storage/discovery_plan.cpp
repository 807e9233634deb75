#include "storage/discovery_plan.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "storage/store.hpp"

namespace wtc::storage {

namespace {

using location = std::pair<std::int32_t, std::int32_t>;  // slot number, channel

// How many candidates `<tag>_2`, `<tag>_3`, ... are tried before giving up: only a database
// holding that many copies of one tag gets this far.
constexpr int max_tag_attempts = 1000;

std::string where(location at) {
  return "slot " + std::to_string(at.first) + " channel " + std::to_string(at.second);
}

bool continuation_byte(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

std::size_t characters(const std::string& text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return !continuation_byte(c); }));
}

// One point of the discovery: exactly one of `sensor` and `control` is set.
struct found_point {
  location at;
  const sensor_record* sensor = nullptr;
  const control_record* control = nullptr;
};

}  // namespace

void check_discovery(const discovery_result& found) {
  std::set<std::int32_t> slots;
  for (const slot_record& slot : found.slots) {
    if (!slots.insert(slot.slot_number).second)
      throw storage_error(errc::bad_request, "the discovery lists slot " +
                                                 std::to_string(slot.slot_number) + " twice");
  }
  std::set<location> points;
  auto check_point = [&](location at) {
    if (slots.count(at.first) == 0)
      throw storage_error(errc::bad_request, "the discovery has a point on " + where(at) +
                                                 " but does not list slot " +
                                                 std::to_string(at.first));
    if (!points.insert(at).second)
      throw storage_error(errc::bad_request, "the discovery lists two points on " + where(at));
  };
  for (const sensor_record& sensor : found.sensors)
    check_point({sensor.slot_number, sensor.channel});
  for (const control_record& control : found.controls)
    check_point({control.slot_number, control.channel});
}

std::string tag_with_suffix(const std::string& tag, const std::string& suffix) {
  std::size_t suffix_length = characters(suffix);
  std::size_t room = max_tag_length > suffix_length ? max_tag_length - suffix_length : 0;
  std::size_t end = 0;
  for (std::size_t kept = 0; end < tag.size() && kept < room; ++kept) {
    ++end;
    while (end < tag.size() && continuation_byte(tag[end]))
      ++end;
  }
  return tag.substr(0, end) + suffix;
}

discovery_plan plan_discovery(const discovery_result& found,
                              const std::vector<existing_point>& existing,
                              const std::function<std::int64_t(const std::string&)>& tag_uses) {
  check_discovery(found);
  discovery_plan plan;

  std::multimap<location, const existing_point*> stored;
  for (const existing_point& point : existing)
    stored.emplace(location{point.slot_number, point.channel}, &point);

  std::vector<found_point> points;
  for (const sensor_record& sensor : found.sensors)
    points.push_back({{sensor.slot_number, sensor.channel}, &sensor, nullptr});
  for (const control_record& control : found.controls)
    points.push_back({{control.slot_number, control.channel}, nullptr, &control});
  // check_discovery made every location unique: this order is total.
  std::sort(points.begin(), points.end(),
            [](const found_point& a, const found_point& b) { return a.at < b.at; });

  // First the rows to keep, retype or delete, so that every tag a deletion frees is known
  // before any tag is chosen.
  std::map<std::string, std::int64_t> freed;  // tag -> rows of that tag the plan deletes
  std::vector<std::pair<const found_point*, const existing_point*>> to_insert;  // and replaced
  for (const found_point& point : points) {
    const bool sensor_found = point.sensor != nullptr;
    bool kept = false;
    const existing_point* replaced = nullptr;
    auto [first, last] = stored.equal_range(point.at);
    for (auto it = first; it != last; ++it) {
      const existing_point& row = *it->second;
      if (row.is_sensor == sensor_found) {
        kept = true;
        if (!sensor_found && row.control_type != point.control->control_type) {
          plan.retype_controls.push_back({row.id, point.control->control_type,
                                          point.control->has_range, point.control->min_value,
                                          point.control->max_value});
          plan.warnings.push_back("control '" + row.tag + "' on " + where(point.at) + " is now " +
                                  point.control->control_type + " (was " + row.control_type + ")");
        }
        continue;
      }
      // The slot's point changed kind (a sensor module replaced by an actuator module, or the
      // reverse): the discovery wins, since the stale row can neither be read nor commanded.
      // Deleting a sensor deletes its historian samples (the foreign key cascades).
      (row.is_sensor ? plan.delete_sensors : plan.delete_controls).push_back(row.id);
      ++freed[row.tag];
      replaced = &row;
    }
    if (!kept)
      to_insert.emplace_back(&point, replaced);
  }

  std::set<std::string> taken;  // tags this plan gives to new rows
  auto is_free = [&](const std::string& tag) {
    if (taken.count(tag) != 0)
      return false;
    std::int64_t uses = tag_uses(tag);
    auto released = freed.find(tag);
    if (released != freed.end())
      uses -= released->second;
    return uses <= 0;
  };
  auto free_tag = [&](const std::string& discovered) {
    // A profile's overlong tag is shortened rather than failing the discovery on PostgreSQL.
    const std::string wanted = tag_with_suffix(discovered, "");
    std::string tag = wanted;
    for (int n = 2; !is_free(tag); ++n) {
      if (n > max_tag_attempts)
        throw storage_error(errc::conflict, "no free tag like '" + wanted + "' for a new point");
      tag = tag_with_suffix(wanted, "_" + std::to_string(n));
    }
    taken.insert(tag);
    return tag;
  };

  for (const auto& [point, replaced] : to_insert) {
    std::string tag;
    if (point->sensor != nullptr) {
      sensor_record sensor = *point->sensor;
      sensor.id = 0;
      sensor.slot_id = 0;
      sensor.tag = free_tag(sensor.tag);
      tag = sensor.tag;
      plan.insert_sensors.push_back(std::move(sensor));
    } else {
      control_record control = *point->control;
      control.id = 0;
      control.slot_id = 0;
      control.tag = free_tag(control.tag);
      tag = control.tag;
      plan.insert_controls.push_back(std::move(control));
    }
    if (replaced != nullptr) {
      const bool now_sensor = point->sensor != nullptr;
      plan.warnings.push_back((replaced->is_sensor ? "sensor '" : "control '") + replaced->tag +
                              "' on " + where(point->at) + " is now " +
                              (now_sensor ? "a sensor" : "an actuator") + ": replaced by " +
                              (now_sensor ? "sensor '" : "control '") + tag + "'");
    }
  }
  return plan;
}

}  // namespace wtc::storage
