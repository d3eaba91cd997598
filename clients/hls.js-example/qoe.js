// Session QoE for a web player, from the player's own events.
//
// QoeTracker is fed what the page sees, with times in milliseconds on one
// monotonic clock (performance.now() in a page): the rendition on screen
// (bitrate), frames advancing (playing) and playback waiting for data
// (stalled). At the end it summarises the session; qoeScore() turns the
// summary into one number, higher is better (docs/PLAYERS.md):
//
//   QoE = bitrate  × mean bitrate (Mbps, over playing time)
//       − rebuffer × rebuffer ratio (stalled / (stalled + playing) time)
//       − join     × join time (s, from the session start to the first frame)
//       − switch   × bitrate switching (Σ |Δ bitrate| in Mbps per playing second)
//
// in the spirit of the linear QoE models of the streaming literature (Yin et
// al., SIGCOMM 2015: bitrate minus switching minus 4.3 × rebuffering minus a
// startup term). The weights are settings (DEFAULT_WEIGHTS, or the page's
// query string). A session that never showed a frame has a join time of its
// whole length and nothing else.
// Pure: no DOM, no clock of its own, so it runs (and is tested) in Node.js too.

export const DEFAULT_WEIGHTS = Object.freeze({ bitrate: 1, rebuffer: 4.3, join: 1, switch: 1 });

export class QoeTracker {
  /** @param {number} startMs when the session started (before asking for a decision) */
  constructor(startMs) {
    this.startMs = startMs;
    this.state = "joining";  // joining -> playing <-> stalled -> ended
    this.sinceMs = startMs;  // when the current state began
    this.joinMs = null;
    this.playingMs = 0;
    this.stalledMs = 0;
    this.bitrateBps = null;  // rendition on screen
    this.bitrateTimeBits = 0;  // ∫ bitrate dt over playing time (bits·ms/s)
    this.switches = 0;
    this.switchMbps = 0;  // Σ |Δ bitrate| in Mbps
  }

  /** The rendition on screen now has `bps` bits per second. */
  bitrate(nowMs, bps) {
    if (this.state === "ended" || !(bps > 0)) return;
    this._advance(nowMs);
    if (this.bitrateBps !== null && bps !== this.bitrateBps && this.joinMs !== null) {
      this.switches += 1;
      this.switchMbps += Math.abs(bps - this.bitrateBps) / 1e6;
    }
    this.bitrateBps = bps;
  }

  /** Frames are advancing (the video element's "playing" event, or progress). */
  playing(nowMs) {
    if (this.state === "ended" || this.state === "playing") return;
    this._advance(nowMs);
    if (this.joinMs === null) this.joinMs = nowMs - this.startMs;
    this.state = "playing";
  }

  /** Playback waits for data ("waiting" after the first frame). Before it: still joining. */
  stalled(nowMs) {
    if (this.state !== "playing") return;
    this._advance(nowMs);
    this.state = "stalled";
  }

  /** Ends the session; returns its summary (see qoeScore). Idempotent. */
  end(nowMs) {
    if (this.state !== "ended") {
      this._advance(nowMs);
      this.state = "ended";
      this.endMs = nowMs;
    }
    return this.summary();
  }

  /** The session so far (or at its end): times in seconds, bitrates in Mbps. */
  summary(nowMs = this.endMs ?? this.sinceMs) {
    const extra = this.state === "ended" ? 0 : Math.max(0, nowMs - this.sinceMs);
    const playingMs = this.playingMs + (this.state === "playing" ? extra : 0);
    const stalledMs = this.stalledMs + (this.state === "stalled" ? extra : 0);
    const bitTime = this.bitrateTimeBits +
        (this.state === "playing" && this.bitrateBps ? this.bitrateBps * extra : 0);
    const started = this.joinMs !== null;
    const watched = playingMs + stalledMs;
    return {
      started,
      joinS: (started ? this.joinMs : nowMs - this.startMs) / 1000,
      playingS: playingMs / 1000,
      stalledS: stalledMs / 1000,
      rebufferRatio: watched > 0 ? stalledMs / watched : 0,
      meanBitrateMbps: playingMs > 0 ? bitTime / playingMs / 1e6 : 0,
      switches: this.switches,
      switchMbps: this.switchMbps,
    };
  }

  _advance(nowMs) {
    const dt = Math.max(0, nowMs - this.sinceMs);
    if (this.state === "playing") {
      this.playingMs += dt;
      if (this.bitrateBps) this.bitrateTimeBits += this.bitrateBps * dt;
    } else if (this.state === "stalled") {
      this.stalledMs += dt;
    }
    this.sinceMs = Math.max(this.sinceMs, nowMs);
  }
}

/** One QoE number for a session summary (higher is better). */
export function qoeScore(summary, weights = DEFAULT_WEIGHTS) {
  const w = { ...DEFAULT_WEIGHTS, ...weights };
  const switching = summary.switchMbps / Math.max(summary.playingS, 1);
  return w.bitrate * summary.meanBitrateMbps - w.rebuffer * summary.rebufferRatio -
         w.join * summary.joinS - w.switch * switching;
}
