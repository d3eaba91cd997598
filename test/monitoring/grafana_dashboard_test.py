#!/usr/bin/env python3
"""packaging/grafana/pytheas.json is an importable Grafana dashboard (ctest grafana_dashboard).

Checks what Grafana needs to import and provision it without edits: a uid,
schemaVersion 36+, a Prometheus datasource variable that every panel and
target uses (no hard-coded datasource), the federation/cluster/member
variables (multi, "All" = .*), unique panel ids, panels that do not overlap,
and a PromQL target on every panel whose variables are all defined. Whether
each query runs and returns data is prometheus_cluster_test.py's part.
Usage: grafana_dashboard_test.py DASHBOARD.json
"""

import json
import re
import sys

BUILTIN = {"__rate_interval", "__interval", "__range", "__all"}


def main(path):
    errors = []
    dashboard = json.load(open(path))
    for key in ("uid", "title", "panels", "templating"):
        if key not in dashboard:
            errors.append(f"no {key}")
    if dashboard.get("schemaVersion", 0) < 36:
        errors.append(f"schemaVersion {dashboard.get('schemaVersion')} < 36")
    variables = {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}
    ds = variables.get("datasource", {})
    if ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        errors.append("no Prometheus datasource variable named datasource")
    for name in ("federation", "cluster", "member"):
        v = variables.get(name)
        if not v or not v.get("includeAll") or not v.get("multi") or v.get("allValue") != ".*":
            errors.append(f"variable {name}: missing, or not multi with All = .*")
    want_ds = {"type": "prometheus", "uid": "${datasource}"}
    ids = set()
    cells = {}
    targets = 0
    for panel in dashboard.get("panels", []):
        pid = panel.get("id")
        where = f"panel {pid} ({panel.get('title')})"
        if pid in ids:
            errors.append(f"{where}: duplicate id")
        ids.add(pid)
        g = panel.get("gridPos", {})
        if not all(isinstance(g.get(k), int) for k in "hwxy") or g["x"] + g["w"] > 24:
            errors.append(f"{where}: bad gridPos {g}")
            continue
        for dx in range(g["w"]):
            for dy in range(g["h"]):
                cell = (g["x"] + dx, g["y"] + dy)
                if cell in cells:
                    errors.append(f"{where}: overlaps panel {cells[cell]}")
                    break
                cells[cell] = pid
        if panel.get("type") == "row":
            continue
        if panel.get("datasource") != want_ds:
            errors.append(f"{where}: datasource {panel.get('datasource')}, want {want_ds}")
        if not panel.get("targets"):
            errors.append(f"{where}: no targets")
        for target in panel.get("targets", []):
            targets += 1
            expr = target.get("expr", "")
            if not expr.strip() or not target.get("refId"):
                errors.append(f"{where}: a target without expr or refId")
            if target.get("datasource") != want_ds:
                errors.append(f"{where}: target datasource {target.get('datasource')}")
            for used in re.findall(r"\$\{?(\w+)\}?", expr):
                if used not in variables and used not in BUILTIN:
                    errors.append(f"{where}: undefined variable ${used}")
            for a, b in ("()", "{}", "[]"):
                if expr.count(a) != expr.count(b):
                    errors.append(f"{where}: unbalanced {a}{b} in {expr}")
    if targets == 0:
        errors.append("no targets at all")
    for e in errors:
        print(f"{path}: {e}", file=sys.stderr)
    if not errors:
        print(f"{path}: {len(ids)} panels, {targets} targets, variables {sorted(variables)}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
