#include "http/api.hpp"

#include <algorithm>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <optional>

#include "actors/node/decision_service.hpp"
#include "core/errors.hpp"
#include "http/dashboard_assets.hpp"
#include "http/errors.hpp"
#include "http/json_codec.hpp"
#include "http/legacy_protocol.hpp"
#include "http/metrics.hpp"
#include "http/stats_json.hpp"
#include "logging/log_fields.hpp"

namespace pytheas::http {

namespace bhttp = boost::beast::http;

namespace {

Response text_response(const Request& request, unsigned status, std::string body,
                       const char* content_type = "text/plain; charset=utf-8") {
  Response response{static_cast<bhttp::status>(status), request.version()};
  response.set(bhttp::field::content_type, content_type);
  response.body() = std::move(body);
  return response;
}

Response json_response(const Request& request, unsigned status, std::string body) {
  return text_response(request, status, std::move(body), "application/json");
}

Response error(const Request& request, unsigned status, std::string_view code,
               std::string_view message) {
  return error_response(status, request.version(), code, message);
}

Response overloaded(const Request& request) {
  auto response = error(request, 503, "overloaded", "report queue is full; retry later");
  response.set(bhttp::field::retry_after, "1");
  return response;
}

Response method_not_allowed(const Request& request, std::string_view allow) {
  auto response =
      error(request, 405, "method_not_allowed",
            std::string(request.method_string().data(), request.method_string().size()) +
                " is not allowed here; use " + std::string(allow));
  response.set(bhttp::field::allow, boost::beast::string_view(allow.data(), allow.size()));
  return response;
}

// Decodes %XX in a URL path segment ('+' stays a plus). False on a bad escape.
bool path_decode(std::string_view encoded, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] != '%') {
      out.push_back(encoded[i]);
      continue;
    }
    if (i + 2 >= encoded.size()) return false;
    unsigned value = 0;
    auto [end, ec] = std::from_chars(encoded.data() + i + 1, encoded.data() + i + 3, value, 16);
    if (ec != std::errc() || end != encoded.data() + i + 3) return false;
    out.push_back(static_cast<char>(value));
    i += 2;
  }
  return true;
}

// The value of `name` in a query string ("a=1&b=2"), undecoded.
std::string_view query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
  }
  return {};
}

std::string_view report_status_name(ReportStatus status) {
  switch (status) {
    case ReportStatus::accepted:
      return "accepted";
    case ReportStatus::unknown_event:
      return "unknown_event";
    case ReportStatus::duplicate:
      return "duplicate";
    case ReportStatus::overloaded:
      return "overloaded";
  }
  return "invalid";
}

ReportOutcome outcome_of(ReportStatus status) {
  switch (status) {
    case ReportStatus::accepted:
      return ReportOutcome::accepted;
    case ReportStatus::unknown_event:
      return ReportOutcome::unknown_event;
    case ReportStatus::duplicate:
      return ReportOutcome::duplicate;
    case ReportStatus::overloaded:
      return ReportOutcome::overloaded;
  }
  return ReportOutcome::invalid;
}

// Per-thread buffers for the legacy protocol (reused across requests).
struct LegacyScratch {
  LegacyForm form;
  std::vector<std::string_view> fields;
  std::vector<std::string_view> features;
};

LegacyScratch& legacy_scratch() {
  thread_local LegacyScratch instance;
  return instance;
}

class ApiHandler final : public Handler {
 public:
  ApiHandler(DecisionService& service, ApiOptions options)
      : service_(service),
        options_(options),
        codec_(service.schema(), JsonLimits{options.max_json_depth, options.max_candidates}),
        legacy_map_(service.schema()),
        legacy_cors_(options_.player_cors.allows_none() ? CorsPolicy::any()
                                                        : options_.player_cors) {}

  // Called in-process (tests, fuzzing): no network peer, so trusted as local.
  Response handle(Request& request) override {
    return handle(request, RequestContext{.peer_is_loopback = true});
  }

