#include "actors/password_worker.hpp"

#include "core/password.hpp"

namespace wtc {

password_worker_api::behavior_type password_worker(password_worker_api::pointer, int cost) {
  return {
      [](verify_atom, const std::string& password, const std::string& hash) {
        return core::verify_password(password, hash);
      },
      [cost](hash_atom, const std::string& password) {
        return core::hash_password(password, cost);
      },
  };
}

}  // namespace wtc
