#include "core/arm_names.hpp"

#include <algorithm>
#include <limits>

#include "core/arm_names_pool.hpp"
#include "core/errors.hpp"

namespace pytheas {
namespace {

[[noreturn]] void throw_duplicate(std::string_view what, std::string_view name) {
  throw InvalidInput(std::string(what) + ": duplicate decision '" + std::string(name) + "'");
}

template <class Names>
std::shared_ptr<ArmNames> build(const Names& names, std::string_view what) {
  std::size_t chars = 0;
  for (const auto& name : names) {
    if (name.empty()) throw InvalidInput(std::string(what) + ": empty arm name");
    chars += name.size();
  }
  if (names.size() > std::numeric_limits<std::uint32_t>::max() / 2 ||
      chars > std::numeric_limits<std::uint32_t>::max())
    throw InvalidInput(std::string(what) + ": too many arm names");
  return std::make_shared<ArmNames>(ArmNames::Private{}, names.size(), chars);
}

}  // namespace

ArmNames::ArmNames(Private, std::size_t count, std::size_t chars)
    : count_(static_cast<std::uint32_t>(count)), chars_size_(static_cast<std::uint32_t>(chars)) {
  block_ = std::make_unique<std::byte[]>(chars_at() + chars_size_);
}

ArmNames::Ptr ArmNames::make(std::span<const std::string_view> names, std::string_view what,
                             std::shared_ptr<ArmNamesPool> pool) {
  auto built = build(names, what);
  auto& list = *built;
  list.pool_ = std::move(pool);
  std::uint32_t end = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    list.keys()[i] = NameKey::of(names[i]);
    std::memcpy(list.chars() + end, names[i].data(), names[i].size());
    end += static_cast<std::uint32_t>(names[i].size());
    list.ends()[i] = end;
  }
  list.index(what);
  return built;
}

ArmNames::Ptr ArmNames::make(std::span<const std::string> names, std::string_view what) {
  std::vector<std::string_view> views(names.begin(), names.end());
  return make(views, what);
}

ArmNames::Ptr ArmNames::with(std::string_view name) const {
  std::vector<std::string_view> names;
  names.reserve(count_ + 1);
  for (std::size_t i = 0; i < count_; ++i) names.push_back((*this)[i]);
  names.push_back(name);
  return derived(names);
}

ArmNames::Ptr ArmNames::keep(std::span<const std::uint8_t> keep) const {
  std::vector<std::string_view> names;
  for (std::size_t i = 0; i < count_; ++i)
    if (keep[i]) names.push_back((*this)[i]);
  return derived(names);
}

ArmNames::Ptr ArmNames::in(ArmNamesPool& pool) const {
  std::vector<std::string_view> names;
  names.reserve(count_);
  for (std::size_t i = 0; i < count_; ++i) names.push_back((*this)[i]);
  return pool.intern(names);
}

ArmNames::Ptr ArmNames::derived(std::span<const std::string_view> names) const {
  return pool_ ? pool_->intern(names) : make(names);
}

std::size_t ArmNames::heap_bytes() const {
  return sizeof(*this) + chars_at() + chars_size_;
}

std::uint64_t ArmNames::fingerprint(const NameKey& key) {
  const std::uint64_t mixed =
      (key.head * 0x9E3779B97F4A7C15ull) ^ (key.tail * 0xC2B2AE3D27D4EB4Full) ^ key.size;
  return mixed ^ (mixed >> 29);
}

void ArmNames::index(std::string_view what) {
  const std::size_t n = count_;
  if (n <= kLinearArms) {
    for (std::size_t i = 1; i < n; ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (keys()[i] == keys()[j] && (*this)[i] == (*this)[j]) throw_duplicate(what, (*this)[i]);
    return;
  }
  Print* sorted = prints();
  for (std::size_t i = 0; i < n; ++i) sorted[i] = Print{fingerprint(keys()[i]), i};
  std::sort(sorted, sorted + n, [](const Print& a, const Print& b) {
    return a.print < b.print || (a.print == b.print && a.arm < b.arm);
  });
  for (std::size_t i = 1; i < n; ++i) {
    // Equal fingerprints: compare every earlier entry of the run by name.
    for (std::size_t j = i; j-- > 0 && sorted[j].print == sorted[i].print;)
      if ((*this)[sorted[i].arm] == (*this)[sorted[j].arm])
        throw_duplicate(what, (*this)[sorted[i].arm]);
  }
}

std::int32_t ArmNames::find_beyond(const NameKey& key, std::string_view name,
                                   std::size_t hint) const {
  return find(key, name, hint + 1);
}

std::int32_t ArmNames::find_sorted(const NameKey& key, std::string_view name) const {
  const std::uint64_t print = fingerprint(key);
  const Print* begin = prints();
  const Print* end = begin + count_;
  const Print* it = std::lower_bound(begin, end, print,
                                     [](const Print& p, std::uint64_t v) { return p.print < v; });
  for (; it != end && it->print == print; ++it)
    if (keys()[it->arm] == key && (*this)[it->arm] == name)
      return static_cast<std::int32_t>(it->arm);
  return kNotFound;
}

}  // namespace pytheas
