#pragma once

// The profiles of field/profiles/, compiled into the library by embed_profiles.cmake.

#include <string_view>
#include <vector>

namespace wtc::field {

struct builtin_profile {
  std::string_view file_stem;  // the file's name without .json, which must be the profile's name
  std::string_view json_text;
};

const std::vector<builtin_profile>& builtin_profiles();

}  // namespace wtc::field