  Response handle(Request& request, const RequestContext& context) override {
    const auto start = std::chrono::steady_clock::now();
    Route route = Route::unknown;
    Response response;
    try {
      response = dispatch(request, context, route);
    } catch (const InvalidInput& e) {
      response = error(request, 400, "invalid_input", e.what());
    } catch (const std::exception& e) {
      response = error(request, 500, "internal", e.what());
    }
    // Player routes answer browsers on other origins (errors too, so a page
    // can read why); a preflight's answer already says all it grants.
    if (const CorsPolicy* cors = player_cors(route); cors && !CorsPolicy::is_preflight(request))
      cors->grant(request, response);
    metrics_.record(route, response.result_int(), std::chrono::steady_clock::now() - start);
    return response;
  }

  Metrics* metrics() override { return &metrics_; }

 private:
  // The CORS policy of a player route; null for every other route (admin
  // routes never grant CORS).
  const CorsPolicy* player_cors(Route route) const {
    switch (route) {
      case Route::decide:
      case Route::report:
        return &options_.player_cors;
      case Route::legacy:
        return &legacy_cors_;
      default:
        return nullptr;
    }
  }

  // A player route's answer to anything but its one method: a CORS preflight
  // gets its policy's answer, another OPTIONS the methods, the rest 405.
  std::optional<Response> other_method(const Request& request, Route route) const {
    if (request.method() == bhttp::verb::post) return std::nullopt;
    if (CorsPolicy::is_preflight(request)) return player_cors(route)->preflight(request, "POST");
    if (request.method() == bhttp::verb::options) {
      Response response{bhttp::status::no_content, request.version()};
      response.set(bhttp::field::allow, "POST, OPTIONS");
      return response;
    }
    return method_not_allowed(request, "POST, OPTIONS");
  }

  // Group inspection reveals every group's traffic and arms: restricted to
  // a bearer token when one is configured, else to local clients (see
  // ApiOptions::admin_token for what counts as local).
  std::optional<Response> admin_refusal(const Request& request, const RequestContext& context) {
    if (!options_.admin_token.empty()) {
      const auto given = request[bhttp::field::authorization];
      const std::string_view value(given.data(), given.size());
      if (value.starts_with("Bearer ") && tokens_equal(value.substr(7), options_.admin_token))
        return std::nullopt;
      auto response =
          error(request, 401, "unauthorized", "admin route: send Authorization: Bearer <token>");
      response.set(bhttp::field::www_authenticate, "Bearer");
      return response;
    }
    if (!options_.listens_on_loopback)
      return error(request, 403, "forbidden",
                   "admin route: this node listens beyond loopback; start it with --admin-token");
    if (!context.peer_is_loopback)
      return error(request, 403, "forbidden",
                   "admin route: only loopback clients (or start the node with --admin-token)");
    if (proxied(request))
      return error(request, 403, "forbidden",
                   "admin route: a proxied request is not a loopback client; start the node "
                   "with --admin-token");
    return std::nullopt;
  }

  // A reverse proxy on this host connects from loopback for every client:
  // any of the headers proxies add means the client may be anywhere.
  static bool proxied(const Request& request) {
    for (const char* name :
         {"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP", "Via"})
      if (request.find(name) != request.end()) return true;
    return false;
  }

  // Compares in time independent of where the first difference is.
  static bool tokens_equal(std::string_view given, std::string_view expected) {
    unsigned char diff = given.size() == expected.size() ? 0 : 1;
    for (std::size_t i = 0; i < given.size(); ++i)
      diff |= static_cast<unsigned char>(given[i] ^ expected[i % expected.size()]);
    return diff == 0;
  }

