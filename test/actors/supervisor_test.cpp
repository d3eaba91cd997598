// The supervisor on a real actor_system: spawn on first use, routing, passivation
// and restore, restart after a crash, the active-group cap, reload.

#include "actors/group/supervisor.hpp"

#include "actors/learning/grouping_actor.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <random>
#include <tuple>

#include "actors/storage/state_store.hpp"
#include "core/policy.hpp"
#include "test/actors/eventually.hpp"
#include "test/support/temp_dir.hpp"

using namespace pytheas;
using pytheas::test::eventually;
using pytheas::test::TempDir;
namespace fs = std::filesystem;

namespace {

struct Fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> system;
  std::shared_ptr<NodeShared> shared = std::make_shared<NodeShared>();
  caf::actor supervisor;

  explicit Fixture(LabelConfig config, std::string state_dir = "", double stall_after_s = 10) {
    cfg.set("scheduler.max-threads", size_t{2});
    cfg.set("logger.verbosity", caf::atom("quiet"));
    system = std::make_unique<caf::actor_system>(cfg);
    SupervisorArgs args;
    args.shared = shared;
    args.config = std::make_shared<const LabelConfig>(std::move(config));
    args.state_dir = std::move(state_dir);
    args.sweep_interval_s = 0.05;
    args.stall_after_s = stall_after_s;
    supervisor = spawn_supervisor(*system, std::move(args));
    caf::scoped_actor self{*system};
    self->request(supervisor, std::chrono::seconds(30), restore_atom::value)
        .receive([](std::size_t) {}, [](caf::error&) { FAIL("restore failed"); });
  }

  ~Fixture() { shutdown(); }

  void shutdown() {
    if (!supervisor) return;
    caf::scoped_actor self{*system};
    self->request(supervisor, std::chrono::seconds(30), shutdown_atom::value)
        .receive([](ok_atom) {}, [](caf::error&) { FAIL("shutdown failed"); });
    supervisor = nullptr;
  }

  void report(const std::string& key, const std::string& decision, double score) {
    REQUIRE(shared->queue.admit());
    caf::anon_send(supervisor, report_atom::value, key, decision, score, wall_seconds());
  }

  std::size_t active() {
    std::size_t n = 0;
    caf::scoped_actor self{*system};
    self->request(supervisor, std::chrono::seconds(10), count_atom::value)
        .receive([&](std::size_t count) { n = count; }, [](caf::error&) { FAIL("count failed"); });
    return n;
  }

  bool drained() { return shared->queue.depth() == 0; }

  SnapshotPtr snapshot(const std::string& key) {
    SnapshotPtr out;
    shared->table.visit(key, [&](GroupSlot& slot) { out = slot.snapshot.load(); });
    return out;
  }
};

LabelConfig fast_config() {
  LabelConfig config;
  config.checkpoint_interval_s = 0.05;
  return config;
}

double arm_count(const SnapshotPtr& snapshot, std::string_view arm) {
  for (const auto& a : snapshot->arms())
    if (a.name == arm) return a.count;
  return -1;
}

}  // namespace

TEST_CASE("a group is spawned on first use and publishes a snapshot", "[supervisor]") {
  Fixture f(fast_config());
  CHECK(f.active() == 0);
  caf::anon_send(f.supervisor, ensure_atom::value, std::string("Asn=1"));
  REQUIRE(eventually([&] { return f.snapshot("Asn=1") != nullptr; }));
  CHECK(f.active() == 1);
  CHECK(f.shared->spawns == 1);
  caf::anon_send(f.supervisor, ensure_atom::value, std::string("Asn=1"));
  CHECK(f.active() == 1);
}

