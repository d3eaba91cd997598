// PytheasClient against a real `pytheas node` process (PYTHEAS_BINARY), and
// against the failures a player meets: a node that never answers (a TCP
// server that accepts and stays silent), a node that is down (a closed port),
// a node that refuses the request.
// Run: PYTHEAS_BINARY=build/app/pytheas node --test clients/js/test/

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import { after, before, describe, test } from "node:test";

import { PytheasClient } from "../pytheas.js";

const binary = process.env.PYTHEAS_BINARY;
if (!binary) throw new Error("set PYTHEAS_BINARY to the pytheas binary");

const candidates = ["cdn-a", "cdn-b"];
// Against the live node: generous, a loaded 2-core CI box under ASan is slow.
const liveTimeoutMs = 10000;
// Timer slack of a loaded machine, on top of a timeout.
const slackMs = 1000;

// Starts `pytheas node` on a free loopback port; resolves { url, stop }.
function startNode() {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ["node", "--http", "127.0.0.1:0", "--log-level", "info"],
                        { stdio: ["ignore", "ignore", "pipe"] });
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`node did not start: ${seen}`)), 30000);
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      seen += chunk;
      const match = seen.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (match) {
        clearTimeout(timer);
        resolve({
          url: match[1],
          stop: () => new Promise((done) => {
            child.once("exit", done);
            child.kill("SIGTERM");
          }),
        });
      }
    });
    child.once("exit", (code) => reject(new Error(`node exited ${code}: ${seen}`)));
  });
}

// A TCP server that accepts connections and never answers (a hung node).
function startSilentServer() {
  return new Promise((resolve) => {
    const sockets = new Set();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {});
    });
    server.listen(0, "127.0.0.1", () => resolve({
      url: `http://127.0.0.1:${server.address().port}`,
      stop: () => new Promise((done) => {
        for (const socket of sockets) socket.destroy();
        server.close(done);
      }),
    }));
  });
}

// A loopback port with nothing listening (a node that is down).
function closedPortUrl() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(`http://127.0.0.1:${port}`));
    });
  });
}

async function stats(node) {
  const response = await fetch(`${node.url}/v1/stats?groups=0`);
  return response.json();
}

