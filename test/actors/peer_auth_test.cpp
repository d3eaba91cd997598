#include "actors/peer_auth.hpp"

#include <catch2/catch.hpp>

#include "actors/federation.hpp"

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

TEST_CASE("rendezvous ownership is stable and spreads groups over members", "[federation]") {
  std::vector<std::string> members = {"fe-1", "fe-2", "fe-3"};
  CHECK(rendezvous_owner("g", {}).empty());
  CHECK(rendezvous_owner("g", {"only"}) == "only");
  std::map<std::string, int> load;
  int moved = 0;
  for (int i = 0; i < 3000; ++i) {
    auto group = "Asn=" + std::to_string(i);
    auto owner = rendezvous_owner(group, members);
    CHECK(owner == rendezvous_owner(group, {"fe-3", "fe-1", "fe-2"}));  // order-free
    ++load[owner];
    // Losing fe-3 moves only fe-3's groups.
    auto after = rendezvous_owner(group, {"fe-1", "fe-2"});
    if (owner != "fe-3") CHECK(after == owner);
    moved += owner != after;
  }
  for (const auto& member : members) INFO(member << " owns " << load[member]);
  for (const auto& member : members) CHECK(load[member] > 800);
  CHECK(moved == load["fe-3"]);
}
