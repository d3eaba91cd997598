#include "evaluation/recent_decisions.hpp"

#include "core/decision_snapshot.hpp"  // hash_decision: FNV-1a

namespace pytheas::evaluation {
namespace {

std::uint64_t fnv_bytes(std::uint64_t hash, std::string_view bytes) {
  for (unsigned char byte : bytes) {
    hash ^= byte;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

std::uint64_t fnv_length(std::uint64_t hash, std::size_t length) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((length >> (8 * i)) & 0xFF);
  return fnv_bytes(hash, std::string_view(bytes, 8));
}

}  // namespace

std::uint64_t join_key(std::span<const std::string_view> features, std::string_view decision) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  hash = fnv_length(hash, features.size());
  for (auto value : features) hash = fnv_bytes(fnv_length(hash, value.size()), value);
  return fnv_bytes(fnv_length(hash, decision.size()), decision);
}

RecentDecisions::RecentDecisions(double window_s, std::size_t capacity)
    : window_s_(window_s), capacity_(capacity < 1 ? 1 : capacity) {}

RecentDecisions::Entry* RecentDecisions::at(std::uint64_t sequence) {
  if (sequence < first_ || sequence - first_ >= entries_.size()) return nullptr;
  return &entries_[static_cast<std::size_t>(sequence - first_)];
}

void RecentDecisions::expire(double now) {
  while (!entries_.empty() &&
         (entries_.size() > capacity_ || entries_.front().time < now - window_s_)) {
    const Entry& oldest = entries_.front();
    if (auto it = by_event_.find(hash_decision(oldest.event_id));
        it != by_event_.end() && it->second == first_)
      by_event_.erase(it);
    if (auto it = by_key_.find(oldest.key); it != by_key_.end()) {
      // Sequences per key are in insertion order, so the oldest is in front.
      if (!it->second.empty() && it->second.front() == first_) it->second.pop_front();
      if (it->second.empty()) by_key_.erase(it);
    }
    entries_.pop_front();
    ++first_;
  }
}

void RecentDecisions::add(double time, std::string event_id, std::uint64_t key) {
  const std::uint64_t sequence = first_ + entries_.size();
  by_event_[hash_decision(event_id)] = sequence;
  by_key_[key].push_back(sequence);
  entries_.push_back(Entry{time, std::move(event_id), key, false});
  expire(time);
}

std::optional<double> RecentDecisions::claim_event(std::string_view event_id, double now) {
  expire(now);
  auto it = by_event_.find(hash_decision(event_id));
  if (it == by_event_.end()) return std::nullopt;
  Entry* entry = at(it->second);
  if (!entry || entry->event_id != event_id) return std::nullopt;
  entry->reported = true;
  return entry->time;
}

std::optional<RecentDecisions::Claimed> RecentDecisions::claim_latest(std::uint64_t key,
                                                                      double now) {
  expire(now);
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  for (auto sequence = it->second.rbegin(); sequence != it->second.rend(); ++sequence) {
    Entry* entry = at(*sequence);
    if (!entry || entry->reported) continue;
    entry->reported = true;
    return Claimed{entry->event_id, entry->time};
  }
  return std::nullopt;
}

}  // namespace pytheas::evaluation
