#include "actors/group/supervisor_state.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <map>
#include <unordered_set>

namespace pytheas::supervision {

using namespace std::chrono_literals;

/// The parent's state of `kids` is here (or will not come): those already
/// in use start, from it, with the reports they were sent meanwhile.
void release_kids(Supervisor* self, const std::vector<std::string>& kids) {
  auto& st = self->state;
  for (const auto& kid : kids) {
    // Not waiting for its parent (any more): already released, or started
    // meanwhile and now passivating, which ends its transit by itself.
    auto* waiting = in_transit(st, kid);
    if (!waiting || waiting->awaits != Transit::Awaits::parent_state) continue;
    auto transit = arrive(self, kid);
    if (st.groups.count(kid)) {  // started meanwhile (a reload, an export): its reports follow
      for (auto& item : transit->reports) {
        std::string key = kid;
        on_report(self, key, std::move(item));
      }
    } else if (transit->holds()) {  // else not used yet: it starts when it is
      auto& entry = activate(self, kid);
      entry.batch = std::move(transit->reports);
      flush(self, entry);
    }
    run_waiting(transit);
  }
}

void release_all_kids(Supervisor* self) {
  std::vector<std::string> kids;
  for (const auto& [kid, transit] : self->state.transit)
    if (transit.awaits == Transit::Awaits::parent_state) kids.push_back(kid);
  release_kids(self, kids);
}

/// The learner changed the rules: new groups inherit their parent's state,
/// retired groups hand their reports to their heir and are passivated. The
/// learner installs the rules for the io threads once this returns, so no
/// report under a new key comes before; a new group used before its parent's
/// state is here waits for it (in transit).
void regroup(Supervisor* self, const Regroup& regroup) {
  auto& st = self->state;
  std::unordered_set<std::string> now;  // every group of the new rules
  for (const auto& [key, size] : regroup.learned.sizes) now.insert(key);
  st.redirect.clear();
  for (const auto& [old_key, heir] : regroup.heir)
    if (!now.count(old_key)) st.redirect.emplace(old_key, heir);
  // Parents' state, as of now, for the new groups that will start from it.
  std::map<std::string, std::vector<std::string>> children;
  for (const auto& [key, parent] : regroup.parent)
    if (key != parent && !st.groups.count(key)) children[parent].push_back(key);
  release_all_kids(self);  // of an earlier regroup, with what has come
  st.inherit.clear();
  st.inherit_from.clear();
  flush_all(self);
  for (auto& [parent, kids] : children) {
    for (const auto& kid : kids) st.inherit_from[kid] = parent;  // its persisted state, or:
    auto it = st.groups.find(parent);
    if (it == st.groups.end()) continue;
    for (const auto& kid : kids) hold(st, kid, Transit::Awaits::parent_state);
    if (it->second.passivating) {  // its state will be in `unsaved`
      st.transit.at(parent).on_arrival.push_back([=] { release_kids(self, kids); });
      continue;
    }
    self->request(it->second.actor, std::chrono::seconds(10), export_atom::value)
        .then(
            [=](GroupRecord& record) {
              auto& st = self->state;
              for (const auto& kid : kids)
                if (st.inherit_from.count(kid) && !st.groups.count(kid)) {
                  st.inherit_from.erase(kid);
                  st.inherit[kid] = record;
                }
              release_kids(self, kids);
            },
            [=](const caf::error& error) {
              spdlog::error("grouping: group {} did not hand its state to its new groups: {}",
                            parent, self->system().render(error));
              release_kids(self, kids);
            });
  }
  std::vector<std::string> retire;
  for (auto& [key, entry] : st.groups)
    if (!entry.passivating && !now.count(std::string(key))) retire.push_back(std::string(key));
  for (const auto& key : retire) passivate(self, key);  // after its export (same mailbox order)
  spdlog::info("grouping: {} new group(s) start from their parent's state, {} retired",
               st.inherit_from.size(), retire.size());
}

/// Sends the next wave of the outbox; the rest follow a millisecond later.
void send_wave(Supervisor* self) {
  auto& outbox = self->state.outbox;
  for (std::size_t i = 0; i < kWave && !outbox.empty(); ++i) {
    self->send(outbox.front().first, std::move(outbox.front().second));
    outbox.pop_front();
  }
  if (!outbox.empty()) self->delayed_send(self, 1ms, wave_atom::value);
}

void reload(Supervisor* self, LabelConfigPtr config) {
  auto& st = self->state;
  // A learning config produces any key; what it starts from is its `by`.
  const bool regrouped = !st.args.config->same_grouping(*config);
  st.args.config = std::move(config);
  st.args.shared->queue.set_capacity(st.args.config->report_queue_capacity);
  std::vector<std::string> retire;
  for (auto& [key, entry] : st.groups) {
    if (entry.passivating) continue;
    if (regrouped && !st.args.config->initial_can_produce(key))
      retire.push_back(std::string(key));
    else
      st.outbox.emplace_back(entry.actor, caf::make_message(reload_atom::value, st.args.config));
  }
  send_wave(self);
  if (regrouped) {
    release_all_kids(self);
    st.redirect.clear();
    st.inherit.clear();
    st.inherit_from.clear();
  }
  flush_all(self);
  for (const auto& key : retire) passivate(self, key);
  std::size_t added = 0;
  for (const auto& key : st.args.config->rule_groups()) {
    if (!st.groups.count(key)) {
      activate(self, key);
      ++added;
    }
  }
  spdlog::info("label config {} loaded: {} group(s) retired, {} added, {} active",
               st.args.config->source, retire.size(), added, st.groups.size());
}

}  // namespace pytheas::supervision
