#pragma once

// Raw field values to engineering units, and the quality a value deserves.

#include <cstdint>

#include "messages/field_types.hpp"

namespace wtc::core {

/// The raw range (e.g. 4–20 mA) of a sensor and the engineering range it maps onto linearly.
struct scaling {
  double scale_min = 0.0;
  double scale_max = 100.0;
  double eng_min = 0.0;
  double eng_max = 100.0;
};

/// `raw` in engineering units. A degenerate raw range (min == max) yields eng_min rather than a
/// division by zero: the sensor's configuration is wrong, and its quality says so.
double to_engineering(double raw, const scaling& s);

/// The quality of a value from the RTU's own quality code (0x00 good, 0x40 uncertain, 0x80 bad,
/// 0xC0 not connected; other codes are treated by their two top bits, as OPC does), whether it
/// is forced at the RTU, and whether the raw value lies inside the raw range. A forced value or
/// one outside the range is at best UNCERTAIN; a non-finite value or a degenerate range is BAD.
quality classify(double raw, std::uint8_t rtu_quality_code, bool forced, const scaling& s);

/// Whether a new value is worth telling live clients about: a change of quality, or a move of
/// more than `deadband` (engineering units) away from the last value reported. A deadband of 0
/// reports every change.
bool significant_change(double last_reported, quality last_quality, double value, quality q,
                        double deadband);

}  // namespace wtc::core