TEST_CASE("reports reach their group and become visible in its snapshot", "[supervisor]") {
  Fixture f(fast_config());
  for (int i = 0; i < 300; ++i) f.report("Asn=1", i % 3 == 0 ? "b" : "a", i % 3 == 0 ? 0.0 : 1.0);
  f.report("Asn=2", "a", 1);
  REQUIRE(eventually([&] { return f.drained(); }));
  CHECK(f.shared->reports_applied == 301);
  auto slot = f.shared->table.find("Asn=1");
  REQUIRE(slot);
  CHECK(slot->reports == 300);
  CHECK(slot->pending == 0);
  auto snapshot = f.snapshot("Asn=1");
  REQUIRE(snapshot);
  CHECK(arm_count(snapshot, "a") > arm_count(snapshot, "b"));
  CHECK(arm_count(snapshot, "b") > 0);
  CHECK(f.shared->freshness.count() == 301);
}

TEST_CASE("passivation writes state, reactivation restores it exactly",
          "[supervisor][persistence]") {
  TempDir dir;
  Fixture f(fast_config(), dir.path().string());
  for (int i = 0; i < 50; ++i) f.report("Asn=7", i % 2 ? "a" : "b", i % 2 ? 3.0 : 1.0);
  REQUIRE(eventually([&] { return f.drained(); }));
  auto before = f.snapshot("Asn=7");
  caf::anon_send(f.supervisor, passivate_atom::value, std::string("Asn=7"));
  REQUIRE(eventually([&] { return f.shared->passivations == 1 && f.active() == 0; }));
  CHECK(f.snapshot("Asn=7") == nullptr);  // out of the table while passive
  StateStore store(dir.path());
  REQUIRE(eventually([&] { return store.load("Asn=7").has_value(); }));
  auto record = *store.load("Asn=7");
  CHECK(record.reports == 50);

  // Back on first use, with the same learned state.
  caf::anon_send(f.supervisor, ensure_atom::value, std::string("Asn=7"));
  REQUIRE(eventually([&] { return f.snapshot("Asn=7") != nullptr; }));
  auto after = f.snapshot("Asn=7");
  REQUIRE(after->arms().size() == before->arms().size());
  for (std::size_t i = 0; i < before->arms().size(); ++i) {
    const auto& arm = before->arms()[i];
    // Discounted by the (sub-second) time the round trip took, half-life 60 s.
    CHECK(arm_count(after, arm.name) == Approx(arm.count).epsilon(1e-2));
  }
  CHECK(f.shared->table.find("Asn=7")->reports == 50);
}

TEST_CASE("reports sent during passivation are held and applied, not dropped",
          "[supervisor][persistence]") {
  Fixture f(fast_config());
  f.report("Asn=3", "a", 1);
  REQUIRE(eventually([&] { return f.drained(); }));
  caf::anon_send(f.supervisor, passivate_atom::value, std::string("Asn=3"));
  for (int i = 0; i < 100; ++i) f.report("Asn=3", "a", 1);
  REQUIRE(eventually([&] { return f.drained(); }));
  CHECK(f.shared->reports_applied == 101);
  REQUIRE(eventually([&] {
    auto slot = f.shared->table.find("Asn=3");
    return slot && slot->reports == 101;
  }));
}

TEST_CASE("a group that throws is restarted from its last persisted state",
          "[supervisor][persistence]") {
  TempDir dir;
  Fixture f(fast_config(), dir.path().string());
  for (int i = 0; i < 40; ++i) f.report("Asn=9", "a", 2);
  REQUIRE(eventually([&] { return f.drained(); }));
  StateStore store(dir.path());
  // Wait for a checkpoint holding all 40 reports.
  REQUIRE(eventually([&] {
    auto record = store.load("Asn=9");
    return record && record->reports == 40;
  }));
  auto before = f.snapshot("Asn=9");
  caf::anon_send(f.supervisor, crash_atom::value, std::string("Asn=9"));
  REQUIRE(eventually([&] { return f.shared->restarts == 1; }));
  REQUIRE(eventually([&] {
    auto snap = f.snapshot("Asn=9");
    return snap && snap != before;
  }));
  // The restored count is the persisted one, discounted by the time the
  // restart took (half-life 60 s: under 1% for a busy box's half second); a
  // fresh group would have 0.
  CHECK(arm_count(f.snapshot("Asn=9"), "a") == Approx(arm_count(before, "a")).epsilon(1e-2));
  // It keeps learning after the restart.
  f.report("Asn=9", "a", 2);
  REQUIRE(eventually([&] { return f.drained(); }));
  CHECK(f.shared->reports_lost == 0);
  CHECK(f.active() == 1);
}

