#include "actors/group/passivated_store.hpp"

#include <zlib.h>

#include <cstring>
#include <functional>
#include <limits>
#include <stdexcept>

#include "core/errors.hpp"

namespace pytheas {

// Raw deflate with a preset dictionary, on two reused streams. The
// dictionary is the first record packed, fixed for the store's life (every
// blob needs it to inflate).
class PassivatedStore::Codec {
 public:
  Codec() {
    // A 4 KB window covers the dictionary and a record with dozens of arms;
    // a small hash table keeps deflateReset cheap for these tiny inputs.
    if (deflateInit2(&deflater_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 4, Z_DEFAULT_STRATEGY) !=
            Z_OK ||
        inflateInit2(&inflater_, -12) != Z_OK)
      throw std::runtime_error("passivated store: zlib initialization failed");
  }
  ~Codec() {
    deflateEnd(&deflater_);
    inflateEnd(&inflater_);
  }
  Codec(const Codec&) = delete;
  Codec& operator=(const Codec&) = delete;

  std::string pack(std::string_view raw) {
    if (dictionary_.empty()) dictionary_.assign(raw);
    deflateReset(&deflater_);
    deflateSetDictionary(&deflater_, reinterpret_cast<const Bytef*>(dictionary_.data()),
                         static_cast<uInt>(dictionary_.size()));
    std::string out(deflateBound(&deflater_, raw.size()), '\0');
    deflater_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
    deflater_.avail_in = static_cast<uInt>(raw.size());
    deflater_.next_out = reinterpret_cast<Bytef*>(out.data());
    deflater_.avail_out = static_cast<uInt>(out.size());
    if (deflate(&deflater_, Z_FINISH) != Z_STREAM_END)
      throw std::runtime_error("passivated store: deflate failed");
    out.resize(deflater_.total_out);
    return out;
  }

  std::string unpack(std::string_view packed) {
    inflateReset(&inflater_);
    // A raw stream has no header to ask for its dictionary: set it first.
    inflateSetDictionary(&inflater_, reinterpret_cast<const Bytef*>(dictionary_.data()),
                         static_cast<uInt>(dictionary_.size()));
    inflater_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
    inflater_.avail_in = static_cast<uInt>(packed.size());
    std::string out(4 * packed.size() + 256, '\0');
    for (;;) {
      inflater_.next_out = reinterpret_cast<Bytef*>(out.data() + inflater_.total_out);
      inflater_.avail_out = static_cast<uInt>(out.size() - inflater_.total_out);
      const int status = inflate(&inflater_, Z_FINISH);
      if (status == Z_STREAM_END) break;
      if (status != Z_BUF_ERROR || inflater_.avail_out != 0)
        throw CorruptState("passivated store: a record does not inflate");
      out.resize(2 * out.size());
    }
    out.resize(inflater_.total_out);
    return out;
  }

  std::size_t dictionary_bytes() const { return dictionary_.size(); }

