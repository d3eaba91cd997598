#include "simulation/replay.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cmath>
#include <deque>
#include <memory>
#include <unordered_map>

#include "core/errors.hpp"
#include "core/trace_format.hpp"
#include "simulation/replay_http_pool.hpp"

namespace pytheas::sim {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

void ReplayOptions::validate() const {
  if (urls.empty()) throw InvalidInput("at least one --url is needed");
  for (const auto& url : urls) ReplayTarget::parse(url);
  if (rps < 0 || !std::isfinite(rps) || rps > 1e7)
    throw InvalidInput("--rps must be in (0, 1e7], got " + replay_number_text(rps));
  if (rps == 0 && (!(speed > 0) || !std::isfinite(speed) || speed > 1e9))
    throw InvalidInput("--speed must be in (0, 1e9], got " + replay_number_text(speed));
  if (!(duration_s >= 0) || !std::isfinite(duration_s))
    throw InvalidInput("--duration must be >= 0, got " + replay_number_text(duration_s));
  if (!(report_delay_s >= 0) || report_delay_s > 3600)
    throw InvalidInput("--report-delay must be in [0, 3600] s, got " +
                       replay_number_text(report_delay_s));
  if (timeout.count() < 1 || timeout.count() > 600'000)
    throw InvalidInput("--timeout-ms must be in [1, 600000], got " +
                       std::to_string(timeout.count()));
  if (connections < 1 || connections > 10'000)
    throw InvalidInput("--connections must be in [1, 10000], got " + std::to_string(connections));
  if (max_queue < 1) throw InvalidInput("max_queue must be >= 1");
}

namespace {

// Sessions of one trace minute share the decision counts the LoadMap needs.
struct Minute {
  std::uint64_t total = 0;
  std::unordered_map<std::string, std::uint64_t> decided;  // by decision
};

struct Session {
  TraceSession trace;
  std::shared_ptr<Minute> minute;
  std::uint64_t index = 0;
  std::size_t target = 0;
  bool retried = false;  ///< failover: the decide already moved to another URL
};

struct DueReport {
  Clock::time_point due;
  std::shared_ptr<Session> session;
  ReplayDecision decision;
  double cost = 0;
};

std::vector<tcp::endpoint> resolve_targets(asio::io_context& io, const ReplayOptions& options) {
  std::vector<tcp::endpoint> endpoints;
  tcp::resolver resolver(io);
  for (const auto& url : options.urls) {
    const auto target = ReplayTarget::parse(url);
    boost::system::error_code error;
    auto results = resolver.resolve(target.host, std::to_string(target.port), error);
    if (error || results.empty())
      throw InvalidInput("--url '" + url + "': cannot resolve '" + target.host +
                         "': " + error.message());
    // Prefer a loopback address when a name resolves to several.
    tcp::endpoint chosen = results.begin()->endpoint();
    for (const auto& entry : results)
      if (is_loopback_address(entry.endpoint().address().to_string())) {
        chosen = entry.endpoint();
        break;
      }
    if (!options.allow_remote && !is_loopback_address(chosen.address().to_string()))
      throw InvalidInput("--url '" + url + "' is not a loopback address (" +
                         chosen.address().to_string() +
                         "); replaying against a remote node needs --allow-remote");
    endpoints.push_back(chosen);
  }
  return endpoints;
}

class ReplayRun {
 public:
  ReplayRun(asio::io_context& io, TraceSource& source, const ReplayOptions& options,
            ReplayStats& stats, const std::function<void(const ReplayProgress&)>& progress)
      : io_(io),
        source_(source),
        options_(options),
        stats_(stats),
        progress_(progress),
        protocol_(options.protocol, options.schema),
        pace_timer_(io),
        report_timer_(io),
        progress_timer_(io),
        stop_timer_(io) {
    const auto endpoints = resolve_targets(io, options);
    for (std::size_t i = 0; i < endpoints.size(); ++i) {
      targets_.push_back(ReplayTarget::parse(options.urls[i]));
      pools_.push_back(std::make_unique<ReplayHttpPool>(
          io, endpoints[i], targets_.back().host_header(), options.connections, options.timeout,
          options.max_queue));
    }
  }

  ReplayResult run() {
    have_lookahead_ = source_.next(lookahead_);
    start_ = Clock::now();
    last_sent_ = start_;
    last_settled_ = start_;
    asio::post(io_, [this] { pace(); });
    if (progress_) tick_progress();
    io_.run();
    ReplayResult result;
    result.elapsed_s = seconds_since_start();
    result.sending_s = std::chrono::duration<double>(last_sent_ - start_).count();
    result.answering_s = std::chrono::duration<double>(last_settled_ - start_).count();
    result.abandoned = abandoned_;
    result.failovers = failovers_;
    for (const auto& pool : pools_) {
      result.connections_opened.push_back(pool->connections_opened());
      result.idle_retries.push_back(pool->retries());
    }
    return result;
  }

 private:
  double seconds_since_start() const {
    return std::chrono::duration<double>(Clock::now() - start_).count();
  }
  std::size_t second_now() const { return static_cast<std::size_t>(seconds_since_start()); }

  static std::int64_t minute_of(std::int64_t time_ms, std::int64_t first_ms) {
    return (time_ms / 1000 - first_ms / 1000) / 60;
  }

  // Reads the next trace minute into buffer_; false at the end of the trace.
  bool fill_buffer() {
    if (!buffer_.empty()) return true;
    if (!have_lookahead_) return false;
    if (first_ms_ < 0) first_ms_ = lookahead_.time_ms;
    const auto minute_id = minute_of(lookahead_.time_ms, first_ms_);
    auto minute = std::make_shared<Minute>();
    do {
      auto session = std::make_shared<Session>();
      session->trace = std::move(lookahead_);
      session->minute = minute;
      buffer_.push_back(std::move(session));
      lookahead_ = TraceSession{};
      have_lookahead_ = source_.next(lookahead_);
    } while (have_lookahead_ && minute_of(lookahead_.time_ms, first_ms_) == minute_id);
    minute->total = buffer_.size();
    return true;
  }

  Clock::time_point due_of(const Session& session, std::uint64_t index) const {
    const double offset_s = options_.rps > 0
                                ? double(index) / options_.rps
                                : double(session.trace.time_ms - first_ms_) / 1e3 / options_.speed;
    return start_ +
           std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(offset_s));
  }

  // Sends every session that is due, at most kBurst per call, then sleeps
  // until the next one is due.
  void pace() {
    constexpr int kBurst = 10'000;
    const auto now = Clock::now();
    const bool out_of_time =
        options_.duration_s > 0 && seconds_since_start() >= options_.duration_s;
    for (int sent = 0; sent < kBurst; ++sent) {
      if (out_of_time || !fill_buffer()) {
        sending_done_ = true;
        arm_stop_deadline();
        maybe_finish();
        return;
      }
      auto& next = buffer_.front();
      const auto due = due_of(*next, sent_);
      if (due > now) {
        pace_timer_.expires_at(due);
        pace_timer_.async_wait([this](boost::system::error_code error) {
          if (!error) pace();
        });
        return;
      }
      auto session = std::move(next);
      buffer_.pop_front();
      send_decide(std::move(session));
    }
    asio::post(io_, [this] { pace(); });
  }

  /// `preferred`, or with failover the next URL not marked down.
  std::size_t live_target(std::size_t preferred) {
    if (!options_.failover) return preferred;
    if (down_until_.size() != pools_.size()) down_until_.assign(pools_.size(), Clock::time_point{});
    const auto now = Clock::now();
    for (std::size_t i = 0; i < pools_.size(); ++i) {
      auto candidate = (preferred + i) % pools_.size();
      if (down_until_[candidate] <= now) return candidate;
    }
    return preferred;  // all down: keep trying the planned one
  }

  void mark_down(std::size_t target) {
    live_target(target);  // sizes down_until_
    down_until_[target] =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(options_.failover_hold_s));
  }

  void send_decide(std::shared_ptr<Session> session) {
    session->index = sent_++;
    session->target = live_target(session->index % pools_.size());
    trace_position_s_ = double(session->trace.time_ms - first_ms_) / 1e3;
    last_sent_ = Clock::now();
    stats_.on_sent(second_now());
    post_decide(std::move(session));
  }

  void post_decide(std::shared_ptr<Session> session) {
    ReplayRequest request;
    try {
      request = protocol_.decide_request(session->trace);
    } catch (const InvalidInput& e) {
      throw InvalidInput("trace session " + std::to_string(session->index + 1) + ": " + e.what());
    }
    ++outstanding_decides_;
    auto& pool = *pools_[session->target];
    pool.post(targets_[session->target].prefix + request.path, std::move(request.content_type),
              std::move(request.body), [this, session](HttpOutcome&& outcome) {
                --outstanding_decides_;
                on_decided(session, std::move(outcome));
              });
  }

  void on_decided(const std::shared_ptr<Session>& session, HttpOutcome outcome) {
    if (options_.failover && !outcome.transport_ok && !session->retried && pools_.size() > 1) {
      // Failover: this URL is down; the same session tries the next one.
      mark_down(session->target);
      session->retried = true;
      session->target = live_target((session->target + 1) % pools_.size());
      ++failovers_;
      post_decide(session);
      return;
    }
    std::string why;
    std::optional<ReplayDecision> decision;
    if (outcome.transport_ok)
      decision = protocol_.parse_decide(outcome.status, outcome.body, session->trace, why);
    else
      why = outcome.error;
    last_settled_ = Clock::now();
    const auto second = second_now();
    stats_.on_decided(second, outcome.seconds, decision.has_value(), why);

    // The cost model (the fallback decision when the node did not answer).
    const auto& trace = session->trace;
    const std::size_t chosen_index = [&] {
      if (!decision) return std::size_t{0};
      for (std::size_t i = 0; i < trace.decisions.size(); ++i)
        if (trace.decisions[i].decision == decision->decision) return i;
      return std::size_t{0};
    }();
    const auto& chosen = trace.decisions[chosen_index];
    auto& minute = *session->minute;
    const double share = double(++minute.decided[chosen.decision]) /
                         double(std::max<std::uint64_t>(minute.total, 1));
    const double cost = chosen.cost.value * trace.load_factor(chosen.decision, share);
    stats_.on_cost(second, cost);

    if (decision) {
      const auto due = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(options_.report_delay_s));
      reports_.push_back(DueReport{due, session, std::move(*decision), cost});
      if (reports_.size() == 1) arm_report_timer();
    }
    maybe_finish();
  }

  void arm_report_timer() {
    report_timer_.expires_at(reports_.front().due);
    report_timer_.async_wait([this](boost::system::error_code error) {
      if (!error) send_due_reports();
    });
  }

  void send_due_reports() {
    const auto now = Clock::now();
    while (!reports_.empty() && reports_.front().due <= now) {
      auto report = std::move(reports_.front());
      reports_.pop_front();
      auto request = protocol_.report_request(report.session->trace, report.decision, report.cost);
      stats_.on_report_sent(second_now());
      post_report(report.session, std::move(request), false);
    }
    if (!reports_.empty()) arm_report_timer();
  }

  /// The session's group under options_.count_by.
  std::string group_of(const TraceSession& trace) const {
    std::vector<std::string_view> features(trace.features.begin(), trace.features.end());
    return options_.count_by->key(features);
  }

  void post_report(std::shared_ptr<Session> session, ReplayRequest request, bool retried) {
    // With failover a report avoids a URL marked down (a protocol that
    // reports by features can be reported anywhere; one by event id fails).
    if (options_.failover) session->target = live_target(session->target);
    ++outstanding_reports_;
    auto target = session->target;
    auto retry = request;
    pools_[target]->post(
        targets_[target].prefix + request.path, std::move(request.content_type),
        std::move(request.body),
        [this, session, retry = std::move(retry), retried](HttpOutcome&& outcome) mutable {
          --outstanding_reports_;
          if (options_.count_by)
            stats_.on_group_report(
                group_of(session->trace),
                outcome.transport_ok && outcome.status == protocol_.report_success_status(),
                !outcome.transport_ok);
          if (options_.failover && !outcome.transport_ok && !retried && pools_.size() > 1) {
            mark_down(session->target);
            session->target = (session->target + 1) % pools_.size();
            ++failovers_;
            post_report(session, std::move(retry), true);
            return;
          }
          const bool ok =
              outcome.transport_ok && outcome.status == protocol_.report_success_status();
          stats_.on_report_done(
              second_now(), ok,
              outcome.transport_ok ? "http_" + std::to_string(outcome.status) : outcome.error);
          maybe_finish();
        });
  }

  // After the last decide: its answer may take a timeout, its report is due
  // report_delay later and may take another timeout; whatever is not done
  // by then (+1 s of slack) is abandoned (counted), so the run always ends.
  void arm_stop_deadline() {
    const auto grace = std::chrono::duration<double>(options_.report_delay_s + 1) +
                       2 * std::chrono::duration<double>(options_.timeout);
    stop_timer_.expires_after(std::chrono::duration_cast<Clock::duration>(grace));
    stop_timer_.async_wait([this](boost::system::error_code error) {
      if (error) return;
      abandoned_ = outstanding_decides_ + outstanding_reports_ + reports_.size();
      stats_.on_abandoned(second_now(), outstanding_decides_,
                          outstanding_reports_ + reports_.size());
      stop();
    });
  }

  void maybe_finish() {
    if (sending_done_ && outstanding_decides_ == 0 && outstanding_reports_ == 0 && reports_.empty())
      stop();
  }

  void stop() {
    if (stopped_) return;
    stopped_ = true;
    if (progress_) progress_(snapshot());
    io_.stop();
  }

  ReplayProgress snapshot() const {
    const auto& totals = stats_.totals();
    ReplayProgress progress;
    progress.elapsed_s = seconds_since_start();
    progress.sent = totals.sessions;
    progress.decide_ok = totals.decide_ok;
    progress.decide_failed = totals.decide_failed;
    progress.reports_ok = totals.reports_ok;
    progress.trace_position_s = trace_position_s_;
    return progress;
  }

  void tick_progress() {
    progress_timer_.expires_after(std::chrono::milliseconds(250));
    progress_timer_.async_wait([this](boost::system::error_code error) {
      if (error || stopped_) return;
      progress_(snapshot());
      tick_progress();
    });
  }

  asio::io_context& io_;
  TraceSource& source_;
  const ReplayOptions& options_;
  ReplayStats& stats_;
  const std::function<void(const ReplayProgress&)>& progress_;
  ReplayProtocol protocol_;
  std::vector<ReplayTarget> targets_;
  std::vector<std::unique_ptr<ReplayHttpPool>> pools_;
  asio::steady_timer pace_timer_, report_timer_, progress_timer_, stop_timer_;

  TraceSession lookahead_;
  bool have_lookahead_ = false;
  std::int64_t first_ms_ = -1;
  std::deque<std::shared_ptr<Session>> buffer_;  // the current trace minute, not yet sent
  std::deque<DueReport> reports_;                // FIFO: the delay is constant

  Clock::time_point start_, last_sent_, last_settled_;
  std::uint64_t sent_ = 0;
  std::uint64_t outstanding_decides_ = 0;  // in a pool, not answered yet
  std::uint64_t outstanding_reports_ = 0;
  std::uint64_t abandoned_ = 0;
  std::uint64_t failovers_ = 0;
  std::vector<Clock::time_point> down_until_;  ///< failover: per URL
  double trace_position_s_ = 0;
  bool sending_done_ = false;
  bool stopped_ = false;
};

}  // namespace

ReplayResult run_replay(TraceSource& source, const ReplayOptions& options, ReplayStats& stats,
                        const std::function<void(const ReplayProgress&)>& progress) {
  options.validate();
  asio::io_context io(1);
  auto run = std::make_unique<ReplayRun>(io, source, options, stats, progress);
  return run->run();
}

}  // namespace pytheas::sim