async function eventually(condition, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// What a browser's navigator.sendBeacon(url, string) does: queue a POST of the
// string with Content-Type text/plain;charset=UTF-8 and return at once.
function beaconLikeBrowser(sent) {
  return (url, body) => {
    sent.push(fetch(url, { method: "POST", headers: { "content-type": "text/plain;charset=UTF-8" },
                           body }));
    return true;
  };
}

describe("against a live node", () => {
  let node;
  before(async () => {
    node = await startNode();
  });
  after(async () => {
    await node?.stop();
  });

  test("decide returns the node's decision; report by event id is accepted once", async () => {
    const client = new PytheasClient(node.url, { timeoutMs: liveTimeoutMs });
    const decision = await client.decide({ features: { Asn: "js-1" }, candidates });
    assert.ok(candidates.includes(decision.decision));
    assert.equal(decision.fallback, false);
    assert.match(decision.eventId, /^[A-Za-z0-9_-]+$/);  // base64url: opaque, URL-safe
    assert.equal(decision.group, "Asn=js-1");
    assert.ok(decision.propensity > 0 && decision.propensity <= 1);
    assert.equal(client.stats.decisions, 1);
    assert.equal(client.stats.fallbacks, 0);

    assert.equal(await client.report(decision.eventId, 3.5), true);
    assert.equal(client.stats.reports, 1);
    // Reported once: the Decision (same event) is not sent again.
    assert.equal(await client.report(decision, 3.5), false);
    assert.equal(await client.report(decision.eventId, 3.5), false);
    assert.ok(await eventually(async () => (await stats(node)).reports_applied === 1));
    assert.equal((await stats(node)).reports_accepted, 1);
  });

  test("a report the node refuses resolves false and is counted", async () => {
    const client = new PytheasClient(node.url, { timeoutMs: liveTimeoutMs });
    assert.equal(await client.report("ffffffffffffffff", 1), false);  // unknown event: 404
    assert.equal(client.stats.reportFailures, 1);
    assert.equal(client.stats.reports, 0);
  });

  test("a request the node refuses (400) falls back, counted with its status", async () => {
    const client = new PytheasClient(node.url, { timeoutMs: liveTimeoutMs, random: () => 0 });
    const decision = await client.decide({ features: { NoSuchFeature: "x" }, candidates });
    assert.equal(decision.fallback, true);
    assert.equal(decision.reason, "http 400");
    assert.equal(decision.decision, "cdn-a");
    assert.deepEqual(client.stats.fallbackReasons, { "http 400": 1 });
  });

  test("pagehide sends the session's score by beacon (text/plain), once", async () => {
    const page = new EventTarget();
    const sent = [];
    const client = new PytheasClient(node.url, { timeoutMs: liveTimeoutMs, pageEvents: page,
                                                  sendBeacon: beaconLikeBrowser(sent) });
    const before = (await stats(node)).reports_accepted;
    const decision = await client.decide({ features: { Asn: "js-beacon" }, candidates });
    let asked = 0;
    client.reportOnPageHide(decision, () => {
      asked += 1;
      return 4.25;
    });
    page.dispatchEvent(new Event("pagehide"));
    page.dispatchEvent(new Event("pagehide"));  // the listener is gone after the first
    assert.equal(asked, 1);
    assert.equal(sent.length, 1);
    assert.equal((await sent[0]).status, 202);  // the node took the text/plain body
    assert.equal(client.stats.beacons, 1);
    assert.equal(client.stats.reports, 1);
    assert.equal(await client.report(decision, 1), false);  // already reported
    assert.equal((await stats(node)).reports_accepted, before + 1);
  });

  test("a cancelled pagehide report sends nothing", async () => {
    const page = new EventTarget();
    const sent = [];
    const client = new PytheasClient(node.url, { timeoutMs: liveTimeoutMs, pageEvents: page,
                                                  sendBeacon: beaconLikeBrowser(sent) });
    const decision = await client.decide({ features: { Asn: "js-cancel" }, candidates });
    const cancel = client.reportOnPageHide(decision, () => 1);
    cancel();
    page.dispatchEvent(new Event("pagehide"));
    assert.equal(sent.length, 0);
    assert.equal(await client.report(decision, 2), true);  // the normal path still works
  });

  test("a fallback decision reports by its features and decision", async () => {
    const silent = await startSilentServer();
    try {
      const stuck = new PytheasClient(silent.url, { timeoutMs: 50 });
      const decision = await stuck.decide({ features: { Asn: "js-fallback" }, candidates },
                                          { fallback: "cdn-b" });
      assert.equal(decision.fallback, true);
      assert.equal(decision.eventId, null);
      // The player reports wherever it can: here, to the live node.
      const client = new PytheasClient(node.url, { timeoutMs: liveTimeoutMs });
      assert.equal(await client.report(decision, 2.5), true);
      const group = await (await fetch(`${node.url}/v1/groups/Asn%3Djs-fallback`)).json();
      assert.ok(await eventually(async () => {
        const g = await (await fetch(`${node.url}/v1/groups/Asn%3Djs-fallback`)).json();
        return g.reports === 1 && g.arms.some((arm) => arm.name === "cdn-b");
      }), JSON.stringify(group));
    } finally {
      await silent.stop();
    }
  });
});

describe("when the node cannot answer in time", () => {
  test("a node that never answers: decide resolves at its timeout with the fallback",
       async () => {
    const silent = await startSilentServer();
    try {
      const client = new PytheasClient(silent.url, { timeoutMs: 200, random: () => 0.99 });
      let start = performance.now();
      const given = await client.decide({ candidates }, { fallback: "cdn-a" });
      const waited = performance.now() - start;
      assert.equal(given.decision, "cdn-a");
      assert.equal(given.fallback, true);
      assert.equal(given.reason, "timeout");
      // Never longer than the timeout (plus a loaded machine's timer slack).
      assert.ok(waited >= 190 && waited < 200 + slackMs, `waited ${waited} ms`);

      start = performance.now();
      const random = await client.decide({ candidates }, { timeoutMs: 100 });
      assert.ok(performance.now() - start < 100 + slackMs);
      assert.equal(random.decision, "cdn-b");  // random() = 0.99: the last candidate
      assert.equal(client.stats.fallbacks, 2);
      assert.deepEqual(client.stats.fallbackReasons, { timeout: 2 });
      assert.equal(client.stats.decisions, 0);
    } finally {
      await silent.stop();
    }
  });

  test("a node that is down: decide falls back at once, without waiting out the timeout",
       async () => {
    const client = new PytheasClient(await closedPortUrl(), { timeoutMs: 10000 });
    const start = performance.now();
    const decision = await client.decide({ candidates }, { fallback: "cdn-b" });
    assert.ok(performance.now() - start < 10000 - slackMs);
    assert.equal(decision.decision, "cdn-b");
    assert.equal(decision.reason, "network");
    assert.equal(await client.report(decision, 1), false);  // and the report is counted lost
    assert.equal(client.stats.reportFailures, 1);
  });
});

describe("programming errors are thrown, not hidden in a fallback", () => {
  const client = new PytheasClient("http://127.0.0.1:9");
  test("bad candidates or fallback", async () => {
    await assert.rejects(client.decide({ candidates: [] }), TypeError);
    await assert.rejects(client.decide({ candidates: ["a", ""] }), TypeError);
    await assert.rejects(client.decide({ candidates }, { fallback: "cdn-z" }), TypeError);
  });
  test("a score that is not a finite number", async () => {
    await assert.rejects(client.report("abc", Number.NaN), TypeError);
    await assert.rejects(client.report("abc", "3"), TypeError);
  });
  test("a node that is not an http(s) URL", () => {
    assert.throws(() => new PytheasClient("pytheas.example:8080"), TypeError);
  });
});
