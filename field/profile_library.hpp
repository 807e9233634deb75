#pragma once

// Register-map profiles by name: the built-in ones and a site's own directory of JSON files.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "field/profile.hpp"

namespace wtc::field {

/// Immutable once built, so rtu_actors on any thread may share it.
class profile_library {
 public:
  /// The built-in profiles, plus every `<name>.json` file in `directory` unless it is empty.
  /// Every profile is parsed and validated now, so that a bad one stops start-up: throws
  /// profile_error for an unreadable directory, a bad file, a file whose name differs from the
  /// profile's, or a name that a built-in profile already has.
  explicit profile_library(const std::string& directory = {});

  /// The profile called `name`; throws profile_error, listing the known names, if none is.
  std::shared_ptr<const profile> get(const std::string& name) const;
  bool contains(const std::string& name) const { return profiles_.count(name) != 0; }
  /// All names, sorted.
  std::vector<std::string> names() const;

 private:
  void add(profile p, const std::string& source);

  std::map<std::string, std::shared_ptr<const profile>> profiles_;
};

}  // namespace wtc::field
