#include "core/scaling.hpp"

#include <cmath>

namespace wtc::core {

double to_engineering(double raw, const scaling& s) {
  const double span = s.scale_max - s.scale_min;
  if (span == 0.0)
    return s.eng_min;
  return s.eng_min + (raw - s.scale_min) * (s.eng_max - s.eng_min) / span;
}

quality classify(double raw, std::uint8_t rtu_quality_code, bool forced, const scaling& s) {
  if (!std::isfinite(raw) || s.scale_max == s.scale_min)
    return quality::bad;
  quality q = quality::good;
  switch (rtu_quality_code & 0xC0) {
    case 0x00:
      break;
    case 0x40:
      q = quality::uncertain;
      break;
    default:  // 0x80 bad, 0xC0 not connected
      return quality::bad;
  }
  const double low = std::fmin(s.scale_min, s.scale_max);
  const double high = std::fmax(s.scale_min, s.scale_max);
  if (forced || raw < low || raw > high)
    q = quality::uncertain;
  return q;
}

bool significant_change(double last_reported, quality last_quality, double value, quality q,
                        double deadband) {
  if (q != last_quality)
    return true;
  const double moved = std::fabs(value - last_reported);
  return deadband > 0.0 ? moved > deadband : moved > 0.0;
}

}  // namespace wtc::core
