#!/usr/bin/env python3
"""Build a mock Hugging Face organization for bench/hub.sh: bare git repos
and a config for tests/mockhub.py.

    gen_hub.py --out DIR [--seed N] [--repos N] [--big N] [--big-commits N]

DIR/git/{models,datasets,spaces}/bench-org/NAME.git are bare repos made with
`git fast-import` from a seeded RNG, repacked like the Hub's own:
- `--big` repos with about `--big-commits` commits each (bench/gen_history.py,
  a busy project's history with tokens added and removed);
- the rest small: 3-60 commits of 5-40 files of generated code and text,
  a third of them with a synthetic token at HEAD, removed in a later
  commit, or only on a pull request's ref (`refs/pr/N`);
- discussions: 20 repos with 100-130 each (two or three pages of 50), the
  rest 0-4; tokens in some comments, in earlier revisions of edited
  comments, and in titles.
DIR/hub.json is the mock's config; DIR/truth.json lists every planted token
by repo (found independently of any scanner: a regex over every reachable
blob and every discussion text). Deterministic for a given seed.
"""

import argparse
import hashlib
import json
import os
import random
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import textgen  # noqa: E402

ORG = "bench-org"
TOKEN = re.compile(rb"(?<![A-Za-z0-9_])hf_[A-Za-z]{34}(?![A-Za-z0-9_])")
HERE = os.path.dirname(os.path.abspath(__file__))


def fast_import(bare, stream_bytes):
    subprocess.run(["git", "init", "-q", "--bare", bare], check=True)
    subprocess.run(["git", "-C", bare, "config", "gc.auto", "0"], check=True)
    subprocess.run(["git", "-C", bare, "fast-import", "--quiet"], input=stream_bytes, check=True)


def small_stream(rng, pools, commits, nfiles, plant):
    """A fast-import stream of a small repo; `plant` is None, or (kind, token)
    with kind "head", "removed" or "pr"."""
    out = []
    mark = [0]
    ts = [1609459200 + rng.randint(0, 10 ** 7)]
    files = {}

    def data(b):
        out.append(b"data %d\n" % len(b) + b + b"\n")

    def commit(ref, msg, changes, parent):
        ts[0] += rng.randint(600, 86400)
        mark[0] += 1
        out.append(f"commit {ref}\nmark :{mark[0]}\n".encode())
        out.append(f"author Dev <dev@example.com> {ts[0]} +0000\n".encode())
        out.append(f"committer Dev <dev@example.com> {ts[0]} +0000\n".encode())
        data(msg.encode())
        if parent:
            out.append(f"from :{parent}\n".encode())
        for op, path, body in changes:
            if op == "M":
                out.append(f"M 100644 inline {path}\n".encode())
                data(body)
            else:
                out.append(f"D {path}\n".encode())
        out.append(b"\n")
        return mark[0]

    def new_body(ext):
        blocks = rng.choices(pools[ext], k=rng.randint(2, 30))
        return textgen.wrap(ext, "".join(blocks)).encode()

    first = []
    for i in range(nfiles):
        ext = textgen.pick_ext(rng)
        path = f"{rng.choice(['src', 'configs', 'docs', 'scripts'])}/{textgen.ident(rng, (1, 2))}_{i}.{ext}"
        files[path] = ext
        first.append(("M", path, new_body(ext)))
    first.append(("M", "README.md", textgen.wrap("md", textgen.md_block(rng)).encode()))
    parent = commit("refs/heads/main", "initial upload\n", first, None)
    plant_at = rng.randint(1, max(1, commits - 1))
    secret_path = f"scripts/push_{rng.randint(0, 999)}.py"
    for c in range(1, commits):
        if plant and c == plant_at and plant[0] in ("head", "removed"):
            body = f'from huggingface_hub import HfApi\napi = HfApi(token="{plant[1]}")\n'.encode()
            parent = commit("refs/heads/main", "add upload script\n", [("M", secret_path, body)], parent)
            continue
        if plant and plant[0] == "removed" and c == plant_at + 2:
            parent = commit("refs/heads/main", "remove upload script\n", [("D", secret_path, b"")], parent)
            continue
        path = rng.choice(sorted(files))
        parent = commit("refs/heads/main", f"Update {path.rsplit('/', 1)[-1]}\n",
                        [("M", path, new_body(files[path]))], parent)
    if plant and plant[0] == "pr":
        body = f'import os\nos.environ["HF_TOKEN"] = "{plant[1]}"\n'.encode()
        commit("refs/pr/1", "PR: add training launcher\n", [("M", "launch.py", body)], parent)
    out.append(b"done\n")
    return b"".join(out)


