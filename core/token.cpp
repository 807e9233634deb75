#include "core/token.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace wtc::core {
namespace {

std::string to_hex(const unsigned char* bytes, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 0x0f];
  }
  return out;
}

template <std::size_t N>
std::array<unsigned char, N> random_bytes() {
  std::array<unsigned char, N> out{};
  if (RAND_bytes(out.data(), static_cast<int>(N)) != 1)
    throw std::runtime_error("the OS random generator failed");
  return out;
}

}  // namespace

std::string new_token() {
  auto bytes = random_bytes<32>();
  return to_hex(bytes.data(), bytes.size());
}

std::string new_random_password() {
  static constexpr char alphabet[] = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  constexpr std::size_t alphabet_size = sizeof(alphabet) - 1;
  auto bytes = random_bytes<24>();
  std::string out;
  for (unsigned char b : bytes)
    out += alphabet[b % alphabet_size];
  return out;
}

std::string sha256_hex(std::string_view text) {
  // Fetched once: OpenSSL 3 looks the algorithm up in its provider tables on every call that
  // names it implicitly (SHA256(), EVP_sha256()), and this runs on every authenticated request.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (sha256 == nullptr ||
      EVP_Digest(text.data(), text.size(), digest.data(), &length, sha256, nullptr) != 1)
    throw std::runtime_error("OpenSSL cannot compute SHA-256");
  return to_hex(digest.data(), length);
}

}  // namespace wtc::core
