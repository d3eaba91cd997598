#pragma once
// ReplayStats: what `pytheas replay` measured, per wall-clock second since
// the replay started and in total. A decide is "sent" in the second it was
// handed to a connection pool; it succeeds or fails (with a reason) in the
// second its answer or failure arrived; its latency counts from submit to
// answer (client queueing included, so an overloaded node shows up as
// latency rather than hiding behind a slower send rate). Every session gets
// a cost (from the node's decision, or from the fallback decision when the
// decide failed). Reports are counted the same way. Nothing is dropped
// silently: once the replay is over, sent == succeeded + failed and every
// successful decide has a report that succeeded or failed.
// Not thread-safe: the replay's io thread owns it.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pytheas::sim {

struct ReplaySecond {
  std::uint64_t sent = 0;
  std::uint64_t succeeded = 0;
  std::uint64_t failed = 0;
  std::uint64_t reports_sent = 0;
  std::uint64_t reports_ok = 0;
  std::uint64_t reports_failed = 0;
  std::vector<float> latency_ms;  ///< of the decides answered this second
  double cost_sum = 0;
  std::uint64_t cost_count = 0;
};

/// One group's reports, as the players saw them.
struct ReplayGroupReports {
  std::uint64_t accepted = 0;  ///< answered with success (202 json, 200 legacy)
  /// Transport failures (timeout, reset, refused): the node may or may not
  /// have accepted them before failing. With --failover they are retried
  /// elsewhere, so a group may rightly hold up to accepted + in_doubt.
  std::uint64_t in_doubt = 0;
  std::uint64_t refused = 0;  ///< answered with an error status: not accepted
};

struct ReplayTotals {
  std::uint64_t sessions = 0;  ///< decides sent
  std::uint64_t decide_ok = 0;
  std::uint64_t decide_failed = 0;
  std::uint64_t reports_sent = 0;
  std::uint64_t reports_ok = 0;
  std::uint64_t reports_failed = 0;
  std::map<std::string, std::uint64_t> decide_failures;  ///< by reason
  std::map<std::string, std::uint64_t> report_failures;  ///< by reason
  double cost_sum = 0;
  std::uint64_t cost_count = 0;
  double mean_cost() const { return cost_count ? cost_sum / double(cost_count) : 0; }
};

class ReplayStats {
 public:
  void on_sent(std::size_t second);
  /// `failure` is the reason when !ok (e.g. "timeout", "http_503").
  void on_decided(std::size_t second, double latency_s, bool ok, const std::string& failure);
  void on_cost(std::size_t second, double cost);
  void on_report_sent(std::size_t second);
  void on_report_done(std::size_t second, bool ok, const std::string& failure);
  /// Per-group accounting (ReplayOptions::count_by): one report attempt's outcome.
  void on_group_report(const std::string& group, bool ok, bool transport_failed);
  const std::map<std::string, ReplayGroupReports>& groups() const { return groups_; }
  /// At a hard stop: decides still unanswered and reports not done (sent or
  /// not) fail with reason "abandoned".
  void on_abandoned(std::size_t second, std::uint64_t decides, std::uint64_t reports);

  const std::vector<ReplaySecond>& seconds() const { return seconds_; }
  const ReplayTotals& totals() const { return totals_; }
  /// Latency (ms) of every successful decide, in completion order.
  const std::vector<float>& latencies_ms() const { return latencies_ms_; }

 private:
  ReplaySecond& at(std::size_t second);

  std::vector<ReplaySecond> seconds_;
  ReplayTotals totals_;
  std::vector<float> latencies_ms_;
  std::map<std::string, ReplayGroupReports> groups_;
};

/// Nearest-rank p-quantile (0..1) of `values`; 0 when empty. Reorders them.
double replay_quantile(std::vector<float>& values, double p);

}  // namespace pytheas::sim
