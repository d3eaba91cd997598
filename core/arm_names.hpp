#pragma once
// ArmNames: an immutable list of distinct decision (arm) names, laid out for
// fast lookup, that a policy and every snapshot it takes share. A group so
// stores its arms' names once, in one allocation, whatever the number of
// snapshots alive; adding or forgetting an arm builds a new list
// (copy-on-write, rare next to updates and picks).
//
// Lookup matches a name by its NameKey (length plus first and last 8 bytes:
// a few loads, no hashing of the whole name); names longer than 16 bytes are
// confirmed by comparing them. Up to kLinearArms arms are scanned from a hint
// (callers pass the index after their previous match, since requests usually
// list candidates in the order arms were first seen); beyond, a sorted index
// of fingerprints is binary-searched.
//
// Thread-safety: immutable once built; every method is const and safe to call
// concurrently.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pytheas {

class ArmNamesPool;

/// A name's matching key: its length and its first and last 8 bytes, read
/// with fixed-size (overlapping, for short names) loads. Names of up to 16
/// bytes are fully determined by their key. Trivial on purpose: pick() keeps
/// uninitialized arrays of them.
struct NameKey {
  std::uint64_t head;
  std::uint64_t tail;
  std::uint64_t size;
  bool operator==(const NameKey&) const = default;

  /// True when equal keys imply equal names (no comparison needed).
  bool exact() const { return size <= 16; }

  static NameKey of(std::string_view name) {
    const auto* p = reinterpret_cast<const unsigned char*>(name.data());
    const std::size_t n = name.size();
    NameKey key{0, 0, n};
    if (n >= 8) {
      std::memcpy(&key.head, p, 8);
      std::memcpy(&key.tail, p + n - 8, 8);
    } else if (n >= 4) {
      std::uint32_t first, last;
      std::memcpy(&first, p, 4);
      std::memcpy(&last, p + n - 4, 4);
      key.head = std::uint64_t{first} | (std::uint64_t{last} << 32);
    } else if (n > 0) {
      key.head =
          std::uint64_t{p[0]} | (std::uint64_t{p[n / 2]} << 8) | (std::uint64_t{p[n - 1]} << 16);
    }
    return key;
  }
};

class ArmNames {
 public:
  using Ptr = std::shared_ptr<const ArmNames>;
  static constexpr std::int32_t kNotFound = -1;
  /// Up to this many arms lookups scan; beyond, they binary-search.
  static constexpr std::size_t kLinearArms = 16;

  /// Builds a list. Throws InvalidInput on an empty or duplicated name; the
  /// message starts with `what` ("snapshot: duplicate decision 'x'").
  /// A list made through `pool` (ArmNamesPool::intern) belongs to it.
  static Ptr make(std::span<const std::string_view> names, std::string_view what = "arms",
                  std::shared_ptr<ArmNamesPool> pool = nullptr);
  static Ptr make(std::span<const std::string> names, std::string_view what = "arms");

  /// This list with `name` appended (which must not be in it: InvalidInput).
  /// From the same pool when this list belongs to one.
  Ptr with(std::string_view name) const;
  /// This list with only the arms whose keep[i] != 0, in order (same pool).
  Ptr keep(std::span<const std::uint8_t> keep) const;
  /// The same names, from `pool`.
  Ptr in(ArmNamesPool& pool) const;
  const std::shared_ptr<ArmNamesPool>& pool() const { return pool_; }

  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  std::string_view operator[](std::size_t i) const {
    const std::uint32_t begin = i == 0 ? 0 : ends()[i - 1];
    return {chars() + begin, ends()[i] - begin};
  }
  const NameKey& key(std::size_t i) const { return keys()[i]; }

  /// find() for callers that match many names in a row: tries arm `hint`
  /// first, inline, and calls find() only when it is not the one.
  std::int32_t find_from(const NameKey& key, std::string_view name, std::size_t hint) const {
    if (hint < count_ && keys()[hint] == key && (key.exact() || (*this)[hint] == name))
      return static_cast<std::int32_t>(hint);
    return find_beyond(key, name, hint);
  }

  /// Index of `name`, or kNotFound.
  std::int32_t find(std::string_view name) const { return find(NameKey::of(name), name, 0); }

  /// Index of the arm named `name` whose key is `key`, or kNotFound; a scan
  /// starts at arm `hint` and wraps around.
  std::int32_t find(const NameKey& key, std::string_view name, std::size_t hint) const {
    if (count_ > kLinearArms) return find_sorted(key, name);
    const NameKey* keys = this->keys();
    if (hint >= count_) hint = 0;
    for (std::size_t i = hint; i < count_; ++i)
      if (keys[i] == key && (key.exact() || (*this)[i] == name))
        return static_cast<std::int32_t>(i);
    for (std::size_t i = 0; i < hint; ++i)
      if (keys[i] == key && (key.exact() || (*this)[i] == name))
        return static_cast<std::int32_t>(i);
    return kNotFound;
  }

  /// Heap bytes this list occupies (for memory accounting in benchmarks).
  std::size_t heap_bytes() const;

  /// Use make(); public only for std::make_shared.
  struct Private {};
  ArmNames(Private, std::size_t count, std::size_t chars);

 private:
  // One block: NameKey keys[n]; for more than kLinearArms arms (fingerprint,
  // arm) pairs sorted; uint32 end offset of each name; the names' bytes.
  struct Print {
    std::uint64_t print;
    std::uint64_t arm;
  };
  std::size_t prints_at() const { return count_ * sizeof(NameKey); }
  std::size_t ends_at() const {
    return prints_at() + (count_ > kLinearArms ? count_ * sizeof(Print) : 0);
  }
  std::size_t chars_at() const { return ends_at() + count_ * sizeof(std::uint32_t); }

  NameKey* keys() const { return reinterpret_cast<NameKey*>(block_.get()); }
  Print* prints() const { return reinterpret_cast<Print*>(block_.get() + prints_at()); }
  std::uint32_t* ends() const { return reinterpret_cast<std::uint32_t*>(block_.get() + ends_at()); }
  char* chars() const { return reinterpret_cast<char*>(block_.get() + chars_at()); }

  static std::uint64_t fingerprint(const NameKey& key);
  std::int32_t find_beyond(const NameKey& key, std::string_view name, std::size_t hint) const;
  std::int32_t find_sorted(const NameKey& key, std::string_view name) const;
  void index(std::string_view what);  // fills prints (if any) and checks names are distinct

  Ptr derived(std::span<const std::string_view> names) const;  // same pool, if any

  std::uint32_t count_;
  std::uint32_t chars_size_;
  std::unique_ptr<std::byte[]> block_;
  std::shared_ptr<ArmNamesPool> pool_;  // null: not pooled
};

}  // namespace pytheas
