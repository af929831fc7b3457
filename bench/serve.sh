#!/usr/bin/env bash
# Benchmark `hfleaks serve` (continuous monitoring, issue #21) on 127.0.0.1:
# the mock Hub (tests/mockhub.py, real git smart HTTP), an alert sink and
# the server, driven with version-3 webhook deliveries from concurrent
# clients. Prints push-to-alert time for a small repo, deliveries accepted
# per second and answer latency (p50/p99) from 8 clients, the memory
# (VmRSS, VmHWM) with 10,000 events queued, and the time to drain them.
# Prints figures only; never fails on a timing. See bench/README.md.
#
# Environment (all optional):
#   HFLEAKS=PATH          hfleaks binary (default: target/release/hfleaks in the repo)
#   BENCH_DIR=DIR         where the figures are written (default /tmp/hfleaks-bench)
#   SERVE_CLIENTS=N       concurrent clients delivering (default 8)
#   SERVE_BURST=N         deliveries of the burst, workers running (default 2000)
#   SERVE_QUEUED=N        deliveries queued while the workers are held (default 10000)
#   SERVE_REPOS=N         repos the burst and the queue are about (default 4)
#   SERVE_PUSHES=N        timed pushes, push to alert (default 5)
#   SERVE_WORKERS=N       serve --workers (default 2, its default)
#   HUB_LATENCY_MS=N      every API answer of the mock this late (default 30)
#   SERVE_IDLE=N          idle connections held open during the second burst (default 1000)
#   SERVE_REVOKE_PUSHES=N pushes of a live token timed from the 202 to the revoke request,
#                         with --verify --revoke-policy live (default 20; 0 skips)
#   HFLEAKS_BASELINE=PATH another hfleaks build: both are run RUNS times (default 3),
#                         interleaved, and the medians printed side by side with ratios
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

machine_summary
bin="$(hfleaks_bin)"
log "hfleaks:     $(version_of hfleaks "$bin")"
log "git:         $(git --version)"
run_one() { # BINARY JSON [REVOKE_PUSHES]
  python3 "$BENCH_SRC/serve_runner.py" --hfleaks "$1" --revoke-pushes "${3:-${SERVE_REVOKE_PUSHES:-20}}" \
    --clients "${SERVE_CLIENTS:-8}" --burst "${SERVE_BURST:-2000}" --queued "${SERVE_QUEUED:-10000}" \
    --repos "${SERVE_REPOS:-4}" --pushes "${SERVE_PUSHES:-5}" --workers "${SERVE_WORKERS:-2}" \
    --latency-ms "${HUB_LATENCY_MS:-30}" --idle "${SERVE_IDLE:-1000}" --json "$2"
}
if [ -z "${HFLEAKS_BASELINE:-}" ]; then
  run_one "$bin" "$BENCH_DIR/serve-results.json"
  exit 0
fi
base="$HFLEAKS_BASELINE"
log "baseline:    $(version_of hfleaks "$base")"
runs="${RUNS:-3}"
for i in $(seq 1 "$runs"); do
  log "round $i of $runs: baseline"
  # (the baseline may predate --revoke-policy: no push-to-revoke for it)
  run_one "$base" "$BENCH_DIR/serve-base-$i.json" 0 >/dev/null
  log "round $i of $runs: hfleaks"
  run_one "$bin" "$BENCH_DIR/serve-new-$i.json" >/dev/null
done
python3 - "$BENCH_DIR" "$runs" <<'PY'
import json, statistics, sys
d, runs = sys.argv[1], int(sys.argv[2])
load = lambda tag: [json.load(open(f"{d}/serve-{tag}-{i}.json")) for i in range(1, runs + 1)]
base, new = load("base"), load("new")
rows = [
    ("push to alert, next pushes (median)", "push_to_alert_median_s", "s"),
    ("push to alert, max", "push_to_alert_max_s", "s"),
    ("burst accepted per second, 8 clients", "burst_accepted_per_s", "/s"),
    ("burst p99 answer", "burst_p99_ms", "ms"),
    ("with 1,000 idle connections: accepted per second", "idle_accepted_per_s", "/s"),
    ("with 1,000 idle connections: p99 answer", "idle_p99_ms", "ms"),
    ("with 1,000 idle connections: refused or unanswered", "idle_refused", ""),
    ("10,000 queued: accepted per second", "queued_accepted_per_s", "/s"),
    ("10,000 queued: p99 answer", "queued_p99_ms", "ms"),
    ("VmRSS with 10,000 queued", "rss_queued_MiB", "MiB"),
    ("VmHWM (peak)", "vmhwm_MiB", "MiB"),
    ("drain of the 10,000 queued", "drain_s", "s"),
    ("push to revoke, median of 20 (--revoke-policy live)", "push_to_revoke_median_s", "s"),
    ("push to revoke, max", "push_to_revoke_max_s", "s"),
]
def med(rs, k):
    xs = [r.get(k) for r in rs if r.get(k) is not None]
    return statistics.median(xs) if xs else None
print(f"\nhfleaks serve, before (baseline) and after, medians of {runs} interleaved runs")
print(f"  {'figure':<52} {'before':>10} {'after':>10} {'after/before':>13}")
for label, k, unit in rows:
    b, n = med(base, k), med(new, k)
    ratio = f"{n / b:.2f}x" if b and n is not None else "—"
    fmt = lambda v: "—" if v is None else f"{v:g}"
    print(f"  {label:<52} {fmt(b):>10} {fmt(n):>10} {ratio:>13}  {unit}")
PY
