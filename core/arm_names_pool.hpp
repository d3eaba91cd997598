#pragma once
// ArmNamesPool: interns ArmNames lists, so that groups offered the same
// decisions (the usual case: a node's groups choose among the same CDNs)
// share one list instead of each holding its own. Lists built from a pooled
// list (with(), keep()) are pooled too. The pool holds its lists weakly: a
// list no group uses any more is freed, and forgotten at the next sweep.
//
// Thread-safety: intern() may be called from any thread (a mutex guards the
// index; lists only change when a group's arms do, which is rare).

#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/arm_names.hpp"

namespace pytheas {

class ArmNamesPool : public std::enable_shared_from_this<ArmNamesPool> {
 public:
  static std::shared_ptr<ArmNamesPool> make() { return std::make_shared<ArmNamesPool>(Private{}); }

  /// The pool's list of exactly these names (in order), built if absent.
  /// Throws InvalidInput like ArmNames::make.
  ArmNames::Ptr intern(std::span<const std::string_view> names);

  /// Lists currently indexed (some may be expired until the next sweep).
  std::size_t size() const;

  struct Private {};
  explicit ArmNamesPool(Private) {}

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::weak_ptr<const ArmNames>> lists_;
  std::size_t sweep_at_ = 64;
};

}  // namespace pytheas
