#pragma once
// PassivatedStore: the state of passivated groups kept in memory, compactly,
// so a node can know ~10x more groups than it keeps active. Each record is
// held as its StateStore::encode() bytes (the record stays opaque here),
// deflated against a preset dictionary (the first record stored: records of
// one node share most of their bytes, so a 3-arm group's ~330 bytes shrink
// to ~135).
//
// Memory layout: records are appended to 256 KB segments (a log, not one
// heap allocation each: no allocator overhead, and the long-lived records do
// not pin pages of the general heap), found through an open-addressing index
// of 8-byte buckets (32 bits of the key's hash, the record's location). A
// replaced or erased record is marked dead; a segment more than half dead is
// compacted (its live records moved to the end of the log) and freed, so the
// log stays under twice the live bytes. A 3-arm group costs ~160 + ~12 bytes.
//
// Each put() returns a stamp; erase_if_stamp() erases only the record that
// put returned it for (a newer put of the same key survives; stamps wrap
// after 2^32 puts).
//
// Not thread-safe: one owner (the supervisor).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/group/open_addressing.hpp"
#include "actors/storage/state_store.hpp"

namespace pytheas {

class PassivatedStore {
 public:
  PassivatedStore();
  ~PassivatedStore();
  PassivatedStore(const PassivatedStore&) = delete;
  PassivatedStore& operator=(const PassivatedStore&) = delete;

  /// Stores `record` under its key, replacing any earlier one. Returns the
  /// stamp for erase_if_stamp().
  std::uint32_t put(const GroupRecord& record);

  /// The record stored under `key`, or nullopt. Throws CorruptState if the
  /// bytes do not decode (memory corruption: never expected).
  std::optional<GroupRecord> get(std::string_view key) const;

  bool contains(std::string_view key) const;
  bool erase(std::string_view key);
  /// Erases `key` only if its record is the one put() stamped `stamp`.
  bool erase_if_stamp(std::string_view key, std::uint32_t stamp);

  std::size_t size() const { return index_.size(); }
  /// Heap bytes held: segments, index and dictionary.
  std::size_t bytes() const;

  /// Calls f(GroupRecord&&) for every record (shutdown), in no order.
  template <class F>
  void for_each(F&& f) const {
    index_.for_each([&](const Bucket& bucket) { f(unpack(blob_at(bucket.location))); });
  }

 private:
  struct Bucket {
    std::uint32_t hash = 0;  // 32 bits of the key's hash, never 0; 0: empty
    std::uint32_t location = 0;
  };
  struct IndexTraits {
    static std::size_t home(std::uint32_t hash) { return hash; }
    static constexpr std::size_t kInitial = 64;
  };
  using Index = OpenAddressing<Bucket, IndexTraits>;
  struct Segment {
    std::unique_ptr<std::byte[]> data;
    std::uint32_t capacity = 0;
    std::uint32_t used = 0;  // bytes appended
    std::uint32_t dead = 0;  // bytes of dead records among them
  };
  class Codec;

  static std::uint32_t hash_of(std::string_view key);
  const std::byte* blob_at(std::uint32_t location) const;
  std::byte* blob_at(std::uint32_t location);
  std::size_t find(std::string_view key, std::uint32_t hash) const;  // position or Index::npos
  std::uint32_t append(const std::byte* blob, std::uint32_t size);   // returns a location
  void remove_at(std::size_t position);
  void kill(std::uint32_t location);
  void compact(std::uint32_t segment);
  GroupRecord unpack(const std::byte* blob) const;

  std::unique_ptr<Codec> codec_;
  Index index_;  // key -> location of its record
  std::vector<Segment> segments_;
  std::vector<std::uint32_t> free_segments_;  // emptied, ready for reuse
  std::uint32_t tail_ = 0;                    // the segment appended to
  std::uint32_t next_stamp_ = 1;
};

}  // namespace pytheas
