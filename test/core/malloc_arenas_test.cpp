#include "core/malloc_arenas.hpp"

#include <malloc.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using pytheas::limit_malloc_arenas;

namespace {

/// How many arenas glibc has (malloc_info lists one <heap> per arena).
[[maybe_unused]] int arena_count() {  // unused under sanitizers
  char* text = nullptr;
  std::size_t size = 0;
  FILE* out = open_memstream(&text, &size);
  malloc_info(0, out);
  std::fclose(out);
  const std::string info(text, size);
  std::free(text);
  int count = 0;
  for (auto at = info.find("<heap nr="); at != std::string::npos;
       at = info.find("<heap nr=", at + 1))
    ++count;
  return count;
}

}  // namespace

TEST_CASE("limit_malloc_arenas: threads started after it create no arenas", "[malloc]") {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  WARN("a sanitizer's allocator replaces glibc's arenas: nothing to check");
  return;
#else
  REQUIRE_FALSE(limit_malloc_arenas(0));  // 0: glibc's default stays
  if (std::getenv("MALLOC_ARENA_MAX")) {
    REQUIRE_FALSE(limit_malloc_arenas(1));  // the operator's setting wins
    return;
  }
  const int before = arena_count();
  REQUIRE(before >= 1);
  REQUIRE(limit_malloc_arenas(1));
  // Without the limit, each of these threads' first malloc makes a new arena
  // (glibc allows 8 per core).
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([] {
      std::vector<std::unique_ptr<char[]> > blocks;
      for (int i = 0; i < 1000; ++i) blocks.push_back(std::make_unique<char[]>(64 + i % 200));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // overlap the threads
    });
  for (auto& thread : threads) thread.join();
  CHECK(arena_count() == before);
#endif
}
