#include "actors/group/supervisor_state.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace pytheas::supervision {

/// Federation: makes `key` active here and lets its actor choose its base
/// state among its own and `candidates` (actors/group/group_actor.hpp). Reports
/// routed before are applied first, to the state they were meant for.
caf::result<SettleResult> settle(Supervisor* self, const std::string& key,
                                 std::vector<GroupRecord> candidates, bool home,
                                 std::vector<std::string> unreachable) {
  auto& st = self->state;
  auto promise = self->make_response_promise<SettleResult>();
  auto ask = [=]() mutable {
    auto it = self->state.groups.find(key);
    if (it == self->state.groups.end() || it->second.passivating) {
      promise.deliver(caf::make_error(caf::sec::request_receiver_down));
      return;
    }
    flush(self, it->second);
    promise.delegate(it->second.actor, settle_atom::value, std::move(candidates), home,
                     std::move(unreachable));
  };
  if (auto* transit = in_transit(st, key)) {  // it starts when its state is here
    transit->wanted = true;
    transit->on_arrival.push_back(std::move(ask));
  } else {
    ensure(self, key);
    ask();
  }
  return promise;
}

/// Federation: the state of `keys` for another member that now owns them:
/// active groups are passivated (their state is persisted here too), others
/// come from their persisted state; groups this node never held are skipped.
/// Also answers the keys it could not give up (a passivation whose actor
/// failed: the group restarts here, so it is still held here); the asker
/// must not count them as given up.
caf::result<std::vector<GroupRecord>, std::vector<std::string>> surrender(
    Supervisor* self, const std::vector<std::string>& keys) {
  auto& st = self->state;
  flush_all(self);
  struct Gather {
    std::vector<GroupRecord> records;
    std::vector<std::string> failed;
    std::size_t outstanding = 1;  // released after the loop
  };
  auto gather = std::make_shared<Gather>();
  auto promise = self->make_response_promise<std::vector<GroupRecord>, std::vector<std::string>>();
  auto done = [=]() mutable {
    if (--gather->outstanding == 0)
      promise.deliver(std::move(gather->records), std::move(gather->failed));
  };
  for (const auto& key : keys) {
    auto it = st.groups.find(key);
    if (it == st.groups.end()) {
      if (auto record = persisted_state(st, key)) gather->records.push_back(std::move(*record));
      continue;
    }
    if (it->second.passivating) {  // its record is on its way to `unsaved`
      ++gather->outstanding;
      st.transit.at(key).on_arrival.push_back([=]() mutable {
        if (auto record = persisted_state(self->state, key))
          gather->records.push_back(std::move(*record));
        done();
      });
      continue;
    }
    ++gather->outstanding;
    passivate(self, key, [=](const GroupRecord* record) mutable {
      if (record)
        gather->records.push_back(*record);
      else
        gather->failed.push_back(key);
      done();
    });
  }
  done();
  return promise;
}

/// Federation: a copy of `key`'s state (active or persisted), leaving it here.
caf::result<std::vector<GroupRecord>> copy_state(Supervisor* self, const std::string& key) {
  auto& st = self->state;
  auto it = st.groups.find(key);
  if (it != st.groups.end() && !it->second.passivating) {
    flush(self, it->second);
    auto promise = self->make_response_promise<std::vector<GroupRecord>>();
    self->request(it->second.actor, std::chrono::seconds(10), export_atom::value)
        .then(
            [=](GroupRecord& record) mutable { promise.deliver(std::vector<GroupRecord>{record}); },
            [=](const caf::error&) mutable { promise.deliver(std::vector<GroupRecord>{}); });
    return promise;
  }
  std::vector<GroupRecord> out;
  if (auto record = persisted_state(st, key)) out.push_back(std::move(*record));
  return out;
}

}  // namespace pytheas::supervision
