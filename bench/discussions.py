#!/usr/bin/env python3
"""Time `hfleaks hub` on one repo with many discussions, every API answer
late by a real round trip: what the run-wide discussion pool buys.

    discussions.py --hfleaks BIN [--baseline BIN] [--discussions 300]
                   [--latency-ms 30] [--runs 5] [--jobs 4]

Starts tests/mockhub.py on 127.0.0.1 with one small model repo (real git
smart HTTP) holding N discussions (one comment each, a synthetic token in
every tenth), runs each binary in turn (interleaved), and prints the median
wall time of each, the ratio, and the floor: N+2 API round trips one after
another, and the same spread over the pool. Nothing leaves the machine.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MOCKHUB = os.path.join(HERE, "..", "tests", "mockhub.py")


def fake_token(rng):
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    return "hf_" + "".join(rng.choice(letters) for _ in range(34))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hfleaks", required=True)
    ap.add_argument("--baseline")
    ap.add_argument("--discussions", type=int, default=300)
    ap.add_argument("--latency-ms", type=int, default=30)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=4)
    args = ap.parse_args()
    rng = random.Random(19)
    root = tempfile.mkdtemp(prefix="hfleaks-discussions-")
    work = os.path.join(root, "work")
    bare = os.path.join(root, "git", "models", "acme", "talk.git")
    env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@example.com",
               GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@example.com")
    subprocess.run(["git", "init", "-q", "-b", "main", work], check=True, env=env)
    with open(os.path.join(work, "README.md"), "w") as f:
        f.write("# talk\n")
    subprocess.run(["git", "-C", work, "add", "."], check=True, env=env)
    subprocess.run(["git", "-C", work, "commit", "-qm", "init"], check=True, env=env)
    os.makedirs(os.path.dirname(bare))
    subprocess.run(["git", "clone", "-q", "--bare", work, bare], check=True, env=env)
    planted = 0
    talk = []
    for n in range(1, args.discussions + 1):
        text = f"question {n}"
        if n % 10 == 0:
            text += " with my token " + fake_token(rng)
            planted += 1
        talk.append({"num": n, "title": f"d{n}", "isPullRequest": False, "status": "open",
                     "author": "bob",
                     "events": [{"id": f"c{n}", "type": "comment", "author": {"name": "bob"},
                                 "createdAt": "2026-01-01T00:00:00.000Z",
                                 "data": {"latest": {"raw": text}, "history": []}}]})
    config = {"git_root": os.path.join(root, "git"), "api_latency_ms": args.latency_ms,
              "repos": [{"type": "model", "id": "acme/talk", "discussions": talk}]}
    cfg = os.path.join(root, "hub.json")
    with open(cfg, "w") as f:
        json.dump(config, f)
    mock = subprocess.Popen([sys.executable, MOCKHUB, cfg], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    port = int(mock.stdout.readline().split()[1])
    endpoint = f"http://127.0.0.1:{port}"
    tools = [("hfleaks", args.hfleaks)] + ([("baseline", args.baseline)] if args.baseline else [])
    times = {name: [] for name, _ in tools}
    found = {}
    for run in range(args.runs + 1):
        for name, binary in tools:
            start = time.monotonic()
            out = subprocess.run(
                [binary, "hub", "acme/talk", "--no-progress", "-q", "--format", "json",
                 "--jobs", str(args.jobs), "--hf-endpoint", endpoint],
                capture_output=True, text=True,
                env={k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HF_ENDPOINT")})
            wall = time.monotonic() - start
            found[name] = len(json.loads(out.stdout)["findings"])
            if run > 0:
                times[name].append(wall)
    mock.stdin.close()
    mock.wait()
    print(f"one repo, {args.discussions} discussions, API answers {args.latency_ms} ms late, "
          f"--jobs {args.jobs}, {args.runs} runs after a warm-up, interleaved")
    floor = (args.discussions + 3) * args.latency_ms / 1000
    for name, _ in tools:
        print(f"  {name:9} median {statistics.median(times[name]):.2f} s "
              f"(min {min(times[name]):.2f}, max {max(times[name]):.2f}), "
              f"{found[name]} findings of {planted} planted")
    if args.baseline:
        print(f"  baseline / hfleaks: {statistics.median(times['baseline']) / statistics.median(times['hfleaks']):.1f}x")
    print(f"  the API round trips one after another: {floor:.2f} s")


if __name__ == "__main__":
    main()
