#!/usr/bin/env bash
# Benchmark datasets read as data (issue #27): a generated set of chat rows
# (bench/gen_datasets.py: snappy and zstd Parquet, and the same rows as
# .jsonl.zst, with synthetic tokens planted at known rows), scanned by
# hfleaks against the decode floor (pyarrow.parquet.read_table; zstd -dc)
# and the peers that are installed (Kingfisher, gitleaks, Betterleaks);
# then, with HFLEAKS_BASELINE, hfleaks against another build on a tree with
# no datasets (bench/scan.sh's tree, or BENCH_SOURCE), interleaved. Prints
# medians, peak memory, ratios and tokens found; never fails on timing.
#
# Environment (all optional): HFLEAKS (default target/release/hfleaks),
# HFLEAKS_BASELINE=PATH, BENCH_DIR (default /tmp/hfleaks-bench), RUNS
# (default 3), WARMUP (default 1), BENCH_DATASET_BYTES (text bytes to
# generate, default 1 GiB), BENCH_ROWS_PER_GROUP (default 100000),
# BENCH_INSTALL_PEERS=0 to skip installing peers; KINGFISHER, GITLEAKS,
# BETTERLEAKS=PATH as for scan.sh. pyarrow is installed into
# $BENCH_DIR/venv from PyPI if it is not there.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
RUNS="${RUNS_DATASETS:-${RUNS:-3}}"

machine_summary
bin="$(hfleaks_bin)"
log "hfleaks:     $(version_of hfleaks "$bin")"
command -v zstd >/dev/null || { log "zstd (the CLI) is needed: apt-get install zstd"; exit 2; }

venv="$BENCH_DIR/venv"
if ! "$venv/bin/python" -c 'import pyarrow' 2>/dev/null; then
  log "installing pyarrow into $venv (PyPI)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check pyarrow
fi
log "pyarrow:     $("$venv/bin/python" -c 'import pyarrow; print(pyarrow.__version__)')"

find_peers
find_betterleaks

bytes="${BENCH_DATASET_BYTES:-1073741824}"
rpg="${BENCH_ROWS_PER_GROUP:-100000}"
set_dir="$BENCH_DIR/datasets-$bytes-$rpg"
if [[ ! -f "$set_dir.json" ]]; then
  log "generating $set_dir ($((bytes / 1048576)) MiB of chat text; takes a few minutes)"
  rm -rf "$set_dir"
  "$venv/bin/python" "$BENCH_SRC/gen_datasets.py" "$set_dir" --bytes "$bytes" \
    --rows-per-group "$rpg" >"$set_dir.json.tmp"
  mv "$set_dir.json.tmp" "$set_dir.json"
fi
log "warming the page cache"
cat "$set_dir"/* >/dev/null

args=(--python "$venv/bin/python" --hfleaks "$bin" --runs "$RUNS" --warmup "$WARMUP"
      --out-dir "$BENCH_DIR/out-datasets")
[[ -n "$KINGFISHER_BIN" ]] && args+=(--kingfisher "$KINGFISHER_BIN")
[[ -n "$GITLEAKS_BIN" ]] && args+=(--gitleaks "$GITLEAKS_BIN")
[[ -n "$BETTERLEAKS_BIN" ]] && args+=(--betterleaks "$BETTERLEAKS_BIN")
if [[ -n "${HFLEAKS_BASELINE:-}" ]]; then
  tree="${BENCH_SOURCE:-$BENCH_DIR/tree}"
  if [[ -d "$tree" ]]; then
    args+=(--ab-tree "$tree" --baseline "$HFLEAKS_BASELINE")
  else
    log "no tree for the A/B at $tree: run bench/scan.sh once, or set BENCH_SOURCE"
  fi
fi
python3 "$BENCH_SRC/datasets_runner.py" "$set_dir.json" "${args[@]}" || log "(the runner failed: see above)"
