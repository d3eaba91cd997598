// Types for pytheas.js: the Pytheas client for web players (docs/PLAYERS.md).

/** Session features by name (the node's label config; by default the original's 15). */
export type Features = Record<string, string | number>;

export interface DecideRequest {
  features?: Features;
  /** The decisions to choose from (CDN base URLs, bitrates, servers): non-empty, unique. */
  candidates: string[];
  sessionId?: string;
}

export interface DecideOptions {
  /** Longest wait for the node, in ms (default: the client's timeoutMs, 1000). */
  timeoutMs?: number;
  /** The decision to use when the node cannot answer (default: a random candidate). */
  fallback?: string;
}

export interface Decision {
  /** The candidate to use. */
  decision: string;
  /** Quote it in report(); null for a fallback decision. */
  eventId: string | null;
  group: string | null;
  propensity: number | null;
  policy: string | null;
  /** True when the node did not answer in time (or refused): `decision` is the fallback. */
  fallback: boolean;
  /** Why it fell back: "timeout", "network", "http 503", "invalid response"; else null. */
  reason: string | null;
  features: Features;
  candidates: string[];
}

export interface ClientStats {
  /** decide() calls the node answered. */
  decisions: number;
  /** decide() calls answered by the fallback. */
  fallbacks: number;
  fallbackReasons: Record<string, number>;
  /** Reports the node accepted, or the browser queued as a beacon. */
  reports: number;
  /** Of which sent by navigator.sendBeacon on pagehide. */
  beacons: number;
  /** Reports refused (4xx/5xx) or lost on the network. */
  reportFailures: number;
}

export interface ClientOptions {
  /** Default decide() timeout in ms (1000). */
  timeoutMs?: number;
  /** For other runtimes and tests: */
  fetch?: typeof fetch;
  sendBeacon?: (url: string, body: string) => boolean;
  /** Fires "pagehide" (default: window). */
  pageEvents?: EventTarget;
  /** In [0, 1): picks the random fallback (default Math.random). */
  random?: () => number;
}

export class PytheasClient {
  /** @param node the node's base URL, e.g. "https://pytheas.example:8080" */
  constructor(node: string, options?: ClientOptions);
  readonly node: string;
  readonly stats: ClientStats;
  /** Resolves within the timeout, with the node's decision or the fallback; rejects only on bad arguments. */
  decide(request: DecideRequest, options?: DecideOptions): Promise<Decision>;
  /** Reports a QoE score (higher is better) once per decision; resolves true when accepted. */
  report(target: Decision | string, score: number): Promise<boolean>;
  /** Sends score() by beacon if the page is hidden for good first; returns a cancel function. */
  reportOnPageHide(decision: Decision, score: () => number): () => void;
}
