#!/usr/bin/env python3
"""Write a tree of random base64 text (no token in it) for bench/decode.sh.

    gen_base64.py DIR --bytes N [--seed N] [--file-bytes N] [--layers N] [--wrap W]

Each file holds 76-character lines of base64 of seeded random bytes, the
worst case for a decoder: every line is an encoded run, and by chance the
base64 forms of `hf_` appear now and then. With --layers N the random bytes
are base64-encoded N times (base64 of base64 text: every layer but the last
decodes to text, so each is decoded in turn); --wrap 0 writes each file as
one line (one run, decoded in windows). A JSON summary goes to stdout.
"""

import argparse
import base64
import json
import os
import random


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--bytes", type=int, required=True)
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--file-bytes", type=int, default=4 << 20)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--wrap", type=int, default=76)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.dir, exist_ok=True)
    written, files = 0, 0
    while written < args.bytes:
        size = min(args.file_bytes, args.bytes - written)
        raw = rng.randbytes(int(size * (3 / 4) ** args.layers))
        text = raw
        for _ in range(args.layers):
            text = base64.b64encode(text)
        w = args.wrap or len(text)
        lines = b"\n".join(text[i:i + w] for i in range(0, len(text), w)) + b"\n"
        sub = os.path.join(args.dir, f"d{files // 64:03d}")
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, f"blob{files:05d}.b64"), "wb") as f:
            f.write(lines)
        written += len(lines)
        files += 1
    print(json.dumps({"files": files, "bytes": written}))


if __name__ == "__main__":
    main()