// The supervisor messages all its groups in waves (CAF 0.17's work stealing
// crawls when one handler wakes a whole node's actors): each wave must
// still reach every group.
TEST_CASE("checkpoint rounds reach every group when there are more than a wave",
          "[supervisor][persistence]") {
  TempDir dir;
  Fixture f(fast_config(), dir.path().string());
  constexpr int kGroups = 1500;
  for (int g = 0; g < kGroups; ++g) f.report("Asn=" + std::to_string(g), "a", 1);
  REQUIRE(eventually([&] { return f.drained(); }));
  StateStore store(dir.path());
  REQUIRE(eventually([&] { return store.list().size() == kGroups; }, std::chrono::seconds(20)));
  for (int g = 0; g < kGroups; g += 97) {
    auto record = store.load("Asn=" + std::to_string(g));
    REQUIRE(record);
    CHECK(record->reports == 1);
  }
}

TEST_CASE("stopping collects every group's state, more groups than a wave, and ends them",
          "[supervisor][persistence]") {
  TempDir dir;
  auto config = fast_config();
  config.checkpoint_interval_s = 1e6;  // only the stop writes state
  Fixture f(config, dir.path().string());
  constexpr int kGroups = 1500;
  for (int g = 0; g < kGroups; ++g) {
    f.report("Asn=" + std::to_string(g), "a", 1);
    f.report("Asn=" + std::to_string(g), "b", 0);
  }
  REQUIRE(eventually([&] { return f.drained(); }));
  REQUIRE(f.active() == kGroups);
  StateStore store(dir.path());
  CHECK(store.list().empty());
  f.shutdown();
  CHECK(store.list().size() == kGroups);
  for (int g = 0; g < kGroups; g += 97) {
    auto record = store.load("Asn=" + std::to_string(g));
    REQUIRE(record);
    CHECK(record->reports == 2);
  }
  CHECK(eventually([&] { return f.system->registry().running() == 0; }));
}

TEST_CASE("the active-group cap passivates least recently used groups", "[supervisor]") {
  auto config = fast_config();
  config.max_active_groups = 10;
  Fixture f(config);
  for (int i = 0; i < 25; ++i) f.report("Asn=" + std::to_string(i), "a", 1);
  REQUIRE(eventually([&] { return f.drained(); }));
  bool capped = eventually([&] { return f.active() <= 10; });
  INFO("active " << f.active() << " passivations " << f.shared->passivations << " spawns "
                 << f.shared->spawns << " restarts " << f.shared->restarts);
  REQUIRE(capped);
  // active() stops counting a group when its passivation starts; the counter
  // moves when its state has been handed over.
  CHECK(eventually([&] { return f.shared->passivations >= 15; }));
  CHECK(f.shared->table.find("Asn=24") != nullptr);  // the newest stays
  // An evicted group comes back with its state when used again.
  f.report("Asn=0", "a", 1);
  REQUIRE(eventually([&] { return f.drained(); }));
  REQUIRE(eventually([&] {
    auto slot = f.shared->table.find("Asn=0");
    return slot && slot->reports == 2;
  }));
  // Evicted again, its newer state replaces the older one in memory. (Twice
  // the cap of new groups: the actor's own touch can land in the next second
  // and earn Asn=0 a second chance in the LRU.)
  for (int i = 100; i < 120; ++i) f.report("Asn=" + std::to_string(i), "a", 1);
  REQUIRE(eventually([&] { return f.drained() && f.shared->table.find("Asn=0") == nullptr; }));
  f.report("Asn=0", "a", 1);
  REQUIRE(eventually([&] {
    auto slot = f.shared->table.find("Asn=0");
    return slot && slot->reports == 3;
  }));
}

