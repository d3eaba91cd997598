#pragma once
// OpenAddressing<Bucket, Traits>: the open-addressing array behind both of
// this folder's key indexes, GroupTable's shards and PassivatedStore's index.
// Linear probing over a power-of-two array of buckets kept at most 3/4 full;
// a bucket whose `hash` is 0 is empty, so a lookup stops at the first empty
// bucket; erase shifts the later buckets of its run back (no tombstones).
//
// A Bucket is a small struct with a `hash` member (an unsigned integer, never
// 0 in a used bucket) and what the index maps to; it must be default
// constructible (empty) and movable. Traits gives
//   static std::size_t home(Hash hash)      the bucket a hash starts at,
//                                           before masking to the array size
//   static constexpr std::size_t kInitial   the first array size (a power of 2)
// The index knows no keys: callers pass a predicate that compares the key a
// bucket stands for. Not thread-safe (GroupTable locks its shards; a
// PassivatedStore has one owner).

#include <cstddef>
#include <utility>
#include <vector>

namespace pytheas {

template <class Bucket, class Traits>
class OpenAddressing {
 public:
  using Hash = decltype(Bucket::hash);
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  /// The position of the bucket with `hash` for which `matches(bucket)`
  /// holds, or npos. Inline: GroupTable looks on every decide.
  template <class Match>
  std::size_t find(Hash hash, Match&& matches) const {
    if (buckets_.empty()) return npos;
    for (std::size_t i = home(hash);; i = next(i)) {
      const Bucket& bucket = buckets_[i];
      if (bucket.hash == 0) return npos;
      if (bucket.hash == hash && matches(bucket)) return i;
    }
  }

  /// Inserts `bucket` unless a bucket with its hash `matches`; returns the
  /// position of the bucket now there and whether it was inserted. Grows
  /// first if one more bucket would fill more than 3/4.
  template <class Match>
  std::pair<std::size_t, bool> insert(Bucket bucket, Match&& matches) {
    if (4 * (used_ + 1) > 3 * buckets_.size()) grow();
    std::size_t i = home(bucket.hash);
    for (;; i = next(i)) {
      const Bucket& there = buckets_[i];
      if (there.hash == 0) break;
      if (there.hash == bucket.hash && matches(there)) return {i, false};
    }
    buckets_[i] = std::move(bucket);
    ++used_;
    return {i, true};
  }

  /// Removes the bucket at `hole` (a position find() returned) and returns it.
  Bucket remove_at(std::size_t hole) {
    Bucket removed = std::move(buckets_[hole]);
    --used_;
    // Backward shift: move later buckets of the run into the hole when their
    // home position does not lie cyclically in (hole, at].
    for (std::size_t at = next(hole); buckets_[at].hash != 0; at = next(at)) {
      const std::size_t want = home(buckets_[at].hash);
      const bool stays = hole <= at ? (hole < want && want <= at) : (hole < want || want <= at);
      if (stays) continue;
      buckets_[hole] = std::move(buckets_[at]);
      hole = at;
    }
    buckets_[hole] = Bucket{};
    return removed;
  }

  Bucket& at(std::size_t position) { return buckets_[position]; }
  const Bucket& at(std::size_t position) const { return buckets_[position]; }

  /// Calls `f(bucket)` for the buckets of `hash`'s run, from its home to the
  /// first empty bucket, until `f` returns true. For a caller that must find
  /// a bucket by something other than its key.
  template <class F>
  void for_run(Hash hash, F&& f) {
    if (buckets_.empty()) return;
    for (std::size_t i = home(hash); buckets_[i].hash != 0; i = next(i))
      if (f(buckets_[i])) return;
  }

  /// Calls `f(bucket)` for every used bucket, in no order.
  template <class F>
  void for_each(F&& f) const {
    for (const auto& bucket : buckets_)
      if (bucket.hash != 0) f(bucket);
  }

  std::size_t size() const { return used_; }
  /// Heap bytes of the bucket array.
  std::size_t bytes() const { return buckets_.size() * sizeof(Bucket); }

 private:
  std::size_t mask() const { return buckets_.size() - 1; }
  std::size_t home(Hash hash) const { return Traits::home(hash) & mask(); }
  std::size_t next(std::size_t i) const { return (i + 1) & mask(); }

  void grow() {
    std::vector<Bucket> old;
    old.swap(buckets_);
    buckets_.resize(old.empty() ? Traits::kInitial : old.size() * 2);
    for (auto& bucket : old) {
      if (bucket.hash == 0) continue;
      std::size_t i = home(bucket.hash);
      while (buckets_[i].hash != 0) i = next(i);
      buckets_[i] = std::move(bucket);
    }
  }

  std::vector<Bucket> buckets_;  // size 0 or a power of two
  std::size_t used_ = 0;
};

}  // namespace pytheas
