#!/usr/bin/env python3
"""Time hfleaks and its peers on one input, interleaved, and print a table.

    runner.py scan    --input TREE --bytes N --files N ...
    runner.py history --input REPO --bytes N --blobs N --commits N ...

Used by bench/scan.sh and bench/history.sh; they prepare the input and find
the binaries. Each tool runs --warmup times untimed (page cache,
Kingfisher's compiled rule cache), then --runs times, interleaved round by round with the
starting tool rotated, so a slow phase of the machine hits every tool alike.

Wall time is measured around fork/exec/wait; peak RSS is `ru_maxrss` from
`os.wait4` on that very child (the tools do not fork workers, they use
threads). Findings are counted from each tool's JSON report. Only figures are
printed: nothing here asserts on timings.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

MiB = 1 << 20


def tool_commands(mode, target, out, args):
    """The command line of each available tool, for `mode` on `target`."""
    tools = []
    sub = ["scan", target] if mode == "scan" else ["history", target, "--no-progress"]
    if args.hfleaks:
        tools.append(("hfleaks", [args.hfleaks, *sub, "--format", "json", "-o", out("hfleaks"), "--quiet"]))
    if args.hfleaks_baseline:
        # Another build of hfleaks (e.g. main before a change), or the same
        # one with other flags (--hfleaks-baseline-args), timed the same way.
        extra = args.hfleaks_baseline_args.split() if args.hfleaks_baseline_args else []
        tools.append(("hfleaks-base", [args.hfleaks_baseline, *sub, *extra, "--format", "json",
                                       "-o", out("hfleaks-base"), "--quiet"]))
    if args.kingfisher:
        tools.append(("kingfisher", [args.kingfisher, "scan", target, "--no-validate",
                                     *(["--git-history", "full"] if mode == "history" else []),
                                     "--format", "json", "-o", out("kingfisher"),
                                     "--quiet", "--no-update-check"]))
    if args.gitleaks:
        tools.append(("gitleaks", [args.gitleaks, "dir" if mode == "scan" else "git", target,
                                   "--no-banner", "--log-level", "error",
                                   "--report-format", "json", "--report-path", out("gitleaks")]))
    if args.betterleaks:
        tools.append(("betterleaks", [args.betterleaks, "fs" if mode == "scan" else "git", target,
                                      "--no-banner", "--log-level", "error", "-o", out("betterleaks")]))
    return tools


def count_findings(tool, path):
    """(all findings, Hugging Face findings) from a tool's JSON report, or (None, None)."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None, None
    if tool.startswith("hfleaks"):
        items = doc.get("findings", [])
        return len(items), len(items)
    if tool == "kingfisher":
        items = doc.get("findings", []) if isinstance(doc, dict) else doc
        hf = sum(1 for x in items if "huggingface" in json.dumps(x.get("rule", {})).lower())
        return len(items), hf
    if tool == "betterleaks" and isinstance(doc, dict):
        doc = doc.get("findings") or []
    items = doc if isinstance(doc, list) else []
    rule = lambda x: str(x.get("RuleID") or x.get("rule_id") or x.get("ruleID") or x.get("rule") or "")  # noqa: E731
    return len(items), sum(1 for x in items if "huggingface" in rule(x).lower())


def run_once(cmd, log_path, report_path):
    """Run cmd; return (wall seconds, CPU seconds, peak RSS bytes, exit code).
    The report of an earlier run is removed first, so that a run that writes
    none is not counted with its predecessor's findings."""
    try:
        os.remove(report_path)
    except FileNotFoundError:
        pass
    with open(log_path, "wb") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, proc.returncode


