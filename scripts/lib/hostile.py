#!/usr/bin/env python3
"""Hostile-input cases against a live `pytheas node` (see scripts/hostile).

Each case sends raw bytes on its own connection and states what the node must
do: answer with one of the listed statuses, or close the connection ("close").
After every case GET /livez must answer 200. Stdlib only; every wait bounded.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

READ_TIMEOUT_MS = 1000  # the node's --read-timeout-ms: slow clients are cut after it
IDLE_TIMEOUT_MS = 1500
MAX_CONNECTIONS = 64
SOCKET_WAIT = 5.0  # seconds a case waits for an answer
ADMIN_TOKEN = "hostile-admin-token"  # the node's --admin-token (/v1/groups*)
AUTH = f"Authorization: Bearer {ADMIN_TOKEN}\r\n".encode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    def __init__(self, binary):
        self.port = free_port()
        self.state_dir = tempfile.mkdtemp(prefix="pytheas-hostile-")
        self.log = open(os.path.join(self.state_dir, "node.log"), "w+")
        self.proc = subprocess.Popen(
            [binary, "node", "--http", f"127.0.0.1:{self.port}", "--state-dir", self.state_dir,
             "--io-threads", "2", "--read-timeout-ms", str(READ_TIMEOUT_MS),
             "--idle-timeout-ms", str(IDLE_TIMEOUT_MS), "--max-connections", str(MAX_CONNECTIONS),
             "--admin-token", ADMIN_TOKEN, "--log-level", "warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"node exited early: {self.tail()}")
            if livez(self.port) == 200:
                return
            time.sleep(0.1)
        raise SystemExit("node did not become live within 15 s")

    def tail(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-2000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.state_dir, ignore_errors=True)


def read_response(sock, timeout=SOCKET_WAIT):
    """Returns (status, body) of the next response on `sock`, or ("close", b"")
    if the peer closed (or reset) before a full response, or ("timeout", b"").
    Bytes past that response stay buffered for the next call (pipelining)."""
    sock.settimeout(timeout)
    data = PENDING.pop(sock.fileno(), b"")
    deadline = time.monotonic() + timeout

    def more():
        nonlocal data
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionResetError
        data += chunk

    try:
        while b"\r\n\r\n" not in data:
            if time.monotonic() > deadline:
                return "timeout", b""
            more()
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        data = rest
        while len(data) < length:
            if time.monotonic() > deadline:
                return "timeout", b""
            more()
    except socket.timeout:
        return "timeout", b""
    except (ConnectionResetError, BrokenPipeError):
        return "close", b""
    PENDING[sock.fileno()] = data[length:]
    return status, data[:length]


# Bytes received past the last response, by socket (see read_response).
PENDING = {}


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_WAIT)
    PENDING.pop(sock.fileno(), None)  # a reused descriptor starts clean
    return sock


def send_raw(port, payload, shut_wr=False):
    with connect(port) as s:
        try:
            s.sendall(payload)
            if shut_wr:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the node may reject and close before reading everything
        return read_response(s)


def livez(port):
    try:
        status, _ = send_raw(port, b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return status
    except OSError:
        return "refused"


def request(method, path, body=b"", ctype="application/json", extra=b""):
    if isinstance(body, str):
        body = body.encode()
    return (f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n".encode() + extra +
            f"Content-Length: {len(body)}\r\n\r\n".encode() + body)


def decide(body):
    return request("POST", "/v1/decide", body)


def report(body):
    return request("POST", "/v1/report", body)


def legacy(body):
    return request("POST", "/player.php", body, "application/x-www-form-urlencoded")


F15 = "1473000000000%093.2%091500%09800%097922%09Boston%09US%09wifi%09MA%09linux%09vod%09obj-1%09flash%091200%09cdn-a"
GOOD_FEATURES = '"features":{"Asn":"7922"}'


def slow_headers(port):
    """Sends a request line byte by byte, slower than the read timeout allows."""
    with connect(port) as s:
        start = time.monotonic()
        try:
            for byte in b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200:
                s.sendall(bytes([byte]))
                time.sleep(0.05)
                if time.monotonic() - start > 4:
                    break
        except (BrokenPipeError, ConnectionResetError):
            return "close"
        status, _ = read_response(s, timeout=3)
        return status


def stalled(payload):
    def run(port):
        with connect(port) as s:
            s.sendall(payload)
            status, _ = read_response(s, timeout=READ_TIMEOUT_MS / 1000 + 3)
            return status
    return run


def idle_connection(port):
    with connect(port) as s:
        status, _ = read_response(s, timeout=IDLE_TIMEOUT_MS / 1000 + 3)
        return status


def reset_mid_request(port):
    s = connect(port)
    s.sendall(b"POST /v1/decide HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"feat")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()  # RST
    return "close"


def half_closed_complete(port):
    return send_raw(port, b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n", shut_wr=True)[0]


def half_closed_partial(port):
    return send_raw(port, b"GET /livez HTTP/1.1\r\nHost: x\r\n", shut_wr=True)[0]


def flood(port):
    """Opens more connections than --max-connections: the extra ones get 503
    (or a close); the node must keep serving once they are gone."""
    socks, extra = [], []
    try:
        for _ in range(MAX_CONNECTIONS - 4):
            socks.append(connect(port))
        time.sleep(0.2)
        for _ in range(8):
            extra.append(connect(port))
        answers = set()
        for s in extra:
            try:
                s.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
            except OSError:
                pass
            answers.add(read_response(s, timeout=3)[0])
    finally:
        for s in socks + extra:
            s.close()
    time.sleep(0.3)
    # Some of the 8 may still fit under the limit (the node counts its own way);
    # at least one must have been turned away, none may hang.
    if "timeout" in answers:
        return "timeout"
    return 503 if (503 in answers or "close" in answers) else sorted(map(str, answers))[0]


def pipelined_with_bad(port):
    good = b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n"
    with connect(port) as s:
        s.sendall(good * 3 + b"GARBAGE\r\n\r\n" + good)
        got = [read_response(s)[0] for _ in range(5)]
    return got[3] if got[:3] == [200, 200, 200] else f"first three {got[:3]}"


def many_requests_one_connection(port):
    with connect(port) as s:
        s.sendall(decide('{"features":{},"candidates":[]}') * 200)
        got = [read_response(s)[0] for _ in range(200)]
    return 400 if all(g == 400 for g in got) else str(sorted(set(map(str, got))))


CASES = [
    # --- malformed HTTP: 400 and close ---
    ("garbage request line", b"HELLO\r\n\r\n", [400, "close"]),
    ("space in method", b"GE T /livez HTTP/1.1\r\n\r\n", [400, "close"]),
    ("bad version", b"GET /livez HTTP/9\r\n\r\n", [400, "close"]),
    ("header without colon", b"GET /livez HTTP/1.1\r\nHost x\r\n\r\n", [400]),
    ("NUL in header value", b"GET /livez HTTP/1.1\r\nX-A: a\x00b\r\n\r\n", [400]),
    ("control char in target", b"GET /li\x01vez HTTP/1.1\r\n\r\n", [400]),
    ("obs-fold header", b"GET /livez HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n", [200, 400]),
    ("bare LF line ends", b"GET /livez HTTP/1.1\nHost: x\n\n", [400, "close"]),
    ("negative Content-Length", b"POST /v1/decide HTTP/1.1\r\nContent-Length: -5\r\n\r\n", [400]),
    ("non-numeric Content-Length", b"POST /v1/decide HTTP/1.1\r\nContent-Length: ten\r\n\r\n", [400]),
    ("two Content-Lengths", b"POST /v1/decide HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
     [400]),
    ("Content-Length + chunked", b"POST /v1/decide HTTP/1.1\r\nContent-Length: 3\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", [400]),
    ("bad chunk size", b"POST /v1/decide HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
     [400]),
    ("chunk size overflow", b"POST /v1/decide HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"ffffffffffffffffffff\r\n{}\r\n0\r\n\r\n", [400, 413]),
    # --- size limits ---
    ("9 KiB header", b"GET /livez HTTP/1.1\r\nX-Big: " + b"a" * 9216 + b"\r\n\r\n", [431]),
    ("1200 small headers", b"GET /livez HTTP/1.1\r\n" + b"X-H: v\r\n" * 1200 + b"\r\n", [431]),
    ("10 KiB request target", b"GET /" + b"a" * 10240 + b" HTTP/1.1\r\n\r\n", [431]),
    ("100 KiB header flood", b"GET /livez HTTP/1.1\r\n" + b"X: " + b"b" * 100000 + b"\r\n\r\n", [431]),
    ("65 KiB body", decide('{"x":"' + "a" * 66560 + '"}'), [413]),
    ("Content-Length 10^12", b"POST /v1/decide HTTP/1.1\r\nContent-Length: 1000000000000\r\n\r\n{", [413]),
    ("chunked body over limit", b"POST /v1/decide HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
     + (b"4000\r\n" + b"a" * 0x4000 + b"\r\n") * 5 + b"0\r\n\r\n", [413]),
    ("100-continue over limit", b"POST /v1/decide HTTP/1.1\r\nExpect: 100-continue\r\n"
     b"Content-Length: 10000000\r\n\r\n", [413]),
    # --- JSON bodies ---
    ("empty decide body", decide(""), [400]),
    ("not JSON", decide("hello"), [400]),
    ("JSON array body", decide("[1,2]"), [400]),
    ("JSON string body", decide('"x"'), [400]),
    ("10000-deep arrays", decide("[" * 10000 + "]" * 10000), [400]),
    ("17-deep objects", decide('{"a":' * 17 + "1" + "}" * 17), [400]),
    ("unterminated deep nesting", decide('{"features":' + "[" * 30000), [400]),
    ("trailing data", decide('{"features":{},"candidates":["a"]} x'), [400]),
    ("two objects", decide('{"features":{},"candidates":["a"]}{}'), [400]),
    ("invalid UTF-8 in value", decide(b'{"features":{"Asn":"\xff\xfe"},"candidates":["a"]}'), [400]),
    ("invalid UTF-8 in key", decide(b'{"features":{"\xc3\x28":"1"},"candidates":["a"]}'), [400]),
    ("overlong UTF-8 candidate", decide(b'{"features":{},"candidates":["\xc0\xaf"]}'), [400]),
    ("truncated UTF-8", decide(b'{"features":{},"candidates":["\xe2\x82"]}'), [400]),
    ("lone surrogate escape", decide('{"features":{},"candidates":["\\ud800"]}'), [400]),
    ("bad escape", decide('{"features":{},"candidates":["\\x41"]}'), [400]),
    ("unknown field", decide('{"features":{},"candidates":["a"],"candidatez":1}'), [400]),
    ("missing candidates", decide('{"features":{}}'), [400]),
    ("empty candidates", decide('{"features":{},"candidates":[]}'), [400]),
    ("duplicate candidates", decide('{"features":{},"candidates":["a","a"]}'), [400]),
    ("empty candidate", decide('{"features":{},"candidates":[""]}'), [400]),
    ("1025 candidates", decide(json.dumps({"features": {}, "candidates": [f"c{i}" for i in range(1025)]})),
     [400]),
    ("number candidate", decide('{"features":{},"candidates":[1]}'), [400]),
    ("unknown feature", decide('{"features":{"Cty":"x"},"candidates":["a"]}'), [400]),
    ("object feature value", decide('{"features":{"Asn":{}},"candidates":["a"]}'), [400]),
    ("duplicate key", decide('{"features":{},"features":{},"candidates":["a"]}'), [400]),
    ("huge number feature", decide('{"features":{"Asn":1e99999},"candidates":["a"]}'), [200, 400]),
    ("report unknown event", report('{"event_id":"ffffffffffffffff","score":1}'), [404]),
    ("report non-hex event", report('{"event_id":"zzzz","score":1}'), [400, 404]),
    ("report NaN score", report('{"event_id":"ffffffffffffffff","score":NaN}'), [400]),
    ("report string score", report('{"event_id":"ffffffffffffffff","score":"1"}'), [400]),
    ("report 1e999 score", report('{"event_id":"ffffffffffffffff","score":1e999}'), [400]),
    ("report event + features", report('{"event_id":"ff",' + GOOD_FEATURES + ',"decision":"a","score":1}'),
     [400]),
    ("report missing decision", report('{' + GOOD_FEATURES + ',"score":1}'), [400]),
    # --- legacy form ---
    ("legacy bad escape", legacy("method=request&payload=%zz"), [400]),
    ("legacy truncated escape", legacy("method=request&payload=%4"), [400]),
    ("legacy missing method", legacy("payload=" + F15 + "%09a"), [400]),
    ("legacy bad method", legacy("method=drop&payload=" + F15 + "%09a"), [400]),
    ("legacy short payload", legacy("method=request&payload=1%092"), [400]),
    ("legacy NaN cost", legacy("method=update&payload=" + F15 + "%09a%09nan"), [400]),
    ("legacy extra fields", legacy("method=update&payload=" + F15 + "%09a%091%09x"), [400]),
    ("legacy invalid UTF-8", legacy("method=request&payload=" + F15 + "%09%ff%fe"), [200, 400]),
    # --- routing ---
    ("groups without token", b"GET /v1/groups HTTP/1.1\r\n\r\n", [401]),
    ("groups with wrong token", b"GET /v1/groups HTTP/1.1\r\nAuthorization: Bearer nope\r\n\r\n", [401]),
    ("group without token", b"GET /v1/groups/Asn%3D1 HTTP/1.1\r\n\r\n", [401]),
    ("groups with token (control)", b"GET /v1/groups HTTP/1.1\r\n" + AUTH + b"\r\n", [200]),
    ("GET on decide", b"GET /v1/decide HTTP/1.1\r\nHost: x\r\n\r\n", [405]),
    ("POST on livez", request("POST", "/livez", "{}"), [405]),
    ("unknown route", b"GET /admin HTTP/1.1\r\n\r\n", [404]),
    ("path traversal", b"GET /../../etc/passwd HTTP/1.1\r\n\r\n", [400, 404]),
    ("unknown group", b"GET /v1/groups/Asn%3Dnope HTTP/1.1\r\n" + AUTH + b"\r\n", [404]),
    ("groups limit=abc", b"GET /v1/groups?limit=abc HTTP/1.1\r\n" + AUTH + b"\r\n", [400]),
    ("groups limit=-1", b"GET /v1/groups?limit=-1 HTTP/1.1\r\n" + AUTH + b"\r\n", [400]),
    ("groups limit overflow", b"GET /v1/groups?limit=99999999999999999999999 HTTP/1.1\r\n" + AUTH + b"\r\n", [400]),
    ("absolute-form target", b"GET http://evil/livez HTTP/1.1\r\n\r\n", [200, 400, 404]),
    ("CONNECT method", b"CONNECT 127.0.0.1:22 HTTP/1.1\r\n\r\n", [400, 404, 405]),
    # --- client behaviour ---
    ("slow headers (slowloris)", slow_headers, ["close", 408]),
    ("stalled mid-headers", stalled(b"GET /livez HTTP/1.1\r\nHost: x\r\n"), ["close", 408]),
    ("stalled mid-body", stalled(b"POST /v1/decide HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"f"),
     ["close", 408]),
    ("idle connection", idle_connection, ["close"]),
    ("reset mid-request", reset_mid_request, ["close"]),
    ("half-closed after request", half_closed_complete, [200]),
    ("half-closed mid-headers", half_closed_partial, ["close", 400]),
    ("connection flood", flood, [503]),
    ("pipelined garbage after good", pipelined_with_bad, [400]),
    ("200 bad requests pipelined", many_requests_one_connection, [400]),
]


def main():
    binary = sys.argv[1]
    node = Node(binary)
    passed, failed = 0, []
    rows = []
    try:
        for name, action, expected in CASES:
            try:
                got = action(node.port) if callable(action) else send_raw(node.port, action)[0]
            except OSError as e:
                got = f"error {e.__class__.__name__}"
            alive = livez(node.port)
            ok = got in expected and alive == 200
            rows.append((name, "|".join(map(str, expected)), str(got), alive, ok))
            print(f"{'ok  ' if ok else 'FAIL'} {name:32} expected {'|'.join(map(str, expected)):12} "
                  f"got {str(got):10} livez {alive}", flush=True)
            if ok:
                passed += 1
            else:
                failed.append(name)
            if node.proc.poll() is not None:
                print(f"node died (exit {node.proc.returncode}):\n{node.tail()}")
                break
        final = livez(node.port)
        print(f"final /livez: {final}")
        if final != 200:
            failed.append("final livez")
    finally:
        node.stop()
    print(f"{passed} passed, {len(failed)} failed" + (f": {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
