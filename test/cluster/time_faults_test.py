#!/usr/bin/env python3
"""Time faults (issue #28): nodes under libfaketime, their wall clocks stepped
and skewed at run time, the monotonic clock left alone (scripts/lib/clocklab.py).

  allinone  Two all-in-one nodes fed the same reports at the same moments, one
            under a stepped clock (+1 h, then -1 h, then +1 h across a
            restart), the other not: every group's arms (count, mean, weight)
            must agree within the real-time decay of a second or so.
  cluster   A backend (+0) and cluster A of fe-a1 (+1 h) and fe-a2 (-1 h):
            linked, nobody declared down by the skew; groups moved from fe-a1
            to fe-a2 and back (a leave, a restart) keep their counts (within
            the real elapsed decay) and their reports (0 lost, 0 twice);
            fe-a2's clock steps +1 h: nobody declares anyone down; fe-a1 is
            SIGSTOPped while the backend's clock steps +1 h: the others see
            it down within peer_timeout_s + 1 s.

Usage: time_faults_test.py PYTHEAS_BINARY allinone|cluster
Exit 77 (skipped) without libfaketime. Every process is killed on exit;
127.0.0.1 only; every wait is bounded.
"""
import atexit
import http.client
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "scripts", "lib"))
import clocklab  # noqa: E402

HALF_LIFE_S = 60  # the default ducb half-life
PEER_TIMEOUT_S = 2
PROCESSES = []


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


def fail(message):
    log("FAIL:", message)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, timeout=3):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        data = json.dumps(body) if body is not None else None
        conn.request(method, path, body=data, headers={"content-type": "application/json"})
        reply = conn.getresponse()
        payload = reply.read()
    except (OSError, http.client.HTTPException):
        return 0, None
    try:
        return reply.status, json.loads(payload)
    except ValueError:
        return reply.status, None  # not JSON (/readyz)


