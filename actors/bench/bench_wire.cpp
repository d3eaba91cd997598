// bench_wire: what the federation's messages cost, serialized by CAF exactly
// as a link sends them (caf::message through CAF's binary serializer, the
// payload of a BASP frame), with the real types of
// actors/common/federation_messages.hpp. Times are this thread's CPU time, so
// a busy machine skews them less. Prints, each beside its target:
//   * the group table at 100k and 1M groups (keys like "Asn=17922;City=c12",
//     4 clusters): its bytes on the wire (target <= 64 B/group), the backend's
//     serialize time, a frontend's deserialize and install time (copy into
//     the ownership view and one rendezvous per group, as recompute() does;
//     target <= 1 s at 1M), its text file (group-table.txt) and the heap one
//     copy of the table holds per group; then the same table with a parent
//     for every group (the push after a learned regroup renames them all);
//   * a mirror push (the owner's state of one subscribed group, a 3-arm
//     ducb with marks from 8 members): bytes, the owner's export
//     (Policy::serialize) and serialize, the subscriber's deserialize,
//     restore and snapshot (target <= 20 us CPU in all); and the heap a
//     subscriber holds per mirrored group (100k of them, kept as on_mirror
//     keeps them: the record, a slot in the mirrors' table with its
//     snapshot, the subscription; target <= 2 KB);
//   * a forwarded report in a batch of 4096 (the relay's largest): bytes and
//     CPU per report on both sides (target <= 64 B, <= 1 us);
//   * a sampled report (15 features) sent to the backend: bytes.
// Usage: bench_wire [groups=100000,1000000]
// Run by scripts/bench-wire, which builds it in Release first.

#include <malloc.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "actors/common/federation_messages.hpp"
#include "actors/group/group_table.hpp"
#include "core/ownership_rule.hpp"
#include "core/policy.hpp"
#include "core/rng.hpp"
#include "core/thread_cpu.hpp"

using namespace pytheas;

namespace {

double heap_in_use() {
  return static_cast<double>(mallinfo2().uordblks);
}

std::vector<char> serialize(caf::actor_system& sys, const caf::message& msg) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  if (auto err = sink(const_cast<caf::message&>(msg)))
    throw std::runtime_error("serialize: " + sys.render(err));
  return buf;
}

caf::message deserialize(caf::actor_system& sys, const std::vector<char>& buf) {
  caf::message msg;
  caf::binary_deserializer source{sys, buf};
  if (auto err = source(msg)) throw std::runtime_error("deserialize: " + sys.render(err));
  return msg;
}

const char* const kClusters[] = {"eu-west", "eu-central", "us-east", "us-west"};

std::string group_key(std::size_t i) {
  return "Asn=" + std::to_string(10000 + i / 50) + ";City=c" + std::to_string(i % 50);
}

