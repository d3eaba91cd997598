#include "actors/node/node.hpp"

#include "actors/node/node_impl.hpp"

namespace pytheas {

namespace {
GroupInfo info_of(const GroupSlot& slot, std::string owner = {}) {
  GroupInfo info{slot.key,
                 slot.snapshot.load(),
                 slot.decisions.load(),
                 slot.reports.load(),
                 wall_from_monotonic(static_cast<double>(slot.last_activity.load())),
                 std::move(owner)};
  if (info.snapshot) info.last_update = wall_from_monotonic(info.snapshot->taken_at());
  return info;
}
}  // namespace

std::vector<GroupInfo> Node::groups() const {
  auto& im = *impl_;
  std::vector<GroupInfo> out;
  std::shared_ptr<const Ownership> ownership;
  if (im.federation_shared) ownership = im.federation_shared->ownership.load();
  for (const auto& slot : im.shared->table.all())
    // A group another node owns is listed from its mirror (a local copy left
    // behind by a move of ownership is not this node's to show).
    if (!ownership || !ownership->remote_owner(slot->key)) out.push_back(info_of(*slot));
  if (im.federation_shared) {
    for (const auto& slot : im.federation_shared->mirrors.all())
      if (const auto* owner = ownership ? ownership->remote_owner(slot->key) : nullptr)
        out.push_back(info_of(*slot, *owner));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  return out;
}

std::optional<GroupInfo> Node::group(std::string_view key) const {
  auto& im = *impl_;
  std::optional<GroupInfo> out;
  if (im.federation_shared) {
    auto ownership = im.federation_shared->ownership.load();
    if (const auto* owner = ownership ? ownership->remote_owner(key) : nullptr) {
      im.federation_shared->mirrors.visit(
          key, [&](const GroupSlot& slot) { out = info_of(slot, *owner); });
      return out;
    }
  }
  im.shared->table.visit(key, [&](const GroupSlot& slot) { out = info_of(slot); });
  return out;
}

NodeStats Node::stats() const {
  const auto& shared = *impl_->shared;
  NodeStats stats;
  stats.active_groups = shared.table.size();
  stats.passivations = shared.passivations.load();
  stats.restarts = shared.restarts.load();
  stats.queue_depth = shared.queue.depth();
  stats.queue_capacity = shared.queue.capacity();
  stats.reports_applied = shared.reports_applied.load();
  stats.reports_lost = shared.reports_lost.load();
  stats.reports_duplicate = shared.reports_duplicate.load();
  stats.events_evicted = impl_->journal->evicted();
  stats.events_forged = impl_->journal->forged();
  stats.event_claims = impl_->journal->size();
  stats.stalls = shared.stalls.load();
  stats.stalled_groups = shared.stalled_groups.load();
  stats.queue_over_released = shared.queue.over_released();
  stats.freshness = &shared.freshness;
  stats.federation = impl_->federation_shared.get();
  if (const auto& log = impl_->decision_log) stats.decision_log = log->counters();
  return stats;
}

std::shared_ptr<const GroupingStatus> Node::grouping_status() const {
  auto status = impl_->grouping_shared->status.load();
  if (!status || !impl_->federation_shared) return status;
  auto with_table = std::make_shared<GroupingStatus>(*status);
  with_table->table_version = impl_->grouping_shared->table_version.load();
  return with_table;
}

std::shared_ptr<const ClusterStatus> Node::cluster_status() const {
  if (!impl_->federation_shared) return nullptr;
  return impl_->federation_shared->status.load();
}

void Node::stall_group_for_test(const std::string& key, double seconds) {
  caf::anon_send(impl_->supervisor, stall_atom::value, key, seconds);
}

std::string Node::unready_reason() const {
  const auto& im = *impl_;
  if (!im.ready) return "restoring state";
  const auto& shared = *im.shared;
  if (shared.supervisor_down.load())
    return "the supervisor actor stopped: accepted reports are not applied (see the log)";
  // The supervisor sweeps every second; one that has not for the stall
  // bound is stuck (or its mailbox is), and nothing reaches the groups.
  const double beat = shared.supervisor_beat.load(std::memory_order_relaxed);
  if (beat > 0 && monotonic_seconds() - beat > std::max(im.options.stall_after_s, 2.0))
    return fmt::format("the supervisor has not swept for {:.0f} s", monotonic_seconds() - beat);
  if (shared.stalled_groups.load(std::memory_order_relaxed) > 0)
    if (auto reason = shared.stall_reason.load()) return "stalled: " + *reason;
  return {};
}

}  // namespace pytheas
