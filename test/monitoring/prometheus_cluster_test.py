#!/usr/bin/env python3
"""A real Prometheus scrapes scripts/cluster-local's cluster (ctest prometheus_cluster).

Starts config/cluster-local.yaml's four members on free 127.0.0.1 ports (the
file's other keys as shipped, but for faster regroups and full sampling, so
the group table fills in seconds), and a Prometheus (/usr/bin/prometheus) on
a free port with its own data dir, configured from the SHIPPED
packaging/prometheus files: the same scrape config (targets moved to the
test's ports, intervals 1 s) and the same rules (only every `for:` scaled by
FOR_SCALE, so an alert fires in seconds). Drives decisions and reports, then
checks through Prometheus' HTTP API that:
  1. every member of the cluster file is a target and `up`;
  2. every recording rule produces series, and ownership adds up (owned
     groups summed over members == the table's, per cluster);
  3. every panel query of packaging/grafana/pytheas.json evaluates without
     error, and the core panels (CORE_PANELS) return series;
  4. a healthy cluster raises no alert (QUIET_ALERTS, NOT_FIRING_ALERTS);
  5. after a kill -9 of fe-a2: PytheasMemberDown fires for it, not before
     its (scaled) `for:` and within it plus SLACK_S; PytheasPeerLinkDown
     fires on the survivors; ownership adds up again.
Bounded: everything stops by itself after HARD_LIMIT_S; every process it
started is stopped on success, failure, timeout or SIGTERM.
Usage: prometheus_cluster_test.py [SOURCE_DIR]   (PYTHEAS_BINARY=... required)
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

SOURCE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                         os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("PYTHEAS_BINARY", "")
PROMETHEUS = os.environ.get("PROMETHEUS", "prometheus")
SHIPPED = os.path.join(SOURCE, "packaging", "prometheus")
DASHBOARD = os.path.join(SOURCE, "packaging", "grafana", "pytheas.json")
CLUSTER_FILE = os.path.join(SOURCE, "config", "cluster-local.yaml")

HARD_LIMIT_S = 150  # the whole test, startup and cleanup included
INTERVAL_S = 1      # the test Prometheus' scrape and evaluation interval
FOR_SCALE = 0.1     # every alert's `for:` times this (1m -> 6s)
SLACK_S = 6         # beyond `for:`: a scrape, an evaluation, a loaded machine
KILLED = "fe-a2"
# The panels that must show data on a healthy cluster under traffic (by
# title); the others (e.g. the decision log's, which needs --decision-log)
# must only evaluate without error.
CORE_PANELS = {
    "Members up", "Members down", "Decisions/s per member", "Decisions/s per cluster",
    "Reports/s per member", "Reports/s per cluster", "Decide p99 per member",
    "Decide p99 per cluster", "Report to visible p99 per member",
    "Report to visible p99 per cluster", "Report queue fill", "Active groups",
    "Owned groups vs table, per cluster", "Owned groups per member", "Peer links up",
    "Peer last heard", "Forwarded reports/s", "Group table version",
    "Seconds since the last regroup pass", "Open connections",
}
# Alerts a healthy cluster must not even have pending; and those it may have
# pending for a moment but never firing: while a new table reaches every
# member, members scraped before and after it disagree for up to a scrape
# interval (what their `for:` is there to absorb). The latency alert is left
# out: it depends on how busy the machine is.
QUIET_ALERTS = {
    "PytheasMemberDown", "PytheasPeerLinkDown", "PytheasReportsRefused", "PytheasReportsLost",
    "PytheasReportQueueHigh", "PytheasBackendNotRegrouping", "PytheasDecisionLogFallingBehind",
}
NOT_FIRING_ALERTS = {"PytheasGroupsWithoutOwner", "PytheasGroupsWithTwoOwners"}

started = time.monotonic()
processes = []  # Popen objects we started (Prometheus)
run_dir = None


class Failure(Exception):
    pass


def log(message):
    print(f"[{time.monotonic() - started:5.1f}s] {message}", flush=True)


def free_ports(n):
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def seconds(duration):
    value, unit = int(duration[:-1]), duration[-1]
    return value * {"s": 1, "m": 60, "h": 3600}[unit]


def eventually(what, check, timeout_s, every_s=0.5):
    """Calls check() until it returns a truthy value; Failure after timeout_s."""
    deadline = time.monotonic() + timeout_s
    last = None
    while True:
        try:
            result = check()
            if result:
                return result
        except (OSError, ValueError, KeyError, Failure) as e:
            last = e
        if time.monotonic() > deadline:
            raise Failure(f"{what}: not within {timeout_s} s" + (f" (last error: {last})" if last else ""))
        time.sleep(every_s)


# -- configuration, derived from the shipped files -------------------------

def write_cluster_file(directory, ports):
    """config/cluster-local.yaml with free ports, absolute labels, fast regroups."""
    text = open(CLUSTER_FILE).read()
    nodes = re.findall(r"name: *([\w.-]+),.*role:", text)
    if len(nodes) != 4:
        raise Failure(f"expected 4 members in {CLUSTER_FILE}, found {nodes}")
    members = {}
    for name in nodes:
        http_port, caf_port = ports.pop(), ports.pop()
        members[name] = http_port
        text = re.sub(rf"(name: *{re.escape(name)},.*http_port: *)\d+(, *caf_port: *)\d+",
                      rf"\g<1>{http_port}\g<2>{caf_port}", text)
    text = re.sub(r"^labels: *(\S+)", lambda m: "labels: " + os.path.join(SOURCE, "config", m.group(1)),
                  text, flags=re.M)
    # The table fills in seconds: every report sampled, a regroup every 2 s.
    text = re.sub(r"sample_rate: *[\d.]+", "sample_rate: 1", text)
    text = re.sub(r"regroup_interval_s: *[\d.]+", "regroup_interval_s: 2", text)
    path = os.path.join(directory, "cluster.yaml")
    open(path, "w").write(text)
    return path, members


def write_prometheus_config(directory, members):
    """The shipped scrape config and rules, with test ports, 1 s intervals and
    every `for:` scaled; nothing else changes."""
    config = open(os.path.join(SHIPPED, "prometheus.yml")).read()
    config = re.sub(r"(scrape_interval|evaluation_interval|scrape_timeout): *\d+[smh]",
                    rf"\1: {INTERVAL_S}s", config)
    found = set()

    def retarget(match):
        name = match.group(2)
        if name not in members:
            raise Failure(f"shipped scrape config names {name}, not in {CLUSTER_FILE}")
        found.add(name)
        return f'targets: ["127.0.0.1:{members[name]}"]{match.group(1)}member: {name}'

    config = re.sub(r'targets: \["[^"]+"\](\s*labels: \{[^}]*?)member: ([\w.-]+)', retarget, config)
    if found != set(members):
        raise Failure(f"shipped scrape config covers {sorted(found)}, the cluster file {sorted(members)}")
    rules = open(os.path.join(SHIPPED, "pytheas.rules.yml")).read()
    fors = {}

    def scale(match):
        return f"for: {max(1, round(seconds(match.group(1)) * FOR_SCALE))}s"

    scaled = re.sub(r"for: *(\d+[smh])", scale, rules)
    for block in rules.split("- alert: ")[1:]:
        duration = re.search(r"\n\s+for: *(\d+[smh])", block)
        fors[block.split()[0]] = max(1, round(seconds(duration.group(1)) * FOR_SCALE)) if duration else 0
    rules_path = os.path.join(directory, "pytheas.rules.yml")
    open(rules_path, "w").write(scaled)
    config = re.sub(r"- pytheas\.rules\.yml", f"- {rules_path}", config)
    path = os.path.join(directory, "prometheus.yml")
    open(path, "w").write(config)
    records = re.findall(r"- record: (\S+)", rules)
    return path, fors, records


# -- processes -------------------------------------------------------------

def cluster_local(*args):
    env = dict(os.environ, PYTHEAS_BINARY=BINARY)
    result = subprocess.run([os.path.join(SOURCE, "scripts", "cluster-local"), *args],
                            cwd=SOURCE, env=env, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise Failure(f"scripts/cluster-local {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def stop_members():
    """SIGTERM every member we started (pid files), SIGKILL after 5 s."""
    if not run_dir:
        return
    pids = []
    for name in os.listdir(run_dir):
        if name.endswith(".pid"):
            try:
                pids.append(int(open(os.path.join(run_dir, name)).read().strip()))
            except (OSError, ValueError):
                pass
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def stop_processes():
    for p in processes:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


# -- Prometheus' HTTP API --------------------------------------------------

class Prometheus:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"

    def query(self, expr):
        url = f"{self.base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            with urllib.request.urlopen(url, timeout=10) as reply:
                body = json.load(reply)
        except urllib.error.HTTPError as e:  # 400/422: a bad query; the body says why
            body = json.load(e)
        if body.get("status") != "success":
            raise Failure(f"query {expr!r}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]["result"]

    def alerts(self):
        """(alertname, state, labels) of every pending or firing alert."""
        return [(a["labels"]["alertname"], a["state"], a["labels"])
                for a in self.get("/api/v1/alerts")["alerts"]]

    def get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=10) as reply:
            body = json.load(reply)
        return body["data"]


# -- traffic ---------------------------------------------------------------

def drive(members, stop):
    """Decisions and reports on every frontend, each for its own Asn range,
    so the table gives cluster A and cluster B groups of their own."""
    plan = {"fe-a1": ["7922", "3320", "1111"], "fe-a2": ["7922", "3320", "1111"],
            "fe-b": ["2856", "5089"]}
    connections = {}
    n = 0
    while not stop.is_set():
        for node, asns in plan.items():
            if node == KILLED and stop_killed.is_set():
                continue
            try:
                c = connections.get(node) or http.client.HTTPConnection("127.0.0.1", members[node], timeout=2)
                connections[node] = c
                asn = asns[n % len(asns)]
                c.request("POST", "/v1/decide", json.dumps(
                    {"features": {"Asn": asn}, "candidates": ["cdn-a", "cdn-b"]}),
                    {"content-type": "application/json"})
                reply = json.loads(c.getresponse().read())
                score = 3.0 if reply["decision"] == "cdn-a" else 1.0
                c.request("POST", "/v1/report", json.dumps({"event_id": reply["event_id"], "score": score}),
                          {"content-type": "application/json"})
                c.getresponse().read()
            except (OSError, http.client.HTTPException, ValueError, KeyError):
                connections.pop(node, None)
        n += 1
        time.sleep(0.02)


stop_killed = threading.Event()


# -- the checks ------------------------------------------------------------

def panel_queries():
    """(title, expr) of every panel target, template variables matching all."""
    dashboard = json.load(open(DASHBOARD))
    out = []

    def walk(panels):
        for panel in panels:
            walk(panel.get("panels", []))
            for target in panel.get("targets", []):
                expr = target.get("expr", "")
                expr = re.sub(r"\$__(rate_interval|interval|range)|\$\{__(rate_interval|interval|range)\}", "1m", expr)
                expr = re.sub(r"\$\{?\w+\}?", ".*", expr)
                out.append((panel["title"], expr))

    walk(dashboard["panels"])
    return out


def check_healthy(prom, members, records):
    def all_up():
        up = {r["metric"].get("member"): r["value"][1] for r in prom.query('up{job="pytheas"}')}
        return set(up) == set(members) and all(v == "1" for v in up.values())

    eventually("every member up", all_up, 20)
    log(f"all {len(members)} members up: {sorted(members)}")

    def recorded():
        empty = [r for r in records if not prom.query(r)]
        if empty:
            raise Failure(f"recording rules without series: {empty}")
        return True

    eventually("every recording rule produces series", recorded, 30)
    log(f"all {len(records)} recording rules produce series")

    def ownership_adds_up():
        owned = {r["metric"]["table_cluster"]: float(r["value"][1])
                 for r in prom.query("federation:pytheas_owned_groups:sum")}
        table = {r["metric"]["table_cluster"]: float(r["value"][1])
                 for r in prom.query("federation:pytheas_group_table_groups:max")}
        if set(table) != {"A", "B"} or owned != table:
            raise Failure(f"owned {owned} vs table {table}")
        return table

    table = eventually("owned groups == the table's, for A and B", ownership_adds_up, 30)
    log(f"ownership adds up: {table}")


def check_dashboard(prom):
    queries = panel_queries()
    titles = {title for title, _ in queries}
    missing = CORE_PANELS - titles
    if missing:
        raise Failure(f"core panels missing from the dashboard: {sorted(missing)}")

    def evaluate():
        empty = []
        for title, expr in queries:
            result = prom.query(expr)  # raises on any query error
            if title in CORE_PANELS and not result:
                empty.append((title, expr))
        if empty:
            raise Failure(f"core panels with no data: {empty}")
        return True

    eventually("every dashboard query evaluates; core panels have data", evaluate, 20, every_s=1)
    log(f"{len(queries)} dashboard queries evaluate, {len(CORE_PANELS)} core panels have data")


def check_quiet(prom):
    noisy = [(name, state, labels.get("member", labels.get("table_cluster")))
             for name, state, labels in prom.alerts()
             if name in QUIET_ALERTS or (name in NOT_FIRING_ALERTS and state == "firing")]
    if noisy:
        raise Failure(f"alerts on a healthy cluster: {noisy}")
    log(f"healthy cluster: none of {len(QUIET_ALERTS)} alerts pending or firing, "
        f"none of {len(NOT_FIRING_ALERTS)} firing")


def check_kill(prom, members, fors):
    member_down_for = fors["PytheasMemberDown"]
    link_for = fors["PytheasPeerLinkDown"]
    killed_at = time.monotonic()
    cluster_local("kill", KILLED, "--file", cluster_file, "--run-dir", run_dir)
    stop_killed.set()
    log(f"killed {KILLED} (SIGKILL); PytheasMemberDown `for:` {member_down_for} s here")
    bound = member_down_for + SLACK_S

    def member_down_firing():
        firing = [(labels.get("member")) for name, state, labels in prom.alerts()
                  if name == "PytheasMemberDown" and state == "firing"]
        if any(m != KILLED for m in firing):
            raise Failure(f"PytheasMemberDown fires for {firing}")
        return KILLED in firing

    eventually(f"PytheasMemberDown firing for {KILLED}", member_down_firing, bound, every_s=0.2)
    took = time.monotonic() - killed_at
    log(f"PytheasMemberDown fired {took:.1f} s after the kill (for: {member_down_for} s, bound {bound} s)")
    # A scrape that started just before the kill and failed is stamped with its
    # start: `for:` may count from up to one interval before the kill.
    if took < member_down_for - INTERVAL_S:
        raise Failure(f"PytheasMemberDown fired after {took:.1f} s, before its `for:` ({member_down_for} s)")

    peer_timeout = float(prom.query('max(pytheas_peer_timeout_seconds)')[0]["value"][1])
    link_bound = peer_timeout + link_for + SLACK_S

    def links_down_firing():
        seen = {labels.get("member") for name, state, labels in prom.alerts()
                if name == "PytheasPeerLinkDown" and state == "firing" and labels.get("peer") == KILLED}
        return seen >= {"fe-a1", "fe-b", "backend"}

    eventually(f"PytheasPeerLinkDown firing on every survivor for {KILLED}", links_down_firing,
               max(0, link_bound - (time.monotonic() - killed_at)), every_s=0.2)
    log(f"PytheasPeerLinkDown fired on every survivor {time.monotonic() - killed_at:.1f} s after the kill "
        f"(peer_timeout {peer_timeout:g} s + for: {link_for} s; bound {link_bound:g} s)")

    def ownership_adds_up():
        owned = {r["metric"]["table_cluster"]: float(r["value"][1])
                 for r in prom.query("federation:pytheas_owned_groups:sum")}
        table = {r["metric"]["table_cluster"]: float(r["value"][1])
                 for r in prom.query("federation:pytheas_group_table_groups:max")}
        return owned == table and set(table) == {"A", "B"}

    eventually("ownership adds up again after the kill", ownership_adds_up, 10)
    log("ownership adds up again (fe-a1 owns fe-a2's groups)")


def main():
    global run_dir, cluster_file
    if not BINARY or not os.access(BINARY, os.X_OK):
        print("PYTHEAS_BINARY must name the pytheas binary", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="pytheas-prometheus-") as tmp:
        run_dir = os.path.join(tmp, "run")
        os.makedirs(run_dir)
        ports = free_ports(9)
        prometheus_port = ports.pop()
        cluster_file, members = write_cluster_file(tmp, ports)
        config, fors, records = write_prometheus_config(tmp, members)
        stop = threading.Event()
        traffic = threading.Thread(target=drive, args=(members, stop), daemon=True)
        try:
            cluster_local("start", "--file", cluster_file, "--run-dir", run_dir)
            log(f"cluster started: {members}")
            prom_log = open(os.path.join(tmp, "prometheus.log"), "w")
            processes.append(subprocess.Popen(
                [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp}/data",
                 f"--web.listen-address=127.0.0.1:{prometheus_port}", "--log.level=warn"],
                stdout=prom_log, stderr=subprocess.STDOUT, cwd=tmp))
            prom = Prometheus(prometheus_port)

            def ready():
                if processes[0].poll() is not None:
                    raise Failure("prometheus exited: " + open(prom_log.name).read()[-2000:])
                with urllib.request.urlopen(prom.base + "/-/ready", timeout=2) as r:
                    return r.status == 200

            eventually("prometheus ready", ready, 20, every_s=0.2)
            log(f"prometheus ready on 127.0.0.1:{prometheus_port}")
            traffic.start()
            check_healthy(prom, members, records)
            check_dashboard(prom)
            check_quiet(prom)
            check_kill(prom, members, fors)
        except Failure as e:
            print(f"FAILED: {e}", file=sys.stderr)
            for name in sorted(os.listdir(run_dir)) if os.path.isdir(run_dir) else []:
                if name.endswith(".log"):
                    tail = open(os.path.join(run_dir, name)).read()[-800:]
                    print(f"--- {name} (tail)\n{tail}", file=sys.stderr)
            return 1
        finally:
            stop.set()
            stop_processes()
            stop_members()
            if traffic.is_alive():
                traffic.join(5)
    log("passed")
    return 0


def on_signal(signum, _frame):
    raise SystemExit(f"stopped by signal {signum} after {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    signal.alarm(HARD_LIMIT_S)
    cluster_file = None
    sys.exit(main())