TEST_CASE("idle groups are passivated after passivate_after_s", "[supervisor]") {
  auto config = fast_config();
  // last_activity has 1 s resolution: with 2 s a group lives at least 1 s
  // after its report, so the first check below cannot race the sweep.
  config.passivate_after_s = 2;
  Fixture f(config);
  f.report("Asn=1", "a", 1);
  f.report("Asn=2", "a", 1);
  REQUIRE(eventually([&] { return f.drained(); }));
  CHECK(f.active() == 2);
  REQUIRE(eventually([&] { return f.active() == 0; }, std::chrono::seconds(8)));
  // active() stops counting a group when its passivation starts; the counter
  // moves when the group's state has been handed over.
  CHECK(eventually([&] { return f.shared->passivations == 2; }, std::chrono::seconds(5)));
  CHECK(f.shared->passivations == 2);
}

// A whole node going idle: the sweep queues a wave at a time and keeps a few
// passivations in flight. Every group must still be passivated, with its
// state, and reports that come meanwhile (to groups queued, in flight or
// done) must not be lost.
TEST_CASE("a sweep passivates more groups than a wave, and reports meanwhile are kept",
          "[supervisor][persistence]") {
  TempDir dir;
  auto config = fast_config();
  config.checkpoint_interval_s = 1e6;  // state reaches the store by passivation only
  config.passivate_after_s = 2;
  Fixture f(config, dir.path().string());
  constexpr int kGroups = 1500;
  auto key = [](int g) { return "Asn=" + std::to_string(g); };
  for (int g = 0; g < kGroups; ++g) f.report(key(g), "a", 1);
  REQUIRE(eventually([&] { return f.drained(); }));
  REQUIRE(f.active() == kGroups);
  REQUIRE(eventually([&] { return f.shared->passivations > 0; }, std::chrono::seconds(10)));
  for (int g = 0; g < kGroups; g += 10) f.report(key(g), "b", 0);
  REQUIRE(eventually([&] { return f.drained(); }));
  StateStore store(dir.path());
  auto reports_of = [&](int g) -> std::uint64_t {
    auto record = store.load(key(g));
    return record ? record->reports : 0;
  };
  // The reported groups come back and go idle again: in the end every
  // group's last state is in the store.
  REQUIRE(eventually(
      [&] {
        if (f.active() != 0 || store.list().size() != kGroups) return false;
        for (int g = 0; g < kGroups; ++g)
          if (reports_of(g) != (g % 10 == 0 ? 2u : 1u)) return false;
        return true;
      },
      std::chrono::seconds(20)));
  CHECK(f.shared->reports_lost == 0);
}

TEST_CASE("a reload reaches every group when there are more than a wave", "[supervisor][reload]") {
  Fixture f(fast_config());
  constexpr int kGroups = 1500;
  for (int g = 0; g < kGroups; ++g) f.report("Asn=" + std::to_string(g), "a", 1);
  REQUIRE(eventually([&] { return f.drained(); }));
  REQUIRE(f.active() == kGroups);
  auto next = parse_label_config("policy: {kind: thompson}", "reload.yaml");
  caf::anon_send(f.supervisor, reload_atom::value,
                 LabelConfigPtr(std::make_shared<const LabelConfig>(std::move(next))));
  REQUIRE(eventually([&] {
    for (int g = 0; g < kGroups; ++g) {
      auto snapshot = f.snapshot("Asn=" + std::to_string(g));
      if (!snapshot || snapshot->policy() != "thompson") return false;
    }
    return true;
  }));
}

