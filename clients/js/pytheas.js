// Pytheas client for web players: one dependency-free ES module.
//
// A player asks a Pytheas node which decision to use (a CDN, a bitrate, a
// server) and later reports the QoE the session got. Contract:
//   - decide() never keeps playback waiting longer than its timeout: when the
//     node is slow, down or refuses, it resolves with a fallback decision (the
//     one given, else a random candidate) and counts it in `stats`;
//   - report() sends one score per decision (a decision reported once is not
//     sent again, whichever path reported it);
//   - reportOnPageHide() reports a session that ends by closing the tab, with
//     navigator.sendBeacon (a text/plain JSON body: a CORS-safelisted type, so
//     the browser sends it without a preflight while the page unloads).
// The node must list the page's origin with `--cors-origin` (docs/PLAYERS.md).
// Types: pytheas.d.ts. Tests: clients/js/test/ (node --test, a real node).

const DEFAULT_TIMEOUT_MS = 1000;

/** A Pytheas node's player API, seen from a web page (or Node.js 18+). */
export class PytheasClient {
  /**
   * @param {string} node base URL of the node, e.g. "https://pytheas.example:8080"
   * @param {object} [options] timeoutMs, and for tests or other runtimes:
   *   fetch, sendBeacon(url, body), pageEvents (an EventTarget firing "pagehide"),
   *   random() in [0, 1)
   */
  constructor(node, options = {}) {
    if (typeof node !== "string" || !/^https?:\/\/[^/]+/.test(node))
      throw new TypeError(`Pytheas: node must be an http(s) base URL, got ${node}`);
    this.node = node.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.fetch = options.fetch ?? globalThis.fetch?.bind(globalThis);
    this.sendBeacon =
      options.sendBeacon ??
      (globalThis.navigator?.sendBeacon
        ? globalThis.navigator.sendBeacon.bind(globalThis.navigator)
        : null);
    this.pageEvents = options.pageEvents ?? (typeof window === "undefined" ? null : window);
    this.random = options.random ?? Math.random;
    this.stats = {
      decisions: 0,  // decide() calls answered by the node
      fallbacks: 0,  // decide() calls answered by the fallback
      fallbackReasons: {},  // reason -> count ("timeout", "network", "http 503", ...)
      reports: 0,  // reports the node accepted (fetch) or the browser queued (beacon)
      beacons: 0,  // of which sent by sendBeacon on pagehide
      reportFailures: 0,  // reports refused or lost (network, 4xx, 5xx)
    };
    this._reported = new WeakSet();  // Decisions reported (fallbacks have no event id)
    this._reportedIds = new Set();  // event ids reported
  }

  /**
   * Asks the node for a decision among `candidates`.
   * Resolves within `timeoutMs` (default: the client's) with a Decision; never rejects
   * for a node or network failure, only for a programming error (bad arguments).
   */
  async decide({ features = {}, candidates, sessionId } = {}, { timeoutMs, fallback } = {}) {
    if (!Array.isArray(candidates) || candidates.length === 0 ||
        !candidates.every((c) => typeof c === "string" && c.length > 0))
      throw new TypeError("Pytheas: candidates must be a non-empty array of non-empty strings");
    if (fallback !== undefined && !candidates.includes(fallback))
      throw new TypeError(`Pytheas: fallback ${fallback} is not one of the candidates`);
    const limit = timeoutMs ?? this.timeoutMs;
    const body = { features, candidates };
    if (sessionId !== undefined) body.session_id = String(sessionId);

    const controller = typeof AbortController === "undefined" ? null : new AbortController();
    let timer = null;
    const timedOut = new Promise((resolve) => {
      timer = setTimeout(() => resolve({ failed: "timeout" }), limit);
    });
    const asked = this._post("/v1/decide", body, controller?.signal).then(
      async (response) => {
        if (!response.ok) return { failed: `http ${response.status}` };
        const answer = await response.json();
        if (typeof answer?.decision !== "string" || !candidates.includes(answer.decision))
          return { failed: "invalid response" };
        return { answer };
      },
      () => ({ failed: "network" }));
    const outcome = await Promise.race([asked, timedOut]);
    clearTimeout(timer);
    if (outcome.failed === "timeout") controller?.abort();
    asked.catch(() => {});  // a late failure after the timeout is not an error

    const decision = {
      decision: null,
      eventId: null,
      group: null,
      propensity: null,
      policy: null,
      fallback: false,
      reason: null,
      features,
      candidates: [...candidates],
    };
    if (outcome.answer) {
      const a = outcome.answer;
      Object.assign(decision, {
        decision: a.decision,
        eventId: a.event_id ?? null,
        group: a.group ?? null,
        propensity: a.propensity ?? null,
        policy: a.policy ?? null,
      });
      this.stats.decisions += 1;
      return decision;
    }
    decision.decision =
        fallback ?? candidates[Math.min(candidates.length - 1,
                                        Math.floor(this.random() * candidates.length))];
    decision.fallback = true;
    decision.reason = outcome.failed;
    this.stats.fallbacks += 1;
    this.stats.fallbackReasons[outcome.failed] =
        (this.stats.fallbackReasons[outcome.failed] ?? 0) + 1;
    return decision;
  }

