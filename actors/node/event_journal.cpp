#include "actors/node/event_journal.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace pytheas {

namespace {
std::uint64_t random_u64() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}
}  // namespace

EventJournal::EventJournal(std::size_t capacity, double window_s, SipKey key)
    : codec_(key),
      per_shard_capacity_(std::max<std::size_t>(1, capacity / kShards)),
      window_s_(window_s),
      span_s_(window_s / kGenerationsPerWindow),
      issuer_(static_cast<std::uint32_t>(random_u64())),
      // A random start: ids a restarted node issues differ from its earlier ones.
      nonce_(random_u64()) {}

std::string EventJournal::record(std::string_view group, std::string_view decision, Time now,
                                 FeatureView features) {
  EventFacts facts;
  facts.issued_s = now.wall;
  facts.issued_monotonic_s = now.monotonic;
  facts.issuer = issuer_;
  facts.nonce = nonce_.fetch_add(1, std::memory_order_relaxed);
  facts.group = group;
  facts.decision = decision;
  return codec_.encode(facts, features);
}

void EventJournal::expire(Shard& shard, double now) {
  // A generation's ids were all issued before (epoch + 1) * span.
  while (!shard.generations.empty() &&
         static_cast<double>(shard.generations.front().epoch + 1) * span_s_ + window_s_ <= now) {
    shard.size -= shard.generations.front().tags.size();
    shard.generations.pop_front();
  }
}

EventJournal::Claim EventJournal::claim(std::string_view event_id, Time time, Event& event) {
  EventFacts facts;
  std::uint64_t tag = 0;
  switch (codec_.decode(event_id, facts, tag)) {
    case EventTokenCodec::Check::malformed:
      return Claim::unknown;
    case EventTokenCodec::Check::forged:
      forged_.fetch_add(1, std::memory_order_relaxed);
      return Claim::unknown;
    case EventTokenCodec::Check::ok:
      break;
  }
  // Ours: aged on the monotonic clock; another's: by the wall clocks.
  const double age = facts.issuer == issuer_ ? time.monotonic - facts.issued_monotonic_s
                                             : time.wall - facts.issued_s;
  // Expired; or issued further ahead than any clock skew between members.
  if (age >= window_s_ || age < -window_s_) return Claim::unknown;
  // The rest runs on this process's monotonic clock.
  const double now = time.monotonic;
  const double issued = now - age;
  auto& shard = shards_[tag % kShards];
  std::lock_guard lock(shard.mutex);
  expire(shard, now);
  if (issued < shard.forgotten_before) {
    evicted_.fetch_add(1, std::memory_order_relaxed);
    return Claim::unknown;
  }
  const auto epoch = static_cast<std::int64_t>(std::floor(issued / span_s_));
  auto& generations = shard.generations;
  auto at = std::find_if(generations.rbegin(), generations.rend(),
                         [&](const Generation& g) { return g.epoch <= epoch; });
  if (at == generations.rend() || at->epoch != epoch)
    at = std::make_reverse_iterator(generations.insert(at.base(), Generation{epoch, {}}) + 1);
  const auto is_tag = [](const TagBucket&) { return true; };  // the hash is the whole key
  if (!at->tags.insert(TagBucket{tag == 0 ? 1 : tag}, is_tag).second) return Claim::duplicate;
  ++shard.size;
  // Over capacity: forget the oldest generations (never the one just used).
  while (shard.size > per_shard_capacity_ && generations.size() > 1 &&
         generations.front().epoch != epoch) {
    shard.size -= generations.front().tags.size();
    shard.forgotten_before = static_cast<double>(generations.front().epoch + 1) * span_s_;
    generations.pop_front();
  }
  event.group = std::move(facts.group);
  event.decision = std::move(facts.decision);
  event.features = std::move(facts.features);
  return Claim::ok;
}

std::size_t EventJournal::size() const {
  std::size_t total = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.size;
  }
  return total;
}

std::size_t EventJournal::memory_bytes() const {
  std::size_t total = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (const auto& generation : shard.generations) total += generation.tags.bytes();
  }
  return total;
}

}  // namespace pytheas