TEST_CASE("a reload retires groups the new grouping cannot produce and adds rule groups",
          "[supervisor][reload]") {
  Fixture f(fast_config());
  f.report("Asn=1", "a", 1);
  f.report("Asn=2", "a", 1);
  REQUIRE(eventually([&] { return f.drained() && f.active() == 2; }));
  auto next = parse_label_config(R"(
grouping:
  rules: {feature: Asn, table: {"1": one}, default: others}
)",
                                 "reload.yaml");
  caf::anon_send(f.supervisor, reload_atom::value,
                 LabelConfigPtr(std::make_shared<const LabelConfig>(std::move(next))));
  REQUIRE(eventually([&] {
    return f.shared->table.find("one") && f.shared->table.find("others") &&
           !f.shared->table.find("Asn=1") && !f.shared->table.find("Asn=2");
  }));
  CHECK(f.active() == 2);
  // The old groups left the table when their passivation started; the
  // counter moves when their state has been handed over.
  CHECK(eventually([&] { return f.shared->passivations == 2; }));
}

TEST_CASE("a reload changes a group's policy in place", "[supervisor][reload]") {
  Fixture f(fast_config());
  f.report("Asn=1", "a", 1);
  REQUIRE(eventually([&] { return f.drained() && f.snapshot("Asn=1"); }));
  CHECK(f.snapshot("Asn=1")->policy() == "ducb");
  auto next = parse_label_config("policy: {kind: thompson}", "reload.yaml");
  caf::anon_send(f.supervisor, reload_atom::value,
                 LabelConfigPtr(std::make_shared<const LabelConfig>(std::move(next))));
  REQUIRE(eventually([&] { return f.snapshot("Asn=1")->policy() == "thompson"; }));
}

namespace {

/// The state of `key` as its group actor has it now (via the supervisor's copy request).
GroupRecord state_of(Fixture& f, const std::string& key) {
  GroupRecord out;
  caf::scoped_actor self{*f.system};
  self->request(f.supervisor, std::chrono::seconds(10), copy_atom::value, key)
      .receive(
          [&](std::vector<GroupRecord>& records) {
            REQUIRE(records.size() == 1);
            out = std::move(records[0]);
          },
          [](caf::error&) { FAIL("copy failed"); });
  return out;
}

/// What a policy state has learned, seen at one instant: (arm, count, mean)
/// per arm, as of its last update. Two states that learned the same compare equal (their bytes also
/// carry a snapshot counter, which each publication advances).
std::vector<std::tuple<std::string, double, double>> learned(const std::string& policy_state) {
  auto snapshot = restore_policy(policy_state, 0)->snapshot(-1e9);
  std::vector<std::tuple<std::string, double, double>> out;
  // Rounded: states written at different instants hold their times as ages
  // from different origins, so the same learning can differ in the last bits.
  auto round = [](double value) { return std::round(value * 1e9) / 1e9; };
  for (const auto& arm : snapshot->arms())
    out.emplace_back(arm.name, round(arm.count), round(arm.mean));
  return out;
}

}  // namespace