def reachable_tokens(bare):
    """Every synthetic token in a blob reachable from any ref but refs/convert."""
    objects = subprocess.run(
        ["git", "-C", bare, "rev-list", "--objects", "--branches", "--tags", "--glob=refs/pr/*"],
        check=True, capture_output=True).stdout.split(b"\n")
    ids = b"\n".join(line.split(b" ")[0] for line in objects if line) + b"\n"
    blobs = subprocess.run(["git", "-C", bare, "cat-file", "--batch"], input=ids,
                           check=True, capture_output=True).stdout
    return sorted({m.group(0).decode() for m in TOKEN.finditer(blobs)})


def discussions(rng, count, tokens_out):
    talk = []
    for n in range(1, count + 1):
        events = []
        title = f"{textgen.sentence(rng, 3, 8)}"
        if rng.random() < 0.02:
            tok = textgen.synthetic_token(rng)
            tokens_out.append(tok)
            title = f"cannot load with {tok}"
        for e in range(rng.randint(1, 4)):
            raw = textgen.sentence(rng, 8, 30)
            history = []
            r = rng.random()
            if r < 0.02:
                tok = textgen.synthetic_token(rng)
                tokens_out.append(tok)
                raw = f"{raw}\n\nmy token is {tok}"
            elif r < 0.04:
                tok = textgen.synthetic_token(rng)
                tokens_out.append(tok)
                history = [{"raw": f"{raw} token={tok}", "updatedAt": "2026-01-01T00:00:00.000Z"}]
                raw = f"{raw} (token removed)"
            events.append({
                "id": hashlib.sha1(f"{n}-{e}-{rng.random()}".encode()).hexdigest()[:24],
                "type": "comment", "createdAt": "2026-01-02T00:00:00.000Z",
                "author": {"name": f"user{rng.randint(1, 500)}"},
                "data": {"edited": bool(history), "hidden": False,
                         "latest": {"raw": raw, "updatedAt": "2026-01-03T00:00:00.000Z"},
                         "history": history},
            })
        talk.append({"num": n, "title": title, "isPullRequest": rng.random() < 0.2,
                     "status": "open", "author": f"user{rng.randint(1, 500)}", "events": events})
    return talk


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=20241201)
    ap.add_argument("--repos", type=int, default=200)
    ap.add_argument("--big", type=int, default=6)
    ap.add_argument("--big-commits", type=int, default=3000)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    pools = textgen.make_pools(rng, 400)
    git_root = os.path.join(args.out, "git")
    kinds = (["model"] * 12 + ["dataset"] * 5 + ["space"] * 3)
    repos, truth = [], {}
    busy = set(rng.sample(range(args.repos), min(20, args.repos // 10)))
    for i in range(args.repos):
        kind = kinds[i % len(kinds)]
        name = f"{kind}-{i:03d}"
        rid = f"{ORG}/{name}"
        bare = os.path.join(git_root, kind + "s", rid + ".git")
        os.makedirs(os.path.dirname(bare), exist_ok=True)
        if i < args.big:
            stream = subprocess.run(
                [sys.executable, os.path.join(HERE, "gen_history.py"), "--seed", str(args.seed + i),
                 "--commits", str(args.big_commits), "--files", "600", "--tokens", "4"],
                check=True, capture_output=True).stdout
            fast_import(bare, stream)
            subprocess.run(["git", "-C", bare, "symbolic-ref", "HEAD", "refs/heads/main"], check=True)
        else:
            r = rng.random()
            plant = None
            if r < 0.34:
                plant = (rng.choice(["head", "head", "removed", "pr"]), textgen.synthetic_token(rng))
            stream = small_stream(rng, pools, rng.randint(3, 60), rng.randint(5, 40), plant)
            fast_import(bare, stream)
        subprocess.run(["git", "-C", bare, "repack", "-a", "-d", "-q"], check=True)
        subprocess.run(["git", "-C", bare, "pack-refs", "--all"], check=True)
        disc_tokens = []
        talk = discussions(rng, rng.randint(100, 130) if i in busy else rng.randint(0, 4), disc_tokens)
        repos.append({"type": kind, "id": rid, "discussions": talk})
        truth[f"{kind}:{rid}"] = {"git": reachable_tokens(bare), "discussions": sorted(set(disc_tokens))}
        if i % 20 == 0:
            print(f"  {i}/{args.repos} repos", file=sys.stderr)
    with open(os.path.join(args.out, "hub.json"), "w") as f:
        json.dump({"git_root": git_root, "page_size": 100, "repos": repos}, f)
    with open(os.path.join(args.out, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1)
    n_git = sum(len(v["git"]) for v in truth.values())
    n_disc = sum(len(v["discussions"]) for v in truth.values())
    print(json.dumps({"repos": args.repos, "git_tokens": n_git, "discussion_tokens": n_disc,
                      "discussions": sum(len(r["discussions"]) for r in repos)}), file=sys.stderr)


if __name__ == "__main__":
    main()
