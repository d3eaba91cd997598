#!/usr/bin/env python3
"""Screenshot of the page a running headless Chromium shows, over the DevTools
protocol, with nothing but the standard library (a minimal WebSocket client).

Why not `chromium --screenshot`: it shoots as soon as the page loads (or after
a *virtual* time budget), but the dashboard builds its charts from one poll a
second in real time, so the page must stay open while traffic flows.

Usage: cdp_screenshot.py PROFILE_DIR OUT.png [WIDTH]
PROFILE_DIR is the --user-data-dir of a Chromium started with
--remote-debugging-port=0 (it writes the port to DevToolsActivePort there).
"""
import base64
import json
import os
import socket
import struct
import sys
import time
import urllib.request


def devtools_port(profile_dir, timeout_s=20):
    path = os.path.join(profile_dir, "DevToolsActivePort")
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                first = f.readline().strip()
            if first.isdigit():
                return int(first)
        time.sleep(0.1)
    sys.exit(f"cdp_screenshot: no DevToolsActivePort in {profile_dir} after {timeout_s} s")


class WebSocket:
    """Just enough RFC 6455 for DevTools: text frames, masked sends."""

    def __init__(self, host, port, path):
        self.sock = socket.create_connection((host, port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        header = b""
        while b"\r\n\r\n" not in header:
            chunk = self.sock.recv(1)
            if not chunk:
                sys.exit("cdp_screenshot: DevTools closed the connection during the handshake")
            header += chunk
        if b" 101 " not in header.split(b"\r\n")[0]:
            sys.exit(f"cdp_screenshot: handshake refused: {header[:200]!r}")

    def _exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                sys.exit("cdp_screenshot: DevTools closed the connection")
            data += chunk
        return data

    def send(self, text):
        payload = text.encode()
        head = bytes([0x81])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def receive(self):
        message = b""
        while True:
            b0, b1 = self._exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            payload = self._exact(n)
            opcode = b0 & 0x0F
            if opcode in (0x1, 0x0):
                message += payload
                if b0 & 0x80:
                    return message.decode()
            # ping/pong/binary frames are not used by DevTools here: skip them


def call(ws, ident, method, params=None):
    ws.send(json.dumps({"id": ident, "method": method, "params": params or {}}))
    while True:
        reply = json.loads(ws.receive())
        if reply.get("id") == ident:
            if "error" in reply:
                sys.exit(f"cdp_screenshot: {method}: {reply['error']}")
            return reply["result"]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    profile, out = sys.argv[1], sys.argv[2]
    width = int(sys.argv[3]) if len(sys.argv) > 3 else 1280
    port = devtools_port(profile)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
        targets = [t for t in json.load(response) if t.get("type") == "page"]
    if not targets:
        sys.exit("cdp_screenshot: Chromium has no page open")
    url = targets[0]["webSocketDebuggerUrl"]
    path = url.split(f"127.0.0.1:{port}", 1)[1]
    ws = WebSocket("127.0.0.1", port, path)
    # Size the viewport to the whole page, then shoot it.
    height = call(ws, 1, "Runtime.evaluate", {
        "expression": "Math.ceil(document.documentElement.scrollHeight)",
        "returnByValue": True})["result"]["value"]
    call(ws, 2, "Emulation.setDeviceMetricsOverride",
         {"width": width, "height": int(height), "deviceScaleFactor": 1, "mobile": False})
    time.sleep(0.3)  # one frame to lay out at the new size
    shot = call(ws, 3, "Page.captureScreenshot", {"format": "png"})
    with open(out, "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    print(f"cdp_screenshot: wrote {out} ({width}x{height})")


if __name__ == "__main__":
    main()
