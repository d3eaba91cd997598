#include "actors/federation/peer_auth.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace pytheas {

namespace {

std::string to_hex(const unsigned char* bytes, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * size);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 15]);
  }
  return out;
}

}  // namespace

std::string make_nonce() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("no randomness for a nonce");
  return to_hex(bytes, sizeof bytes);
}

std::string handshake_proof(const std::string& secret, const std::string& step,
                            const std::string& name, const std::string& first,
                            const std::string& second) {
  // '\n' cannot occur in names or hex nonces, so fields cannot run together.
  const std::string message = step + '\n' + name + '\n' + first + '\n' + second;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &size))
    throw std::runtime_error("HMAC-SHA256 failed");
  return to_hex(digest, size);
}

bool same_secret(const std::string& a, const std::string& b) {
  unsigned diff = a.size() != b.size() ? 1u : 0u;
  for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

}  // namespace pytheas