def wait_for(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    fail(f"{what}: not within {timeout} s")


class Node:
    def __init__(self, binary, work, name, offset_s, args):
        self.binary, self.name, self.args = binary, name, args
        self.clock = clocklab.FakeClock(os.path.join(work, f"{name}.clock"), offset_s)
        self.log = open(os.path.join(work, f"{name}.log"), "a")
        self.process = None

    def start(self, ready=True):
        self.process = subprocess.Popen([self.binary, "node", *self.args], env=self.clock.env(),
                                        stdout=subprocess.DEVNULL, stderr=self.log)
        PROCESSES.append(self.process)
        if ready:
            wait_for(f"{self.name} ready",
                     lambda: self.alive() and request(self.port, "GET", "/readyz")[0] == 200, 30)

    def alive(self):
        if self.process.poll() is not None:
            fail(f"{self.name} exited ({self.process.returncode}); see {self.log.name}")
        return True

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            fail(f"{self.name} did not stop within 30 s")

    def group(self, key):
        status, body = request(self.port, "GET", "/v1/groups/" + urllib.parse.quote(key, safe=""))
        return body if status == 200 else None

    def report(self, asn, decision, score):
        status, _ = request(self.port, "POST", "/v1/report",
                            {"features": {"Asn": str(asn)}, "decision": decision, "score": score})
        if status not in (200, 202):
            fail(f"report to {self.name}: HTTP {status}")


def arms(group):
    return {arm["name"]: arm for arm in (group or {}).get("arms", [])}


def cleanup():
    for process in PROCESSES:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.kill()
            process.wait()


# ----------------------------------------------------------------------------- allinone

def compare(stepped, control, key, when, expect_reports):
    """The stepped node's group must match the control's (same reports, same
    real times): counts within 3 %, means within 0.01, weights within 0.02."""
    def applied(node):
        group = node.group(key)
        return group if group and group["reports"] == expect_reports else None
    a = wait_for(f"{stepped.name} applied {expect_reports}", lambda: applied(stepped), 20)
    b = wait_for(f"{control.name} applied {expect_reports}", lambda: applied(control), 20)
    arms_a, arms_b = arms(a), arms(b)
    log(f"  {when}: stepped {json.dumps({n: round(v['count'], 2) for n, v in arms_a.items()})}"
        f"  control {json.dumps({n: round(v['count'], 2) for n, v in arms_b.items()})}")
    if set(arms_a) != set(arms_b):
        fail(f"{when}: arms differ: {sorted(arms_a)} vs {sorted(arms_b)}")
    for name in arms_b:
        x, y = arms_a[name], arms_b[name]
        if abs(x["count"] - y["count"]) > 0.03 * max(y["count"], 1):
            fail(f"{when}: arm {name} count {x['count']:.2f} vs control {y['count']:.2f}")
        if abs(x["mean"] - y["mean"]) > 0.01:
            fail(f"{when}: arm {name} mean {x['mean']:.3f} vs control {y['mean']:.3f}")
        if abs(x["weight"] - y["weight"]) > 0.02:
            fail(f"{when}: arm {name} weight {x['weight']:.3f} vs control {y['weight']:.3f}")
    ranking = lambda arms_of: sorted(arms_of, key=lambda n: -arms_of[n]["mean"])
    if ranking(arms_a) != ["x", "y"]:
        fail(f"{when}: the stepped node ranks {ranking(arms_a)}")
    return arms_a


def allinone(binary, work):
    labels = os.path.join(work, "labels.yaml")
    with open(labels, "w") as f:
        f.write("grouping:\n  by: [Asn]\n  learn: false\n")
    nodes = []
    for name, offset in (("stepped", 0), ("control", 0)):
        port = free_port()
        state = os.path.join(work, name)
        node = Node(binary, work, name, offset, ["--http", f"127.0.0.1:{port}", "--labels",
                                                 labels, "--state-dir", state])
        node.port = port
        node.start()
        nodes.append(node)
    stepped, control = nodes
    sent = 0

    def feed(count):
        nonlocal sent
        for i in range(count):  # the same report to both, back to back
            decision, score = ("x", 9) if i % 2 == 0 else ("y", 1)
            for node in nodes:
                node.report(1, decision, score)
        sent += count

    feed(200)  # about 100 observations of each arm
    learned = compare(stepped, control, "Asn=1", "learned", sent)
    if learned["x"]["count"] < 90:
        fail(f"setup: x holds {learned['x']['count']:.1f} observations, expected ~100")
    for offset, when in ((3600, "wall clock +1 h"), (0, "wall clock -1 h")):
        stepped.clock.set(offset)
        time.sleep(clocklab.CACHE_S + 0.5)  # the step is seen
        feed(20)
        now = compare(stepped, control, "Asn=1", when, sent)
        if now["x"]["count"] < 0.9 * learned["x"]["count"]:
            fail(f"{when}: x fell to {now['x']['count']:.1f} observations")
    # A restart across a +1 h step: the downtime rule measures the real
    # downtime (same boot: the monotonic clock), not the wall clock's hour.
    for node in nodes:
        node.stop()
    stepped.clock.set(3600)
    for node in nodes:
        node.start()
    compare(stepped, control, "Asn=1", "restarted after a +1 h step", sent)
    feed(20)
    compare(stepped, control, "Asn=1", "reports after the restart", sent)
    log("allinone: PASS")


# ----------------------------------------------------------------------------- cluster

def cluster(binary, work):
    labels = os.path.join(work, "labels.yaml")
    with open(labels, "w") as f:
        f.write("grouping:\n  by: [Asn]\n  learn: false\nlifecycle:\n  checkpoint_interval_s: 2\n")
    offsets = {"backend": 0, "fe-a1": 3600, "fe-a2": -3600}
    ports = {name: (free_port(), free_port()) for name in offsets}
    file = os.path.join(work, "cluster.yaml")
    lines = ["secret: time-faults-secret-0123456789", f"labels: {labels}",
             f"federation: {{heartbeat_interval_s: 0.2, peer_timeout_s: {PEER_TIMEOUT_S}, "
             "sample_rate: 1, regroup_interval_s: 1, snapshot_push_interval_s: 0.1, "
             "reconnect_max_backoff_s: 1, forward_timeout_s: 2}", "nodes:"]
    for name, (http_port, caf_port) in ports.items():
        role = "backend" if name == "backend" else "frontend, cluster: A"
        lines.append(f"  - {{name: {name}, role: {role}, host: 127.0.0.1, "
                     f"http_port: {http_port}, caf_port: {caf_port}}}")
    with open(file, "w") as f:
        f.write("\n".join(lines) + "\n")
    nodes = {}
    for name, offset in offsets.items():
        node = Node(binary, work, name, offset, ["--cluster", file, "--name", name,
                                                 "--state-dir", os.path.join(work, name),
                                                 "--wal", "always"])
        node.port = ports[name][0]
        nodes[name] = node
        node.start()

    def unhealthy(watchers):
        """(watcher, member) pairs where watcher sees member down, or None if unanswered."""
        down = set()
        for name in watchers:
            status, body = request(nodes[name].port, "GET", "/v1/cluster", timeout=1)
            if status != 200:
                return None
            down |= {(name, m["name"]) for m in body.get("members", []) if not m["healthy"]}
        return down

    everyone = list(nodes)
    wait_for("members linked", lambda: unhealthy(everyone) == set(), 30)

    def watch_health(seconds, watchers, what):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            down = unhealthy(watchers)
            if down:
                fail(f"{what}: declared down: {sorted(down)}")
            time.sleep(0.2)

    watch_health(3 * PEER_TIMEOUT_S, everyone, "members 1 h apart")
    log("  skew: no member declared down in 3 peer timeouts")

    groups = [f"Asn={asn}" for asn in range(1, 9)]
    accepted = {g: 0 for g in groups}
    for i in range(60):
        for asn in range(1, 9):
            decision, score = ("x", 9) if i % 3 else ("y", 1)
            nodes["fe-a1" if i % 2 else "fe-a2"].report(asn, decision, score)
            accepted[f"Asn={asn}"] += 1

    def owned(names):
        """group -> (owner, its group JSON) when each group has exactly one owner
        holding all accepted reports."""
        out = {}
        for name in names:
            status, body = request(nodes[name].port, "GET", "/v1/groups?limit=1000")
            if status != 200:
                return None
            for g in body["groups"]:
                if g["owner"] is None and g["key"] in accepted:
                    if g["key"] in out:
                        return None
                    out[g["key"]] = (name, nodes[name].group(g["key"]))
        if set(out) != set(groups):
            return None
        for key, (_, g) in out.items():
            if not g or g["reports"] != accepted[key]:
                return None
        return out

    before = wait_for("one owner per group, every report applied",
                      lambda: owned(["fe-a1", "fe-a2"]), 30)
    on_a1 = [g for g, (owner, _) in before.items() if owner == "fe-a1"]
    if not on_a1:
        fail("setup: fe-a1 owns no group")

    def check_kept(after, moved, since, what):
        elapsed = time.monotonic() - since
        floor = 0.85 * 2 ** (-(elapsed + 2) / HALF_LIFE_S)
        for key in moved:
            then, now = arms(before[key][1]), arms(after[key][1])
            if set(then) != set(now):
                fail(f"{what}: {key} arms {sorted(then)} -> {sorted(now)}")
            for arm in then:
                ratio = now[arm]["count"] / then[arm]["count"]
                if not floor <= ratio <= 1.02:
                    fail(f"{what}: {key} arm {arm} count {then[arm]['count']:.2f} -> "
                         f"{now[arm]['count']:.2f} (ratio {ratio:.3f}, real decay floor "
                         f"{floor:.3f} after {elapsed:.1f} s)")
            if sorted(then, key=lambda a: -then[a]["mean"]) != sorted(now, key=lambda a: -now[a]["mean"]):
                fail(f"{what}: {key} ranking changed")
        log(f"  {what}: {len(moved)} group(s) kept their counts and ranking "
            f"({elapsed:.1f} s real)")

    left = time.monotonic()
    nodes["fe-a1"].stop()  # leaves: hands its groups over to fe-a2 (2 h behind it)
    after = wait_for("fe-a2 owns every group", lambda: owned(["fe-a2"]), 30)
    check_kept(after, on_a1, left, "leave fe-a1 (+1 h) -> fe-a2 (-1 h)")
    before = after
    back = time.monotonic()
    nodes["fe-a1"].start()
    after = wait_for("groups back on fe-a1", lambda: (lambda o: o if o and any(
        owner == "fe-a1" for owner, _ in o.values()) else None)(owned(["fe-a1", "fe-a2"])), 30)
    moved = [g for g, (owner, _) in after.items() if owner == "fe-a1"]
    check_kept(after, moved, back, "fe-a2 (-1 h) -> restarted fe-a1 (+1 h)")
    wait_for("members linked again", lambda: unhealthy(everyone) == set(), 30)

    nodes["fe-a2"].clock.set(0)  # fe-a2 steps +1 h mid-run
    watch_health(3 * PEER_TIMEOUT_S + clocklab.CACHE_S, everyone, "fe-a2 stepped +1 h")
    log("  step: fe-a2's +1 h step declared no one down, and no one declared it")

    nodes["fe-a1"].process.send_signal(signal.SIGSTOP)
    frozen = time.monotonic()
    nodes["backend"].clock.set(3600)  # the backend steps +1 h meanwhile
    watchers = ["backend", "fe-a2"]
    seen = {}
    deadline = frozen + PEER_TIMEOUT_S + 5
    while len(seen) < len(watchers) and time.monotonic() < deadline:
        down = unhealthy(watchers) or set()
        for watcher, member in down:
            if member == "fe-a1":
                seen.setdefault(watcher, time.monotonic() - frozen)
            else:
                fail(f"freeze: {watcher} declared {member} down")
        time.sleep(0.05)
    nodes["fe-a1"].process.send_signal(signal.SIGCONT)
    log(f"  freeze: fe-a1 seen down after {json.dumps({k: round(v, 2) for k, v in seen.items()})} s")
    for watcher in watchers:
        if watcher not in seen or seen[watcher] > PEER_TIMEOUT_S + 1:
            fail(f"freeze: {watcher} did not see fe-a1 down within {PEER_TIMEOUT_S + 1} s")
    log("cluster: PASS")


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("allinone", "cluster"):
        sys.exit(__doc__)
    if not clocklab.library():
        log("libfaketime not installed: skipped (scripts/deps installs faketime)")
        sys.exit(77)
    binary = sys.argv[1]
    work = tempfile.mkdtemp(prefix="pytheas-time.")
    atexit.register(lambda: shutil.rmtree(work, ignore_errors=True)
                    if not os.environ.get("KEEP") else log("kept", work))
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    started = time.monotonic()
    {"allinone": allinone, "cluster": cluster}[sys.argv[2]](sys.argv[1], work)
    log(f"{sys.argv[2]}: {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