// The learner installs new rules once the supervisor has the regroup, so
// the first report under a new key can come right behind it, before the
// parent's state: the new group waits for that state rather than start empty.
TEST_CASE("a new group used right after the regroup still starts from its parent's state",
          "[supervisor][regroup]") {
  Fixture f(fast_config());
  for (int i = 0; i < 50; ++i) {
    f.report("Asn=1", "x", 10);
    f.report("Asn=1", "y", 30);
  }
  REQUIRE(eventually([&] { return f.drained(); }));
  const auto parent = state_of(f, "Asn=1");
  Regroup regroup;
  regroup.learned.sizes = {{"Asn=1;City=a", 60}, {"Asn=1;City=*", 40}};
  regroup.parent = {{"Asn=1;City=a", "Asn=1"}, {"Asn=1;City=*", "Asn=1"}};
  regroup.heir = {{"Asn=1", "Asn=1;City=a"}};
  caf::anon_send(f.supervisor, regroup_atom::value,
                 RegroupNotice{std::make_shared<const Regroup>(regroup), true});
  f.report("Asn=1;City=a", "x", 10);  // right behind the notice
  caf::anon_send(f.supervisor, ensure_atom::value, std::string("Asn=1;City=*"));
  f.report("Asn=1", "x", 10);  // under the retired key: to its heir
  REQUIRE(eventually(
      [&] { return f.drained() && f.snapshot("Asn=1;City=a") && f.snapshot("Asn=1;City=*"); }));
  // (the parent's learning as a prior: a few observations per arm)
  CHECK(learned(state_of(f, "Asn=1;City=*").policy_state) ==
        learned(inherited_policy_state(parent.policy_state, 0)));
  const auto heir = state_of(f, "Asn=1;City=a");
  CHECK(heir.reports == 2);
  // A group started empty would know only x.
  CHECK(arm_count(f.snapshot("Asn=1;City=a"), "y") > 0);
  CHECK_FALSE(f.snapshot("Asn=1"));
}

TEST_CASE(
    "after a regroup, new groups start from their parent's state, and a retired group's "
    "reports go to its heir",
    "[supervisor][regroup]") {
  Fixture f(fast_config());
  for (int i = 0; i < 50; ++i) {
    f.report("Asn=1", "x", 10);
    f.report("Asn=1", "y", 30);
    f.report("Asn=2", "x", 50);
  }
  REQUIRE(eventually([&] { return f.drained(); }));
  const auto parent = state_of(f, "Asn=1");
  const auto other = state_of(f, "Asn=2");
  REQUIRE(parent.reports == 100);

  // Asn=1 splits by city; Asn=2 and Asn=3 merge into one group where Asn=2 was the larger part.
  Regroup regroup;
  regroup.learned.sizes = {{"Asn=1;City=a", 60}, {"Asn=1;City=*", 40}, {"Asn=*", 70}};
  regroup.parent = {{"Asn=1;City=a", "Asn=1"}, {"Asn=1;City=*", "Asn=1"}, {"Asn=*", "Asn=2"}};
  regroup.heir = {{"Asn=1", "Asn=1;City=a"}, {"Asn=2", "Asn=*"}, {"Asn=3", "Asn=*"}};
  caf::anon_send(f.supervisor, regroup_atom::value,
                 RegroupNotice{std::make_shared<const Regroup>(regroup), true});
  // The old groups retire (their state is kept); the new ones start from it.
  REQUIRE(eventually([&] { return !f.snapshot("Asn=1") && !f.snapshot("Asn=2"); }));
  for (const auto* child : {"Asn=1;City=a", "Asn=1;City=*", "Asn=*"})
    caf::anon_send(f.supervisor, ensure_atom::value, std::string(child));  // first use
  REQUIRE(eventually([&] { return f.snapshot("Asn=*") != nullptr; }));
  for (const auto* child : {"Asn=1;City=a", "Asn=1;City=*"}) {
    auto state = state_of(f, child);
    INFO(child);
    // The parent's learning, as a prior (a few observations per arm).
    CHECK(learned(state.policy_state) == learned(inherited_policy_state(parent.policy_state, 0)));
    CHECK(state.reports == 0);  // its own counts start at zero
  }
  CHECK(learned(state_of(f, "Asn=*").policy_state) ==
        learned(inherited_policy_state(other.policy_state, 0)));  // a merge

  // A report still keyed under a retired group goes to its heir.
  f.report("Asn=1", "x", 10);
  REQUIRE(eventually([&] { return f.drained(); }));
  CHECK(state_of(f, "Asn=1;City=a").reports == 1);
  CHECK_FALSE(f.snapshot("Asn=1"));
}

