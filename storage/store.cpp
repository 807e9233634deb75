#include "storage/store.hpp"

#include <filesystem>
#include <system_error>

#include "storage/postgres_store.hpp"
#include "storage/sqlite_store.hpp"

namespace wtc::storage {

namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::unique_ptr<store> open_data_dir(const std::string& data_dir) {
  if (data_dir.empty())
    throw storage_error(errc::bad_request, "the data directory must not be empty");
  std::error_code failure;
  std::filesystem::create_directories(data_dir, failure);
  if (failure)
    throw storage_error(errc::unavailable, "cannot create the data directory '" + data_dir +
                                               "': " + failure.message());
  return std::make_unique<sqlite_store>((std::filesystem::path(data_dir) / "wtc.db").string());
}

}  // namespace

std::unique_ptr<store> open_store(const db_config& config) {
  const std::string& url = config.url;
  if (url.empty())
    return open_data_dir(config.data_dir);
  if (starts_with(url, "postgresql://") || starts_with(url, "postgres://"))
    return std::make_unique<postgres_store>(url);
  constexpr std::string_view sqlite_scheme = "sqlite://";
  if (starts_with(url, sqlite_scheme)) {
    std::string path = url.substr(sqlite_scheme.size());
    if (!starts_with(path, "/"))
      throw storage_error(errc::bad_request,
                          "an SQLite database URL names an absolute path, as in "
                          "sqlite:///var/lib/wtc/wtc.db");
    return std::make_unique<sqlite_store>(path);
  }
  // Never echo the URL: it may carry a password.
  auto scheme_end = url.find("://");
  std::string scheme =
      scheme_end == std::string::npos ? "none" : "'" + url.substr(0, scheme_end) + "'";
  throw storage_error(errc::bad_request, "unsupported database URL scheme " + scheme +
                                             ": use postgresql://, postgres:// or sqlite:///");
}

}  // namespace wtc::storage
