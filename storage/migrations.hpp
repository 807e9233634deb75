#pragma once

#include <string_view>
#include <vector>

namespace wtc::storage {

/// One numbered schema change. The SQL lives in storage/migrations/<backend>/NNNN_*.sql and is
/// compiled into the binary (embed_migrations.cmake), so a deployment carries no loose SQL files.
struct migration {
  int version;
  std::string_view description;
  std::string_view sql;
};

/// The migrations of each backend, in version order, contiguous from 1.
const std::vector<migration>& sqlite_migrations();
const std::vector<migration>& postgresql_migrations();

}  // namespace wtc::storage
