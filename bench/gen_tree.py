#!/usr/bin/env python3
"""Generate the deterministic source tree that bench/scan.sh scans.

    gen_tree.py OUT_DIR [--seed N] [--bytes N] [--tokens N]

Writes a tree of Python/JS/TS/YAML/Markdown/JSON-ish files of varied sizes
(log-normal, a few hundred bytes to 4 MiB) under OUT_DIR, nested like a
monorepo. About 3% of the files use `hf_` identifiers such as
`hf_hub_download` (no token), and `--tokens` files each get one synthetic
token. Writes into OUT_DIR.tmp and renames it at the end, so an interrupted
run never leaves a half tree behind. Prints a JSON summary on stdout.
"""

import argparse
import json
import math
import os
import random
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import textgen  # noqa: E402

GENERATOR_VERSION = 1
MAX_FILE = 4 << 20


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--bytes", type=int, default=1_180_000_000)
    ap.add_argument("--tokens", type=int, default=20)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    pools = textgen.make_pools(rng, 4000)
    tmp = args.out.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)

    # Directory skeleton: packages / areas / modules, 2-4 levels deep.
    dirs = []
    for p in range(40):
        pkg = f"pkg_{p:02d}_{textgen.ident(rng, (1, 1))}"
        for a in range(rng.randint(3, 8)):
            area = os.path.join(pkg, rng.choice(["src", "lib", "docs", "config", "tests", "scripts"]) + f"_{a}")
            dirs.append(area)
            for m in range(rng.randint(0, 4)):
                dirs.append(os.path.join(area, f"{textgen.ident(rng, (1, 2))}_{m}"))
    for d in dirs:
        os.makedirs(os.path.join(tmp, d), exist_ok=True)

    total = 0
    files = 0
    hub_files = 0
    plan = []
    while total < args.bytes:
        size = int(min(MAX_FILE, max(200, rng.lognormvariate(math.log(22_000), 1.15))))
        ext = textgen.pick_ext(rng)
        path = os.path.join(rng.choice(dirs), f"{textgen.ident(rng, (1, 3))}_{files}.{ext}")
        plan.append((path, ext, size))
        total += size
        files += 1

    token_files = set(rng.sample(range(len(plan)), min(args.tokens, len(plan))))
    tokens = []
    written = 0
    for i, (path, ext, size) in enumerate(plan):
        pool = pools[ext]
        parts = []
        n = 0
        # Draw blocks in batches: one `choices` call is much faster than a loop.
        while n < size:
            batch = rng.choices(pool, k=max(4, (size - n) // 250))
            for b in batch:
                parts.append(b)
                n += len(b)
                if n >= size:
                    break
        if rng.random() < 0.03:
            parts.insert(rng.randrange(len(parts) + 1), textgen.hub_block(rng, ext))
            hub_files += 1
        if i in token_files:
            token = textgen.synthetic_token(rng)
            tokens.append(token)
            parts.insert(rng.randrange(len(parts) + 1), textgen.token_block(rng, ext, token))
        data = textgen.wrap(ext, "".join(parts)).encode()
        with open(os.path.join(tmp, path), "wb") as f:
            f.write(data)
        written += len(data)

    shutil.rmtree(args.out, ignore_errors=True)
    os.rename(tmp, args.out)
    summary = {
        "generator_version": GENERATOR_VERSION,
        "seed": args.seed,
        "files": len(plan),
        "bytes": written,
        "hub_identifier_files": hub_files,
        "tokens": len(tokens),
    }
    json.dump(summary, sys.stdout)
    print()


if __name__ == "__main__":
    main()
