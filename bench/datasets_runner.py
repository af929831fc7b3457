#!/usr/bin/env python3
"""Time hfleaks on the dataset set of gen_datasets.py against its floors and peers.

    datasets_runner.py SUMMARY.json --python VENV_PYTHON --hfleaks BIN
        [--kingfisher BIN] [--gitleaks BIN] [--betterleaks BIN]
        [--runs N] [--warmup N] [--out-dir DIR]
        [--ab-tree DIR --baseline BIN]

For each file (snappy Parquet, zstd Parquet, .jsonl.zst) every tool runs in
turn, run after run (interleaved, so a drift of the machine's speed touches
all alike): hfleaks `scan`; the floor (pyarrow.parquet.read_table of the
file, or `zstd -dc FILE > /dev/null`); each peer installed. Wall time is
taken around fork/exec/wait, peak RSS is ru_maxrss of that child (os.wait4).
Prints medians, ratios to the floor, and how many of the planted tokens
each tool found (hfleaks: also how many at the right row or line).

--ab-tree: hfleaks against --baseline (another build) on a tree with no
datasets, interleaved: the cost of the dataset readers where there are none.
Measures and prints; never fails on timing.
"""

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time


def run_once(cmd, log_path):
    with open(log_path, "wb") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    return wall, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status)


def interleaved(tools, runs, warmup, out_dir):
    """tools: [(name, cmd)]; returns {name: [(wall, rss, code)]}."""
    results = {name: [] for name, _ in tools}
    for r in range(warmup + runs):
        for name, cmd in tools:
            res = run_once(cmd, os.path.join(out_dir, f"{name}.log"))
            if r >= warmup:
                results[name].append(res)
    return results


def mib(b):
    return f"{b / 1048576:.0f} MiB"


def found_by_hfleaks(report_path, planted, key):
    """(found, at the right place) of the planted tokens."""
    try:
        with open(report_path) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return 0, 0
    by_sha = {}
    for f in doc.get("findings", []):
        by_sha.setdefault(f["secret_sha256"], []).append(f)
    found = placed = 0
    for p in planted:
        sha = hashlib.sha256(p["token"].encode()).hexdigest()
        fs = by_sha.get(sha, [])
        if fs:
            found += 1
        if key == "row" and any((f.get("record") or {}).get("row") == p["row"] for f in fs):
            placed += 1
        if key == "line" and any(f["line"] == p["line"] for f in fs):
            placed += 1
    return found, placed


