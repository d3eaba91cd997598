#pragma once
// Stray messages must never stop a long-lived actor.
//
// CAF 0.17's defaults are dangerous for actors that must live as long as the
// node: an unmatched message is printed and answered with an
// `unexpected_message` error, and an event-based actor that receives an
// error it has no handler for *quits* with it. So one stray message kills
// its sender: in round 3 a learner that ignored the supervisor's answer to a
// notice sent that error back, and the supervisor stopped with every later
// report accepted and never applied (docs/RELIABILITY.md, "A node that
// stopped learning").
//
// tolerate_strays() replaces both defaults for one actor: a stray message is
// logged (rate-limited) and dropped, a stray request is answered with the
// error (its sender's request handler deals with it), and an error that
// reaches the actor outside any request is logged, never fatal.
// Call it first thing in the actor's behavior function.

#include <caf/fwd.hpp>

namespace pytheas {

void tolerate_strays(caf::scheduled_actor* self);

}  // namespace pytheas
