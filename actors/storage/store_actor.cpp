#include "actors/storage/store_actor.hpp"

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/common/messages.hpp"
#include "actors/common/stray_messages.hpp"
#include "actors/storage/state_store.hpp"

namespace pytheas {

namespace {

struct StoreState {
  std::unique_ptr<StateStore> store;
  std::vector<GroupRecord> pending;  ///< checkpoints not yet written
  SavedHook on_saved;
  static inline const char* name = "pytheas.store";
};

using StoreActor = caf::stateful_actor<StoreState>;

bool write(StoreActor* self, const std::vector<GroupRecord>& records) {
  try {
    self->state.store->save(records);
    if (self->state.on_saved) self->state.on_saved(records);
    return true;
  } catch (const std::exception& e) {
    spdlog::error("state store: writing {} group(s) failed: {}", records.size(), e.what());
    return false;
  }
}

void flush_pending(StoreActor* self) {
  auto& pending = self->state.pending;
  if (pending.empty()) return;
  // Keep only the newest record per key: a batch may hold several checkpoints of one group.
  std::unordered_map<std::string, std::size_t> newest;
  for (std::size_t i = 0; i < pending.size(); ++i) newest[pending[i].key] = i;
  std::vector<GroupRecord> batch;
  batch.reserve(newest.size());
  for (auto& [key, index] : newest) batch.push_back(std::move(pending[index]));
  pending.clear();
  write(self, batch);
}

caf::behavior store_actor(StoreActor* self, std::string state_dir, SavedHook on_saved) {
  tolerate_strays(self);
  self->state.store = std::make_unique<StateStore>(state_dir);
  self->state.on_saved = std::move(on_saved);
  return {
      [=](save_atom, GroupRecord& record) {
        self->state.pending.push_back(std::move(record));
        if (self->mailbox().empty()) flush_pending(self);
      },
      [=](save_atom,
          std::vector<GroupRecord>& records) -> caf::result<saved_atom, std::vector<std::string>> {
        flush_pending(self);
        if (!write(self, records))
          return caf::make_error(caf::sec::runtime_error, "state write failed");
        std::vector<std::string> keys;
        for (auto& r : records) keys.push_back(r.key);
        return {saved_atom::value, std::move(keys)};
      },
  };
}

}  // namespace

caf::actor spawn_store_actor(caf::actor_system& system, const std::string& state_dir,
                             SavedHook on_saved) {
  return system.spawn<caf::detached>(store_actor, state_dir, std::move(on_saved));
}

}  // namespace pytheas
