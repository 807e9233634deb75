#include "field/profile_library.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "field/builtin_profiles.hpp"

namespace wtc::field {

profile_library::profile_library(const std::string& directory) {
  for (const auto& builtin : builtin_profiles()) {
    const std::string source = "built-in " + std::string(builtin.file_stem);
    auto p = parse_profile(builtin.json_text, source);
    if (p.name != builtin.file_stem)
      throw profile_error("profile " + source + ": declares the name '" + p.name + "'");
    add(std::move(p), source);
  }
  if (directory.empty())
    return;

  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(directory, ec))
    throw profile_error("profile directory " + directory + " does not exist or is not a directory");
  std::vector<fs::path> files;
  for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".json" && it->is_regular_file())
      files.push_back(it->path());
  if (ec)
    throw profile_error("profile directory " + directory + ": " + ec.message());
  // Sorted, so that of two bad files the same one is reported every time.
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    auto p = load_profile_file(file.string());
    if (p.name != file.stem().string())
      throw profile_error("profile " + file.string() + ": declares the name '" + p.name +
                          "'; the file must be called " + p.name + ".json");
    add(std::move(p), file.string());
  }
}

void profile_library::add(profile p, const std::string& source) {
  const std::string name = p.name;
  if (profiles_.count(name) != 0)
    throw profile_error("profile " + source + ": the name '" + name +
                        "' belongs to a built-in profile; give the file another name");
  profiles_.emplace(name, std::make_shared<const profile>(std::move(p)));
}

std::shared_ptr<const profile> profile_library::get(const std::string& name) const {
  auto it = profiles_.find(name);
  if (it != profiles_.end())
    return it->second;
  std::string known;
  for (const auto& [n, p] : profiles_)
    known += (known.empty() ? "" : ", ") + n;
  throw profile_error("unknown profile '" + name + "'; known: " + known);
}

std::vector<std::string> profile_library::names() const {
  std::vector<std::string> out;
  for (const auto& [name, p] : profiles_)
    out.push_back(name);
  return out;
}

}  // namespace wtc::field
