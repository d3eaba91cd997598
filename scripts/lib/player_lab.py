#!/usr/bin/env python3
"""A real web player steered by a real node: the hls.js example end to end.

Sets up, on 127.0.0.1 only, with a private temp dir:
  * a short HLS ladder made by ffmpeg (3 H.264 renditions in fMP4, 1 s
    segments, 20 s; H.264 through Media Source Extensions plays in Debian's
    Chromium);
  * one nginx (our own process: generated config, temp prefix) with three
    servers on three ports, so three origins: the player page (clients/), and
    the same media as "cdn-fast" (no limit) and "cdn-slow" (limit_rate, so its
    top rendition cannot keep up);
  * `pytheas node --cors-origin <the page's origin>` with the default label
    config (no --labels: nothing tuned for sessions that come seconds apart,
    not the thousands a minute a real service sees);
  * headless Chromium playing the page clients/hls.js-example/ with several
    players at once, driven over the DevTools protocol.
Sessions run; after phase 1 the two CDNs' rates are swapped (nginx reload);
at the end the tab is navigated away mid-session (as if closed), so the
sessions in flight report by navigator.sendBeacon.

Every figure comes from the node: its JSON log (one "decide" and one "report"
line per session, joined by event id, in decision order) and GET /v1/groups.

  player_lab.py test --pytheas BIN   asserts (exit 0 pass, 1 fail, 77 skipped:
                                      Chromium or ffmpeg missing)
  player_lab.py demo --pytheas BIN [--out DIR]
                                      the same run, printed, with screenshots of
                                      the player page and the node's dashboard
                                      (DIR/player-example.png, DIR/player-dashboard.png)
Processes it starts are stopped on exit, also on failure or Ctrl-C.
"""
import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import cdp_screenshot as cdp  # noqa: E402  (the DevTools WebSocket client)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SKIP = 77

# The scenario. Sessions are short (3 s of playback) and run 6 at a time.
PARALLEL = 6
DECIDE_TIMEOUT_MS = 5000  # the page's decide timeout in the lab (player default: 1000)
WATCH_S = 3
PHASE1 = 40          # sessions before the swap: "first 20" learn, "last 20" are judged
PHASE2 = 40          # sessions decided after the swap
JUDGED = 20          # "the last 20 sessions"
MIN_SHARE = 0.8      # of the judged sessions, at least this share on the fast CDN
FOLLOW = 10          # sessions after the swap by which the node must have followed it
SLOW_RATE = "100k"   # bytes/s per request: the top rendition (2.2 Mbps) needs 275k, the
                     # middle one 110k: sessions there join late and stall
# The node runs the default label config: no --labels, nothing tuned for
# this scenario (issue #25). Its sessions come about two a second, not
# thousands a minute: change detection (on by default) is what lets the
# group follow the swap within a few sessions, where the 60 s half-life
# alone would take minutes.


def log(message):
    print(f"player-lab: {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_chromium(given):
    for name in ([given] if given else []) + ["chromium", "chromium-browser",
                                               "google-chrome-stable", "google-chrome"]:
        path = shutil.which(name) if name else None
        if path:
            return path
    return None


def http_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


def wait_until(condition, timeout_s, what, interval=0.1):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")


def make_ladder(media):
    """3 renditions (0.3, 0.8, 2 Mbps) of a 20 s test pattern, HLS with fMP4."""
    os.makedirs(media)
    command = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=12:duration=20",
        "-filter_complex", "[0:v]split=3[a][b][c]", "-map", "[a]", "-map", "[b]", "-map", "[c]",
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "12", "-keyint_min", "12",
        "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-x264-params", "nal-hrd=cbr",
    ]
    for i, rate in enumerate(["300k", "800k", "2000k"]):
        command += [f"-b:v:{i}", rate, f"-maxrate:v:{i}", rate, f"-bufsize:v:{i}", rate]
    command += ["-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod",
                "-hls_segment_type", "fmp4", "-master_pl_name", "master.m3u8",
                "-var_stream_map", "v:0 v:1 v:2", "-hls_segment_filename", "r%v/seg%03d.m4s",
                "-hls_fmp4_init_filename", "init.mp4", "r%v/index.m3u8"]
    subprocess.run(command, cwd=media, check=True, timeout=120)


