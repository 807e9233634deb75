#pragma once

// Readable gtest failures for historian samples, shared by the compression and rollup tests.

#include <ostream>

#include "core/compression.hpp"
#include "messages/field_types.hpp"

namespace wtc::core {

inline void PrintTo(const historian_sample& s, std::ostream* os) {
  *os << "{" << s.timestamp << ", " << s.value << ", " << wtc::to_string(s.q) << "}";
}

}  // namespace wtc::core
