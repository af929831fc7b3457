#!/usr/bin/env python3
"""Write a deterministic git history as a `git fast-import` stream on stdout.

    gen_history.py [--seed N] [--commits N] [--files N] [--tokens N] | git fast-import

The history (used by bench/history.sh) looks like a busy project:
- `main`: the first 50 commits import ~3,000 files, then every commit
  modifies 1-5 files (skewed towards a set of hot files), and now and then
  adds, renames or deletes files, ending with ~5,000 files;
- an annotated tag every 2,000 commits on `main`;
- `feature/experiment`, an unmerged branch of 40 commits forked late;
- `--tokens` commits on `main` add a synthetic token to a file; about half
  of them are removed again by a later commit; one more token lives only on
  the unmerged branch.
Authors, dates and messages are drawn from the same seeded RNG, so the same
arguments always produce the same commit ids. A JSON summary goes to stderr.
"""

import argparse
import json
import math
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import textgen  # noqa: E402

GENERATOR_VERSION = 1
AUTHORS = [(f"{first} {last}", f"{first.lower()}.{last.lower()}@example.com")
           for first, last in [
               ("Ada", "Moreau"), ("Bo", "Lindqvist"), ("Chen", "Wei"), ("Dara", "Okafor"),
               ("Eli", "Novak"), ("Fatima", "Haddad"), ("Gus", "Pereira"), ("Hana", "Sato"),
               ("Ivan", "Petrov"), ("Jo", "Keller"), ("Kai", "Nakamura"), ("Lena", "Fischer"),
               ("Mo", "Rahman"), ("Nia", "Adeyemi"), ("Omar", "Saleh"), ("Pia", "Rossi"),
               ("Quinn", "Walsh"), ("Ravi", "Iyer"), ("Sofia", "Lopez"), ("Tom", "Berg"),
           ]]
MSG_VERBS = ["Fix", "Add", "Update", "Refactor", "Remove", "Improve", "Document", "Test", "Bump", "Simplify"]


