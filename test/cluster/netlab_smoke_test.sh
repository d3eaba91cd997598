#!/usr/bin/env bash
# Partition smoke test in the network lab (scripts/netlab): a backend and two
# frontends (TLS on), each in its own network namespace. One frontend is cut
# off silently (its packets vanish: no RST, no ICMP); the others must mark it
# down within peer_timeout_s + 1 s and it must mark them down as well, while
# its players (the client namespace, on a link the partition leaves up) keep
# getting decisions from it. After the heal every link must come back without
# restarting anything, within peer_timeout_s + 5 s.
# Usage: netlab_smoke_test.sh PYTHEAS_BINARY
# NETLAB_SMOKE_ISOLATE_S: how long the cut lasts (default 6 s);
# NETLAB_SMOKE_RELINK_WAIT_S: how long to wait for the links after the heal (20 s).
# Exits 77 (skipped) where network namespaces are not permitted.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
netlab_script="$here/../../scripts/netlab"
export PYTHEAS_BINARY="${1:?usage: netlab_smoke_test.sh PYTHEAS_BINARY}"
isolate_s="${NETLAB_SMOKE_ISOLATE_S:-6}"
readonly peer_timeout_s=3 detect_target_s=4 relink_target_s=8

# One lab dir per binary: a run killed before its trap (SIGKILL) leaves a lab
# that the next run of the same build removes first.
lab="${TMPDIR:-/tmp}/pytheas-netlab-smoke-$(printf '%s' "$PYTHEAS_BINARY" | md5sum | cut -c1-8)"
work="$lab-work"
netlab() { "$netlab_script" --dir "$lab" "$@"; }
failed=0
finish() {
  local status=$?
  if ((status != 0 && status != 77)); then
    for node in backend fe-a fe-b; do
      [[ -f "$lab/$node/node.log" ]] || continue
      echo "--- $node log (last lines)"
      tail -15 "$lab/$node/node.log"
    done
  fi
  netlab down >/dev/null 2>&1 || echo "netlab down failed" >&2
  rm -rf "$work"
  exit "$status"
}
trap finish EXIT
trap 'exit 143' TERM INT
netlab down >/dev/null 2>&1 || true
rm -rf "$work"
mkdir -p "$work"

cat >"$work/cluster.yaml" <<YAML
nodes:
  - {name: backend, role: backend,             host: 127.0.0.1, http_port: 8080, caf_port: 9090}
  - {name: fe-a,    role: frontend, cluster: A, host: 127.0.0.1, http_port: 8080, caf_port: 9090}
  - {name: fe-b,    role: frontend, cluster: B, host: 127.0.0.1, http_port: 8080, caf_port: 9090}
federation:
  heartbeat_interval_s: 0.5
  peer_timeout_s: $peer_timeout_s
  reconnect_max_backoff_s: 5
YAML
set +e
netlab up "$work/cluster.yaml" >"$work/up.out" 2>&1
status=$?
set -e
if ((status == 77)); then cat "$work/up.out"; exit 77; fi
((status == 0)) || { cat "$work/up.out"; exit 1; }

check() {  # check DESCRIPTION CONDITION...
  local what="$1"; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failed=1; fi
}
now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.2f", a - b }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# VIEWER's /v1/cluster (an admin route: the lab's token, scripts/netlab
# start). Straight through `ip netns exec`: polls stay a few ms apart.
declare -A ns_of=()
for node in backend fe-a fe-b client; do ns_of[$node]=$(netlab ns "$node"); done
cluster_view() {
  ip netns exec "${ns_of[$1]}" curl -s -m 1 -H "Authorization: Bearer ${PYTHEAS_ADMIN_TOKEN:-netlab}" \
    http://127.0.0.1:8080/v1/cluster || true
}
# "true"/"false": whether VIEWER sees PEER healthy.
healthy() {
  cluster_view "$1" | grep -o "\"name\":\"$2\",[^}]*\"healthy\":[a-z]*" |
    sed 's/.*"healthy"://' || true
}
last_error() {
  cluster_view "$1" | grep -o "\"name\":\"$2\",[^}]*" | sed 's/.*"last_error":"\(.*\)"$/\1/' || true
}
decide() {  # HTTP status of a decision asked by a player of NODE
  netlab exec client curl -s -m 2 -o /dev/null -w '%{http_code}' -X POST \
    "http://$(netlab addr "$1"):8080/v1/decide" -H 'content-type: application/json' \
    -d '{"features":{"Asn":"7922"},"candidates":["cdn-a","cdn-b"]}' || true
}
report() {
  netlab exec client curl -s -m 2 -o /dev/null -w '%{http_code}' -X POST \
    "http://$(netlab addr "$1"):8080/v1/report" -H 'content-type: application/json' \
    -d '{"features":{"Asn":"7922"},"decision":"cdn-a","score":80}' || true
}

