// pytheas: the single binary. Subcommands: node, simulate, evaluate, trace, replay,
// version.
// Usage errors (unknown flag, bad value) exit 2 with one line naming the problem.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "app/commands.hpp"
#include "app/replay_command.hpp"
#include "app/sim_commands.hpp"
#include "core/web_origin.hpp"

#ifndef PYTHEAS_VERSION
#define PYTHEAS_VERSION "unknown"
#endif

namespace {

using pytheas::app::NodeCommand;

// Checks "HOST:PORT" at parse time so a bad --http is a usage error (exit 2).
struct HostPortValidator : CLI::Validator {
  HostPortValidator() {
    name_ = "HOST:PORT";
    func_ = [](const std::string& value) {
      std::string host;
      std::uint16_t port = 0;
      if (!pytheas::app::parse_host_port(value, host, port))
        return std::string("expected HOST:PORT (e.g. 127.0.0.1:8080), got '" + value + "'");
      return std::string();
    };
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Pytheas-ng: real-time, data-driven QoE optimization (group-based E2)", "pytheas"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");

  NodeCommand node;
  auto* node_cmd = app.add_subcommand("node", "Run a node: HTTP ingress + group actors");
  node_cmd->add_option("--http", node.http, "Listen address HOST:PORT")
      ->capture_default_str()
      ->check(HostPortValidator());
  node_cmd->add_option("--state-dir", node.state_dir,
                       "Directory for persisted group state (empty: no persistence)");
  node_cmd
      ->add_option("--wal", node.wal,
                   "Write-ahead log of accepted reports in STATE_DIR/wal: none (reports "
                   "since the last checkpoint die with a kill -9), batch (synced every "
                   "--wal-batch-ms), always (synced before the 202)")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "batch", "always"}));
  node_cmd
      ->add_option("--wal-batch-ms", node.wal_batch_ms, "--wal batch: write and sync this often")
      ->capture_default_str()
      ->check(CLI::Range(1, 10'000));
  node_cmd
      ->add_option("--labels", node.labels_file,
                   "Label config YAML (default: the original's 15 labels, group by Asn, D-UCB)")
      ->check(CLI::ExistingFile);
  node_cmd->add_option("--decision-log", node.decision_log,
                       "Log every decision (with its propensity) and report to this directory, "
                       "as JSON Lines, for `pytheas evaluate` (docs/EVALUATION.md)");
  node_cmd
      ->add_option("--decision-log-rotate-mb", node.decision_log_rotate_mb,
                   "Decision log: start a new file beyond this size")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 20));
  node_cmd
      ->add_option("--decision-log-rotate-s", node.decision_log_rotate_s,
                   "Decision log: start a new file when the open one is this old")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 1e9));
  node_cmd
      ->add_option("--decision-log-cap-mb", node.decision_log_cap_mb,
                   "Decision log: delete the oldest files beyond this total (0: no cap)")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1} << 30));
  node_cmd
      ->add_option("--decision-log-queue", node.decision_log_queue,
                   "Decision log: records waiting for its writer thread at most (~450 bytes "
                   "each); beyond, records are dropped and counted in /metrics")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{64}, std::size_t{1} << 24));
  auto* cluster_opt = node_cmd->add_option("--cluster", node.cluster_file, "Cluster file YAML")
                          ->check(CLI::ExistingFile);
  auto* name_opt =
      node_cmd->add_option("--name", node.node_name, "This node's name in the cluster file");
  cluster_opt->needs(name_opt);
  name_opt->needs(cluster_opt);
  node_cmd->add_option("--io-threads", node.io_threads, "HTTP io threads (0: one per core)")
      ->capture_default_str()
      ->check(CLI::Range(0, 256));
  node_cmd
      ->add_option("--malloc-arenas", node.malloc_arenas,
                   "glibc malloc arenas: 1 keeps RSS per group lowest; 0: glibc's default "
                   "(MALLOC_ARENA_MAX in the environment wins)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  node_cmd->add_option("--body-limit", node.body_limit, "Max request body bytes (larger: 413)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 30));
  node_cmd
      ->add_option("--header-limit", node.header_limit,
                   "Max request line + header bytes (larger: 431)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{256}, std::size_t{1} << 20));
  node_cmd
      ->add_option("--read-timeout-ms", node.read_timeout_ms,
                   "Max time to receive one request (and send its response); slower "
                   "clients are disconnected")
      ->capture_default_str()
      ->check(CLI::Range(1, 3'600'000));
  node_cmd
      ->add_option("--idle-timeout-ms", node.idle_timeout_ms,
                   "Max time a keep-alive connection may wait for its next request")
      ->capture_default_str()
      ->check(CLI::Range(1, 3'600'000));
  node_cmd
      ->add_option("--max-connections", node.max_connections,
                   "Max open client connections (beyond: 503 + Retry-After)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  node_cmd
      ->add_option("--max-json-depth", node.max_json_depth,
                   "Max nesting of JSON bodies (deeper: 400)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{2}, std::size_t{1024}));
  node_cmd
      ->add_option("--admin-token", node.admin_token,
                   "Bearer token for the admin routes (/v1/groups*, /v1/stats, /v1/cluster, "
                   "/v1/grouping, the dashboard); unset: only loopback clients of a node that "
                   "listens on loopback, never through a proxy (docs/OPERATIONS.md)")
      ->envname("PYTHEAS_ADMIN_TOKEN");
  node_cmd
      ->add_option("--cors-origin", node.cors_origins,
                   "A web origin (http[s]://HOST[:PORT], or * for any) whose pages may call "
                   "/v1/decide, /v1/report and /player.php; repeat it for more (docs/PLAYERS.md)")
      ->take_all()
      ->check([](const std::string& origin) { return pytheas::web_origin_problem(origin); });
  node_cmd
      ->add_option("--drain-timeout-ms", node.drain_timeout_ms,
                   "On SIGTERM, how long in-flight requests may take to finish")
      ->capture_default_str()
      ->check(CLI::Range(0, 600'000));
  node_cmd->add_option("--log-level", node.log_level, "trace|debug|info|warn|error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->envname("PYTHEAS_LOG_LEVEL");
  node_cmd
      ->add_option("--log-format", node.log_format,
                   "text, or json: one object per line with ts, level, msg and, where they "
                   "apply, event_id, group, decision, propensity (docs/OPERATIONS.md)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}))
      ->envname("PYTHEAS_LOG_FORMAT");

  auto* simulate_cmd = app.add_subcommand("simulate", "Replay a trace through the E2 policies");
  pytheas::app::SimulateCommand sim;
  simulate_cmd->add_option("--trace", sim.trace, "Trace file (text or compact)")
      ->required()
      ->check(CLI::ExistingFile);
  simulate_cmd
      ->add_option("--labels", sim.labels,
                   "Label config (YAML) whose policies, per-group overrides and grouping "
                   "(learning included) the simulator runs as a node would; without it, the "
                   "default label config's")
      ->check(CLI::ExistingFile);
  simulate_cmd
      ->add_option("--policy", sim.policies,
                   "Policies, comma-separated: labels (the label config's, per group) ducb "
                   "ducb-original swucb ucb egreedy thompson random fixed:DECISION cfa oracle; "
                   "POLICY@GROUPING overrides --grouping (e.g. ucb@global, ducb@Asn+City, "
                   "ducb@learned)")
      ->capture_default_str();
  simulate_cmd->add_option(
      "--grouping", sim.grouping,
      "global | learned | rules | FEATURE[,FEATURE...] (e.g. Asn,City); default: the label "
      "config's (learned, starting from its `by:`, unless it pins the grouping)");
  simulate_cmd->add_option("--out", sim.out, "Output directory")->required();
  simulate_cmd->add_option("--seed", sim.seed, "Random seed")->capture_default_str();
  simulate_cmd->add_option("--delay", sim.delay_s, "Report delay after a session (s)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0));
  simulate_cmd->add_option("--interval", sim.interval_s, "Width of the CSV time intervals (s)")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 1e9));
  simulate_cmd
      ->add_option("--snapshot-interval", sim.snapshot_interval_s,
                   "Min time between a group's snapshots (s; 0: after every update)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0));
  // Policy and learning knobs: unset, they are the label config's.
  simulate_cmd
      ->add_option("--half-life", sim.half_life_s,
                   "D-UCB discount half-life (s; default: the label config's)")
      ->check(CLI::Range(1e-6, 1e9));
  simulate_cmd
      ->add_option("--exploration", sim.exploration,
                   "UCB exploration factor (default: the label config's)")
      ->check(CLI::Range(0.0, 1e9));
  simulate_cmd
      ->add_option("--epsilon", sim.epsilon,
                   "egreedy exploration share (default: the label config's)")
      ->check(CLI::Range(0.0, 1.0));
  simulate_cmd
      ->add_option("--window", sim.window_s, "swucb window (s; default: the label config's)")
      ->check(CLI::Range(1e-6, 1e9));
  simulate_cmd->add_option("--cfa-refresh", sim.cfa_refresh_s, "cfa: prediction refresh (s)")
      ->capture_default_str()
      ->check(CLI::Range(1e-3, 1e9));
  simulate_cmd->add_option("--cfa-window", sim.cfa_window_s, "cfa: history window (s)")
      ->capture_default_str()
      ->check(CLI::Range(1e-3, 1e9));
  simulate_cmd->add_option("--cfa-explore", sim.cfa_explore, "cfa: share of random sessions")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  simulate_cmd
      ->add_option("--regroup-warmup", sim.regroup_warmup_s,
                   "learned: first regrouping this long after the trace start (s; default: the "
                   "label config's regroup interval, as a node's first learn)")
      ->check(CLI::Range(0.0, 1e9));
  simulate_cmd
      ->add_option("--regroup-interval", sim.regroup_interval_s,
                   "learned: time between regroupings (s; default: the label config's)")
      ->check(CLI::Range(1.0, 1e9));
  simulate_cmd
      ->add_option("--learn-window", sim.learn_window,
                   "learned: samples kept for regrouping (the most recent; default: the label "
                   "config's)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000000}));
  simulate_cmd
      ->add_option("--learn-sample-rate", sim.learn_sample_rate,
                   "learned: share of sessions sampled for the learner (default: the label "
                   "config's)")
      ->check(CLI::Range(1e-9, 1.0));
  simulate_cmd
      ->add_option("--learn-min-samples", sim.learn_min_samples,
                   "learned: fewest samples before a learn (default: the label config's)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000000}));
  simulate_cmd
      ->add_option("--learn-from", sim.learn_from,
                   "learned: samples from the first learned lane's decisions (lane, as a node "
                   "samples its reports) or from uniformly drawn candidates (explore)")
      ->capture_default_str()
      ->check(CLI::IsMember({"lane", "explore"}));
  simulate_cmd
      ->add_option("--min-group-size", sim.min_group_size,
                   "learned: fewest samples a learned group may hold (default: the label "
                   "config's)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000000}));
  bool sim_no_plot = false;
  simulate_cmd->add_flag("--no-plot", sim_no_plot, "Do not draw the PNG plots (gnuplot)");
  simulate_cmd->add_flag("--quiet", sim.quiet, "Print nothing on success (no progress bar)");

  auto* evaluate_cmd = app.add_subcommand(
      "evaluate",
      "Estimate policies' mean score off-policy from a decision log (docs/EVALUATION.md)");
  pytheas::app::EvaluateCommand evaluate;
  evaluate_cmd->add_option("--log", evaluate.log, "A `pytheas node --decision-log` directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  evaluate_cmd
      ->add_option("--policy", evaluate.policies,
                   "Target policies, comma-separated: logged random fixed:DECISION ducb "
                   "ducb-original swucb ucb egreedy thompson")
      ->capture_default_str();
  evaluate_cmd
      ->add_option("--grouping", evaluate.grouping,
                   "Groups of the learning targets and of DR's reward model: logged (the "
                   "node's), global, FEATURE[,FEATURE...], or learned (the targets learn their "
                   "grouping from [Asn] as a node with the default label config does; DR groups "
                   "by Asn)")
      ->capture_default_str();
  evaluate_cmd->add_option("--out", evaluate.out,
                           "Output directory (summary.csv, summary.json, estimates.png)");
  evaluate_cmd
      ->add_option("--time-scale", evaluate.time_scale,
                   "Multiply the log's times by this (a log recorded by `replay --speed S`: S)")
      ->capture_default_str()
      ->check(CLI::Range(1e-6, 1e9));
  evaluate_cmd->add_option("--bootstrap", evaluate.bootstrap, "Bootstrap resamples per interval")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{10}, std::size_t{100000}));
  evaluate_cmd->add_option("--seed", evaluate.seed, "Random seed")->capture_default_str();
  evaluate_cmd->add_option("--half-life", evaluate.half_life_s, "D-UCB discount half-life (s)")
      ->capture_default_str()
      ->check(CLI::Range(1e-6, 1e9));
  evaluate_cmd->add_option("--exploration", evaluate.exploration, "UCB exploration factor")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e9));
  evaluate_cmd->add_option("--epsilon", evaluate.epsilon, "egreedy exploration share")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  evaluate_cmd->add_option("--window", evaluate.window_s, "swucb window (s)")
      ->capture_default_str()
      ->check(CLI::Range(1e-6, 1e9));
  evaluate_cmd
      ->add_option("--snapshot-interval", evaluate.snapshot_interval_s,
                   "Replay: min time between a group's snapshots (s; 0: after every update)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0));
  evaluate_cmd
      ->add_option("--replay-time", evaluate.replay_time,
                   "Replay: the target's clock: compressed (runs at the kept share of the log's, "
                   "so a discount sees the live density) or log (the log's own)")
      ->capture_default_str()
      ->check(CLI::IsMember({"compressed", "log"}));
  evaluate_cmd
      ->add_option("--replay-runs", evaluate.replay_runs,
                   "Replay: independent runs averaged per target (their spread widens the "
                   "interval; learning targets also run as often on half the log, for the "
                   "sparsity bound)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  bool evaluate_no_plot = false;
  evaluate_cmd->add_flag("--no-plot", evaluate_no_plot, "Do not draw estimates.png (gnuplot)");
  evaluate_cmd->add_flag("--quiet", evaluate.quiet, "Print only errors (no progress bar)");

  auto* trace_cmd = app.add_subcommand("trace", "Trace tools");
  trace_cmd->require_subcommand(1);
  auto* generate_cmd = trace_cmd->add_subcommand("generate", "Generate a synthetic trace");
  pytheas::app::TraceGenerateCommand gen;
  generate_cmd->add_option("--config", gen.config, "Generator config YAML (see config/gen-*.yaml)")
      ->required()
      ->check(CLI::ExistingFile);
  generate_cmd->add_option("--out", gen.out, "Output trace file")->required();
  generate_cmd->add_flag("--compact", gen.compact, "Write the compact binary form");
  generate_cmd->add_option("--seed", gen.seed, "Override the config's seed")
      ->check(CLI::Range(std::int64_t{0}, INT64_MAX));
  generate_cmd->add_flag("--quiet", gen.quiet, "No progress bar");
  auto* convert_cmd =
      trace_cmd->add_subcommand("convert", "Convert a trace between text and compact forms");
  pytheas::app::TraceConvertCommand convert;
  convert_cmd->add_option("--in", convert.in, "Input trace (either form)")
      ->required()
      ->check(CLI::ExistingFile);
  convert_cmd->add_option("--out", convert.out, "Output trace file")->required();
  convert_cmd->add_flag("--compact", convert.compact, "Write the compact form (default: text)");
  auto* export_cmd = trace_cmd->add_subcommand(
      "export", "Write a decision log's reported sessions as a trace (chosen decision and cost)");
  pytheas::app::TraceExportCommand trace_export;
  export_cmd->add_option("--log", trace_export.log, "A `pytheas node --decision-log` directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  export_cmd->add_option("--out", trace_export.out, "Output trace file")->required();
  export_cmd->add_flag("--compact", trace_export.compact, "Write the compact form (default: text)");

  auto* replay_cmd =
      app.add_subcommand("replay", "Play a trace against live nodes (docs/REPLAY.md)");
  pytheas::app::ReplayCommand replay;
  replay_cmd->add_option("--trace", replay.trace, "Trace file (text or compact)")
      ->required()
      ->check(CLI::ExistingFile);
  replay_cmd
      ->add_option("--url", replay.urls,
                   "Node URL http://HOST:PORT (repeatable; sessions go round robin)")
      ->required();
  replay_cmd->add_option("--protocol", replay.protocol, "json (/v1) or legacy (/player.php)")
      ->capture_default_str()
      ->check(CLI::IsMember({"json", "legacy"}));
  auto* replay_speed = replay_cmd
                           ->add_option("--speed", replay.speed,
                                        "Trace seconds per wall second (follows trace times)")
                           ->capture_default_str()
                           ->check(CLI::Range(1e-6, 1e9));
  auto* replay_rps =
      replay_cmd->add_option("--rps", replay.rps, "Sessions per second, ignoring trace times")
          ->check(CLI::Range(1e-6, 1e7));
  replay_speed->excludes(replay_rps);
  replay_cmd
      ->add_option("--duration", replay.duration_s, "Stop sending after S seconds (0: whole trace)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e7));
  replay_cmd
      ->add_option("--report-delay", replay.report_delay_s, "Seconds from a decision to its report")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  replay_cmd
      ->add_option("--timeout-ms", replay.timeout_ms, "Per-request timeout (queueing included)")
      ->capture_default_str()
      ->check(CLI::Range(1, 600'000));
  replay_cmd->add_option("--connections", replay.connections, "Keep-alive connections per URL")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000}));
  replay_cmd->add_flag("--failover", replay.failover,
                       "Retry a request that failed at the transport level on the next URL and "
                       "avoid that URL for --failover-hold seconds");
  replay_cmd
      ->add_option("--failover-hold", replay.failover_hold_s, "Seconds a failed URL is avoided")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  replay_cmd->add_flag("--allow-remote", replay.allow_remote,
                       "Allow non-loopback targets (default: only 127.0.0.0/8 and [::1])");
  replay_cmd
      ->add_option("--count-by", replay.count_by,
                   "Count reports per group of these features (groups.csv: accepted, in doubt, "
                   "refused), e.g. --count-by Asn")
      ->delimiter(',');
  replay_cmd->add_option("--out", replay.out, "Output directory")->required();
  bool replay_no_plot = false;
  replay_cmd->add_flag("--no-plot", replay_no_plot, "Do not draw the PNG plots (gnuplot)");
  replay_cmd->add_flag("--quiet", replay.quiet, "No summary line and no progress bar");

  app.add_subcommand("version", "Print the version");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "pytheas: error: %s (try --help)\n", e.what());
    return 2;
  }

  // The command line after the program name, for each run's summary.json.
  const std::vector<std::string> arguments(argv + 1, argv + argc);
  if (app.got_subcommand("version")) {
    std::printf("pytheas %s\n", PYTHEAS_VERSION);
    return 0;
  }
  if (node_cmd->parsed()) {
    node.http_given = node_cmd->get_option("--http")->count() > 0;
    return pytheas::app::run_node(node);
  }
  if (simulate_cmd->parsed()) {
    sim.plot = !sim_no_plot;
    sim.arguments = arguments;
    return pytheas::app::run_simulate(sim);
  }
  if (evaluate_cmd->parsed()) {
    evaluate.plot = !evaluate_no_plot;
    evaluate.arguments = arguments;
    return pytheas::app::run_evaluate(evaluate);
  }
  if (generate_cmd->parsed()) return pytheas::app::run_trace_generate(gen);
  if (convert_cmd->parsed()) return pytheas::app::run_trace_convert(convert);
  if (export_cmd->parsed()) return pytheas::app::run_trace_export(trace_export);
  if (replay_cmd->parsed()) {
    replay.plot = !replay_no_plot;
    replay.arguments = arguments;
    return pytheas::app::run_replay_command(replay);
  }
  return 0;
}
