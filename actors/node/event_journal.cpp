#include "actors/node/event_journal.hpp"

#include <random>

namespace pytheas {

namespace {

constexpr int kSequenceBits = 40;
constexpr std::uint64_t kSequenceMask = (std::uint64_t{1} << kSequenceBits) - 1;

std::string to_hex(std::uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, value >>= 4) out[static_cast<std::size_t>(i)] = kDigits[value & 15];
  return out;
}

bool from_hex(std::string_view text, std::uint64_t& value) {
  if (text.size() != 16) return false;
  value = 0;
  for (char c : text) {
    int digit;
    if (c >= '0' && c <= '9')
      digit = c - '0';
    else if (c >= 'a' && c <= 'f')
      digit = c - 'a' + 10;
    else
      return false;
    value = (value << 4) | static_cast<std::uint64_t>(digit);
  }
  return true;
}

}  // namespace

EventJournal::EventJournal(std::size_t capacity, double window_s)
    : per_shard_capacity_(std::max<std::size_t>(1, capacity / kShards)),
      window_s_(window_s),
      prefix_((static_cast<std::uint64_t>(std::random_device{}()) & 0xFFFFFFu) << kSequenceBits) {
  // Grow-by-rehash while the journal fills shows up on the decide path; start
  // with room for a good share of the window (bucket arrays only, 8 B/entry).
  for (auto& shard : shards_)
    shard.entries.reserve(std::min<std::size_t>(per_shard_capacity_, 1 << 16));
}

void EventJournal::trim(Shard& shard, double now) {
  while (!shard.order.empty()) {
    auto it = shard.entries.find(shard.order.front());
    bool over_capacity = shard.entries.size() > per_shard_capacity_;
    if (it != shard.entries.end() && !over_capacity && it->second.expires > now) break;
    if (it != shard.entries.end()) {
      if (over_capacity && it->second.expires > now && !it->second.reported)
        evicted_.fetch_add(1, std::memory_order_relaxed);
      shard.entries.erase(it);
    }
    shard.order.pop_front();
  }
}

std::string EventJournal::record(std::string_view group, std::string_view decision, double now,
                                 std::vector<std::string> features) {
  std::uint64_t id = prefix_ | (sequence_.fetch_add(1, std::memory_order_relaxed) & kSequenceMask);
  auto& shard = shards_[id % kShards];
  {
    std::lock_guard lock(shard.mutex);
    shard.entries.emplace(id,
                          Entry{{std::string(group), std::string(decision), std::move(features)},
                                now + window_s_,
                                false});
    shard.order.push_back(id);
    trim(shard, now);
  }
  return to_hex(id);
}

EventJournal::Claim EventJournal::claim(std::string_view event_id, double now, Event& event) {
  std::uint64_t id;
  if (!from_hex(event_id, id)) return Claim::unknown;
  auto& shard = shards_[id % kShards];
  std::lock_guard lock(shard.mutex);
  auto it = shard.entries.find(id);
  if (it == shard.entries.end() || it->second.expires <= now) return Claim::unknown;
  if (it->second.reported) return Claim::duplicate;
  it->second.reported = true;
  event = std::move(it->second.event);  // the tombstone needs no strings
  return Claim::ok;
}

std::size_t EventJournal::size() const {
  std::size_t total = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.entries.size();
  }
  return total;
}

}  // namespace pytheas
