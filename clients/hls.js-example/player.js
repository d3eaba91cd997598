// A web player steered by Pytheas. For each session: ask the node which CDN
// to load the HLS stream from (the candidates are CDN base URLs), play it
// with hls.js, measure the session's QoE from the player's own events
// (qoe.js), and report one score. A session that ends because the tab
// closes reports with navigator.sendBeacon (clients/js/pytheas.js).
//
// Settings come from the query string (docs/PLAYERS.md):
//   node=URL        the Pytheas node (required; it must list this page's origin
//                   in --cors-origin)
//   cdn=URL         a candidate CDN base URL; repeat it (at least one)
//   stream=PATH     the master playlist's path on every CDN (master.m3u8)
//   parallel=N      players at once (1)     sessions=N   stop after N (0: never)
//   watch=S         seconds of playback per session (6)
//   max=S           a session ends after this long anyway (watch + 6)
//   timeout=MS      longest wait for a decision (1000)
//   f.NAME=VALUE    session features (default Asn=web, PlayerType=html5, Liveorvod=vod)
//   w.NAME=VALUE    QoE weights: w.bitrate, w.rebuffer, w.join, w.switch
//   start=top|auto  first rendition: the top one (default) or hls.js's estimate

import Hls from "./node_modules/hls.js/dist/hls.mjs";
import { PytheasClient } from "../js/pytheas.js";
import { DEFAULT_WEIGHTS, QoeTracker, qoeScore } from "./qoe.js";

const params = new URLSearchParams(location.search);
const number = (name, fallback) => {
  const value = Number(params.get(name));
  return params.has(name) && Number.isFinite(value) ? value : fallback;
};

const settings = {
  node: params.get("node") ?? "",
  cdns: params.getAll("cdn").map((u) => (u.endsWith("/") ? u : u + "/")),
  stream: params.get("stream") ?? "master.m3u8",
  parallel: Math.max(1, number("parallel", 1)),
  sessions: Math.max(0, number("sessions", 0)),
  watchS: number("watch", 6),
  timeoutMs: number("timeout", 1000),
  startTop: params.get("start") !== "auto",
  features: { Asn: "web", PlayerType: "html5", Liveorvod: "vod" },
  weights: { ...DEFAULT_WEIGHTS },
};
settings.maxS = number("max", settings.watchS + 6);
for (const [key, value] of params) {
  if (key.startsWith("f.")) settings.features[key.slice(2)] = value;
  if (key.startsWith("w.") && key.slice(2) in DEFAULT_WEIGHTS && Number.isFinite(Number(value)))
    settings.weights[key.slice(2)] = Number(value);
}
settings.features.ObjectId ??= settings.stream;

const $ = (id) => document.getElementById(id);
const cdnName = (url) => {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
};

// What the page shows and keeps (also readable as window.pytheasPlayer).
// `playing`: event ids of the sessions under way (reported by beacon if the tab closes).
const state = { settings, started: 0, finished: [], perCdn: new Map(), playing: new Set(),
                client: null, error: "" };
window.pytheasPlayer = state;

const COLOURS = ["#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c"];  // per CDN

function fail(message) {
  state.error = message;
  $("error").textContent = message;
}

function render() {
  const client = state.client;
  $("sessions").textContent = String(state.finished.length);
  if (client) {
    $("decisions").textContent = String(client.stats.decisions);
    $("fallbacks").textContent = String(client.stats.fallbacks);
    $("reports").textContent = String(client.stats.reports);
    $("beacons").textContent = String(client.stats.beacons);
  }
  const rows = [];
  for (const [i, cdn] of settings.cdns.entries()) {
    const s = state.perCdn.get(cdn) ?? { n: 0, qoe: 0 };
    const share = state.finished.length ? (100 * s.n) / state.finished.length : 0;
    const bar = `width:${share.toFixed(0)}px;background:${COLOURS[i % COLOURS.length]}`;
    rows.push(`<tr><td class="cdn">${cdnName(cdn)}</td><td>${s.n}</td>` +
              `<td><span class="bar" style="${bar}"></span>${share.toFixed(0)}%</td>` +
              `<td>${s.n ? (s.qoe / s.n).toFixed(2) : "–"}</td></tr>`);
  }
  $("per-cdn").innerHTML = rows.join("");
  $("timeline").innerHTML = timeline();
  $("log").innerHTML = state.finished.slice(-12).reverse().map((r) =>
    `<tr><td>${r.index}</td><td class="cdn">${cdnName(r.cdn)}</td><td>${r.policy}</td>` +
    `<td>${r.summary.joinS.toFixed(2)}</td><td>${(100 * r.summary.rebufferRatio).toFixed(0)}%</td>` +
    `<td>${r.summary.meanBitrateMbps.toFixed(2)}</td><td>${r.summary.switches}</td>` +
    `<td class="score">${r.score.toFixed(2)}</td></tr>`).join("");
}