// The stall watch (issue #31): a group that holds reports and applies none
// of them for the bound is reported (counted, named, /readyz 503) while it
// lasts, and once it moves again every report is applied: none is lost.
TEST_CASE("a stalled group is reported while it lasts and loses no report", "[supervisor][stall]") {
  Fixture f(fast_config(), "", 0.3);
  for (int i = 0; i < 10; ++i) f.report("Asn=1", "a", 1);
  REQUIRE(eventually([&] { return f.drained(); }));
  CHECK(f.shared->stalled_groups == 0);
  caf::anon_send(f.supervisor, stall_atom::value, std::string("Asn=1"), 1.5);
  for (int i = 0; i < 20; ++i) f.report("Asn=1", "b", 2);
  f.report("Asn=2", "a", 1);  // other groups go on meanwhile
  REQUIRE(eventually([&] { return f.shared->stalled_groups == 1; }, std::chrono::seconds(5)));
  auto reason = f.shared->stall_reason.load();
  REQUIRE(reason);
  CHECK(reason->find("group Asn=1 has applied none of its 20 sent report(s)") != std::string::npos);
  CHECK(f.shared->stalls == 1);
  CHECK(f.shared->queue.depth() == 20);
  // It wakes up: applied, not restarted, nothing lost, the stall is over.
  REQUIRE(eventually([&] { return f.drained() && f.shared->stalled_groups == 0; },
                     std::chrono::seconds(10)));
  CHECK(f.shared->stall_reason.load() == nullptr);
  CHECK(f.shared->reports_applied == 31);
  CHECK(f.shared->reports_lost == 0);
  CHECK(f.shared->restarts == 0);
  CHECK(f.shared->stalls == 1);
}

TEST_CASE("a group that applies slowly but surely is not stalled", "[supervisor][stall]") {
  Fixture f(fast_config(), "", 0.3);
  // Blocks shorter than the bound, with reports behind each: it keeps moving.
  for (int round = 0; round < 6; ++round) {
    caf::anon_send(f.supervisor, stall_atom::value, std::string("Asn=1"), 0.1);
    for (int i = 0; i < 5; ++i) f.report("Asn=1", "a", 1);
  }
  REQUIRE(eventually([&] { return f.drained(); }, std::chrono::seconds(10)));
  CHECK(f.shared->stalls == 0);
  CHECK(f.shared->reports_applied == 30);
}

TEST_CASE("a group whose actor ended without a word is found by the stall watch and restarted",
          "[supervisor][stall]") {
  TempDir dir;
  Fixture f(fast_config(), dir.path().string(), 0.3);
  for (int i = 0; i < 10; ++i) f.report("Asn=1", "a", 1);
  REQUIRE(eventually([&] { return f.drained(); }));
  caf::anon_send(f.supervisor, crash_atom::value, std::string("Asn=1"), true);
  // Sent to the dead actor: only the watch can tell (its probe finds it gone).
  for (int i = 0; i < 7; ++i) f.report("Asn=1", "b", 2);
  REQUIRE(eventually([&] { return f.shared->restarts == 1; }, std::chrono::seconds(10)));
  CHECK(f.shared->stalls == 1);
  CHECK(f.shared->reports_lost == 7);  // counted and logged, as in a crash
  CHECK(f.drained());
  // It learns on from its last persisted state.
  f.report("Asn=1", "a", 1);
  REQUIRE(eventually([&] { return f.drained(); }));
  REQUIRE(eventually([&] { return f.shared->stalled_groups == 0; }));
  CHECK(f.shared->reports_applied == 11);
}

