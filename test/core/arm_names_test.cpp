#include "core/arm_names.hpp"
#include "core/arm_names_pool.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/errors.hpp"

using namespace pytheas;

namespace {

ArmNames::Ptr names_of(const std::vector<std::string>& names) {
  return ArmNames::make(std::span<const std::string>(names));
}

}  // namespace

TEST_CASE("NameKey tells apart names that share a length and their ends", "[arm_names]") {
  CHECK(NameKey::of("abc") == NameKey::of("abc"));
  CHECK_FALSE(NameKey::of("abc") == NameKey::of("abd"));
  CHECK_FALSE(NameKey::of("a") == NameKey::of("aa"));
  // Up to 16 bytes the key holds every byte, so equal keys mean equal names.
  CHECK_FALSE(NameKey::of("cdn-0001") == NameKey::of("cdn-0002"));
  CHECK_FALSE(NameKey::of("0123456789abcdeX") == NameKey::of("0123456789Xbcdef"));
  CHECK(NameKey::of("0123456789abcdef").exact());
  // Beyond 16 bytes the middle is not in the key: lookups compare names.
  CHECK(NameKey::of("0123456789-middle-A-0123456789") ==
        NameKey::of("0123456789-middle-B-0123456789"));
  CHECK_FALSE(NameKey::of("0123456789-middle-A-0123456789").exact());
}

TEST_CASE("ArmNames finds every name, by index, whatever the hint", "[arm_names]") {
  for (int count : {1, 3, 16, 17, 100}) {
    std::vector<std::string> names;
    for (int i = 0; i < count; ++i)
      names.push_back(i % 2 ? "cdn-" + std::to_string(i)
                            : "a-long-decision-name-" + std::to_string(i) + "-end");
    auto list = names_of(names);
    REQUIRE(list->size() == names.size());
    for (std::size_t i = 0; i < names.size(); ++i) {
      CHECK((*list)[i] == names[i]);
      CHECK(list->find(names[i]) == static_cast<std::int32_t>(i));
      for (std::size_t hint : {std::size_t{0}, i, names.size() - 1 - i, names.size() + 5})
        CHECK(list->find(NameKey::of(names[i]), names[i], hint) == static_cast<std::int32_t>(i));
    }
    CHECK(list->find("absent") == ArmNames::kNotFound);
    CHECK(list->find("a-long-decision-name-0-enD") == ArmNames::kNotFound);
  }
}

TEST_CASE("ArmNames with long names sharing a key compares the names", "[arm_names]") {
  auto list = names_of({"0123456789-middle-A-0123456789", "0123456789-middle-B-0123456789"});
  CHECK(list->find("0123456789-middle-B-0123456789") == 1);
  CHECK(list->find("0123456789-middle-A-0123456789") == 0);
  CHECK(list->find("0123456789-middle-C-0123456789") == ArmNames::kNotFound);
}

TEST_CASE("ArmNames rejects empty and duplicated names", "[arm_names]") {
  CHECK_THROWS_WITH(names_of({"a", "b", "a"}), Catch::Contains("duplicate decision 'a'"));
  CHECK_THROWS_AS(names_of({"x", ""}), InvalidInput);
  std::vector<std::string> many;
  for (int i = 0; i < 40; ++i) many.push_back("arm-" + std::to_string(i));
  many.push_back("arm-7");
  CHECK_THROWS_WITH(names_of(many), Catch::Contains("'arm-7'"));
  CHECK_THROWS_AS(names_of({"a"})->with("a"), InvalidInput);
}

TEST_CASE("ArmNames with() and keep() build new lists and leave the old one alone", "[arm_names]") {
  auto list = names_of({"a", "b", "c"});
  auto grown = list->with("d");
  REQUIRE(grown->size() == 4);
  CHECK((*grown)[3] == "d");
  CHECK(list->size() == 3);
  CHECK(list->find("d") == ArmNames::kNotFound);
  std::vector<std::uint8_t> keep{1, 0, 1, 1};
  auto kept = grown->keep(keep);
  REQUIRE(kept->size() == 3);
  CHECK((*kept)[0] == "a");
  CHECK((*kept)[1] == "c");
  CHECK(kept->find("c") == 1);
  CHECK(kept->find("b") == ArmNames::kNotFound);
  CHECK(ArmNames::make(std::span<const std::string_view>{})->empty());
}

TEST_CASE("a pool hands out one list per distinct names, and derived lists from it",
          "[arm_names]") {
  auto pool = ArmNamesPool::make();
  std::vector<std::string_view> abc{"a", "b", "c"};
  auto first = pool->intern(abc);
  CHECK(pool->intern(abc) == first);
  CHECK(first->pool() == pool);
  std::vector<std::string_view> ab{"a", "b"};
  auto shorter = pool->intern(ab);
  CHECK(shorter != first);
  CHECK(shorter->with("c") == first);  // derived lists come from the pool
  std::vector<std::uint8_t> keep{1, 1, 0};
  CHECK(first->keep(keep) == shorter);
  // Lengths are part of the key: {"ab"} is not {"a", "b"}.
  std::vector<std::string_view> joined{"ab"};
  CHECK(pool->intern(joined)->size() == 1);
  // A private list joins the pool through in().
  auto own = names_of({"a", "b", "c"});
  CHECK(own->pool() == nullptr);
  CHECK(own->in(*pool) == first);
  CHECK_THROWS_AS(pool->intern(std::vector<std::string_view>{"x", "x"}), InvalidInput);
}

TEST_CASE("a pool forgets lists nobody uses", "[arm_names]") {
  auto pool = ArmNamesPool::make();
  for (int i = 0; i < 1000; ++i) {
    auto name = "arm-" + std::to_string(i);
    std::vector<std::string_view> one{name};
    pool->intern(one);  // dropped at once
  }
  CHECK(pool->size() < 200);  // swept as it grows
}
