#include <gtest/gtest.h>

#include "core/password.hpp"
#include "core/token.hpp"

namespace wtc::core {
namespace {

TEST(Password, HashIsBcryptWithTheRequestedCost) {
  const auto hash = hash_password("correct horse", 10);
  EXPECT_EQ(hash.rfind("$2b$10$", 0), 0U) << hash;
  EXPECT_EQ(hash.size(), 60U);
}

TEST(Password, VerifiesOnlyTheRightPassword) {
  const auto hash = hash_password("correct horse", 10);
  EXPECT_TRUE(verify_password("correct horse", hash));
  EXPECT_FALSE(verify_password("correct horsE", hash));
  EXPECT_FALSE(verify_password("", hash));
}

TEST(Password, SaltsDiffer) {
  EXPECT_NE(hash_password("same", 10), hash_password("same", 10));
}

TEST(Password, MalformedHashesNeverMatch) {
  EXPECT_FALSE(verify_password("x", ""));
  EXPECT_FALSE(verify_password("x", "plaintext"));
  EXPECT_FALSE(verify_password("x", "$2b$10$tooshort"));
  EXPECT_FALSE(verify_password("x", "$1$md5salt$hash"));
}

TEST(Password, PolicyRejectsShortLongAndNulPasswords) {
  EXPECT_FALSE(password_policy_violation("short").empty());
  EXPECT_FALSE(password_policy_violation(std::string(73, 'a')).empty());
  EXPECT_FALSE(password_policy_violation(std::string("abcdefgh\0ij", 11)).empty());
  EXPECT_TRUE(password_policy_violation("long enough").empty());
}

TEST(Token, Is256BitHex) {
  const auto token = new_token();
  EXPECT_EQ(token.size(), 64U);
  EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(new_token(), token);
}

TEST(Token, Sha256MatchesAKnownVector) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Token, RandomPasswordsSatisfyThePolicy) {
  const auto pw = new_random_password();
  EXPECT_EQ(pw.size(), 24U);
  EXPECT_TRUE(password_policy_violation(pw).empty());
}

}  // namespace
}  // namespace wtc::core