class Stream:
    def __init__(self, out):
        self.out = out
        self.mark = 0

    def data(self, payload: bytes):
        self.out.write(b"data %d\n" % len(payload))
        self.out.write(payload)
        self.out.write(b"\n")

    def line(self, s: str):
        self.out.write(s.encode() + b"\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=20240602)
    ap.add_argument("--commits", type=int, default=20000)
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--tokens", type=int, default=10)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    pools = textgen.make_pools(rng, 3000)
    out = Stream(sys.stdout.buffer)
    ts = 1546300800  # 2019-01-01T00:00:00Z

    files = {}        # path -> [ext, blocks]
    order = []        # paths in creation order (deterministic choice among them)
    dirs = [f"{top}/{textgen.ident(rng, (1, 1))}_{i}"
            for i in range(60) for top in [rng.choice(["src", "lib", "docs", "config", "tests", "examples"])]]
    name_seq = [0]

    def new_path(ext):
        name_seq[0] += 1
        return f"{rng.choice(dirs)}/{textgen.ident(rng, (1, 2))}_{name_seq[0]}.{ext}"

    def new_file():
        ext = textgen.pick_ext(rng)
        n = int(min(400, max(2, rng.lognormvariate(math.log(28), 0.9))))
        blocks = rng.choices(pools[ext], k=n)
        if rng.random() < 0.03:
            blocks.insert(rng.randrange(len(blocks) + 1), textgen.hub_block(rng, ext))
        path = new_path(ext)
        files[path] = [ext, blocks]
        order.append(path)
        return path

    def content(path):
        ext, blocks = files[path]
        return textgen.wrap(ext, "".join(blocks)).encode()

    def commit(ref, msg, changes, parent=None):
        nonlocal ts
        ts += rng.randint(300, 6 * 3600)
        name, email = rng.choice(AUTHORS)
        out.mark += 1
        out.line(f"commit {ref}")
        out.line(f"mark :{out.mark}")
        out.line(f"author {name} <{email}> {ts} +0000")
        out.line(f"committer {name} <{email}> {ts} +0000")
        out.data(msg.encode())
        if parent is not None:
            out.line(f"from :{parent}")
        for op in changes:
            if op[0] == "M":
                out.line(f"M 100644 inline {op[1]}")
                out.data(content(op[1]))
            elif op[0] == "D":
                out.line(f"D {op[1]}")
            else:
                out.line(f"R {op[1]} {op[2]}")
        out.line("")
        return out.mark

    def message(paths):
        p = paths[0].rsplit("/", 1)[-1]
        return f"{rng.choice(MSG_VERBS)} {textgen.ident(rng, (1, 2)).replace('_', ' ')} in {p}\n\n{textgen.sentence(rng)}\n"

    def pick_existing(hot):
        live = [p for p in hot if p in files] if rng.random() < 0.5 else []
        return rng.choice(live) if live else rng.choice(order_live())

    live_cache = {"n": -1, "list": []}

    def order_live():
        # `order` grows and shrinks rarely; rebuild the live list only when it changed.
        key = (len(files), len(order))  # order only grows, so this changes on every mutation
        if live_cache["n"] != key:
            live_cache["list"] = [p for p in order if p in files]
            live_cache["n"] = key
        return live_cache["list"]

    def edit(path):
        ext, blocks = files[path]
        for _ in range(rng.randint(1, 3)):
            r = rng.random()
            if r < 0.45 and blocks:
                blocks[rng.randrange(len(blocks))] = rng.choice(pools[ext])
            elif r < 0.8 or len(blocks) < 4:
                blocks.insert(rng.randrange(len(blocks) + 1), rng.choice(pools[ext]))
            else:
                del blocks[rng.randrange(len(blocks))]

    # 1. Initial import.
    initial = int(args.files * 0.6)
    per = max(1, initial // 50)
    last = None
    n_commits = 0
    while len(files) < initial:
        paths = [new_file() for _ in range(min(per, initial - len(files)))]
        last = commit("refs/heads/main", f"Import {paths[0].split('/')[0]} ({len(paths)} files)\n",
                      [("M", p) for p in paths])
        n_commits += 1

    hot = rng.sample(order, min(300, len(order)))
    token_at = set(rng.sample(range(n_commits + 100, args.commits - 200), args.tokens))
    removals = {}     # commit index -> [(path-or-None, token block)]
    token_files = {}  # token block -> current path
    fork_state = None
    fork_mark = None
    fork_at = int(args.commits * 0.8)
    tokens_added = 0
    tokens_removed = 0

    # 2. Churn on main.
    for i in range(n_commits, args.commits):
        changes = []
        r = rng.random()
        if r < 0.06 and len(files) < args.files * 1.1:
            for _ in range(rng.randint(1, 3)):
                changes.append(("M", new_file()))
        elif r < 0.07 and len(files) > 10:
            old = rng.choice(order_live())
            ext = files[old][0]
            new = new_path(ext)
            files[new] = files.pop(old)
            order.append(new)
            for tb, p in token_files.items():
                if p == old:
                    token_files[tb] = new
            changes.append(("R", old, new))
        elif r < 0.08 and len(files) > 10:
            old = rng.choice(order_live())
            del files[old]
            changes.append(("D", old))
        touched = {c[1] if c[0] != "R" else c[2] for c in changes}
        for _ in range(rng.choices([1, 2, 3, 4, 5], weights=[40, 25, 15, 12, 8])[0]):
            p = pick_existing(hot)
            if p in touched:
                continue
            edit(p)
            touched.add(p)
            changes.append(("M", p))
        if i in token_at:
            p = next((c[1] for c in changes if c[0] == "M"), None)
            if p is None:
                p = rng.choice([q for q in order_live() if q not in touched])
                changes.append(("M", p))
                touched.add(p)
            ext, blocks = files[p]
            tb = textgen.token_block(rng, ext, textgen.synthetic_token(rng))
            blocks.insert(rng.randrange(len(blocks) + 1), tb)
            token_files[tb] = p
            tokens_added += 1
            if rng.random() < 0.5:
                removals.setdefault(min(args.commits - 1, i + rng.randint(20, 2000)), []).append(tb)
        for tb in removals.pop(i, []):
            p = token_files.get(tb)
            if p in files and tb in files[p][1]:
                files[p][1].remove(tb)
                if p not in touched:
                    changes.append(("M", p))
                    touched.add(p)
                tokens_removed += 1
        msg = message([c[-1] for c in changes])
        last = commit("refs/heads/main", msg, changes)
        if (i + 1) % 2000 == 0:
            name, email = rng.choice(AUTHORS)
            out.line(f"tag v{(i + 1) // 2000}.0")
            out.line(f"from :{last}")
            out.line(f"tagger {name} <{email}> {ts} +0000")
            out.data(f"Release {(i + 1) // 2000}.0\n".encode())
        if i == fork_at:
            fork_mark = last
            fork_state = ({p: [e, list(b)] for p, (e, b) in files.items()}, list(order))

    # 3. An unmerged branch forked at 80%, with one token of its own.
    main_files = files
    files, order = fork_state
    live_cache["n"] = -1
    parent = fork_mark
    for j in range(40):
        p = rng.choice(order_live())
        edit(p)
        if j == 17:
            ext, blocks = files[p]
            blocks.append(textgen.token_block(rng, ext, textgen.synthetic_token(rng)))
            tokens_added += 1
        parent = commit("refs/heads/feature/experiment", message([p]), [("M", p)], parent)
    out.line("done")
    sys.stdout.buffer.flush()

    json.dump({"generator_version": GENERATOR_VERSION, "seed": args.seed,
               "commits": args.commits + 40, "files_at_head": len(main_files),
               "tokens_added": tokens_added, "tokens_removed": tokens_removed}, sys.stderr)
    sys.stderr.write("\n")


if __name__ == "__main__":
    main()
