#!/usr/bin/env python3
"""Generate the dataset set that bench/datasets.sh scans (needs pyarrow).

    gen_datasets.py OUT_DIR [--seed N] [--bytes N] [--tokens N] [--rows-per-group N]

Chat rows as `datasets.push_to_hub` writes them: `id` (int64), `messages`
(list<struct<role: string, content: string>>, two to six turns of English-ish
text) and `score` (float64). `--tokens` synthetic tokens (seeded; never real)
are planted in message contents at random rows, some as written, some in
base64. Writes, from the same rows:

- chat-snappy.parquet and chat-zstd.parquet (pyarrow's writer: dictionary
  encoding, data pages v1, row groups of --rows-per-group rows);
- chat.jsonl.zst (one JSON object per row, compressed by the zstd CLI).

Prints a JSON summary on stdout: the files, text bytes, rows, the largest
row group's decoded text bytes, and each token's row and (for the JSONL) line.
"""

import argparse
import base64
import json
import os
import random
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

WORDS = (
    "the a model dataset train eval loss step epoch token batch gradient learning rate "
    "fine tune prompt answer question user assistant system tool call output input "
    "python install import load save push hub repo branch commit file config value "
    "error warning run job node cluster memory disk cache download upload version "
    "please thanks could would should help explain example result because when then"
).split()


def fake_token(rng):
    """hf_ + 34 mixed-case letters: shaped like a token, never a real one."""
    while True:
        body = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") for _ in range(34))
        if any(c.isupper() for c in body) and any(c.islower() for c in body):
            return "hf_" + body


def sentences(rng, n):
    out = []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(6, 24))]
        out.append(" ".join(words).capitalize() + ".")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=27)
    ap.add_argument("--bytes", type=int, default=1 << 30, help="text bytes to generate")
    ap.add_argument("--tokens", type=int, default=13)
    ap.add_argument("--rows-per-group", type=int, default=100_000)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    pool = sentences(rng, 20_000)
    roles = ["user", "assistant", "tool"]

    ids, messages, scores = [], [], []
    text_bytes = 0
    while text_bytes < args.bytes:
        turns = []
        for t in range(rng.randint(2, 6)):
            content = " ".join(rng.choices(pool, k=rng.randint(2, 12)))
            turns.append({"role": roles[t % 2] if t < 5 else "tool", "content": content})
            text_bytes += len(content) + 4
        ids.append(len(ids))
        messages.append(turns)
        scores.append(rng.random())
    rows = len(ids)
    planted = []
    for k in range(args.tokens):
        token = fake_token(rng)
        row = rng.randrange(rows)
        turn = messages[row][-1]
        if k % 4 == 3:
            # base64 of an env line, as a tool's output might print it.
            secret_text = base64.b64encode(f"HF_TOKEN={token}".encode()).decode()
            turn["content"] += f" env dump: {secret_text}"
        else:
            turn["content"] += f" my token is {token} thanks"
        planted.append({"token": token, "row": row, "line": row + 1,
                        "encoded": k % 4 == 3})

    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    table = pa.table({
        "id": pa.array(ids, pa.int64()),
        "messages": pa.array(messages, pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
        "score": pa.array(scores, pa.float64()),
    })
    files = {}
    for codec in ["snappy", "zstd"]:
        path = os.path.join(args.out, f"chat-{codec}.parquet")
        pq.write_table(table, path, compression=codec, row_group_size=args.rows_per_group)
        files[f"parquet-{codec}"] = path
    # The text a row group decodes to (what hfleaks holds at most one of).
    largest = 0
    for start in range(0, rows, args.rows_per_group):
        group = messages[start:start + args.rows_per_group]
        largest = max(largest, sum(len(t["content"]) + len(t["role"]) for turns in group for t in turns))
    meta = pq.ParquetFile(files["parquet-snappy"]).metadata
    jsonl = os.path.join(args.out, "chat.jsonl")
    with open(jsonl, "w") as f:
        for i in range(rows):
            f.write(json.dumps({"id": ids[i], "messages": messages[i], "score": scores[i]}) + "\n")
    subprocess.run(["zstd", "-q", "-f", "-3", "--rm", jsonl, "-o", jsonl + ".zst"], check=True)
    files["jsonl-zst"] = jsonl + ".zst"
    json.dump({
        "files": files,
        "rows": rows,
        "text_bytes": text_bytes,
        "row_groups": meta.num_row_groups,
        "largest_row_group_text_bytes": largest,
        "planted": planted,
    }, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