void bench_table(caf::actor_system& sys, std::size_t groups) {
  GroupTableMessage table;
  table.version = 42;
  double key_bytes = 0;
  const double heap0 = heap_in_use();
  for (std::size_t i = 0; i < groups; ++i) {
    auto key = group_key(i);
    key_bytes += static_cast<double>(key.size());
    table.owners.emplace(std::move(key), kClusters[i % 4]);
  }
  const double heap_per_group = (heap_in_use() - heap0) / static_cast<double>(groups);
  const auto n = static_cast<double>(groups);

  // Backend: one message, serialized once per link by CAF (we time one).
  auto msg = caf::make_message(table_atom::value, table);
  double t = thread_cpu_seconds();
  auto wire = serialize(sys, msg);
  const double ser = thread_cpu_seconds() - t;

  // Frontend: deserialize, then what recompute() does with a new table.
  t = thread_cpu_seconds();
  auto got = deserialize(sys, wire);
  const double deser = thread_cpu_seconds() - t;
  const auto& received = got.get_as<GroupTableMessage>(1);
  std::vector<ClusterMember> members;  // 4 clusters of 4 frontends
  for (const auto* cluster : kClusters)
    for (int m = 0; m < 4; ++m)
      members.push_back({std::string(cluster) + "-" + std::to_string(m), cluster});
  t = thread_cpu_seconds();
  OwnershipView view(
      members, [](std::string_view) -> const std::string* { return nullptr; },
      std::make_shared<const std::map<std::string, std::string>>(received.owners),
      [](const std::string&) { return true; }, 1);
  std::size_t mine = 0;
  for (const auto& [group, cluster] : received.owners) {
    const auto* owner = view.of(group, "eu-west").owner;
    if (owner && *owner == "eu-west-0") ++mine;
  }
  const double install = thread_cpu_seconds() - t;

  // group-table.txt, as save_table() writes it.
  t = thread_cpu_seconds();
  const std::string path = "/tmp/bench-wire-group-table.txt";
  {
    std::ofstream out(path, std::ios::trunc);
    out << "pytheas-group-table 2\n" << table.version << '\n' << table.rules << '\n';
    for (const auto& [group, cluster] : table.owners) out << group << '\t' << cluster << '\n';
  }
  const double save = thread_cpu_seconds() - t;
  std::ifstream in(path, std::ios::ate | std::ios::binary);
  const double file_bytes = static_cast<double>(in.tellg());
  std::remove(path.c_str());

  // After a learned regroup that renamed every group: a parent for each.
  for (const auto& [group, cluster] : table.owners) table.parents.emplace(group, "old-" + group);
  auto wire_parents = serialize(sys, caf::make_message(table_atom::value, table));

  std::printf(
      "group table, %zu groups (keys %.1f B on average, 4 clusters of 4 frontends):\n"
      "  on the wire: %.1f MB, %.1f B/group (target <= 64 B/group); with a parent for every "
      "group (a learned regroup renaming all): %.1f MB\n"
      "  backend serialize %.3f s CPU (per frontend link); frontend deserialize %.3f s + "
      "install (ownership of every group) %.3f s = %.3f s CPU (target <= 1 s at 1M); "
      "%zu groups owned by one of 16 frontends\n"
      "  group-table.txt %.1f MB written in %.3f s CPU; heap of one copy of the table: "
      "%.0f B/group (a frontend holds two: its table and its ownership view's)\n",
      groups, key_bytes / n, static_cast<double>(wire.size()) / 1e6,
      static_cast<double>(wire.size()) / n, static_cast<double>(wire_parents.size()) / 1e6, ser,
      deser, install, deser + install, mine, file_bytes / 1e6, save, heap_per_group);
}

void bench_mirror(caf::actor_system& sys) {
  PolicyConfig config;  // ducb, the default
  auto policy = make_policy(config, 7);
  Rng rng(7);
  const char* arms[] = {"cdn-a", "cdn-b", "cdn-c"};
  for (int t = 0; t < 1000; ++t) policy->update({arms[t % 3], rng.uniform() * 5, double(t)});
  GroupRecord record;
  record.key = group_key(123456);
  record.decisions = 123456;
  record.reports = 45678;
  record.last_activity = 1.7e9;
  for (int m = 0; m < 8; ++m) {
    ReportStamp stamp{origin_id("member-" + std::to_string(m)), 1700000000000000ull,
                      100000ull + static_cast<std::uint64_t>(m)};
    record.marks.advance(stamp);
    record.floor.advance(stamp);
  }
  record.confirmer = "eu-west-0";
  constexpr int kRounds = 100000;
  double export_s = 0, ser = 0, deser = 0, restore = 0;
  std::size_t bytes = 0;
  std::size_t arms_seen = 0;
  for (int i = 0; i < kRounds; ++i) {
    double t = thread_cpu_seconds();
    record.policy_state = policy->serialize(1000.0);  // the owner's export, as of now
    export_s += thread_cpu_seconds() - t;
    t = thread_cpu_seconds();
    auto wire = serialize(sys, caf::make_message(mirror_atom::value, record));
    ser += thread_cpu_seconds() - t;
    bytes = wire.size();
    t = thread_cpu_seconds();
    auto got = deserialize(sys, wire);
    deser += thread_cpu_seconds() - t;
    t = thread_cpu_seconds();
    const auto& received = got.get_as<GroupRecord>(1);
    auto restored = restore_policy(received.policy_state, 1000.0);  // on_mirror
    auto snapshot = restored->snapshot(1000.0);
    restore += thread_cpu_seconds() - t;
    arms_seen += restored->arm_count() + (snapshot ? 0 : 1);
  }
  const double us = 1e6 / kRounds;
  std::printf(
      "mirror push of one group (3-arm ducb, policy state %zu B, marks and floor of 8 members):\n"
      "  %zu B on the wire; owner: export %.2f us + serialize %.2f us; subscriber: "
      "deserialize %.2f us + restore and snapshot %.2f us; %.2f us CPU in all "
      "(target <= 20 us)\n",
      record.policy_state.size(), bytes, export_s * us, ser * us, deser * us, restore * us,
      (export_s + ser + deser + restore) * us);
  if (arms_seen != 3u * kRounds) throw std::runtime_error("mirror: the restored policy lost arms");

  // What a subscriber keeps per mirrored group (federation_settle.cpp's
  // on_mirror and flush_subscriptions), for 100k groups.
  constexpr std::size_t kMirrors = 100000;
  auto wire = serialize(sys, caf::make_message(mirror_atom::value, record));
  const double heap0 = heap_in_use();
  {
    GroupTable mirrors;
    std::unordered_map<std::string, GroupRecord> mirror_records;
    std::unordered_map<std::string, std::string> subscribed;
    for (std::size_t i = 0; i < kMirrors; ++i) {
      auto got = deserialize(sys, wire);
      auto received = got.get_as<GroupRecord>(1);
      received.key = group_key(i);
      auto restored = restore_policy(received.policy_state, 1000.0);
      auto slot = mirrors.insert(received.key);
      slot->snapshot.store(restored->snapshot(1000.0));
      slot->reports.store(received.reports);
      subscribed[received.key] = "eu-west-1";
      mirror_records[received.key] = std::move(received);
    }
    std::printf("  a subscriber's heap per mirrored group: %.0f B (target <= 2 KB; %zu groups)\n",
                (heap_in_use() - heap0) / static_cast<double>(kMirrors), mirrors.size());
  }
}

