#include "actors/common/stray_messages.hpp"

#include <spdlog/spdlog.h>

#include <caf/all.hpp>

namespace pytheas {

namespace {

/// Logs the first few strays of an actor, then one in a thousand: a sender
/// stuck in a loop must not flood the log.
bool worth_logging(std::uint64_t seen) {
  return seen <= 10 || seen % 1000 == 0;
}

}  // namespace

void tolerate_strays(caf::scheduled_actor* self) {
  auto strays = std::make_shared<std::uint64_t>(0);
  self->set_default_handler(
      [strays](caf::scheduled_actor* actor, caf::message_view& view) -> caf::result<caf::message> {
        const bool request = actor->current_message_id().is_request();
        if (worth_logging(++*strays))
          spdlog::warn("actor {} ({}): {} unexpected {} {} dropped ({} so far)", actor->name(),
                       actor->id(), request ? "answered" : "and", request ? "request" : "message",
                       caf::to_string(view.content()), *strays);
        if (request) return caf::sec::unexpected_message;
        return caf::message{};  // an empty answer to a plain message is never sent
      });
  self->set_error_handler([strays](caf::scheduled_actor* actor, caf::error& error) {
    if (worth_logging(++*strays))
      spdlog::warn("actor {} ({}): error outside any request ignored: {} ({} so far)",
                   actor->name(), actor->id(), actor->system().render(error), *strays);
  });
}

}  // namespace pytheas
