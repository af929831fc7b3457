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
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

machine_summary
bin="$(hfleaks_bin)"
log "hfleaks:     $(version_of hfleaks "$bin")"
log "git:         $(git --version)"
python3 "$BENCH_SRC/serve_runner.py" --hfleaks "$bin" \
  --clients "${SERVE_CLIENTS:-8}" --burst "${SERVE_BURST:-2000}" --queued "${SERVE_QUEUED:-10000}" \
  --repos "${SERVE_REPOS:-4}" --pushes "${SERVE_PUSHES:-5}" --workers "${SERVE_WORKERS:-2}" \
  --latency-ms "${HUB_LATENCY_MS:-30}" --json "$BENCH_DIR/serve-results.json"