  /**
   * Reports the session's QoE score (higher is better) for a decision: by its
   * event id, or, for a fallback decision (no event id), by its features and
   * decision. `target` is a Decision from decide() or an event id string.
   * Resolves true when the node accepted it; false when it was refused, lost,
   * or already reported. Never rejects for a node or network failure.
   */
  async report(target, score) {
    const body = this._reportBody(target, score);
    if (body === null) return false;
    this._markReported(target);
    try {
      // keepalive: the request survives the page navigating away meanwhile.
      const response = await this._post("/v1/report", body, undefined, true);
      if (response.status === 202) {
        this.stats.reports += 1;
        return true;
      }
    } catch {
      // network failure: counted below
    }
    this.stats.reportFailures += 1;
    return false;
  }

  /**
   * Sends `score()`'s value for `decision` with navigator.sendBeacon when the
   * page is hidden for good (the "pagehide" event: tab closed, navigation),
   * unless the decision was reported before. Returns a function that cancels it
   * (call it when the session reports normally, or ends without a score).
   */
  reportOnPageHide(decision, score) {
    if (!this.pageEvents) return () => {};
    const onPageHide = () => {
      cancel();
      let value;
      try {
        value = score();
      } catch {
        return;  // the page could not compute a score: nothing to send
      }
      const body = this._reportBody(decision, value);
      if (body === null) return;
      this._markReported(decision);
      const sent = this.sendBeacon?.(this.node + "/v1/report", JSON.stringify(body));
      if (sent) {
        this.stats.reports += 1;
        this.stats.beacons += 1;
      } else {
        this.stats.reportFailures += 1;
      }
    };
    const cancel = () => this.pageEvents.removeEventListener("pagehide", onPageHide);
    this.pageEvents.addEventListener("pagehide", onPageHide);
    return cancel;
  }

  // The /v1/report body for a target, or null if it was reported already.
  _reportBody(target, score) {
    if (typeof score !== "number" || !Number.isFinite(score))
      throw new TypeError(`Pytheas: score must be a finite number, got ${score}`);
    if (typeof target === "string") {
      if (this._reportedIds.has(target)) return null;
      return { event_id: target, score };
    }
    if (!target || typeof target.decision !== "string")
      throw new TypeError("Pytheas: report() needs a Decision from decide() or an event id");
    if (this._reported.has(target) || this._reportedIds.has(target.eventId)) return null;
    if (target.eventId) return { event_id: target.eventId, score };
    return { features: target.features, decision: target.decision, score };
  }

  _markReported(target) {
    if (typeof target === "string") {
      this._reportedIds.add(target);
    } else {
      this._reported.add(target);
      if (target.eventId) this._reportedIds.add(target.eventId);
    }
  }

  _post(path, body, signal, keepalive = false) {
    if (!this.fetch) return Promise.reject(new Error("no fetch in this runtime"));
    return this.fetch(this.node + path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      mode: "cors",
      credentials: "omit",
      keepalive,
      signal,
    });
  }
}
