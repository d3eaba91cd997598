// The player's QoE measure (qoe.js): sessions as event sequences with known
// times, and the score the documented formula gives them.
// Run: node --test clients/hls.js-example/test/

import assert from "node:assert/strict";
import { test } from "node:test";

import { DEFAULT_WEIGHTS, QoeTracker, qoeScore } from "../qoe.js";

const close = (actual, expected) =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} is not ${expected}`);

test("smooth playback: join time and bitrate only", () => {
  const t = new QoeTracker(1000);
  t.bitrate(1400, 2e6);
  t.playing(1500);  // first frame 0.5 s after the session started
  const s = t.end(11500);
  assert.equal(s.started, true);
  close(s.joinS, 0.5);
  close(s.playingS, 10);
  close(s.stalledS, 0);
  close(s.meanBitrateMbps, 2);
  assert.equal(s.switches, 0);
  close(qoeScore(s), 2 - 0.5);
});

test("a stall counts in the rebuffer ratio, weighted 4.3", () => {
  const t = new QoeTracker(0);
  t.bitrate(0, 1e6);
  t.playing(200);
  t.stalled(4200);
  t.playing(5200);
  const s = t.end(8200);
  close(s.playingS, 7);
  close(s.stalledS, 1);
  close(s.rebufferRatio, 1 / 8);
  close(s.meanBitrateMbps, 1);
  close(qoeScore(s), 1 - 4.3 / 8 - 0.2);
});

test("a switch is counted by size; the mean bitrate is time-weighted", () => {
  const t = new QoeTracker(0);
  t.bitrate(0, 3e6);
  t.playing(0);
  t.bitrate(2000, 1e6);
  const s = t.end(4000);
  close(s.meanBitrateMbps, 2);
  assert.equal(s.switches, 1);
  close(s.switchMbps, 2);
  close(qoeScore(s), 2 - 2 / 4);
});

test("renditions loaded before the first frame are no switch", () => {
  const t = new QoeTracker(0);
  t.bitrate(10, 2e6);
  t.bitrate(20, 0.8e6);
  t.playing(100);
  const s = t.end(1100);
  assert.equal(s.switches, 0);
  close(s.meanBitrateMbps, 0.8);
});

test("a stall before the first frame is join time, not rebuffering", () => {
  const t = new QoeTracker(0);
  t.stalled(500);  // "waiting" while still joining
  t.playing(1500);
  const s = t.end(2500);
  close(s.joinS, 1.5);
  close(s.stalledS, 0);
});

test("a session that never showed a frame: its whole length is join time", () => {
  const t = new QoeTracker(100);
  t.bitrate(500, 2e6);
  const s = t.end(9100);
  assert.equal(s.started, false);
  close(s.joinS, 9);
  close(s.playingS, 0);
  close(s.meanBitrateMbps, 0);
  close(qoeScore(s), -9);
});

test("events after the end change nothing; end is idempotent", () => {
  const t = new QoeTracker(0);
  t.playing(0);
  t.bitrate(0, 1e6);
  const first = t.end(1000);
  t.stalled(1500);
  t.playing(2000);
  t.bitrate(2500, 5e6);
  assert.deepEqual(t.end(3000), first);
});

test("weights are settings", () => {
  const summary = { meanBitrateMbps: 2, rebufferRatio: 0.1, joinS: 1, switchMbps: 1,
                    playingS: 4 };
  close(qoeScore(summary), 2 - 0.43 - 1 - 0.25);
  close(qoeScore(summary, { join: 0, rebuffer: 10 }), 2 - 1 - 0 - 0.25);
  close(qoeScore(summary, { ...DEFAULT_WEIGHTS, bitrate: 2, switch: 0 }), 4 - 0.43 - 1);
});
