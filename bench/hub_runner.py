#!/usr/bin/env python3
"""Time `hfleaks hub` on a mock organization against the floor (clones and
content downloads) and the way Betterleaks audits a Hub owner, interleaved,
and print a table.

    hub_runner.py --org-dir DIR --hfleaks BIN [--betterleaks BIN] [--jobs 4] [--runs 3]
                  [--latency-ms 30] [--content-jobs 16]

Used by bench/hub.sh, which builds DIR with gen_hub.py. The mock Hub
(tests/mockhub.py) is started once on 127.0.0.1, every API answer
`--latency-ms` late (a real round trip), and serves every tool the same
repos over real git smart HTTP (`git http-backend`), the bucket and the LFS
contents (resolve URLs that redirect to its second server, the content
host). The tools:

- `floor`: `git clone --mirror` of every repo, `--jobs` at a time (each
  clone deleted when done), then the download of every byte hfleaks must
  read besides git (DIR/content.json: every bucket text file and every
  distinct non-weight LFS object) through its resolve URL and the 302 to
  the content host, `--content-jobs` at a time (hfleaks' default: 4 per
  job), without Authorization, in this process's threads; nothing else:
  the transfer's cost;
- `betterleaks`: what Betterleaks does for a Hub owner, per repo: `git clone
  --mirror`, then `betterleaks git` on the clone, `--jobs` repos at a time
  (its `hf` command only talks to huggingface.co); a clone holds LFS
  pointers, not their contents, and no bucket;
- `hfleaks`: `hfleaks hub ORG --format json --jobs N` (history of every
  ref, PR refs, every discussion, LFS contents and the bucket: the
  defaults);
- `hfleaks-git`: the same with `--no-discussions --no-lfs --include
  models,datasets,spaces`, the scope of Betterleaks.

Wall time is around the whole organization. Peak memory is the largest sum
of the resident sets of all the tool's processes at once (the mock Hub's
own processes and the floor's download threads, which run in this process,
left out), sampled every 20 ms from /proc; for hfleaks, one process, at
least its `ru_maxrss`.
True findings are distinct (repo, token) pairs that are in truth.json (the
tokens gen_hub.py planted, found by a plain regex over every reachable
blob, discussion text, LFS content and bucket file). From the mock's
request log of each run: the bytes the content host sent, those of weight
and media files (must be 0 for hfleaks: their oids and xetHashes are in
content.json), and requests that brought an Authorization header to the
content host (must be 0). Only figures are printed: nothing asserts on
timings.
"""

import argparse
import concurrent.futures
import hashlib
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import urlsplit

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
    return sum(1 for c in codes if c != 0)


