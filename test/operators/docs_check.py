#!/usr/bin/env python3
"""Docs checked against the code: fails when something an operator can use is
missing from docs/. Stdlib only. What it reads, and where it looks:

  flags        `pytheas --help` and `pytheas SUB --help` for every subcommand
               the top-level help lists (CLI11's "SUBCOMMANDS:" section): every
               --long-flag must appear in some docs/*.md.
  routes       http/api.cpp: every literal a request path is compared with
               (`path == "/..."`, `path.starts_with("/...")`): each must appear
               in a table row of docs/API.md (its route table: README promises
               every route is there).
  error codes  http/*.cpp: the "code" of every `error(request, NNN, "code", ...)`
               answer, every codec `fail(error, "code", ...)` and every
               `error_response(NNN, version, "code", ...)`, `code = "..."` and
               `reject(NNN, "code", ...)` the server and the CORS policy send
               before a handler runs; each must appear in a
               table row of docs/API.md (its error table).
  label keys   config/label_config.cpp and config/learner_options_yaml.cpp:
               every key of every `only_keys(...)` list; each must appear in
               docs/LABELS.md or docs/GROUPING.md.
  cluster keys config/cluster_config.cpp's `only_keys(...)` lists; each must
               appear in docs/CLUSTER.md (or any docs/*.md if that file is absent).

A key "appears" when it occurs as a whole word (not inside a longer
identifier). Exit 0: all present; 1: a list of what is missing, by kind.
"""

import argparse
import glob
import os
import re
import subprocess
import sys


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def mentions(text, word):
    return re.search(r"(?<![A-Za-z0-9_\-])" + re.escape(word) + r"(?![A-Za-z0-9_])", text) is not None


def only_keys(source):
    """Keys of every ctx.only_keys(node, field, {"a", "b", ...}) call."""
    keys = []
    for block in re.findall(r"only_keys\s*\([^{]*\{([^}]*)\}", source, re.S):
        keys += re.findall(r'"([A-Za-z_][A-Za-z0-9_]*)"', block)
    return sorted(set(keys))