  Response dispatch(Request& request, const RequestContext& context, Route& route) {
    const std::string_view target(request.target().data(), request.target().size());
    const auto question = target.find('?');
    const std::string_view path = target.substr(0, question);
    const std::string_view query =
        question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
    const auto method = request.method();

    if (path == "/v1/decide") {
      route = Route::decide;
      if (auto answer = other_method(request, route)) return std::move(*answer);
      return decide(request);
    }
    if (path == "/v1/report") {
      route = Route::report;
      if (auto answer = other_method(request, route)) return std::move(*answer);
      return report(request);
    }
    if (path == "/player.php") {
      route = Route::legacy;
      if (auto answer = other_method(request, route)) return std::move(*answer);
      return legacy(request);
    }
    if (path == "/v1/groups" || path == "/v1/groups/") {
      route = Route::groups;
      if (method != bhttp::verb::get) return method_not_allowed(request, "GET");
      if (auto refusal = admin_refusal(request, context)) return std::move(*refusal);
      return groups(request, query);
    }
    if (path.starts_with("/v1/groups/")) {
      route = Route::group;
      if (method != bhttp::verb::get) return method_not_allowed(request, "GET");
      if (auto refusal = admin_refusal(request, context)) return std::move(*refusal);
      return group(request, path.substr(sizeof("/v1/groups/") - 1));
    }
    if (path == "/v1/cluster") {
      route = Route::cluster;
      if (method != bhttp::verb::get) return method_not_allowed(request, "GET");
      if (auto refusal = admin_refusal(request, context)) return std::move(*refusal);
      auto status = service_.cluster_status();
      if (!status)
        return error(request, 404, "not_found",
                     "this node is not a cluster member (started without --cluster)");
      std::string body;
      JsonCodec::write_cluster(*status, body);
      return json_response(request, 200, std::move(body));
    }
    if (path == "/v1/grouping") {
      route = Route::cluster;
      if (method != bhttp::verb::get) return method_not_allowed(request, "GET");
      if (auto refusal = admin_refusal(request, context)) return std::move(*refusal);
      auto status = service_.grouping_status();
      if (!status) return error(request, 404, "not_found", "no grouping status yet");
      std::string body;
      JsonCodec::write_grouping(*status, body);
      return json_response(request, 200, std::move(body));
    }
    if (path == "/metrics") {
      route = Route::metrics;
      if (method != bhttp::verb::get) return method_not_allowed(request, "GET");
      std::string body;
      metrics_.write(service_.stats(), body);
      return text_response(request, 200, std::move(body), "text/plain; version=0.0.4");
    }
    if (path == "/livez") {
      route = Route::livez;
      if (method != bhttp::verb::get) return method_not_allowed(request, "GET");
      return text_response(request, 200, "ok\n");
    }
    if (path == "/readyz") {
      route = Route::readyz;
      if (method != bhttp::verb::get) return method_not_allowed(request, "GET");
      auto why = service_.unready_reason();
      if (why.empty()) return text_response(request, 200, "ready\n");
      return error(request, 503, "not_ready", why);
    }
    if (path == "/v1/stats") {
      route = Route::stats;
      if (method != bhttp::verb::get) return method_not_allowed(request, "GET");
      if (auto refusal = admin_refusal(request, context)) return std::move(*refusal);
      return stats(request, query);
    }
    if (path == "/" || path == "/dashboard" || path.starts_with("/dashboard/")) {
      route = Route::dashboard;
      if (method != bhttp::verb::get) return method_not_allowed(request, "GET");
      return dashboard(request, context, path);
    }
    return error(request, 404, "not_found", "no route " + std::string(path));
  }

