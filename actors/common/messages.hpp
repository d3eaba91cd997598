#pragma once
// Messages between the node's actors (CAF 0.17 style: atom constants plus
// inspectable structs). Only files under actors/ include it.

#include <algorithm>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/none.hpp>
#include <memory>
#include <string>
#include <vector>

#include "actors/common/clock.hpp"
#include "actors/common/group_record.hpp"
#include "config/label_config.hpp"

namespace pytheas {

using report_atom = caf::atom_constant<caf::atom("report")>;           // -> supervisor, -> group
using ensure_atom = caf::atom_constant<caf::atom("ensure")>;           // make a group active
using passivate_atom = caf::atom_constant<caf::atom("passivate")>;     // group: hand state, quit
using checkpoint_atom = caf::atom_constant<caf::atom("checkpoint")>;   // group: save if dirty
using save_atom = caf::atom_constant<caf::atom("save")>;               // -> store
using saved_atom = caf::atom_constant<caf::atom("saved")>;             // store -> supervisor
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;             // supervisor timer
using wave_atom = caf::atom_constant<caf::atom("wave")>;               // supervisor: next wave
using reload_atom = caf::atom_constant<caf::atom("reload")>;           // new label config
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;       // persist all, stop
using crash_atom = caf::atom_constant<caf::atom("crash")>;             // test hook: group throws
using group_failed_atom = caf::atom_constant<caf::atom("grpfailed")>;  // group -> supervisor
using count_atom = caf::atom_constant<caf::atom("count")>;             // active group count
using settle_atom = caf::atom_constant<caf::atom("settle")>;           // group: pick its base state
using surrender_atom = caf::atom_constant<caf::atom("surrender")>;     // give groups' state away
using copy_atom = caf::atom_constant<caf::atom("copy")>;               // a group's state, kept here
using replicate_atom = caf::atom_constant<caf::atom("replicate")>;  // group: state for its standby
using regroup_atom = caf::atom_constant<caf::atom("regroup")>;      // new learned grouping
using ok_atom = caf::atom_constant<caf::atom("ok")>;                // done (a reply)
using ping_atom = caf::atom_constant<caf::atom("ping")>;            // group: are you there? -> ok
using stall_atom = caf::atom_constant<caf::atom("stall")>;  // test hook: group blocks its thread

/// One report on its way to a group.
struct ReportItem {
  std::string decision;
  double score = 0;
  double accepted_at = 0;     ///< monotonic seconds (this process) ingress accepted it
  std::uint64_t wal_seq = 0;  ///< its write-ahead log sequence; 0 when not logged
  ReportStamp stamp;          ///< cluster members: who accepted it, when (core/report_marks.hpp)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ReportStamp& x) {
  return f(caf::meta::type_name("pytheas.report_stamp"), x.origin, x.epoch, x.seq);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ReportItem& x) {
  return f(caf::meta::type_name("pytheas.report_item"), x.decision, x.score, x.accepted_at,
           x.wal_seq, x.stamp);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ReportMarks::Mark& x) {
  return f(caf::meta::type_name("pytheas.report_mark"), x.origin, x.epoch, x.seq);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ReportMarks& x) {
  return f(caf::meta::type_name("pytheas.report_marks"), x.marks());
}

/// A record crosses to another member with the age of its state (how long
/// ago it was written, by the sender's monotonic clock), never the sender's
/// instant: the receiver's clock may be an hour off, or started at another
/// boot. Time in transit is not counted (milliseconds).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, GroupRecord& x) {
  double age = std::max(0.0, monotonic_seconds() - x.written_at);
  return f(caf::meta::type_name("pytheas.group_record"), x.key, x.decisions, x.reports,
           x.last_activity, x.policy_state, age, x.wal_seq, x.marks, x.floor, x.confirmer,
           caf::meta::load_callback([&]() -> caf::error {
             x.written_at = monotonic_seconds() - age;
             return caf::none;
           }));
}

/// What a group answers to settle_atom: whether it replaced its state by a
/// candidate's (then reports it applied before may be missing from it and
/// their origins must send them again), and its marks afterwards.
struct SettleResult {
  bool rebased = false;
  bool took_state = false;  ///< started from (or switched to) another member's copy
  /// It may confirm its reports: it is the group's home, and the member that
  /// confirmed its state last (if another) answered and gave the group up.
  bool confirming = false;
  ReportMarks marks;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, SettleResult& x) {
  return f(caf::meta::type_name("pytheas.settle_result"), x.rebased, x.took_state, x.confirming,
           x.marks);
}

using LabelConfigPtr = std::shared_ptr<const LabelConfig>;

}  // namespace pytheas

// Local-only: label configs travel between actors of one process by pointer.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pytheas::LabelConfigPtr)
