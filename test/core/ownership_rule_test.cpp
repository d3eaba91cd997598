#include "core/ownership_rule.hpp"

#include <catch2/catch.hpp>
#include <set>

using namespace pytheas;

TEST_CASE("rendezvous ownership is stable and spreads groups over members", "[ownership]") {
  std::vector<std::string> members = {"fe-1", "fe-2", "fe-3"};
  CHECK(rendezvous_owner("g", {}).empty());
  CHECK(rendezvous_owner("g", {"only"}) == "only");
  std::map<std::string, int> load;
  int moved = 0;
  for (int i = 0; i < 3000; ++i) {
    auto group = "Asn=" + std::to_string(i);
    auto owner = rendezvous_owner(group, members);
    CHECK(owner == rendezvous_owner(group, {"fe-3", "fe-1", "fe-2"}));  // order-free
    ++load[owner];
    // Losing fe-3 moves only fe-3's groups.
    auto after = rendezvous_owner(group, {"fe-1", "fe-2"});
    if (owner != "fe-3") CHECK(after == owner);
    moved += owner != after;
  }
  for (const auto& member : members) INFO(member << " owns " << load[member]);
  for (const auto& member : members) CHECK(load[member] > 800);
  CHECK(moved == load["fe-3"]);
}

namespace {

std::vector<ClusterMember> two_clusters() {
  return {{"fe-a1", "A"}, {"fe-a2", "A"}, {"fe-b1", "B"}, {"fe-b2", "B"}};
}

OwnershipView view(const std::set<std::string>& down, std::map<std::string, std::string> table = {},
                   OwnershipView::PinFn pin = nullptr) {
  return OwnershipView(
      two_clusters(), std::move(pin),
      std::make_shared<const std::map<std::string, std::string>>(std::move(table)),
      [down](const std::string& name) { return !down.count(name); }, 1);
}

}  // namespace

TEST_CASE("untabled groups belong to the seeing cluster, one member of it", "[ownership]") {
  auto all_up = view({});
  std::map<std::string, int> per_member;
  for (int i = 0; i < 400; ++i) {
    auto group = "Asn=AS" + std::to_string(i);
    auto seen_by_a = all_up.of(group, "A");
    auto seen_by_b = all_up.of(group, "B");
    REQUIRE(seen_by_a.owner);
    REQUIRE(seen_by_b.owner);
    CHECK_FALSE(seen_by_a.confirmable);
    // One owner per seeing cluster, the same whichever member asks.
    CHECK((*seen_by_a.owner == "fe-a1" || *seen_by_a.owner == "fe-a2"));
    CHECK((*seen_by_b.owner == "fe-b1" || *seen_by_b.owner == "fe-b2"));
    CHECK(*seen_by_a.owner == *seen_by_a.home);
    ++per_member[*seen_by_a.owner];
  }
  CHECK(per_member["fe-a1"] > 120);
  CHECK(per_member["fe-a2"] > 120);
}

TEST_CASE("the table, then a pin, decide the cluster, everyone agrees", "[ownership]") {
  auto pin = [](std::string_view group) -> const std::string* {
    static const std::string a = "A";
    return group.substr(0, 7) == "Asn=AS1" ? &a : nullptr;
  };
  auto v = view({}, {{"Asn=AS150", "B"}, {"Asn=AS7", "B"}}, pin);
  // Table first (even over a pin), then the pin, then the seeing cluster.
  auto tabled = v.of("Asn=AS150", "A");
  CHECK(tabled.confirmable);
  CHECK((*tabled.owner == "fe-b1" || *tabled.owner == "fe-b2"));
  auto pinned = v.of("Asn=AS123", "B");
  CHECK(pinned.confirmable);
  CHECK((*pinned.owner == "fe-a1" || *pinned.owner == "fe-a2"));
  CHECK(*v.of("Asn=AS123", "A").owner == *pinned.owner);
  auto free = v.of("Asn=AS9", "B");
  CHECK_FALSE(free.confirmable);
  CHECK(v.cluster_of("Asn=AS9", "B") == "B");
}

TEST_CASE("a dead member's groups go to the living members, the home stays", "[ownership]") {
  auto up = view({}, {});
  auto a1_down = view({"fe-a1"}, {});
  auto cluster_a_down = view({"fe-a1", "fe-a2"}, {});
  int moved = 0;
  for (int i = 0; i < 300; ++i) {
    auto group = "g" + std::to_string(i);
    auto before = up.of(group, "A");
    auto after = a1_down.of(group, "A");
    CHECK(*after.home == *before.home);
    if (*before.owner == "fe-a1") {
      CHECK(*after.owner == "fe-a2");
      ++moved;
    } else {
      CHECK(*after.owner == *before.owner);
    }
    // The standby is where the owner would go if the home died.
    CHECK(*before.standby != *before.home);
    if (*before.home == "fe-a1") CHECK(*after.owner == *before.standby);
    // A whole cluster down: one owner among every living frontend.
    auto orphan = cluster_a_down.of(group, "A");
    REQUIRE(orphan.owner);
    CHECK((*orphan.owner == "fe-b1" || *orphan.owner == "fe-b2"));
    CHECK(*orphan.home == *before.home);
  }
  CHECK(moved > 100);
  auto nobody = view({"fe-a1", "fe-a2", "fe-b1", "fe-b2"}, {});
  CHECK(nobody.of("g", "A").owner == nullptr);
}