def found_in_text(report_path, planted):
    try:
        with open(report_path, errors="replace") as f:
            text = f.read()
    except OSError:
        return 0
    return sum(1 for p in planted if p["token"] in text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("summary")
    ap.add_argument("--python", required=True)
    ap.add_argument("--hfleaks", required=True)
    ap.add_argument("--kingfisher")
    ap.add_argument("--gitleaks")
    ap.add_argument("--betterleaks")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--out-dir", default="/tmp/hfleaks-bench/out-datasets")
    ap.add_argument("--ab-tree")
    ap.add_argument("--baseline")
    args = ap.parse_args()
    with open(args.summary) as f:
        summary = json.load(f)
    os.makedirs(args.out_dir, exist_ok=True)
    planted = summary["planted"]
    here = os.path.dirname(os.path.abspath(args.summary))
    summary["files"] = {k: os.path.join(here, v) for k, v in summary["files"].items()}
    print(f"dataset set: {summary['rows']:,} chat rows, {mib(summary['text_bytes'])} of text, "
          f"{summary['row_groups']} row groups (largest: {mib(summary['largest_row_group_text_bytes'])} "
          f"of decoded text), {len(planted)} planted tokens "
          f"({sum(p['encoded'] for p in planted)} of them in base64)")
    for key, path in summary["files"].items():
        out = lambda name: os.path.join(args.out_dir, f"{key}-{name}.json")  # noqa: E731
        tools = [("hfleaks", [args.hfleaks, "scan", path, "--no-progress", "--format", "json",
                              "-o", out("hfleaks"), "--max-file-size", "64G",
                              "--max-archive-size", "64G"])]
        if key.startswith("parquet"):
            floor = ("floor (pyarrow read_table)",
                     [args.python, "-c", "import sys, pyarrow.parquet as pq; pq.read_table(sys.argv[1])", path])
        else:
            floor = ("floor (zstd -dc)", ["sh", "-c", 'exec zstd -dc "$1" > /dev/null', "sh", path])
        tools.append(floor)
        if args.kingfisher:
            tools.append(("kingfisher", [args.kingfisher, "scan", path, "--no-validate", "--format", "json",
                                         "-o", out("kingfisher")]))
        if args.gitleaks:
            tools.append(("gitleaks", [args.gitleaks, "dir", path, "--no-banner", "--report-format", "json",
                                       "--report-path", out("gitleaks")]))
        if args.betterleaks:
            tools.append(("betterleaks", [args.betterleaks, "fs", path, "--no-banner", "--log-level", "error",
                                          "-o", out("betterleaks")]))
        size = os.path.getsize(path)
        print(f"\n== {key}: {os.path.basename(path)} ({mib(size)} on disk), median of {args.runs}")
        results = interleaved(tools, args.runs, args.warmup, args.out_dir)
        floor_wall = statistics.median(w for w, _, _ in results[floor[0]])
        for name, _ in tools:
            walls = [w for w, _, _ in results[name]]
            rss = statistics.median(r for _, r, _ in results[name])
            codes = sorted({c for _, _, c in results[name]})
            wall = statistics.median(walls)
            line = (f"{name:28} {wall:8.2f} s  (min {min(walls):.2f}, max {max(walls):.2f})  "
                    f"peak {mib(rss):>9}  {wall / floor_wall:5.2f}x the floor  exit {codes}")
            if name == "hfleaks":
                found, placed = found_by_hfleaks(out("hfleaks"), planted, "row" if key.startswith("parquet") else "line")
                line += f"  found {found}/{len(planted)}, {placed} at the right {'row' if key.startswith('parquet') else 'line'}"
            elif not name.startswith("floor"):
                line += f"  found {found_in_text(out(name), planted)}/{len(planted)} (as written)"
            print(line, flush=True)
        if key.startswith("parquet"):
            rss = statistics.median(r for _, r, _ in results["hfleaks"])
            print(f"hfleaks peak RSS / largest row group's decoded text: "
                  f"{rss / max(1, summary['largest_row_group_text_bytes']):.2f}")
    if args.ab_tree and args.baseline:
        tools = [("hfleaks", [args.hfleaks, "scan", args.ab_tree, "--no-progress", "--format", "json",
                              "-o", os.path.join(args.out_dir, "ab-a.json")]),
                 ("baseline", [args.baseline, "scan", args.ab_tree, "--no-progress", "--format", "json",
                               "-o", os.path.join(args.out_dir, "ab-b.json")])]
        runs = max(args.runs, 7)
        print(f"\n== a tree with no datasets: {args.ab_tree}, hfleaks vs the baseline build, "
              f"interleaved, median of {runs}")
        results = interleaved(tools, runs, args.warmup, args.out_dir)
        pairs = [a[0] / b[0] for a, b in zip(results["hfleaks"], results["baseline"])]
        for name, _ in tools:
            walls = [w for w, _, _ in results[name]]
            print(f"{name:10} {statistics.median(walls):8.3f} s  (min {min(walls):.3f}, max {max(walls):.3f})  "
                  f"peak {mib(statistics.median(r for _, r, _ in results[name]))}")
        print(f"ratio hfleaks/baseline, pair by pair: median {statistics.median(pairs):.3f} "
              f"(min {min(pairs):.3f}, max {max(pairs):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
