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
#include <string>

namespace pytheas {

caf::actor spawn_store_actor(caf::actor_system& system, const std::string& state_dir);

}  // namespace pytheas