# Exit codes that mean "scan completed" (with or without findings).
OK_CODES = {"hfleaks": {0, 1}, "hfleaks-base": {0, 1}, "betterleaks": {0, 1}, "kingfisher": {0, 200, 205}, "gitleaks": {0, 1}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["scan", "history"])
    ap.add_argument("--input", required=True)
    ap.add_argument("--bytes", type=int, required=True, help="bytes of file or blob data in the input")
    ap.add_argument("--files", type=int, default=0)
    ap.add_argument("--blobs", type=int, default=0)
    ap.add_argument("--commits", type=int, default=0)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs per tool first (0 = none)")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--hfleaks")
    ap.add_argument("--hfleaks-baseline", help="another hfleaks build to compare with (same command line)")
    ap.add_argument("--hfleaks-baseline-args", help="extra flags for the baseline run, e.g. '--no-decode'")
    ap.add_argument("--betterleaks")
    ap.add_argument("--kingfisher")
    ap.add_argument("--gitleaks")
    ap.add_argument("--json", help="also write the raw measurements here")
    args = ap.parse_args()

    os.makedirs(args.out_dir, exist_ok=True)
    out = lambda tool: os.path.join(args.out_dir, f"{tool}.{args.mode}.json")  # noqa: E731
    tools = tool_commands(args.mode, args.input, out, args)
    if not tools:
        sys.exit("runner: no tool to run")

    for name, cmd in tools:
        print(f"  {name:<10} {' '.join(cmd)}", flush=True)
    for _ in range(args.warmup):
        for name, cmd in tools:
            wall, cpu, rss, code = run_once(cmd, os.path.join(args.out_dir, f"{name}.{args.mode}.log"), out(name))
            print(f"  warm-up    {name:<10} {wall:7.2f} s  cpu {cpu:7.2f} s  {rss / MiB:7.1f} MiB  exit {code}",
                  flush=True)

    results = {name: [] for name, _ in tools}
    findings = {}
    failures = {name: [] for name, _ in tools}
    for r in range(args.runs):
        k = r % len(tools)
        for name, cmd in tools[k:] + tools[:k]:
            log = os.path.join(args.out_dir, f"{name}.{args.mode}.log")
            wall, cpu, rss, code = run_once(cmd, log, out(name))
            total, hf = count_findings(name, out(name))
            print(f"  run {r + 1}/{args.runs}  {name:<10} {wall:7.2f} s  cpu {cpu:7.2f} s  {rss / MiB:7.1f} MiB  exit {code}"
                  f"  findings {total if total is not None else '?'}", flush=True)
            if code not in OK_CODES[name] or total is None:
                failures[name].append(code)
                with open(log, "rb") as f:
                    tail = f.read()[-2000:].decode("utf-8", "replace")
                print(f"    {name} failed (exit {code}); end of its output:\n{tail}", flush=True)
                continue
            results[name].append((wall, rss, cpu))
            findings[name] = (total, hf)

    unit = "blobs" if args.mode == "history" else "files"
    count = args.blobs if args.mode == "history" else args.files
    print()
    print(f"{args.mode}: {args.input}")
    extra = f", {args.commits} commits" if args.commits else ""
    print(f"  {count} {unit}, {args.bytes / MiB:.1f} MiB{extra}; {args.runs} timed runs per tool, "
          f"interleaved, after {args.warmup} untimed warm-up run(s) per tool (page cache warm)")
    print()
    rate_hdr = "blobs/s" if args.mode == "history" else "files/s"
    hdr = (f"| tool | median wall s | min | max | median CPU s | MiB/s | {rate_hdr} | median peak RSS MiB "
           f"| findings (HF) | wall vs hfleaks | RSS vs hfleaks |")
    print(hdr)
    print("|" + "---|" * (hdr.count("|") - 1))
    base = None
    summary = {}
    for name, _ in tools:
        rows = results[name]
        if not rows:
            print(f"| {name} | failed ({len(failures[name])} runs) | | | | | | | | | |")
            continue
        walls = [w for w, _, _ in rows]
        med = statistics.median(walls)
        cpu = statistics.median(c for _, _, c in rows)
        rss = statistics.median(r for _, r, _ in rows) / MiB
        if name == "hfleaks":
            base = (med, rss)
        total, hf = findings[name]
        ratio_w = f"{med / base[0]:.1f}×" if base and name != "hfleaks" else ("1.0×" if name == "hfleaks" else "n/a")
        ratio_r = f"{rss / base[1]:.1f}×" if base and name != "hfleaks" else ("1.0×" if name == "hfleaks" else "n/a")
        print(f"| {name} | {med:.2f} | {min(walls):.2f} | {max(walls):.2f} | {cpu:.2f} | {args.bytes / MiB / med:.0f} "
              f"| {count / med:.0f} | {rss:.0f} | {total} ({hf}) | {ratio_w} | {ratio_r} |")
        summary[name] = {"walls": walls, "cpu": [c for _, _, c in rows], "rss_bytes": [r for _, r, _ in rows],
                         "median_wall": med, "median_cpu": cpu,
                         "median_rss_mib": rss, "findings": total, "hf_findings": hf}
    if args.hfleaks is None:
        print(f"\n(hfleaks {args.mode} unavailable: ratios need it)")
    print("\nwall vs hfleaks = peer median wall / hfleaks median wall; RSS likewise "
          "(above 1× means hfleaks is faster / smaller). CPU = user + system time.")
    print(f"load average after the runs: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"(other work on the machine inflates wall times)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"mode": args.mode, "input": args.input, "bytes": args.bytes, "count": count,
                       "commits": args.commits, "runs": args.runs, "tools": summary,
                       "commands": {n: c for n, c in tools}}, f, indent=1)
    sys.exit(1 if any(failures.values()) else 0)


if __name__ == "__main__":
    main()