def download(port, path):
    """GET a resolve path on the mock, follow its 302 to the content host
    (127.0.0.1 only, no Authorization) and read the body; its length, or
    -1 on a failure."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    if resp.status == 200:
        return len(body)
    loc = urlsplit(resp.getheader("Location") or "")
    if resp.status != 302 or loc.hostname != "127.0.0.1":
        return -1
    conn = http.client.HTTPConnection(loc.hostname, loc.port, timeout=120)
    try:
        conn.request("GET", loc.path + ("?" + loc.query if loc.query else ""))
        resp = conn.getresponse()
        n = 0
        while True:
            chunk = resp.read(1 << 16)
            if not chunk:
                break
            n += len(chunk)
    finally:
        conn.close()
    return n if resp.status == 200 else -1


def floor(urls, jobs, work, port, downloads, content_jobs):
    start = time.perf_counter()
    failures = clone_floor(urls, jobs, work)
    clones = time.perf_counter() - start
    with concurrent.futures.ThreadPoolExecutor(content_jobs) as pool:
        sizes = list(pool.map(lambda d: download(port, d["path"]), downloads))
    fetched = sum(n for n in sizes if n > 0)
    return {"failures": failures + sum(1 for n in sizes if n < 0), "clones_s": round(clones, 2),
            "downloads_s": round(time.perf_counter() - start - clones, 2),
            "downloaded_MiB": round(fetched / (1 << 20), 1)}, set()


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
    cmd = [hfleaks, "hub", ORG, "--format", "json", "--jobs", str(jobs), "--hf-endpoint", endpoint,
           "--no-progress", "-o", out, "--quiet", *extra]
    env = dict(os.environ, HF_ENDPOINT=endpoint)
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
        buckets = sum(1 for r in doc.get("scan", {}).get("repos", []) if r.get("type") == "bucket")
    except (OSError, ValueError):
        errors, buckets = -1, -1
    info = {"exit": code, "errors": errors, "ru_maxrss": maxrss}
    if "--no-lfs" not in extra:
        info["buckets"] = buckets
    return info, found


def content_stats(log, offset, weights):
    """From the mock's request log after `offset`: what the content host
    sent, of it to weight and media files, and how many requests brought
    it an Authorization header."""
    stats = {"content_requests": 0, "content_MiB": 0.0, "weight_bytes": 0, "weight_requests": 0,
             "leaked_authorization": 0}
    try:
        with open(log, "rb") as f:
            f.seek(offset)
            lines = f.read().splitlines()
    except OSError:
        return stats
    sent = 0
    for line in lines:
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if r.get("server") != "content":
            continue
        stats["content_requests"] += 1
        sent += r.get("bytes") or 0
        if r.get("leaked_authorization"):
            stats["leaked_authorization"] += 1
        parts = urlsplit(r["path"]).path.strip("/").split("/")
        if len(parts) == 2 and parts[1] in weights.get(parts[0], {}):
            stats["weight_requests"] += 1
            stats["weight_bytes"] += r.get("bytes") or 0
    stats["content_MiB"] = round(sent / (1 << 20), 1)
    return stats


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
    env = dict(os.environ, HF_ENDPOINT=endpoint)
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
    print(f"\n{n} shards run one after another vs one run, --jobs {args.jobs}, "
          f"API answers {args.latency_ms} ms late, {args.runs} runs (medians)\n")
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
    ap.add_argument("--latency-ms", type=int, default=30, help="every API answer this late")
    ap.add_argument("--content-jobs", type=int, default=0,
                    help="the floor's downloads at a time (default: 4 per job, hfleaks' default)")
    ap.add_argument("--json")
    ap.add_argument("--shards", type=int, default=0,
                    help="only measure sharding: the org as 1 shard vs N shards in a row, and the merge")
    args = ap.parse_args()
    content_jobs = args.content_jobs or 4 * args.jobs

    with open(os.path.join(args.org_dir, "hub.json")) as f:
        config = json.load(f)
    with open(os.path.join(args.org_dir, "truth.json")) as f:
        truth_doc = json.load(f)
    try:
        with open(os.path.join(args.org_dir, "content.json")) as f:
            content = json.load(f)
    except FileNotFoundError:
        content = {"downloads": [], "download_bytes": 0, "weights": {}, "weight_bytes": 0}
    kinds = ("git", "discussions", "lfs", "bucket")
    truth = {k: set() for k in kinds}
    for repo, t in truth_doc.items():
        for k in kinds:
            for tok in t.get(k, []):
                truth[k].add((repo, hashlib.sha256(tok.encode()).hexdigest()))
    truth_git = truth["git"]
    truth_all = set().union(*truth.values())

    work = tempfile.mkdtemp(prefix="hfleaks-hub-bench-")
    log = os.path.join(work, "requests.jsonl")
    run_config = os.path.join(work, "hub.json")
    with open(run_config, "w") as f:
        json.dump(dict(config, api_latency_ms=args.latency_ms, log=log), f)
    server = subprocess.Popen([sys.executable, MOCKHUB, run_config],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    port = int(server.stdout.readline().split()[1])
    server.stdout.readline()  # CONTENT_PORT: the resolve URLs' redirects name it
    endpoint = f"http://127.0.0.1:{port}"
    urls = repo_urls(endpoint, config)
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

    downloads = content["downloads"]
    tools = [
        ("floor", lambda: floor(urls, args.jobs, work, port, downloads, content_jobs)),
        ("hfleaks", lambda: hfleaks_hub(args.hfleaks, endpoint, args.jobs, out, [])),
        ("hfleaks-git", lambda: hfleaks_hub(args.hfleaks, endpoint, args.jobs, out,
                                            ["--no-discussions", "--no-lfs", "--include", "models,datasets,spaces"])),
    ]
    if args.betterleaks:
        tools.append(("betterleaks", lambda: betterleaks_pair(urls, args.jobs, work, args.betterleaks)))

    results = {name: {"wall": [], "peak": [], "info": None, "found": set(), "content": None}
               for name, _ in tools}
    try:
        for _, fn in tools:  # warm-up: page cache, git's and the server's
            fn()
        for r in range(args.runs):
            order = tools[r % len(tools):] + tools[:r % len(tools)]
            for name, fn in order:
                offset = os.path.getsize(log) if os.path.exists(log) else 0
                with Sampler(server.pid) as s:
                    start = time.perf_counter()
                    info, found = fn()
                    wall = time.perf_counter() - start
                time.sleep(0.3)  # the content host logs a request once its answer is sent
                res = results[name]
                res["wall"].append(wall)
                res["peak"].append(max(s.peak, info.get("ru_maxrss", 0)))
                res["info"], res["found"] = info, found
                res["content"] = content_stats(log, offset, content["weights"])
                print(f"  round {r + 1}: {name:12s} {wall:7.2f} s", file=sys.stderr)
    finally:
        server.stdin.close()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)

    n = len(urls)
    walls = {name: statistics.median(results[name]["wall"]) for name, _ in tools}
    base, base_git, floor_t = walls["hfleaks"], walls["hfleaks-git"], walls["floor"]
    print(f"\n{n} repos and 1 bucket, --jobs {args.jobs}, API answers {args.latency_ms} ms late, "
          f"{args.runs} runs (medians); planted tokens: {len(truth['git'])} in git, "
          f"{len(truth['discussions'])} in discussions, {len(truth['lfs'])} in LFS contents, "
          f"{len(truth['bucket'])} in the bucket; the floor downloads {len(downloads)} files "
          f"({content['download_bytes'] / (1 << 20):.1f} MiB) {content_jobs} at a time; "
          f"{content['weight_bytes'] / (1 << 20):.1f} MiB of weight and media files must stay unread\n")
    print("| tool | wall (s) | repos/s | vs floor | vs hfleaks-git | peak RSS (MiB) | "
          "true findings (git / all) | content host MiB (weights: bytes) | notes |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    summary = {}
    for name, _ in tools:
        res = results[name]
        wall = walls[name]
        peak = statistics.median(res["peak"]) / (1 << 20)
        found = res["found"]
        git_hits = len(found & truth_git)
        all_hits = len(found & truth_all)
        false = len(found - truth_all)
        c = res["content"] or {}
        note = ", ".join(f"{k} {v}" for k, v in (res["info"] or {}).items() if k != "ru_maxrss")
        hits = "-" if name == "floor" else f"{git_hits}/{len(truth_git)} / {all_hits}/{len(truth_all)}"
        if false and name != "floor":
            note += f", {false} not planted"
        if c.get("leaked_authorization"):
            note += f", {c['leaked_authorization']} requests brought Authorization to the content host"
        if name == "betterleaks":
            note += ", reads no LFS content and no bucket (a clone holds the pointers only)"
        print(f"| {name} | {wall:.2f} | {n / wall:.1f} | {wall / floor_t:.2f}× | "
              f"{wall / base_git:.2f}× | {peak:.0f} | {hits} | "
              f"{c.get('content_MiB', 0):.1f} ({c.get('weight_bytes', 0)}) | {note} |")
        summary[name] = {"wall": res["wall"], "peak_bytes": res["peak"], "git_hits": git_hits,
                         "all_hits": all_hits, "not_planted": false, "info": res["info"], "content": c,
                         "hits": {k: len(found & truth[k]) for k in kinds}}
    h = summary["hfleaks"]
    print(f"\nhfleaks / floor: {base / floor_t:.2f}×; hfleaks-git / floor: {base_git / floor_t:.2f}×")
    if "betterleaks" in walls:
        print(f"betterleaks / hfleaks: {walls['betterleaks'] / base:.2f}×; "
              f"betterleaks / hfleaks-git (the same scope): {walls['betterleaks'] / base_git:.2f}×")
    print("hfleaks true findings by source: " + ", ".join(
        f"{k} {h['hits'][k]}/{len(truth[k])}" for k in kinds))
    print(f"bytes of weight and media files sent to hfleaks: {h['content']['weight_bytes']} "
          f"in {h['content']['weight_requests']} requests (must be 0); "
          f"requests bringing Authorization to the content host: {h['content']['leaked_authorization']} "
          f"(must be 0)")
    print("betterleaks git reads no LFS content (the clone has only the pointer files) and no bucket: "
          "its figures cover the git history only")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"repos": n, "jobs": args.jobs, "latency_ms": args.latency_ms,
                       "content_jobs": content_jobs, "results": summary}, f, indent=1)


if __name__ == "__main__":
    main()