  // The dashboard's static files hold no data (it comes from /v1/stats, an
  // admin route). Without an admin token they follow the loopback rule; with
  // one, a browser cannot send the header on page load, so the page loads
  // and asks for the token before fetching anything.
  Response dashboard(const Request& request, const RequestContext& context, std::string_view path) {
    if (options_.admin_token.empty())
      if (auto refusal = admin_refusal(request, context)) return std::move(*refusal);
    const bool page = path == "/" || path == "/dashboard" || path == "/dashboard/";
    const DashboardAsset* asset = find_dashboard_asset(page ? "/dashboard/" : path);
    if (!asset) return error(request, 404, "not_found", "no route " + std::string(path));
    auto response = text_response(request, 200, std::string(asset->body),
                                  std::string(asset->content_type).c_str());
    response.set(bhttp::field::cache_control, "no-cache");
    response.set("X-Content-Type-Options", "nosniff");
    response.set("Content-Security-Policy",
                 "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                 "connect-src 'self'; frame-ancestors 'none'");
    return response;
  }

  Response stats(const Request& request, std::string_view query) {
    StatsOptions stats_options;
    if (const auto text = query_param(query, "groups"); !text.empty()) {
      std::size_t value = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec != std::errc() || end != text.data() + text.size() || value > kMaxStatsGroups)
        return error(request, 400, "invalid_field", "'groups' must be an integer in 0..100");
      stats_options.max_groups = value;
    }
    stats_options.now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::string body;
    write_stats(service_, metrics_, stats_options, body);
    auto response = json_response(request, 200, std::move(body));
    response.set(bhttp::field::cache_control, "no-store");
    return response;
  }

  static constexpr std::size_t kMaxStatsGroups = 100;

  Response decide(const Request& request) {
    DecideRequest decide_request;
    CodecError codec_error;
    if (!codec_.parse_decide(request.body(), decide_request, codec_error))
      return error(request, 400, codec_error.code, codec_error.message);
    const DecideResult result = service_.decide(decide_request);
    if (result.index >= decide_request.candidates.size())
      return error(request, 500, "internal", "decision index out of range");
    log_event(spdlog::level::debug,
              LogFields{.event_id = result.event_id,
                        .group = result.group,
                        .decision = decide_request.candidates[result.index],
                        .policy = result.policy,
                        .propensity = result.propensity},
              "decide");
    std::string body;
    JsonCodec::write_decide(result, decide_request.candidates[result.index], body);
    return json_response(request, 200, std::move(body));
  }

  Response report(const Request& request) {
    ParsedReport parsed;
    CodecError codec_error;
    if (!codec_.parse_report(request.body(), parsed, codec_error)) {
      metrics_.record_report(ReportOutcome::invalid);
      return error(request, 400, codec_error.code, codec_error.message);
    }
    ReportStatus status;
    try {
      status =
          parsed.by_event
              ? service_.report_event(parsed.event_id, parsed.score)
              : service_.report(ReportByFeatures{parsed.features, parsed.decision, parsed.score});
    } catch (const InvalidInput&) {
      metrics_.record_report(ReportOutcome::invalid);
      throw;
    }
    metrics_.record_report(outcome_of(status));
    log_event(spdlog::level::debug,
              LogFields{.event_id = parsed.event_id,
                        .decision = parsed.decision,
                        .outcome = report_status_name(status),
                        .score = parsed.score},
              "report");
    switch (status) {
      case ReportStatus::accepted:
        return json_response(request, 202, "{\"status\":\"accepted\"}\n");
      case ReportStatus::unknown_event:
        return error(request, 404, "unknown_event",
                     "event '" + std::string(parsed.event_id) + "' is unknown or expired");
      case ReportStatus::duplicate:
        return error(request, 409, "duplicate_report",
                     "event '" + std::string(parsed.event_id) + "' was already reported");
      case ReportStatus::overloaded:
        return overloaded(request);
    }
    return error(request, 500, "internal", "unexpected report status");
  }

