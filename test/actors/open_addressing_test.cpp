#include "actors/group/open_addressing.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <random>

using namespace pytheas;

namespace {

struct Bucket {
  std::uint32_t hash = 0;
  int value = 0;
};

struct Traits {  // home = the hash itself, so tests choose collisions
  static std::size_t home(std::uint32_t hash) { return hash; }
  static constexpr std::size_t kInitial = 8;
};

using Table = OpenAddressing<Bucket, Traits>;

std::size_t find(const Table& table, std::uint32_t hash) {
  return table.find(hash, [](const Bucket&) { return true; });
}

}  // namespace

TEST_CASE("open addressing: a run that wraps around shifts back on erase", "[open_addressing]") {
  Table table;
  // 7, 15 and 23 all start at bucket 7 of 8 (the run wraps to 0 and 1); 8
  // starts at 0 and lands behind them, at 2.
  for (std::uint32_t hash : {7u, 15u, 23u, 8u})
    CHECK(table.insert(Bucket{hash, static_cast<int>(hash)}, [](const Bucket&) { return false; })
              .second);
  CHECK(find(table, 8) == 2);
  table.remove_at(find(table, 7));
  CHECK(table.size() == 3);
  CHECK(find(table, 7) == Table::npos);
  CHECK(find(table, 15) == 7);  // each moved one back, to its home or nearer
  CHECK(find(table, 23) == 0);
  CHECK(find(table, 8) == 1);
  // Present already: not inserted, the bucket there returned.
  auto [at, inserted] = table.insert(Bucket{15, 0}, [](const Bucket&) { return true; });
  CHECK(!inserted);
  CHECK(table.at(at).value == 15);
}

TEST_CASE("open addressing: behaves as a map under random inserts and erases",
          "[open_addressing]") {
  Table table;
  std::map<std::uint32_t, int> model;
  std::mt19937 rng(5);
  std::uniform_int_distribution<std::uint32_t> hashes(1, 300);  // many collisions
  for (int step = 0; step < 20000; ++step) {
    const std::uint32_t hash = hashes(rng);
    const std::size_t at = find(table, hash);
    REQUIRE((at != Table::npos) == model.contains(hash));
    if (at != Table::npos) {
      REQUIRE(table.at(at).value == model[hash]);
      if (rng() % 2) {
        CHECK(table.remove_at(at).value == model[hash]);
        model.erase(hash);
      }
    } else {
      table.insert(Bucket{hash, step}, [](const Bucket&) { return false; });
      model[hash] = step;
    }
    REQUIRE(table.size() == model.size());
  }
  std::size_t seen = 0;
  table.for_each([&](const Bucket& bucket) {
    CHECK(model.at(bucket.hash) == bucket.value);
    ++seen;
  });
  CHECK(seen == model.size());
  CHECK(table.bytes() >= 4 * model.size() / 3 * sizeof(Bucket));
}
