#include "core/malloc_arenas.hpp"

#include <malloc.h>

#include <cstdlib>

namespace pytheas {

bool limit_malloc_arenas(int arenas) {
  if (arenas <= 0 || std::getenv("MALLOC_ARENA_MAX") != nullptr) return false;
  return mallopt(M_ARENA_MAX, arenas) == 1;
}

}  // namespace pytheas
