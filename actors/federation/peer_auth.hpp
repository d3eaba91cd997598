#pragma once
// Peer authentication for federation links: a challenge-response on the
// shared cluster secret, so the secret itself never crosses the network (an
// impostor listening on a member's address learns nothing it can replay).
//   dialler  -> (challenge)                      acceptor replies nonce_a
//   dialler  -> (hello, name, nonce_d, proof("hello", name, nonce_a, nonce_d))
//   acceptor -> (welcome, name, proof("welcome", name, nonce_d, nonce_a))
// Each side checks the other's proof: both prove they hold the secret, and
// fresh nonces make every proof single-use. Without TLS the link is still
// plaintext; this only keeps strangers out. Stateless; thread-safe.

#include <string>

namespace pytheas {

/// 128 random bits, hex-encoded.
std::string make_nonce();

/// HMAC-SHA256(secret, step|name|first|second), hex-encoded.
std::string handshake_proof(const std::string& secret, const std::string& step,
                            const std::string& name, const std::string& first,
                            const std::string& second);

/// Compares in time independent of where the strings differ.
bool same_secret(const std::string& a, const std::string& b);

}  // namespace pytheas
