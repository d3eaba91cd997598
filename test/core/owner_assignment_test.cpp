#include "core/owner_assignment.hpp"

#include <catch2/catch.hpp>

using namespace pytheas;

TEST_CASE("a group goes to the cluster that sees most of its sessions", "[assignment]") {
  OwnerAssignment assignment;
  for (int i = 0; i < 30; ++i) assignment.add("Asn=1", "A");
  for (int i = 0; i < 70; ++i) assignment.add("Asn=1", "B");
  for (int i = 0; i < 5; ++i) assignment.add("Asn=2", "A");
  CHECK(assignment.regroup());
  CHECK(assignment.owners().at("Asn=1") == "B");
  CHECK(assignment.owners().at("Asn=2") == "A");
  // Nothing new: nothing changes, and groups without samples keep their owner.
  CHECK_FALSE(assignment.regroup());
  CHECK(assignment.owners().size() == 2);
}

TEST_CASE("ties go to the first cluster by name, on every run", "[assignment]") {
  OwnerAssignment assignment;
  assignment.add("g", "B", 10);
  assignment.add("g", "A", 10);
  assignment.regroup();
  CHECK(assignment.owners().at("g") == "A");
}

TEST_CASE("an owner keeps its group until another cluster clearly dominates", "[assignment]") {
  OwnerAssignment assignment(1.25);
  assignment.add("g", "A", 100);
  assignment.regroup();          // A owns g; counts halve to A=50
  assignment.add("g", "B", 60);  // B=60 vs A=50: within the margin
  CHECK_FALSE(assignment.regroup());
  CHECK(assignment.owners().at("g") == "A");
  assignment.add("g", "B", 200);  // B=230 vs A=25
  CHECK(assignment.regroup());
  CHECK(assignment.owners().at("g") == "B");
}

TEST_CASE("old traffic fades: counts halve at every regroup", "[assignment]") {
  OwnerAssignment assignment;
  assignment.add("g", "A", 64);
  assignment.regroup();
  for (int round = 0; round < 4; ++round) assignment.regroup();  // A decays to 2
  assignment.add("g", "B", 3);  // more than A, but a lead of 1 in 5 is noise
  CHECK_FALSE(assignment.regroup());
  assignment.add("g", "B", 30);
  CHECK(assignment.regroup());
  CHECK(assignment.owners().at("g") == "B");
}

TEST_CASE("samples without a cluster or weight are ignored", "[assignment]") {
  OwnerAssignment assignment;
  assignment.add("g", "", 5);
  assignment.add("g", "A", 0);
  assignment.add("g", "A", -1);
  CHECK_FALSE(assignment.regroup());
  CHECK(assignment.owners().empty());
  assignment.set_owners({{"h", "B"}});
  CHECK(assignment.owners().at("h") == "B");
}

TEST_CASE("a pinned group goes to its cluster whatever the traffic", "[assignment]") {
  OwnerAssignment assignment;
  const std::string b = "B";
  assignment.set_pins(
      [&](const std::string& group) { return group.rfind("pin-", 0) == 0 ? &b : nullptr; });
  assignment.add("pin-1", "A", 100);
  assignment.add("free", "A", 100);
  CHECK(assignment.regroup());
  CHECK(assignment.owners().at("pin-1") == "B");
  CHECK(assignment.owners().at("free") == "A");
  assignment.add("pin-1", "A", 1000);
  CHECK_FALSE(assignment.regroup());
  CHECK(assignment.owners().at("pin-1") == "B");
}
