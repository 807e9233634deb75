#include "core/password.hpp"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>
#include <cstring>
#include <stdexcept>

namespace wtc::core {

std::string hash_password(std::string_view password, int cost) {
  std::array<unsigned char, 16> entropy{};
  if (RAND_bytes(entropy.data(), static_cast<int>(entropy.size())) != 1)
    throw std::runtime_error("no entropy for a password salt");
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> salt{};
  if (crypt_gensalt_rn(
          "$2b$", static_cast<unsigned long>(cost), reinterpret_cast<const char*>(entropy.data()),
          static_cast<int>(entropy.size()), salt.data(), static_cast<int>(salt.size())) == nullptr)
    throw std::runtime_error("the crypt library cannot make a bcrypt salt");
  crypt_data data{};
  const std::string secret(password);
  const char* hashed = crypt_rn(secret.c_str(), salt.data(), &data, sizeof data);
  if (hashed == nullptr || hashed[0] == '*')
    throw std::runtime_error("the crypt library cannot hash with bcrypt");
  return hashed;
}

bool verify_password(std::string_view password, const std::string& hash) {
  if (hash.rfind("$2", 0) != 0)
    return false;
  crypt_data data{};
  const std::string secret(password);
  const char* hashed = crypt_rn(secret.c_str(), hash.c_str(), &data, sizeof data);
  if (hashed == nullptr || hashed[0] == '*')
    return false;
  const std::size_t len = std::strlen(hashed);
  return len == hash.size() && CRYPTO_memcmp(hashed, hash.data(), len) == 0;
}

std::string password_policy_violation(std::string_view password) {
  if (password.size() < 8)
    return "password must be at least 8 characters long";
  // bcrypt ignores everything past 72 bytes: a longer password would silently be truncated.
  if (password.size() > 72)
    return "password must be at most 72 bytes long";
  if (password.find('\0') != std::string_view::npos)
    return "password must not contain NUL characters";
  return {};
}

}  // namespace wtc::core
