#include "logging/log_fields.hpp"

namespace pytheas {

namespace {
// One slot per thread: the fields of the line that thread is logging.
const LogFields*& slot() {
  thread_local const LogFields* fields = nullptr;
  return fields;
}
}  // namespace

const LogFields* current_log_fields() {
  return slot();
}

ScopedLogFields::ScopedLogFields(const LogFields& fields) : previous_(slot()) {
  slot() = &fields;
}

ScopedLogFields::~ScopedLogFields() {
  slot() = previous_;
}

}  // namespace pytheas