  // POST /player.php: the original protocol, replies exactly as its PHP did.
  Response legacy(const Request& request) {
    auto& s = legacy_scratch();
    if (!parse_legacy_form(request.body(), s.form))
      return error(request, 400, "invalid_form", "malformed %-escape in the form body");
    if (!s.form.has_method)
      return error(request, 400, "missing_field", "missing form field 'method'");
    if (!s.form.has_payload)
      return error(request, 400, "missing_field", "missing form field 'payload'");
    split_tabs(s.form.payload, s.fields);
    const bool is_request = s.form.method == "request";
    if (!is_request && s.form.method != "update")
      return error(request, 400, "invalid_field", "'method' must be request or update");
    if (s.fields.size() < kLegacyFeatureCount + 1 + (is_request ? 0 : 1))
      return error(request, 400, "invalid_payload",
                   is_request ? "payload needs 15 feature values then at least one candidate"
                              : "payload needs 15 feature values, the decision and the cost");
    legacy_map_.map(s.fields.data(), s.features);
    const FeatureView features(s.features.data(), s.features.size());
    if (is_request) {
      DecideRequest decide_request;
      decide_request.features = features;
      decide_request.candidates =
          Candidates(s.fields.data() + kLegacyFeatureCount, s.fields.size() - kLegacyFeatureCount);
      decide_request.issue_event_id = false;  // legacy updates report by features
      const DecideResult result = service_.decide(decide_request);
      if (result.index >= decide_request.candidates.size())
        return error(request, 500, "internal", "decision index out of range");
      log_event(spdlog::level::debug,
                LogFields{.group = result.group,
                          .decision = decide_request.candidates[result.index],
                          .policy = result.policy,
                          .propensity = result.propensity},
                "legacy decide");
      return legacy_reply(request, std::string(decide_request.candidates[result.index]));
    }
    if (s.fields.size() != kLegacyFeatureCount + 2)
      return error(request, 400, "invalid_payload",
                   "update payload is 15 feature values, the decision and the cost");
    const auto cost = parse_legacy_cost(s.fields[kLegacyFeatureCount + 1]);
    if (!cost) {
      metrics_.record_report(ReportOutcome::invalid);
      return error(request, 400, "invalid_score", "the cost must be a finite number");
    }
    // The trace tools report a cost (lower is better); policies maximise QoE.
    const ReportStatus status =
        service_.report(ReportByFeatures{features, s.fields[kLegacyFeatureCount], -*cost});
    metrics_.record_report(outcome_of(status));
    if (status == ReportStatus::overloaded) return overloaded(request);
    return legacy_reply(request, std::string());
  }

  // Access-Control-Allow-Origin (by default "*", as the PHP sent it) comes
  // from legacy_cors_ in handle().
  static Response legacy_reply(const Request& request, std::string body) {
    return text_response(request, 200, std::move(body), "text/html; charset=UTF-8");
  }

  Response groups(const Request& request, std::string_view query) {
    std::size_t limit = options_.max_groups_listed;
    if (const auto text = query_param(query, "limit"); !text.empty()) {
      std::size_t value = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec != std::errc() || end != text.data() + text.size())
        return error(request, 400, "invalid_field", "'limit' must be a non-negative integer");
      limit = std::min(value, options_.max_groups_listed);
    }
    auto all = service_.groups();
    std::sort(all.begin(), all.end(),
              [](const GroupInfo& a, const GroupInfo& b) { return a.key < b.key; });
    std::string body;
    JsonCodec::write_groups(all, limit, body);
    return json_response(request, 200, std::move(body));
  }

  Response group(const Request& request, std::string_view encoded_key) {
    std::string key;
    if (!path_decode(encoded_key, key) || key.empty())
      return error(request, 400, "invalid_field", "malformed group key in the path");
    const auto info = service_.group(key);
    if (!info) return error(request, 404, "unknown_group", "no group '" + key + "'");
    std::string body;
    JsonCodec::write_group(*info, body);
    return json_response(request, 200, std::move(body));
  }

  DecisionService& service_;
  ApiOptions options_;
  JsonCodec codec_;
  LegacyFeatureMap legacy_map_;
  CorsPolicy legacy_cors_;  // /player.php: options_.player_cors, else any origin
  Metrics metrics_;
};

}  // namespace

std::shared_ptr<Handler> make_api_handler(DecisionService& service, ApiOptions options) {
  return std::make_shared<ApiHandler>(service, options);
}

}  // namespace pytheas::http