def flags(pytheas):
    def help_of(args):
        out = subprocess.run([pytheas] + args + ["--help"], capture_output=True, text=True,
                             timeout=30)
        if out.returncode != 0:
            sys.exit(f"docs_check: `pytheas {' '.join(args)} --help` exited {out.returncode}")
        return out.stdout

    top = help_of([])
    subs = []
    section = re.split(r"(?im)^subcommands:\s*$", top)
    if len(section) < 2:
        sys.exit("docs_check: no SUBCOMMANDS section in `pytheas --help` (CLI11 changed?)")
    for line in section[1].splitlines():
        m = re.match(r"\s{2,}([a-z][a-z0-9-]*)\b", line)
        if m:
            subs.append(m.group(1))
        elif line.strip() and not line.startswith(" "):
            break
    if not subs:
        sys.exit("docs_check: found no subcommand in `pytheas --help`")
    found = {}
    for args in [[]] + [[s] for s in subs]:
        text = help_of(args)
        # A nested subcommand's own flags (e.g. `trace generate`).
        nested = re.split(r"(?im)^subcommands:\s*$", text)
        if args and len(nested) > 1:
            for line in nested[1].splitlines():
                m = re.match(r"\s{2,}([a-z][a-z0-9-]*)\b", line)
                if m:
                    for flag in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]+)", help_of(args + [m.group(1)])):
                        found.setdefault(flag, " ".join(args + [m.group(1)]))
        for flag in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]+)", text):
            found.setdefault(flag, " ".join(args) or "(top level)")
    found.pop("--help", None)
    return found, subs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True, help="the repository root")
    ap.add_argument("--pytheas", required=True, help="the pytheas binary")
    a = ap.parse_args()
    src = a.source
    docs = {os.path.basename(p): read(p) for p in glob.glob(os.path.join(src, "docs", "*.md"))}
    if not docs:
        sys.exit("docs_check: no docs/*.md")
    all_docs = "\n".join(docs.values())
    api = docs.get("API.md", "")
    missing = []

    found_flags, subs = flags(a.pytheas)
    for flag, where in sorted(found_flags.items()):
        if not mentions(all_docs, flag):
            missing.append(f"flag {flag} (pytheas {where}) is in no docs/*.md")
    for sub in subs:
        if not mentions(all_docs, "pytheas " + sub):
            missing.append(f"subcommand `pytheas {sub}` is in no docs/*.md")

    api_cpp = read(os.path.join(src, "http", "api.cpp"))
    routes = set(re.findall(r'path\s*==\s*"(/[^"]*)"', api_cpp))
    routes |= set(re.findall(r'path\.starts_with\("(/[^"]*)"\)', api_cpp))
    routes = {r.rstrip("/") or "/" for r in routes}
    if len(routes) < 5:
        sys.exit(f"docs_check: found only {sorted(routes)} in http/api.cpp (its form changed?)")
    # The route table and the error table: API.md's table rows.
    api_rows = "\n".join(line for line in api.splitlines() if line.startswith("|"))
    for route in sorted(routes):
        if route == "/":
            continue  # the dashboard's alias; /dashboard is the route documented
        if not re.search(r"(?<![\w/])" + re.escape(route) + r"(?![\w-])", api_rows):
            missing.append(f"route {route} (http/api.cpp) is not in docs/API.md's table")

    codes = set()
    for path in glob.glob(os.path.join(src, "http", "*.cpp")):
        text = read(path)
        codes |= set(re.findall(r'error\(\s*\w+\s*,\s*\d{3}\s*,\s*"([a-z_]+)"', text))
        # Codec failures (json_codec.cpp, legacy_protocol.cpp): fail(error, "code", ...).
        codes |= set(re.findall(r'\bfail\(\s*\w+\s*,\s*"([a-z_]+)"', text))
        # Answers before a handler runs (session.cpp): error_response(NNN, version, "code", ...).
        codes |= set(re.findall(r'error_response\(\s*\d{3}\s*,[^,]*,\s*"([a-z_]+)"', text))
        # session.cpp's rejections: `code = "..."` and reject(NNN, "code", ...).
        codes |= set(re.findall(r'\bcode = "([a-z_]+)"', text))
        codes |= set(re.findall(r'\breject\(\s*\d{3}\s*,\s*"([a-z_]+)"', text))
        codes |= set(re.findall(r'error_body\(\s*"([a-z_]+)"', text))
    if len(codes) < 5:
        sys.exit(f"docs_check: found only {sorted(codes)} error codes in http/ (its form changed?)")
    for code in sorted(codes):
        if not mentions(api_rows, code):
            missing.append(f"error code {code} (http/) is not in docs/API.md's table")

    label_docs = docs.get("LABELS.md", "") + docs.get("GROUPING.md", "")
    label_keys = only_keys(read(os.path.join(src, "config", "label_config.cpp")))
    learner = os.path.join(src, "config", "learner_options_yaml.cpp")
    if os.path.exists(learner):
        label_keys = sorted(set(label_keys) | set(only_keys(read(learner))))
    if len(label_keys) < 10:
        sys.exit(f"docs_check: found only {label_keys} label-config keys (its form changed?)")
    for key in label_keys:
        if not mentions(label_docs, key):
            missing.append(f"label-config key {key} (config/) is not in docs/LABELS.md or GROUPING.md")

    cluster_keys = only_keys(read(os.path.join(src, "config", "cluster_config.cpp")))
    if len(cluster_keys) < 5:
        sys.exit(f"docs_check: found only {cluster_keys} cluster-file keys (its form changed?)")
    cluster_docs = docs.get("CLUSTER.md", all_docs)
    for key in cluster_keys:
        if not mentions(cluster_docs, key):
            missing.append(f"cluster-file key {key} (config/cluster_config.cpp) is not in docs/CLUSTER.md")

    print(f"docs_check: {len(found_flags)} flags of {len(subs)} subcommands, {len(routes)} routes, "
          f"{len(codes)} error codes, {len(label_keys)} label-config keys, "
          f"{len(cluster_keys)} cluster-file keys")
    if missing:
        print("missing from docs/:\n  " + "\n  ".join(missing))
        return 1
    print("docs_check: every one appears in docs/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
