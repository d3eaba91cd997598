"""Helpers for scripts/bench-federation (stdlib only): a paced keep-alive
report sender and Prometheus histogram quantiles read from /metrics."""
import http.client
import json
import sys
import time


def post(conn, path, body):
    conn.request("POST", path, body=json.dumps(body), headers={"content-type": "application/json"})
    reply = conn.getresponse()
    reply.read()
    return reply.status


def report(port, group, decision, score, count):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    for _ in range(count):
        status = post(conn, "/v1/report",
                      {"features": {"Asn": group}, "decision": decision, "score": score})
        if status != 202:
            sys.exit(f"report to :{port} answered {status}")


def paced(port, groups, rate, seconds):
    """Sends `rate` reports/s for `seconds` to :port, round-robin over groups."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    total = int(rate * seconds)
    start = time.monotonic()
    for i in range(total):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        status = post(conn, "/v1/report", {"features": {"Asn": f"fed-{i % groups + 1}"},
                                            "decision": "x", "score": 50})
        if status != 202:
            sys.exit(f"report answered {status}")
    return total


def metrics(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/metrics")
    return conn.getresponse().read().decode()


def histogram(text, name):
    """Cumulative buckets [(upper_bound, count)] of a histogram in /metrics."""
    out = []
    for line in text.splitlines():
        if line.startswith(name + "_bucket{le=\""):
            bound = line.split('"')[1]
            out.append((float("inf") if bound == "+Inf" else float(bound), int(line.split()[-1])))
    return out


def counter(text, prefix):
    for line in text.splitlines():
        if line.startswith(prefix + " "):
            return float(line.split()[-1])
    return 0.0


def quantile(before, after, q):
    """Upper bound of the bucket holding quantile q of the samples added
    between two reads of the same histogram."""
    deltas = [(b, a - p) for (b, a), (_, p) in zip(after, before)]
    total = deltas[-1][1]
    if total == 0:
        return float("nan")
    for bound, cumulative in deltas:
        if cumulative >= q * total:
            return bound
    return float("inf")


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "report":
        report(int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5]), int(sys.argv[6]))
    elif command == "paced":
        print(paced(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])))
    elif command == "snapshot":  # saves /metrics of :port to a file
        open(sys.argv[3], "w").write(metrics(int(sys.argv[2])))
    elif command == "quantiles":  # before-file after-file name
        before = histogram(open(sys.argv[2]).read(), sys.argv[4])
        after = histogram(open(sys.argv[3]).read(), sys.argv[4])
        print(" ".join(f"{quantile(before, after, q) * 1000:.3g}" for q in (0.5, 0.9, 0.99)),
              int(after[-1][1] - before[-1][1]))
    elif command == "counter":  # file prefix
        print(int(counter(open(sys.argv[2]).read(), sys.argv[3])))