void bench_forward(caf::actor_system& sys) {
  constexpr std::size_t kBatch = 4096;  // federation_relay.cpp: kMaxBatch
  std::vector<ForwardedReport> batch;
  for (std::size_t i = 0; i < kBatch; ++i)
    batch.push_back(ForwardedReport{group_key(i * 37 % 100000), "cdn-b", 3.7, 1.7e9 + double(i),
                                    1700000000000000ull, 1000000 + i});
  constexpr int kRounds = 50;
  double ser = 0, deser = 0;
  std::size_t bytes = 0;
  for (int i = 0; i < kRounds; ++i) {
    double t = thread_cpu_seconds();
    auto wire = serialize(sys, caf::make_message(forward_atom::value, std::uint64_t{7},
                                                 std::vector<std::string>{}, batch));
    ser += thread_cpu_seconds() - t;
    bytes = wire.size();
    t = thread_cpu_seconds();
    auto got = deserialize(sys, wire);
    deser += thread_cpu_seconds() - t;
  }
  const double per = 1e6 / (kRounds * static_cast<double>(kBatch));
  std::printf(
      "forwarded report, in a batch of %zu: %.1f B on the wire (target <= 64 B); serialize "
      "%.3f us + deserialize %.3f us CPU per report (target <= 1 us)\n",
      kBatch, static_cast<double>(bytes) / kBatch, ser * per, deser * per);

  std::vector<SampledReport> samples;
  for (std::size_t i = 0; i < 1000; ++i) {
    SampledReport s;
    s.features = {
        "1473000000000", "3.2", "1500",  "800", std::to_string(7000 + i % 500), "Boston", "US",
        "wifi",          "MA",  "linux", "vod", "obj-" + std::to_string(i),     "flash",  "1200",
        "cdn-a"};
    s.group = group_key(i);
    s.decision = "cdn-b";
    s.score = 3.7;
    samples.push_back(std::move(s));
  }
  auto wire = serialize(sys, caf::make_message(samples_atom::value, samples));
  std::printf("sampled report to the backend (15 features): %.1f B on the wire\n",
              static_cast<double>(wire.size()) / 1000.0);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes{100000, 1000000};
  if (argc > 1) {
    sizes.clear();
    std::stringstream list(argv[1]);
    std::string item;
    while (std::getline(list, item, ',')) sizes.push_back(std::stoull(item));
  }
  caf::actor_system_config config;
  add_federation_types(config);
  caf::actor_system sys{config};
  bench_mirror(sys);
  bench_forward(sys);
  for (auto groups : sizes) bench_table(sys, groups);
  return 0;
}
