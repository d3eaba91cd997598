// Clears OpenSSL's error queue before every TLS read, write and handshake
// step, for CAF 0.17's TLS transport (libcaf_openssl).
//
// Why: OpenSSL keeps one error queue per thread, and SSL_get_error() reports
// a failure whenever that queue is not empty, whatever the call it is asked
// about (SSL_get_error(3): "the current thread's error queue must be empty
// before the TLS/SSL I/O operation is attempted"). CAF runs every TLS link on
// its one multiplexer thread and never clears the queue; when a peer dies,
// OpenSSL 3 queues a system error for that link (ECONNRESET, EPIPE) that
// CAF's SSL_ERROR_SYSCALL path does not drain, so the next read on every
// *other* link of the node is taken for a failure and closed. Measured in
// the network lab: a kill -9 of one member dropped all TLS links of every
// other member at once, and ownership churned for 5-11 s.
//
// How: the executable defines SSL_read, SSL_write, SSL_connect and
// SSL_accept; the dynamic linker binds libcaf_openssl's calls to these
// (symbols of the executable come first), and each clears the calling
// thread's queue and calls libssl's own function (dlsym RTLD_NEXT). Only
// the `pytheas` executable links this file. Thread-safety: the functions
// are as thread-safe as libssl's; the lookups are function-local statics.

#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstdio>
#include <cstdlib>

namespace {

template <class Function>
Function libssl_function(const char* name) {
  void* found = ::dlsym(RTLD_NEXT, name);
  if (!found) {
    std::fprintf(stderr, "pytheas: cannot find libssl's %s: %s\n", name, ::dlerror());
    std::abort();
  }
  return reinterpret_cast<Function>(found);
}

}  // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buffer, int size) {
  static const auto real = libssl_function<int (*)(SSL*, void*, int)>("SSL_read");
  ::ERR_clear_error();
  return real(ssl, buffer, size);
}

int SSL_write(SSL* ssl, const void* buffer, int size) {
  static const auto real = libssl_function<int (*)(SSL*, const void*, int)>("SSL_write");
  ::ERR_clear_error();
  return real(ssl, buffer, size);
}

int SSL_connect(SSL* ssl) {
  static const auto real = libssl_function<int (*)(SSL*)>("SSL_connect");
  ::ERR_clear_error();
  return real(ssl);
}

int SSL_accept(SSL* ssl) {
  static const auto real = libssl_function<int (*)(SSL*)>("SSL_accept");
  ::ERR_clear_error();
  return real(ssl);
}

}  // extern "C"
