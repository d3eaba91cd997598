#pragma once
// StoreActor: owns the node's StateStore on its own (detached) thread, so
// disk writes never stall the supervisor or a group actor.
//   (save_atom, GroupRecord)               checkpoint; batched: written when the
//                                          mailbox drains, one disk sync per batch
//   (save_atom, vector<GroupRecord>) -> (saved_atom, vector<string> keys)
//                                          written now (passivation, shutdown)
// A failed write is logged with the directory and the error; the node keeps
// serving (state stays in memory and is written again at the next checkpoint).

#include <caf/fwd.hpp>
#include <functional>
#include <string>
#include <vector>

#include "actors/storage/state_store.hpp"

namespace pytheas {

/// Called on the store's thread after each successful write, with what was written.
using SavedHook = std::function<void(const std::vector<GroupRecord>&)>;

caf::actor spawn_store_actor(caf::actor_system& system, const std::string& state_dir,
                             SavedHook on_saved = {});

}  // namespace pytheas