views=("backend fe-a" "fe-b fe-a" "fe-a backend" "fe-a fe-b" "backend fe-b" "fe-b backend")

all_of() {
  local v
  for v in "$@"; do
    # shellcheck disable=SC2086
    [[ "$(healthy $v)" == true ]] || return 1
  done
}
all_healthy() { all_of "${views[@]}"; }
# first_seen OUT STATE START LIMIT_S VIEW...: OUT[VIEW] = seconds after START
# when VIEW first showed healthy == STATE (polled until all did, or LIMIT_S).
first_seen() {
  local -n out=$1
  local state=$2 start=$3 limit=$4 v
  shift 4
  while ((${#out[@]} < $#)) && le "$(since "$start")" "$limit"; do
    for v in "$@"; do
      # shellcheck disable=SC2086
      [[ -z "${out[$v]:-}" && "$(healthy $v)" == "$state" ]] && out[$v]=$(since "$start")
    done
    sleep 0.05
  done
}

netlab start backend fe-a fe-b
pids=$(cat "$lab"/{backend,fe-a,fe-b}/node.pid)
linked=0
for _ in $(seq 150); do all_healthy && { linked=1; break; }; sleep 0.1; done
check "backend, fe-a and fe-b link over TLS in their namespaces" test "$linked" = 1
((linked)) || exit 1
check "a player of fe-a gets a decision before the cut" test "$(decide fe-a)" = 200

# --- the cut: fe-a goes silent for the others and they for it.
declare -A detected=()
cut_views=("backend fe-a" "fe-b fe-a" "fe-a backend" "fe-a fe-b")
netlab partition fe-a >/dev/null
cut_at=$(now)
first_seen detected false "$cut_at" $((detect_target_s + 6)) "${cut_views[@]}"
for v in "${cut_views[@]}"; do
  t="${detected[$v]:-never}"
  # shellcheck disable=SC2086
  why=$(last_error $v)
  check "$(printf '%-8s marks %-8s down after %5s s (target <= %s s): %s' "${v% *}" "${v#* }" \
    "$t" "$detect_target_s" "$why")" le "${t/never/999}" "$detect_target_s"
done
check "fe-a keeps serving its players while cut off (decide)" test "$(decide fe-a)" = 200
check "fe-a keeps accepting its players' reports while cut off" test "$(report fe-a)" = 202
check "fe-b keeps serving its players" test "$(decide fe-b)" = 200
check "backend and fe-b stay linked while fe-a is cut off" all_of "backend fe-b" "fe-b backend"
# The lab's cut is silent: a connection attempt hangs (no RST, no ICMP).
silent() { ! netlab exec fe-a timeout 2 bash -c "exec 3<>/dev/tcp/$(netlab addr backend)/8080" 2>/dev/null; }
check "the cut is silent: fe-a's connect to the backend hangs (no RST, no ICMP)" silent
remaining=$(awk -v i="$isolate_s" -v s="$(since "$cut_at")" 'BEGIN { print i - s }')
le "$remaining" 0 || sleep "$remaining"

# --- the heal: every link back, nothing restarted.
netlab heal >/dev/null
heal_at=$(now)
isolated_s=$(awk -v a="$heal_at" -v b="$cut_at" 'BEGIN { print a - b }')
declare -A relinked=()
first_seen relinked true "$heal_at" "${NETLAB_SMOKE_RELINK_WAIT_S:-$((relink_target_s + 12))}" \
  "${cut_views[@]}"
for v in "${cut_views[@]}"; do
  t="${relinked[$v]:-never}"
  check "$(printf '%-8s sees %-8s healthy %5s s after the heal (cut for %.1f s; target <= %s s)' \
    "${v% *}" "${v#* }" "$t" "$isolated_s" "$relink_target_s")" le "${t/never/999}" "$relink_target_s"
done
check "no node restarted" test "$(cat "$lab"/{backend,fe-a,fe-b}/node.pid)" = "$pids"
for node in backend fe-a fe-b; do
  check "$node is still running" netlab exec "$node" curl -sf -m 1 -o /dev/null http://127.0.0.1:8080/livez
done
exit "$failed"