TEST_CASE("a passivation whose actor is gone restarts the group with its held reports",
          "[supervisor][stall]") {
  TempDir dir;
  Fixture f(fast_config(), dir.path().string());
  for (int i = 0; i < 10; ++i) f.report("Asn=1", "a", 1);
  REQUIRE(eventually([&] { return f.drained(); }));
  caf::anon_send(f.supervisor, crash_atom::value, std::string("Asn=1"), true);
  caf::anon_send(f.supervisor, passivate_atom::value, std::string("Asn=1"));
  // Held while it passivates; its passivation fails at once (no actor), and
  // it comes back with them: none lost, no stall to wait for.
  for (int i = 0; i < 5; ++i) f.report("Asn=1", "b", 2);
  REQUIRE(eventually([&] { return f.drained(); }, std::chrono::seconds(5)));
  CHECK(f.shared->reports_lost == 0);
  CHECK(f.shared->reports_applied == 15);
  CHECK(f.shared->restarts == 1);
  CHECK(f.active() == 1);
}

TEST_CASE("reports that come while the node stops are applied and written, none lost",
          "[supervisor][persistence]") {
  TempDir dir;
  auto config = fast_config();
  config.checkpoint_interval_s = 1e6;  // only the stop writes state
  Fixture f(config, dir.path().string());
  for (int i = 0; i < 10; ++i) f.report("Asn=1", "a", 1);
  REQUIRE(eventually([&] { return f.drained(); }));
  // Asn=1's actor is busy for a while: its state is on its way when the
  // stop begins, and reports to it are held meanwhile.
  caf::anon_send(f.supervisor, stall_atom::value, std::string("Asn=1"), 0.5);
  caf::scoped_actor self{*f.system};
  self->send(f.supervisor, shutdown_atom::value);
  for (int i = 0; i < 5; ++i) f.report("Asn=1", "b", 0);
  for (int i = 0; i < 3; ++i) f.report("Asn=9", "a", 1);  // a group first seen during the stop
  bool stopped = false;
  self->receive([&](ok_atom) { stopped = true; },
                caf::after(std::chrono::seconds(30)) >> [] { FAIL("no answer to shutdown"); });
  f.supervisor = nullptr;
  REQUIRE(stopped);
  CHECK(f.shared->reports_lost == 0);
  CHECK(f.shared->reports_applied == 18);
  CHECK(f.drained());
  StateStore store(dir.path());
  auto one = store.load("Asn=1");
  REQUIRE(one);
  CHECK(one->reports == 15);
  auto nine = store.load("Asn=9");
  REQUIRE(nine);
  CHECK(nine->reports == 3);
}

TEST_CASE("a surrender whose passivation fails names the group as still held here",
          "[supervisor][federation]") {
  TempDir dir;
  Fixture f(fast_config(), dir.path().string());
  for (int i = 0; i < 4; ++i) f.report("Asn=1", "a", 1);
  for (int i = 0; i < 2; ++i) f.report("Asn=2", "a", 1);
  REQUIRE(eventually([&] { return f.drained(); }));
  // Asn=1's actor ends without a word: its passivation fails, and the group
  // restarts here from its last persisted state.
  caf::anon_send(f.supervisor, crash_atom::value, std::string("Asn=1"), true);
  caf::scoped_actor self{*f.system};
  auto surrender = [&] {
    std::pair<std::vector<GroupRecord>, std::vector<std::string>> out;
    self->request(f.supervisor, std::chrono::seconds(10), surrender_atom::value,
                  std::vector<std::string>{"Asn=1", "Asn=2"})
        .receive(
            [&](std::vector<GroupRecord>& records, std::vector<std::string>& failed) {
              out = {std::move(records), std::move(failed)};
            },
            [](caf::error&) { FAIL("surrender failed"); });
    return out;
  };
  auto [records, failed] = surrender();
  REQUIRE(records.size() == 1);
  CHECK(records[0].key == "Asn=2");
  CHECK(failed == std::vector<std::string>{"Asn=1"});
  CHECK(eventually([&] { return f.shared->restarts == 1; }));
  // Asked again, it gives it up.
  auto [again, none] = surrender();
  CHECK(none.empty());
  REQUIRE(again.size() == 2);
}
