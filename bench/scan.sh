#!/usr/bin/env bash
# Benchmark `hfleaks scan` against Kingfisher and gitleaks on a generated
# >= 1 GiB source tree. See bench/README.md.
#
# Environment (all optional):
#   HFLEAKS=PATH               hfleaks binary (default: target/release/hfleaks in the repo)
#   HFLEAKS_BASELINE=PATH      another hfleaks build (e.g. main before a change), timed alongside
#   BENCH_DIR=DIR              where the tree and reports are cached (default /tmp/hfleaks-bench)
#   RUNS=N                     timed runs per tool (default 5)
#   WARMUP=N                   untimed runs per tool before timing (default 1)
#   BENCH_TREE_BYTES=N         size of the generated tree (default 1180000000, ~1.1 GiB)
#   BENCH_SEED=N               generator seed (default 20240601)
#   BENCH_INSTALL_PEERS=0      do not pip-install missing peers
#   KINGFISHER=PATH GITLEAKS=PATH   use these peer binaries
#   BENCH_TOOLS="hfleaks kingfisher gitleaks"   which tools to run
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SEED="${BENCH_SEED:-20240601}"
TREE_BYTES="${BENCH_TREE_BYTES:-1180000000}"
TOKENS=20
TOOLS="${BENCH_TOOLS:-hfleaks kingfisher gitleaks}"
TREE="$BENCH_DIR/tree"
MANIFEST="$BENCH_DIR/tree.json"
PARAMS="seed=$SEED bytes=$TREE_BYTES tokens=$TOKENS gen=$(cksum <"$BENCH_SRC/gen_tree.py" | cut -d' ' -f1)-$(cksum <"$BENCH_SRC/textgen.py" | cut -d' ' -f1)"

machine_summary

# 1. The tree: generated once, reused while the parameters and generator are unchanged.
if [[ -d "$TREE" && -f "$MANIFEST" && "$(cat "$BENCH_DIR/tree.params" 2>/dev/null || true)" == "$PARAMS" ]]; then
  log "tree: reusing $TREE"
else
  log "tree: generating $TREE ($PARAMS); takes about a minute"
  rm -f "$MANIFEST" "$BENCH_DIR/tree.params"
  python3 "$BENCH_SRC/gen_tree.py" "$TREE" --seed "$SEED" --bytes "$TREE_BYTES" --tokens "$TOKENS" >"$MANIFEST.tmp"
  mv "$MANIFEST.tmp" "$MANIFEST"
  printf '%s\n' "$PARAMS" >"$BENCH_DIR/tree.params"
fi
read -r FILES BYTES < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["files"], d["bytes"])' "$MANIFEST")
log "tree: $FILES files, $((BYTES / 1048576)) MiB, $TOKENS synthetic tokens"

# 2. The tools.
ARGS=()
for tool in $TOOLS; do
  case "$tool" in
    hfleaks)
      bin="$(hfleaks_bin)"; ARGS+=(--hfleaks "$bin")
      if [[ -n "${HFLEAKS_BASELINE:-}" ]]; then
        ARGS+=(--hfleaks-baseline "$HFLEAKS_BASELINE")
        log "hfleaks-base: $(version_of hfleaks "$HFLEAKS_BASELINE") ($HFLEAKS_BASELINE)"
      fi
      ;;
    kingfisher|gitleaks) ;;
    *) log "unknown tool in BENCH_TOOLS: $tool"; exit 2 ;;
  esac
done
if [[ " $TOOLS " == *" kingfisher "* || " $TOOLS " == *" gitleaks "* ]]; then
  find_peers
  [[ " $TOOLS " == *" kingfisher "* && -n "$KINGFISHER_BIN" ]] && ARGS+=(--kingfisher "$KINGFISHER_BIN")
  [[ " $TOOLS " == *" gitleaks "* && -n "$GITLEAKS_BIN" ]] && ARGS+=(--gitleaks "$GITLEAKS_BIN")
fi
for i in "${!ARGS[@]}"; do
  case "${ARGS[$i]}" in
    --hfleaks) log "hfleaks:    $(version_of hfleaks "${ARGS[$((i + 1))]}")" ;;
    --kingfisher) log "kingfisher: $(version_of kingfisher "${ARGS[$((i + 1))]}")" ;;
    --gitleaks) log "gitleaks:   $(version_of gitleaks "${ARGS[$((i + 1))]}")" ;;
  esac
done

# 3. Warm the page cache: read every file once, untimed.
log "warming the page cache (cat every file once, untimed)"
find "$TREE" -type f -print0 | xargs -0 cat >/dev/null

# 4. Measure.
python3 "$BENCH_SRC/runner.py" scan --input "$TREE" --bytes "$BYTES" --files "$FILES" \
  --runs "$RUNS" --warmup "$WARMUP" --out-dir "$BENCH_DIR/out" --json "$BENCH_DIR/scan-results.json" \
  "${ARGS[@]}"
