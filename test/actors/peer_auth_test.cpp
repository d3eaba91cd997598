#include "actors/federation/peer_auth.hpp"

#include <catch2/catch.hpp>

using namespace pytheas;

TEST_CASE("handshake proofs bind the secret, step, name and both nonces", "[federation][auth]") {
  const std::string secret = "cluster-secret-0123456789";
  auto a = make_nonce(), b = make_nonce();
  CHECK(a.size() == 32);
  CHECK(a != b);
  auto proof = handshake_proof(secret, "hello", "fe-a", a, b);
  CHECK(proof.size() == 64);
  CHECK(proof == handshake_proof(secret, "hello", "fe-a", a, b));
  CHECK(proof != handshake_proof(secret + "x", "hello", "fe-a", a, b));
  CHECK(proof != handshake_proof(secret, "welcome", "fe-a", a, b));
  CHECK(proof != handshake_proof(secret, "hello", "fe-b", a, b));
  CHECK(proof != handshake_proof(secret, "hello", "fe-a", b, a));
  CHECK(proof.find(secret) == std::string::npos);
}

TEST_CASE("same_secret compares whole strings", "[federation][auth]") {
  CHECK(same_secret("abc", "abc"));
  CHECK_FALSE(same_secret("abc", "abd"));
  CHECK_FALSE(same_secret("abc", "abcd"));
  CHECK_FALSE(same_secret("", "a"));
  CHECK(same_secret("", ""));
}