// An SVG of every finished session's QoE in start order, coloured by CDN:
// a change of the best CDN shows as the colours swapping.
function timeline() {
  const width = 560, height = 150, pad = 28;
  const done = [...state.finished].sort((a, b) => a.index - b.index);
  if (done.length === 0) return "";
  const scores = done.map((r) => r.score);
  const low = Math.min(0, ...scores), high = Math.max(1, ...scores);
  const x = (i) => pad + (i * (width - pad - 8)) / Math.max(1, done.length - 1);
  const y = (v) => 8 + ((high - v) * (height - 24)) / (high - low);
  const dots = done.map((r, i) =>
    `<circle cx="${x(i).toFixed(1)}" cy="${y(r.score).toFixed(1)}" r="3" ` +
    `fill="${COLOURS[Math.max(0, settings.cdns.indexOf(r.cdn)) % COLOURS.length]}"/>`).join("");
  const legend = settings.cdns.map((cdn, i) =>
    `<tspan fill="${COLOURS[i % COLOURS.length]}">● ${cdnName(cdn)}</tspan>`).join("  ");
  return `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">` +
    `<line x1="${pad}" x2="${width - 8}" y1="${y(0)}" y2="${y(0)}" stroke="#ccd"/>` +
    `<text x="2" y="${y(high) + 4}" font-size="10">${high.toFixed(1)}</text>` +
    `<text x="2" y="${y(0) + 4}" font-size="10">0</text>` +
    `<text x="2" y="${y(low) + 4}" font-size="10">${low.toFixed(1)}</text>` + dots +
    `<text x="${pad}" y="${height - 2}" font-size="11">${legend}</text></svg>`;
}

// One viewing session in one player slot.
async function session(slot, index) {
  const t0 = performance.now();
  const tracker = new QoeTracker(t0);
  slot.title.textContent = `#${index} asking Pytheas…`;
  const decision = await state.client.decide(
      { features: settings.features, candidates: settings.cdns },
      { timeoutMs: settings.timeoutMs });
  const cdn = decision.decision;
  slot.title.textContent = `#${index} ${cdnName(cdn)}` + (decision.fallback ? " (fallback)" : "");
  slot.card.dataset.cdn = cdn;

  // The tab may close mid-session: then the score so far goes by beacon.
  const cancelBeacon =
      state.client.reportOnPageHide(decision, () => qoeScore(tracker.end(performance.now()),
                                                             settings.weights));
  if (decision.eventId) state.playing.add(decision.eventId);
  const video = slot.video;
  const hls = new Hls({
    // A short forward buffer: sessions are short, and the CDN's pace shows at once.
    maxBufferLength: 4,
    maxMaxBufferLength: 8,
    capLevelToPlayerSize: false,
  });
  let ended;
  const over = new Promise((resolve) => (ended = resolve));
  const now = () => performance.now();
  hls.on(Hls.Events.MANIFEST_PARSED, (_, data) => {
    if (settings.startTop) hls.startLevel = data.levels.length - 1;
    video.play().catch(() => {});
  });
  // FRAG_CHANGED: the fragment under the playhead changed: its rendition is on screen.
  hls.on(Hls.Events.FRAG_CHANGED, (_, data) => {
    const level = hls.levels[data.frag.level];
    if (level) tracker.bitrate(now(), level.bitrate);
  });
  hls.on(Hls.Events.ERROR, (_, data) => {
    if (data.fatal) ended(`error: ${data.details}`);
  });
  const onPlaying = () => tracker.playing(now());
  const onWaiting = () => tracker.stalled(now());
  const onTime = () => {
    if (video.currentTime > 0 && !video.paused) tracker.playing(now());
    if (video.currentTime >= settings.watchS) ended("watched");
  };
  video.addEventListener("playing", onPlaying);
  video.addEventListener("waiting", onWaiting);
  video.addEventListener("timeupdate", onTime);
  hls.loadSource(cdn + settings.stream);
  hls.attachMedia(video);
  const deadline = setTimeout(() => ended("time limit"), settings.maxS * 1000);
  const why = await over;
  clearTimeout(deadline);
  const summary = tracker.end(now());
  video.removeEventListener("playing", onPlaying);
  video.removeEventListener("waiting", onWaiting);
  video.removeEventListener("timeupdate", onTime);
  hls.destroy();
  video.removeAttribute("src");
  video.load();
  cancelBeacon();
  state.playing.delete(decision.eventId);

  const score = qoeScore(summary, settings.weights);
  await state.client.report(decision, score);
  const result = { index, cdn, policy: decision.fallback ? "fallback" : decision.policy,
                   eventId: decision.eventId, summary, score, why };
  state.finished.push(result);
  const s = state.perCdn.get(cdn) ?? { n: 0, qoe: 0 };
  s.n += 1;
  s.qoe += score;
  state.perCdn.set(cdn, s);
  slot.title.textContent = `#${index} ${cdnName(cdn)}: QoE ${score.toFixed(2)}`;
  render();
}

async function runSlot(slot) {
  while (settings.sessions === 0 || state.started < settings.sessions) {
    state.started += 1;
    await session(slot, state.started);
  }
}

function start() {
  if (!settings.node) return fail("no node: add ?node=http://HOST:PORT to the URL");
  if (settings.cdns.length === 0) return fail("no CDN: add &cdn=URL (one per candidate)");
  if (!Hls.isSupported()) return fail("this browser has no Media Source Extensions: hls.js cannot play");
  state.client = new PytheasClient(settings.node, { timeoutMs: settings.timeoutMs });
  $("node").textContent = settings.node;
  $("weights").textContent = Object.entries(settings.weights).map(([k, v]) => `${k} ${v}`).join(", ");
  const grid = $("players");
  const slots = [];
  for (let i = 0; i < settings.parallel; ++i) {
    const card = document.createElement("div");
    card.className = "player";
    const title = document.createElement("div");
    title.className = "title";
    const video = document.createElement("video");
    video.muted = true;
    video.playsInline = true;
    card.append(video, title);
    grid.append(card);
    slots.push({ card, title, video });
  }
  render();
  for (const slot of slots) runSlot(slot).catch((e) => fail(String(e)));
}

start();
