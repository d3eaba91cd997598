#pragma once
// Fixed-width values in native byte order, appended to or read from byte
// strings: the building block of our binary files (state files, the report
// log). Both files are read only by the machine kind that wrote them, and
// carry a magic and version. Stateless; thread-safe.

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace pytheas {

template <class T>
void append_raw(std::string& out, T value) {
  static_assert(std::is_trivially_copyable_v<T>);
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

/// The T at `at`; the caller has checked that sizeof(T) bytes are there.
template <class T>
T read_raw(std::string_view bytes, std::size_t at) {
  static_assert(std::is_trivially_copyable_v<T>);
  T value;
  std::memcpy(&value, bytes.data() + at, sizeof(T));
  return value;
}

}  // namespace pytheas
