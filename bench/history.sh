#!/usr/bin/env bash
# Benchmark `hfleaks history` against Kingfisher and gitleaks on a generated
# git repository of 20,000+ commits. See bench/README.md.
#
# Environment (all optional):
#   HFLEAKS=PATH               hfleaks binary (default: target/release/hfleaks in the repo)
#   HFLEAKS_BASELINE=PATH      another hfleaks build (e.g. main before a change), timed alongside
#   BENCH_DIR=DIR              where the repository and reports are cached (default /tmp/hfleaks-bench)
#   RUNS=N                     timed runs per tool (default 5)
#   WARMUP=N                   untimed runs per tool before timing (default 1)
#   BENCH_COMMITS=N            commits on main (default 20000; one more unmerged branch adds 40)
#   BENCH_FILES=N              files the history grows to (default 5000)
#   BENCH_SEED=N               generator seed (default 20240602)
#   BENCH_INSTALL_PEERS=0      do not pip-install missing peers
#   KINGFISHER=PATH GITLEAKS=PATH   use these peer binaries
#   BENCH_TOOLS="hfleaks kingfisher gitleaks"   which tools to run
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SEED="${BENCH_SEED:-20240602}"
COMMITS="${BENCH_COMMITS:-20000}"
NFILES="${BENCH_FILES:-5000}"
TOKENS=10
TOOLS="${BENCH_TOOLS:-hfleaks kingfisher gitleaks}"
REPO="$BENCH_DIR/history-repo"
STATS="$BENCH_DIR/history.json"
PARAMS="seed=$SEED commits=$COMMITS files=$NFILES tokens=$TOKENS gen=$(cksum <"$BENCH_SRC/gen_history.py" | cut -d' ' -f1)-$(cksum <"$BENCH_SRC/textgen.py" | cut -d' ' -f1)"

machine_summary

# 1. The repository: fast-import from a seeded generator, packed like a clone.
if [[ -d "$REPO/.git" && -f "$STATS" && "$(cat "$BENCH_DIR/history.params" 2>/dev/null || true)" == "$PARAMS" ]]; then
  log "repository: reusing $REPO"
else
  log "repository: generating $REPO ($PARAMS); takes a few minutes"
  rm -rf "$REPO" "$REPO.tmp" "$STATS" "$BENCH_DIR/history.params"
  git init --quiet "$REPO.tmp"
  git -C "$REPO.tmp" config gc.auto 0
  # The generator's summary goes to stderr, kept in history-gen.json; shown if it fails.
  python3 "$BENCH_SRC/gen_history.py" --seed "$SEED" --commits "$COMMITS" --files "$NFILES" --tokens "$TOKENS" \
    2>"$BENCH_DIR/history-gen.json" | git -C "$REPO.tmp" fast-import --quiet ||
    { log "repository: generation failed:"; cat "$BENCH_DIR/history-gen.json" >&2; exit 1; }
  git -C "$REPO.tmp" symbolic-ref HEAD refs/heads/main
  log "repository: repacking (git repack -a -d -f --depth=50 --window=10, as gc does for a fresh clone)"
  git -C "$REPO.tmp" repack -a -d -f -q --depth=50 --window=10
  git -C "$REPO.tmp" pack-refs --all
  git -C "$REPO.tmp" prune --expire=now
  git -C "$REPO.tmp" reset --quiet --hard HEAD  # a working tree, like a clone
  mv "$REPO.tmp" "$REPO"
  log "repository: counting commits and reachable blobs (once)"
  commits="$(git -C "$REPO" rev-list --all --count)"
  read -r blobs blob_bytes < <(git -C "$REPO" rev-list --all --objects \
    | git -C "$REPO" cat-file --batch-check='%(objecttype) %(objectsize) %(rest)' \
    | awk '$1 == "blob" { n++; s += $2 } END { printf "%d %d\n", n, s }')
  pack_bytes="$(du -sb "$REPO/.git/objects/pack" | cut -f1)"
  printf '{"commits": %d, "blobs": %d, "blob_bytes": %d, "pack_bytes": %d}\n' \
    "$commits" "$blobs" "$blob_bytes" "$pack_bytes" >"$STATS"
  printf '%s\n' "$PARAMS" >"$BENCH_DIR/history.params"
fi
read -r COMMIT_COUNT BLOBS BLOB_BYTES PACK_BYTES < <(python3 -c \
  'import json,sys; d=json.load(open(sys.argv[1])); print(d["commits"], d["blobs"], d["blob_bytes"], d["pack_bytes"])' "$STATS")
log "repository: $COMMIT_COUNT commits, $BLOBS blobs, $((BLOB_BYTES / 1048576)) MiB of blob data, pack $((PACK_BYTES / 1048576)) MiB"

# 2. The tools.
ARGS=()
for tool in $TOOLS; do
  case "$tool" in
    hfleaks)
      bin="$(hfleaks_bin)"
      if "$bin" history --help >/dev/null 2>&1; then
        ARGS+=(--hfleaks "$bin")
        if [[ -n "${HFLEAKS_BASELINE:-}" ]]; then
          ARGS+=(--hfleaks-baseline "$HFLEAKS_BASELINE")
          log "hfleaks-base: $(version_of hfleaks "$HFLEAKS_BASELINE") ($HFLEAKS_BASELINE)"
        fi
        log "hfleaks:    $(version_of hfleaks "$bin")"
      else
        log "hfleaks history is unavailable in $bin (no 'history' subcommand): running the peers only"
      fi
      ;;
    kingfisher|gitleaks) ;;
    *) log "unknown tool in BENCH_TOOLS: $tool"; exit 2 ;;
  esac
done
if [[ " $TOOLS " == *" kingfisher "* || " $TOOLS " == *" gitleaks "* ]]; then
  find_peers
  if [[ " $TOOLS " == *" kingfisher "* && -n "$KINGFISHER_BIN" ]]; then
    ARGS+=(--kingfisher "$KINGFISHER_BIN"); log "kingfisher: $(version_of kingfisher "$KINGFISHER_BIN")"
  fi
  if [[ " $TOOLS " == *" gitleaks "* && -n "$GITLEAKS_BIN" ]]; then
    ARGS+=(--gitleaks "$GITLEAKS_BIN"); log "gitleaks:   $(version_of gitleaks "$GITLEAKS_BIN")"
  fi
fi
if [[ ${#ARGS[@]} -eq 0 ]]; then
  log "no tool to run"
  exit 0
fi

# 3. Warm the page cache: read the pack files and the working tree once, untimed.
log "warming the page cache (cat the packs and the working tree once, untimed)"
find "$REPO" -type f -print0 | xargs -0 cat >/dev/null

# 4. Measure.
python3 "$BENCH_SRC/runner.py" history --input "$REPO" --bytes "$BLOB_BYTES" --blobs "$BLOBS" \
  --commits "$COMMIT_COUNT" --runs "$RUNS" --warmup "$WARMUP" --out-dir "$BENCH_DIR/out" \
  --json "$BENCH_DIR/history-results.json" "${ARGS[@]}"
