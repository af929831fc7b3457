#!/usr/bin/env python3
"""Time `hfleaks hub` on a mock organization against the clone floor and
the way Betterleaks audits a Hub owner, interleaved, and print a table.

    hub_runner.py --org-dir DIR --hfleaks BIN [--betterleaks BIN] [--jobs 4] [--runs 3]

Used by bench/hub.sh, which builds DIR with gen_hub.py. The mock Hub
(tests/mockhub.py) is started once on 127.0.0.1 and serves every tool the
same repos over real git smart HTTP (`git http-backend`). The tools:

- `clone-floor`: `git clone --mirror` of every repo, `--jobs` at a time,
  and nothing else (each clone deleted when done): the transfer's cost;
- `betterleaks`: what Betterleaks does for a Hub owner, per repo: `git clone
  --mirror`, then `betterleaks git` on the clone, `--jobs` repos at a time
  (its `hf` command only talks to huggingface.co);
- `hfleaks`: `hfleaks hub ORG --jobs N` (history of every ref, PR refs, and
  every discussion);
- `hfleaks-git`: the same with `--no-discussions`, the scope of the other two.

Wall time is around the whole organization. Peak memory is the largest sum
of the resident sets of all the tool's processes at once (the mock Hub's
own processes left out), sampled every 20 ms from /proc; for hfleaks, one
process, at least its `ru_maxrss`.
True findings are distinct (repo, token) pairs that are in truth.json (the
tokens gen_hub.py planted, found by a plain regex over every reachable blob
and discussion text). Only figures are printed: nothing asserts on timings.
"""

import argparse
import concurrent.futures
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MOCKHUB = os.path.join(HERE, "..", "tests", "mockhub.py")
ORG = "bench-org"
PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(root_pid, exclude):
    """Resident bytes of `root_pid`'s descendants (not itself), leaving out
    `exclude` and its own descendants (the mock Hub and its git processes)."""
    parents = {}
    rss = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
            fields = stat[stat.rindex(")") + 2:].split()
            parents[int(name)] = int(fields[1])
            rss[int(name)] = int(fields[21]) * PAGE
        except (OSError, ValueError, IndexError):
            continue
    total = 0
    for pid in rss:
        p, seen = pid, 0
        if pid == exclude:
            continue
        while p in parents and seen < 64:
            p = parents[p]
            seen += 1
            if p == exclude:
                break
            if p == root_pid:
                total += rss[pid]
                break
    return total