class Lab:
    """Owns the work dir and every process; close() stops them all."""

    def __init__(self, pytheas, chromium):
        self.pytheas = pytheas
        self.chromium = chromium
        self.work = tempfile.mkdtemp(prefix="pytheas-player-")
        os.chmod(self.work, 0o755)  # nginx workers may run as another user
        self.processes = []
        self.node_lines = []
        self.node_lock = threading.Lock()
        self.ports = {name: free_port() for name in ("page", "fast", "slow")}
        self.page_origin = f"http://127.0.0.1:{self.ports['page']}"
        self.cdn = {name: f"http://127.0.0.1:{self.ports[name]}/" for name in ("fast", "slow")}
        self.reloads = 0

    # --- processes -----------------------------------------------------------
    def spawn(self, argv, **kwargs):
        process = subprocess.Popen(argv, **kwargs)
        self.processes.append(process)
        return process

    def close(self):
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in reversed(self.processes):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.work, ignore_errors=True)

    # --- nginx ---------------------------------------------------------------
    def nginx_conf(self, rates):
        ng = os.path.join(self.work, "nginx")
        media = os.path.join(self.work, "media")
        user = "user root;\n" if os.geteuid() == 0 else ""
        cdn_servers = ""
        for name in ("fast", "slow"):
            limit = f"limit_rate {rates[name]};" if rates[name] else ""
            # Every request pays the CDN's pace: no browser cache, no keep-alive
            # connection that outlives a reload with the old rate.
            cdn_servers += f"""
  server {{
    listen 127.0.0.1:{self.ports[name]};
    root {media};
    keepalive_timeout 0;
    etag off;
    if_modified_since off;
    {limit}
    add_header Access-Control-Allow-Origin * always;
    add_header Cache-Control no-store always;
  }}"""
        return f"""{user}worker_processes 1;
daemon off;
pid {ng}/nginx.pid;
error_log {ng}/error.log notice;
events {{ worker_connections 512; }}
http {{
  access_log off;
  client_body_temp_path {ng}/body;
  proxy_temp_path {ng}/proxy;
  fastcgi_temp_path {ng}/fastcgi;
  uwsgi_temp_path {ng}/uwsgi;
  scgi_temp_path {ng}/scgi;
  types {{
    text/html html; text/javascript js mjs; text/css css; application/json json map;
    application/vnd.apple.mpegurl m3u8; video/mp4 mp4 m4s;
  }}
  server {{
    listen 127.0.0.1:{self.ports['page']};
    root {REPO}/clients;
    add_header Cache-Control no-cache always;
  }}{cdn_servers}
}}
"""

    def start_nginx(self, rates):
        ng = os.path.join(self.work, "nginx")
        os.makedirs(ng)
        self.conf = os.path.join(ng, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(self.nginx_conf(rates))
        self.nginx = self.spawn(["nginx", "-p", ng, "-c", self.conf, "-e",
                                 os.path.join(ng, "error.log")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name in ("page", "fast", "slow"):
            url = f"http://127.0.0.1:{self.ports[name]}/"
            wait_until(lambda: self._answers(url), 15, f"nginx on {url}")

    def _answers(self, url):
        try:
            urllib.request.urlopen(url, timeout=2).close()
        except urllib.error.HTTPError:
            return True  # it answered (403/404 on a directory is fine)
        except OSError:
            return False
        return True

    def set_rates(self, rates):
        """Rewrites the config and reloads nginx (SIGHUP); returns once the new
        workers run (the error log says so)."""
        with open(self.conf, "w") as f:
            f.write(self.nginx_conf(rates))
        error_log = os.path.join(self.work, "nginx", "error.log")
        before = open(error_log).read().count("reconfiguring")
        self.nginx.send_signal(signal.SIGHUP)
        wait_until(lambda: open(error_log).read().count("reconfiguring") > before, 10,
                   "nginx to reload")
        time.sleep(0.3)  # the new worker starts right after the log line
        self.reloads += 1

    # --- the node ------------------------------------------------------------
    def start_node(self):
        self.node = self.spawn([self.pytheas, "node", "--http", "127.0.0.1:0",
                                "--cors-origin", self.page_origin,
                                "--log-level", "debug", "--log-format", "json"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        listening = threading.Event()

        def read():
            for line in self.node.stderr:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                with self.node_lock:
                    self.node_lines.append(event)
                if "listening on http://" in event.get("msg", ""):
                    self.node_url = event["msg"].split("listening on ", 1)[1].strip()
                    listening.set()

        threading.Thread(target=read, daemon=True).start()
        if not listening.wait(30):
            raise RuntimeError("the node did not start")

    def sessions(self):
        """The node's sessions in decision order: dicts with decision, score."""
        with self.node_lock:
            lines = list(self.node_lines)
        by_id = {}
        order = []
        for event in lines:
            if event.get("msg") == "decide":
                by_id[event["event_id"]] = {"event_id": event["event_id"],
                                            "decision": event["decision"],
                                            "policy": event.get("policy"), "score": None}
                order.append(event["event_id"])
            elif event.get("msg") == "report" and event.get("event_id") in by_id:
                session = by_id[event["event_id"]]
                session["outcome"] = event.get("outcome")
                if event.get("outcome") == "accepted":
                    session["score"] = event["score"]
        return [by_id[i] for i in order]

    def stats(self):
        return http_json(self.node_url + "/v1/stats?groups=0")

    def group(self):
        groups = http_json(self.node_url + "/v1/groups")["groups"]
        return groups[0] if groups else None

    # --- the browser ---------------------------------------------------------
    def page_url(self):
        # A decide timeout well above the player's default (1 s): the lab
        # judges steering, and a node starved of CPU on a shared CI box (six
        # video decoders beside it) once answered two decides after 1 s, which
        # the page rightly played as fallbacks that never report. The
        # fallback path has its own tests (clients/js/test).
        query = [f"node={self.node_url}", f"cdn={self.cdn['fast']}", f"cdn={self.cdn['slow']}",
                 f"parallel={PARALLEL}", f"watch={WATCH_S}", f"timeout={DECIDE_TIMEOUT_MS}"]
        return f"{self.page_origin}/hls.js-example/index.html?" + "&".join(query)

    def start_browser(self, size="1280,900"):
        self.profile = os.path.join(self.work, "profile")
        self.browser = self.spawn(
            [self.chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             "--autoplay-policy=no-user-gesture-required", "--hide-scrollbars",
             f"--window-size={size}", f"--user-data-dir={self.profile}",
             "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.work, "chromium.log"), "w"))
        self.devtools = cdp.devtools_port(self.profile, timeout_s=60)
        self.page = self.tab("about:blank")
        self.call(self.page, "Page.navigate", {"url": self.page_url()})

    def tab(self, url_prefix):
        """A DevTools connection to the first page whose URL starts with url_prefix."""
        def find():
            targets = http_json(f"http://127.0.0.1:{self.devtools}/json/list")
            return next((t for t in targets
                         if t.get("type") == "page" and t.get("url", "").startswith(url_prefix)),
                        None)
        target = wait_until(find, 20, f"a Chromium tab at {url_prefix}")
        path = target["webSocketDebuggerUrl"].split(f"127.0.0.1:{self.devtools}", 1)[1]
        socket_ = cdp.WebSocket("127.0.0.1", self.devtools, path)
        socket_.ids = iter(range(1, 1 << 30))
        return socket_

    def call(self, tab, method, params=None):
        return cdp.call(tab, next(tab.ids), method, params)

    def evaluate(self, tab, expression):
        result = self.call(tab, "Runtime.evaluate",
                           {"expression": expression, "returnByValue": True})
        return result["result"].get("value")

    def open_tab(self, url):
        # A window of its own: a background tab would pause the players.
        self.call(self.page, "Target.createTarget", {"url": url, "newWindow": True})
        return self.tab(url)

    def screenshot(self, tab, path, width=1280):
        height = self.evaluate(tab, "Math.ceil(document.documentElement.scrollHeight)")
        self.call(tab, "Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": int(height), "deviceScaleFactor": 1,
                   "mobile": False})
        time.sleep(0.3)
        shot = self.call(tab, "Page.captureScreenshot", {"format": "png"})
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        log(f"wrote {path} ({width}x{height})")


def mean(values):
    return sum(values) / len(values) if values else float("nan")


def share(sessions, cdn):
    return sum(1 for s in sessions if s["decision"] == cdn) / len(sessions) if sessions else 0


def wait_reported(lab, first, count, timeout_s):
    """Waits until the `count` sessions decided from index `first` on are all reported."""
    def done():
        sessions = lab.sessions()[first:first + count]
        return len(sessions) == count and all("outcome" in s for s in sessions)
    wait_until(done, timeout_s, f"sessions {first + 1}..{first + count} to report", 0.2)
    return lab.sessions()[first:first + count]


def describe(name, sessions, fast):
    scores = [s["score"] for s in sessions if s["score"] is not None]
    return (f"{name}: {len(sessions)} sessions, {100 * share(sessions, fast):.0f}% on "
            f"{fast}, mean QoE {mean(scores):.2f}")


def diagnose(lab):
    """What the page, nginx and the node say, for a run that went wrong."""
    try:
        log("page: " + lab.evaluate(lab.page, """JSON.stringify({
            error: pytheasPlayer.error, started: pytheasPlayer.started,
            finished: pytheasPlayer.finished.length, stats: pytheasPlayer.client?.stats,
            last: pytheasPlayer.finished.slice(-6).map((r) => [r.index, r.why, r.score]),
            players: [...document.querySelectorAll('.title')].map((e) => e.textContent)})"""))
    except Exception as e:  # the page may be gone
        log(f"page: unreadable ({e})")
    error_log = os.path.join(lab.work, "nginx", "error.log")
    if os.path.exists(error_log):
        lines = [line for line in open(error_log).read().splitlines()
                 if "directory index" not in line and "favicon" not in line]
        log("nginx error log, last lines:\n  " + "\n  ".join(lines[-8:]))
    with lab.node_lock:
        tail = lab.node_lines[-4:]
    log("node log, last lines:\n  " + "\n  ".join(json.dumps(e) for e in tail))
    sessions = lab.sessions()
    log(f"node: {len(sessions)} decided, "
        f"{sum(1 for s in sessions if 'outcome' in s)} reported")


def run(args):
    chromium = find_chromium(args.chromium)
    missing = [tool for tool, path in (("Chromium", chromium), ("ffmpeg", shutil.which("ffmpeg")))
               if not path]
    if missing:
        print(f"SKIPPED: {' and '.join(missing)} not installed (scripts/deps installs them)",
              file=sys.stderr)
        return SKIP
    for what, path in (("nginx", shutil.which("nginx")),
                       ("hls.js", os.path.join(REPO, "clients/hls.js-example/node_modules/"
                                                      "hls.js/dist/hls.mjs"))):
        if not path or not os.path.exists(path):
            print(f"player-lab: {what} is missing: run scripts/deps", file=sys.stderr)
            return 1

    started = time.monotonic()
    lab = Lab(args.pytheas, chromium)
    failures = []

    def check(ok, message):
        log(("ok:   " if ok else "FAIL: ") + message)
        if not ok:
            failures.append(message)

    try:
        make_ladder(os.path.join(lab.work, "media"))
        lab.start_nginx({"fast": None, "slow": SLOW_RATE})
        lab.start_node()
        lab.start_browser()
        dashboard = lab.open_tab(lab.node_url + "/") if args.mode == "demo" else None
        log(f"page {lab.page_origin}, node {lab.node_url}, cdn-fast {lab.cdn['fast']}, "
            f"cdn-slow {lab.cdn['slow']} (limit_rate {SLOW_RATE}); setup took "
            f"{time.monotonic() - started:.1f} s")

        # Phase 1: cdn-fast is fast.
        phase1 = wait_reported(lab, 0, PHASE1, 90)
        first, last = phase1[:JUDGED], phase1[-JUDGED:]
        log(describe("phase 1, first 20", first, lab.cdn["fast"]))
        log(describe("phase 1, last 20", last, lab.cdn["fast"]))

        # Phase 2: the CDNs swap rates.
        lab.set_rates({"fast": SLOW_RATE, "slow": None})
        swap_index = len(lab.sessions())
        log(f"swapped the rates after session {swap_index}: "
            f"{lab.cdn['slow']} is now the fast one")
        phase2 = wait_reported(lab, swap_index, PHASE2, 90)
        after_first, after_last = phase2[:JUDGED], phase2[-JUDGED:]
        log(describe("phase 2, first 20", after_first, lab.cdn["slow"]))
        log(describe("phase 2, last 20", after_last, lab.cdn["slow"]))
        log("phase 2, in decision order: " + " ".join(
            ("F" if s["decision"] == lab.cdn["slow"] else "s") for s in phase2) +
            "  (F: the new fast CDN)")
        judged = lab.sessions()[:swap_index + PHASE2]
        group = lab.group()
        arms = {arm["name"]: arm for arm in group["arms"]}
        log("node's group " + group["key"] + ": " + ", ".join(
            f"{name} weight {arm['weight']:.2f} mean {arm['mean']:.2f}"
            for name, arm in arms.items()))
        client = lab.evaluate(lab.page, "JSON.stringify(pytheasPlayer.client.stats)")
        client = json.loads(client)
        log(f"page's client: {client}")

        if args.mode == "demo":
            lab.screenshot(lab.page, os.path.join(args.out, "player-example.png"))
            lab.screenshot(dashboard, os.path.join(args.out, "player-dashboard.png"))

        # The tab goes away mid-session (as if closed): the sessions under way
        # report by beacon. (A decision whose answer the page never received
        # is no session: the page must have played it to report it.)
        playing = wait_until(
            lambda: json.loads(lab.evaluate(lab.page, "JSON.stringify([...pytheasPlayer.playing])")),
            10, "a session under way")
        lab.call(lab.page, "Page.navigate", {"url": "about:blank"})

        def beaconed():
            reported = {s["event_id"] for s in lab.sessions() if s.get("outcome") == "accepted"}
            return [i for i in playing if i in reported]
        try:
            wait_until(lambda: len(beaconed()) == len(playing), 10, "the beacons")
        except TimeoutError:
            pass
        log(f"navigated away with {len(playing)} sessions under way; "
            f"{len(beaconed())} of them reported after it")

        # What the issue asks, checked on the node's own records.
        check(all(s.get("outcome") == "accepted" for s in judged),
              f"each of the {len(judged)} sessions up to the end of phase 2 was reported and "
              "accepted")
        check(client["fallbacks"] == 0 and client["reportFailures"] == 0,
              "the page reached the node across origins (no fallback, no failed report)")
        check(share(last, lab.cdn["fast"]) >= MIN_SHARE,
              f"phase 1: sessions 21-40 went to cdn-fast at >= {MIN_SHARE:.0%} "
              f"({share(last, lab.cdn['fast']):.0%})")
        check(mean([s["score"] for s in last]) > mean([s["score"] for s in first]),
              "phase 1: the last 20 sessions' mean QoE beats the first 20's")
        check(share(after_last, lab.cdn["slow"]) >= MIN_SHARE,
              f"phase 2: the last 20 sessions went to the new fast CDN at >= {MIN_SHARE:.0%} "
              f"({share(after_last, lab.cdn['slow']):.0%})")
        check(mean([s["score"] for s in after_last]) > mean([s["score"] for s in after_first]),
              "phase 2: the last 20 sessions' mean QoE beats the first 20's after the swap")
        # Following the swap within FOLLOW sessions: the PARALLEL sessions
        # decided before any post-swap report could arrive cannot know.
        followed = phase2[FOLLOW:]
        check(share(followed, lab.cdn["slow"]) >= MIN_SHARE,
              f"phase 2: from session {FOLLOW + 1} after the swap on, >= {MIN_SHARE:.0%} went "
              f"to the new fast CDN ({share(followed, lab.cdn['slow']):.0%})")
        check(arms[lab.cdn["slow"]]["mean"] > arms[lab.cdn["fast"]]["mean"] and
              arms[lab.cdn["slow"]]["weight"] >= 0.5,
              "GET /v1/groups: the group now rates the new fast CDN higher and gives it "
              "at least half the decisions")
        lab.node.send_signal(signal.SIGTERM)
        try:
            code = lab.node.wait(timeout=60)
        except subprocess.TimeoutExpired:
            code = None
        check(code == 0, f"the node drained and exited 0 on SIGTERM (exit code {code})")
        if failures:
            log("sessions in decision order (decision, QoE): " + ", ".join(
                f"{'F' if s['decision'] == lab.cdn['fast'] else 'S'}{s['score']:.1f}"
                for s in judged if s["score"] is not None) + "  (F: the first fast CDN)")
        check(len(beaconed()) == len(playing),
              f"closing the tab mid-session still reported its {len(playing)} sessions under way "
              "(beacons)")
    except BaseException:
        diagnose(lab)
        raise
    finally:
        lab.close()
    log(f"{'PASSED' if not failures else 'FAILED'} in {time.monotonic() - started:.1f} s")
    return 0 if not failures else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["test", "demo"])
    parser.add_argument("--pytheas", required=True, help="the pytheas binary")
    parser.add_argument("--chromium", help="the browser (default: chromium on PATH)")
    parser.add_argument("--out", default=os.path.join(REPO, "docs"),
                        help="demo: where the screenshots go (default docs/)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    try:
        return run(args)
    except (TimeoutError, RuntimeError, subprocess.SubprocessError) as e:
        log(f"FAILED: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