 private:
  z_stream deflater_{};
  z_stream inflater_{};
  std::string dictionary_;
};

namespace {

// Records are 4-byte aligned in their segment: three u32 (key size with the
// dead flag in its top bit, packed size, stamp), the key's bytes, the packed
// record. A location is (segment << 16) | (offset / 4).
constexpr std::size_t kHeader = 3 * sizeof(std::uint32_t);
constexpr std::uint32_t kSegmentBytes = 256 * 1024;
constexpr std::uint32_t kDead = 1u << 31;

std::uint32_t field(const std::byte* blob, int i) {
  std::uint32_t value;
  std::memcpy(&value, blob + i * sizeof(std::uint32_t), sizeof value);
  return value;
}

void set_field(std::byte* blob, int i, std::uint32_t value) {
  std::memcpy(blob + i * sizeof(std::uint32_t), &value, sizeof value);
}

std::uint32_t key_size(const std::byte* blob) {
  return field(blob, 0) & ~kDead;
}

std::string_view key_of(const std::byte* blob) {
  return {reinterpret_cast<const char*>(blob + kHeader), key_size(blob)};
}

std::uint32_t blob_size(const std::byte* blob) {
  const std::size_t size = kHeader + key_size(blob) + field(blob, 1);
  return static_cast<std::uint32_t>((size + 3) & ~std::size_t{3});
}

}  // namespace

PassivatedStore::PassivatedStore() : codec_(std::make_unique<Codec>()) {}
PassivatedStore::~PassivatedStore() = default;

std::uint32_t PassivatedStore::hash_of(std::string_view key) {
  const std::uint64_t hash = std::hash<std::string_view>{}(key);
  const auto folded = static_cast<std::uint32_t>(hash ^ (hash >> 32));
  return folded == 0 ? 1 : folded;
}

const std::byte* PassivatedStore::blob_at(std::uint32_t location) const {
  return segments_[location >> 16].data.get() + std::size_t{location & 0xFFFF} * 4;
}

std::byte* PassivatedStore::blob_at(std::uint32_t location) {
  return segments_[location >> 16].data.get() + std::size_t{location & 0xFFFF} * 4;
}

std::size_t PassivatedStore::find(std::string_view key, std::uint32_t hash) const {
  return index_.find(hash,
                     [&](const Bucket& bucket) { return key_of(blob_at(bucket.location)) == key; });
}

std::uint32_t PassivatedStore::append(const std::byte* blob, std::uint32_t size) {
  auto new_segment = [&](std::uint32_t capacity) {
    std::uint32_t index;
    if (!free_segments_.empty()) {
      index = free_segments_.back();
      free_segments_.pop_back();
    } else {
      if (segments_.size() >= 0x10000) throw std::runtime_error("passivated store: full");
      index = static_cast<std::uint32_t>(segments_.size());
      segments_.emplace_back();
    }
    auto& segment = segments_[index];
    segment.data = std::make_unique_for_overwrite<std::byte[]>(capacity);
    segment.capacity = capacity;
    segment.used = segment.dead = 0;
    return index;
  };
  std::uint32_t index;
  if (size > kSegmentBytes) {
    index = new_segment(size);  // a record of its own: never the tail
  } else {
    if (segments_.empty() || !segments_[tail_].data ||
        segments_[tail_].used + size > segments_[tail_].capacity)
      tail_ = new_segment(kSegmentBytes);
    index = tail_;
  }
  auto& segment = segments_[index];
  const std::uint32_t offset = segment.used;
  std::memcpy(segment.data.get() + offset, blob, size);
  segment.used += size;
  return (index << 16) | (offset / 4);
}

void PassivatedStore::kill(std::uint32_t location) {
  std::byte* blob = blob_at(location);
  set_field(blob, 0, field(blob, 0) | kDead);
  const std::uint32_t index = location >> 16;
  auto& segment = segments_[index];
  segment.dead += blob_size(blob);
  if (index != tail_ && 2 * segment.dead > segment.used) compact(index);
}

// Moves the live records of `index` to the tail and frees the segment (its
// memory goes back to the system: 256 KB blocks are mmap'ed).
void PassivatedStore::compact(std::uint32_t index) {
  auto data = std::move(segments_[index].data);
  const std::uint32_t used = segments_[index].used;
  segments_[index] = Segment{};
  for (std::uint32_t offset = 0; offset < used;) {
    const std::byte* blob = data.get() + offset;
    const std::uint32_t size = blob_size(blob);
    if (!(field(blob, 0) & kDead)) {
      const std::uint32_t location = (index << 16) | (offset / 4);
      const std::string_view key = key_of(blob);
      // The bucket still holds the old location: find it by that, not by key
      // (the key's bytes live in `data`, which no longer backs the segment).
      index_.for_run(hash_of(key), [&](Bucket& bucket) {
        if (bucket.location != location) return false;
        bucket.location = append(blob, size);
        return true;
      });
    }
    offset += size;
  }
  // Only now: reused meanwhile, the index would give moved records locations
  // equal to those of records not yet moved.
  free_segments_.push_back(index);
}

std::uint32_t PassivatedStore::put(const GroupRecord& record) {
  const std::string packed = codec_->pack(StateStore::encode(record));
  const std::uint32_t stamp = next_stamp_++;
  const std::size_t raw_size = kHeader + record.key.size() + packed.size();
  if (record.key.size() >= kDead || raw_size > std::numeric_limits<std::uint32_t>::max() / 2)
    throw std::runtime_error("passivated store: record too large");
  const auto size = static_cast<std::uint32_t>((raw_size + 3) & ~std::size_t{3});
  std::vector<std::byte> blob(size);
  set_field(blob.data(), 0, static_cast<std::uint32_t>(record.key.size()));
  set_field(blob.data(), 1, static_cast<std::uint32_t>(packed.size()));
  set_field(blob.data(), 2, stamp);
  std::memcpy(blob.data() + kHeader, record.key.data(), record.key.size());
  std::memcpy(blob.data() + kHeader + record.key.size(), packed.data(), packed.size());
  const std::uint32_t hash = hash_of(record.key);
  const std::size_t at = find(record.key, hash);
  const std::uint32_t location = append(blob.data(), size);
  if (at == Index::npos) {
    index_.insert(Bucket{hash, location}, [](const Bucket&) { return false; });  // absent
  } else {
    const std::uint32_t old = index_.at(at).location;
    index_.at(at).location = location;
    kill(old);
  }
  return stamp;
}

GroupRecord PassivatedStore::unpack(const std::byte* blob) const {
  const std::string_view packed(reinterpret_cast<const char*>(blob + kHeader + key_size(blob)),
                                field(blob, 1));
  return StateStore::decode(codec_->unpack(packed), "passivated store");
}

std::optional<GroupRecord> PassivatedStore::get(std::string_view key) const {
  const std::size_t at = find(key, hash_of(key));
  if (at == Index::npos) return std::nullopt;
  return unpack(blob_at(index_.at(at).location));
}

bool PassivatedStore::contains(std::string_view key) const {
  return find(key, hash_of(key)) != Index::npos;
}

bool PassivatedStore::erase(std::string_view key) {
  const std::size_t at = find(key, hash_of(key));
  if (at == Index::npos) return false;
  remove_at(at);
  return true;
}

bool PassivatedStore::erase_if_stamp(std::string_view key, std::uint32_t stamp) {
  const std::size_t at = find(key, hash_of(key));
  if (at == Index::npos || field(blob_at(index_.at(at).location), 2) != stamp) return false;
  remove_at(at);
  return true;
}

std::size_t PassivatedStore::bytes() const {
  std::size_t total = index_.bytes() + codec_->dictionary_bytes();
  for (const auto& segment : segments_) total += segment.capacity;
  return total;
}

void PassivatedStore::remove_at(std::size_t position) {
  kill(index_.remove_at(position).location);  // last: a compaction it starts updates the index
}

}  // namespace pytheas
