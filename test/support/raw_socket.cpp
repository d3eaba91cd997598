#include "test/support/raw_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace pytheas::test {

using Clock = std::chrono::steady_clock;

RawSocket::RawSocket(unsigned short port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd_);
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed");
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

RawSocket::~RawSocket() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawSocket::send(const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

std::string RawSocket::read_some(std::chrono::milliseconds timeout, std::size_t count) {
  std::string out = std::move(pending_);
  pending_.clear();
  const auto deadline = Clock::now() + timeout;
  char buffer[8192];
  while (out.size() < count) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) break;
    auto n = ::recv(fd_, buffer, std::min(sizeof buffer, count - out.size()), 0);
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

std::string RawSocket::read_response(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string data = std::move(pending_);
  pending_.clear();
  auto remaining = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  };
  std::size_t header_end;
  while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
    if (remaining().count() <= 0) return data;
    auto more = read_some(remaining(), 1);
    if (more.empty()) return data;
    data += more;
  }
  // Content-Length, case-insensitively.
  std::string lower = data.substr(0, header_end);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::size_t length = 0;
  if (auto at = lower.find("content-length:"); at != std::string::npos)
    length = std::stoul(lower.substr(at + 15));
  const std::size_t total = header_end + 4 + length;
  while (data.size() < total) {
    if (remaining().count() <= 0) return data;
    auto more = read_some(remaining(), total - data.size());
    if (more.empty()) return data;
    data += more;
  }
  pending_ = data.substr(total);
  return data.substr(0, total);
}

std::chrono::milliseconds RawSocket::wait_closed(std::chrono::milliseconds timeout) {
  const auto start = Clock::now();
  const auto deadline = start + timeout;
  char buffer[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::chrono::milliseconds(-1);
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    auto n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  }
}

}  // namespace pytheas::test