class Sampler:
    """Peak of tree_rss(self) while running, the server's processes excluded."""

    def __init__(self, exclude):
        self.exclude = exclude
        self.peak = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        me = os.getpid()
        while not self.stop.wait(0.02):
            self.peak = max(self.peak, tree_rss(me, self.exclude))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def run(cmd, **kw):
    """Runs cmd; (exit code, ru_maxrss bytes)."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=kw.pop("stderr", subprocess.DEVNULL), **kw)
    _, status, usage = os.wait4(proc.pid, 0)
    return os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024


def repo_urls(endpoint, config):
    prefix = {"model": "", "dataset": "/datasets", "space": "/spaces"}
    return [(r["type"], r["id"], f"{endpoint}{prefix[r['type']]}/{r['id']}") for r in config["repos"]]


def clone_floor(urls, jobs, work):
    def one(item):
        kind, rid, url = item
        dest = os.path.join(work, f"{kind}-{rid.replace('/', '_')}.git")
        code, _ = run(["git", "clone", "--quiet", "--mirror", url, dest])
        shutil.rmtree(dest, ignore_errors=True)
        return code
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        codes = list(pool.map(one, urls))
    return {"failures": sum(1 for c in codes if c != 0)}, set()


def betterleaks_pair(urls, jobs, work, betterleaks):
    found = set()
    lock = threading.Lock()

    def one(item):
        kind, rid, url = item
        dest = os.path.join(work, f"{kind}-{rid.replace('/', '_')}.git")
        report = dest + ".json"
        code, _ = run(["git", "clone", "--quiet", "--mirror", url, dest])
        if code == 0:
            code, _ = run([betterleaks, "git", dest, "--no-banner", "--log-level", "error",
                           "-o", report])
            try:
                with open(report) as f:
                    doc = json.load(f)
                items = doc.get("findings", []) if isinstance(doc, dict) else doc
                with lock:
                    for x in items or []:
                        match = x.get("match") if isinstance(x.get("match"), dict) else {}
                        secret = match.get("value") or x.get("Secret") or x.get("secret") or ""
                        found.add((f"{kind}:{rid}", hashlib.sha256(secret.encode()).hexdigest()))
            except (OSError, ValueError):
                pass
        shutil.rmtree(dest, ignore_errors=True)
        try:
            os.remove(report)
        except FileNotFoundError:
            pass
        return code
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        codes = list(pool.map(one, urls))
    return {"failures": sum(1 for c in codes if c not in (0, 1))}, found


def hfleaks_hub(hfleaks, endpoint, jobs, out, extra):
    cmd = [hfleaks, "hub", ORG, "--hf-endpoint", endpoint, "--jobs", str(jobs), "--no-progress",
           "--format", "json", "-o", out, "--quiet", *extra]
    env = dict(os.environ)
    env.pop("HF_TOKEN", None)
    code, maxrss = run(cmd, env=env, stderr=None)
    found = set()
    try:
        with open(out) as f:
            doc = json.load(f)
        for x in doc.get("findings", []):
            repo = x.get("repo") or {}
            found.add((f"{repo.get('type')}:{repo.get('id')}", x["secret_sha256"]))
        errors = len(doc.get("errors", []))
    except (OSError, ValueError):
        errors = -1
    return {"exit": code, "errors": errors, "ru_maxrss": maxrss}, found


def canonical(path):
    """A report's findings, repos and errors in a stable order (the
    duration and shard label left out), for comparing a merge with the
    unsharded run."""
    with open(path) as f:
        doc = json.load(f)
    doc["scan"].pop("duration_ms", None)
    doc["scan"].pop("shard", None)
    for key in ("findings", "errors", "remediation"):
        doc[key] = sorted(doc.get(key, []), key=lambda x: json.dumps(x, sort_keys=True))
    doc["scan"]["repos"] = sorted(doc["scan"].get("repos", []), key=lambda x: json.dumps(x, sort_keys=True))
    return doc


def shard_bench(args, endpoint, work):
    """The organization as 1 shard and as N shards run one after another,
    and the merge of the N reports."""
    n = args.shards
    one_out = os.path.join(work, "one.json")
    shard_outs = [os.path.join(work, f"shard-{k}.json") for k in range(1, n + 1)]
    merged_out = os.path.join(work, "merged.json")
    env = dict(os.environ)
    env.pop("HF_TOKEN", None)
    common = ["--hf-endpoint", endpoint, "--jobs", str(args.jobs), "--no-progress", "--quiet"]

    def timed(cmd):
        start = time.perf_counter()
        code, _ = run(cmd, env=env, stderr=None)
        if code not in (0, 1):
            sys.exit(f"{' '.join(cmd)}: exit {code}")
        return time.perf_counter() - start

    one_t, sharded_t, per_shard, merge_t = [], [], [], []
    for r in range(args.runs + 1):  # the first round warms up
        order = ["one", "sharded"] if r % 2 == 0 else ["sharded", "one"]
        for what in order:
            if what == "one":
                t = timed([args.hfleaks, "hub", ORG, *common, "-o", one_out])
                if r:
                    one_t.append(t)
            else:
                times = [timed([args.hfleaks, "hub", ORG, "--shard", f"{k}/{n}", *common, "-o", out])
                         for k, out in enumerate(shard_outs, 1)]
                if r:
                    sharded_t.append(sum(times))
                    per_shard.append(times)
        t = timed([args.hfleaks, "merge", *shard_outs, "--no-progress", "--quiet", "-o", merged_out])
        if r:
            merge_t.append(t)
    same = canonical(merged_out) == canonical(one_out)
    one_m, sh_m, merge_m = statistics.median(one_t), statistics.median(sharded_t), statistics.median(merge_t)
    print(f"\n{n} shards run one after another vs one run, --jobs {args.jobs}, {args.runs} runs (medians)\n")
    print("| run | wall (s) | vs one run |")
    print("| --- | ---: | ---: |")
    print(f"| 1 shard (the whole organization) | {one_m:.2f} | 1.00× |")
    print(f"| {n} shards, sum | {sh_m:.2f} | {sh_m / one_m:.2f}× |")
    for k in range(n):
        print(f"| shard {k + 1}/{n} | {statistics.median(t[k] for t in per_shard):.2f} | |")
    print(f"| merge of the {n} reports | {merge_m:.3f} | |")
    print(f"\nmerged report equal to the unsharded one (findings, repos, errors, incidents): {same}")
    return {"one": one_t, "sharded": sharded_t, "merge": merge_t, "equal": same}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--org-dir", required=True)
    ap.add_argument("--hfleaks", required=True)
    ap.add_argument("--betterleaks")
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json")
    ap.add_argument("--shards", type=int, default=0,
                    help="only measure sharding: the org as 1 shard vs N shards in a row, and the merge")
    args = ap.parse_args()

    with open(os.path.join(args.org_dir, "hub.json")) as f:
        config = json.load(f)
    with open(os.path.join(args.org_dir, "truth.json")) as f:
        truth_doc = json.load(f)
    truth_git, truth_all = set(), set()
    for repo, t in truth_doc.items():
        for tok in t["git"]:
            truth_git.add((repo, hashlib.sha256(tok.encode()).hexdigest()))
        for tok in t["git"] + t["discussions"]:
            truth_all.add((repo, hashlib.sha256(tok.encode()).hexdigest()))

    server = subprocess.Popen([sys.executable, MOCKHUB, os.path.join(args.org_dir, "hub.json")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    port = int(server.stdout.readline().split()[1])
    endpoint = f"http://127.0.0.1:{port}"
    urls = repo_urls(endpoint, config)
    work = tempfile.mkdtemp(prefix="hfleaks-hub-bench-")
    out = os.path.join(work, "hfleaks.json")

    if args.shards:
        try:
            result = shard_bench(args, endpoint, work)
        finally:
            server.stdin.close()
            server.wait()
            shutil.rmtree(work, ignore_errors=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=1)
        return

    tools = [
        ("clone-floor", lambda: clone_floor(urls, args.jobs, work)),
        ("hfleaks", lambda: hfleaks_hub(args.hfleaks, endpoint, args.jobs, out, [])),
        ("hfleaks-git", lambda: hfleaks_hub(args.hfleaks, endpoint, args.jobs, out, ["--no-discussions"])),
    ]
    if args.betterleaks:
        tools.append(("betterleaks", lambda: betterleaks_pair(urls, args.jobs, work, args.betterleaks)))

    results = {name: {"wall": [], "peak": [], "info": None, "found": set()} for name, _ in tools}
    try:
        for _, fn in tools:  # warm-up: page cache, git's and the server's
            fn()
        for r in range(args.runs):
            order = tools[r % len(tools):] + tools[:r % len(tools)]
            for name, fn in order:
                with Sampler(server.pid) as s:
                    start = time.perf_counter()
                    info, found = fn()
                    wall = time.perf_counter() - start
                res = results[name]
                res["wall"].append(wall)
                res["peak"].append(max(s.peak, info.get("ru_maxrss", 0)))
                res["info"], res["found"] = info, found
                print(f"  round {r + 1}: {name:12s} {wall:7.2f} s", file=sys.stderr)
    finally:
        server.stdin.close()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)

    n = len(urls)
    base = statistics.median(results["hfleaks"]["wall"])
    base_git = statistics.median(results["hfleaks-git"]["wall"])
    floor = statistics.median(results["clone-floor"]["wall"])
    print(f"\n{n} repos, --jobs {args.jobs}, {args.runs} runs (medians); "
          f"{len(truth_git)} tokens in git, {len(truth_all) - len(truth_git)} more in discussions\n")
    print(f"| tool | wall (s) | repos/s | vs floor | vs hfleaks-git | peak RSS (MiB) | true findings (git / all) | notes |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    summary = {}
    for name, _ in tools:
        res = results[name]
        wall = statistics.median(res["wall"])
        peak = statistics.median(res["peak"]) / (1 << 20)
        found = res["found"]
        git_hits = len(found & truth_git)
        all_hits = len(found & truth_all)
        false = len(found - truth_all)
        note = ", ".join(f"{k} {v}" for k, v in (res["info"] or {}).items() if k != "ru_maxrss")
        hits = "-" if name == "clone-floor" else f"{git_hits}/{len(truth_git)} / {all_hits}/{len(truth_all)}"
        if false and name != "clone-floor":
            note += f", {false} not planted"
        print(f"| {name} | {wall:.2f} | {n / wall:.1f} | {wall / floor:.2f}× | "
              f"{wall / base_git:.2f}× | {peak:.0f} | {hits} | {note} |")
        summary[name] = {"wall": res["wall"], "peak_bytes": res["peak"], "git_hits": git_hits,
                         "all_hits": all_hits, "not_planted": false, "info": res["info"]}
    print(f"\nhfleaks (with discussions) vs floor: {base / floor:.2f}×; without: {base_git / floor:.2f}×")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"repos": n, "jobs": args.jobs, "results": summary}, f, indent=1)


if __name__ == "__main__":
    main()
