#!/usr/bin/env python3
"""Build a mock Hugging Face organization for bench/hub.sh: bare git repos
and a config for tests/mockhub.py.

    gen_hub.py --out DIR [--seed N] [--repos N] [--big N] [--big-commits N]
               [--discussions N] [--bucket-files N] [--bucket-mib N] [--bucket-weights N]
               [--lfs-repos N] [--lfs-mib N] [--lfs-weight-repos N]

DIR/git/{models,datasets,spaces}/bench-org/NAME.git are bare repos made with
`git fast-import` from a seeded RNG, repacked like the Hub's own:
- `--big` repos with about `--big-commits` commits each (bench/gen_history.py,
  a busy project's history with tokens added and removed);
- the rest small: 3-60 commits of 5-40 files of generated code and text,
  a third of them with a synthetic token at HEAD, removed in a later
  commit, or only on a pull request's ref (`refs/pr/N`);
- discussions: 20 repos with 100-130 each (two or three pages of 50), the
  rest 0-4, and one repo (the first small one) with `--discussions` (320);
  tokens in some comments, in earlier revisions of edited comments, and in
  titles;
- LFS: `--lfs-repos` datasets get two more commits on main with LFS pointer
  files (`data/train.jsonl` in two versions, `data/test.csv`, every other
  one `data/extra.zip`, every third `images/preview.png`), their contents,
  about `--lfs-mib` MiB of text in all, in DIR/lfs/<oid>; tokens in the
  first version of one train.jsonl only (replaced at HEAD), in a CSV, in a
  zip member and in a HEAD train.jsonl; `--lfs-weight-repos` models get
  LFS `model.safetensors` and `pytorch_model.bin` (a few MiB of random
  bytes: never to be downloaded) and an LFS `tokenizer.json` (text);
- a Storage Bucket, bench-org/training-logs: `--bucket-files` text files
  (logs, JSONL, CSV, YAML; paths with spaces and non-ASCII names) of about
  `--bucket-mib` MiB in all, 6 of them with a token, and `--bucket-weights`
  weight and media files (.safetensors, .bin, .png, .mp4, 1-4 MiB each:
  never to be downloaded), under DIR/bucket/.
DIR/hub.json is the mock's config; DIR/truth.json lists every planted token
by repo ("git", "discussions", "lfs"; the bucket as "bucket:NS/NAME" with
"bucket"), found independently of any scanner: a regex over every
reachable blob, every discussion text, the contents of every LFS pointer
reachable from a ref (zip members unpacked) and every bucket file.
DIR/content.json lists what a scanner must download (the resolve paths of
every bucket text file and every distinct non-weight LFS object, and their
bytes) and the xetHashes and oids of the weight and media files that must
never be downloaded. Deterministic for a given seed.
"""

import argparse
import hashlib
import io
import json
import os
import random
import re
import subprocess
import sys
import zipfile
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import textgen  # noqa: E402

ORG = "bench-org"
TOKEN = re.compile(rb"(?<![A-Za-z0-9_])hf_[A-Za-z]{34}(?![A-Za-z0-9_])")
HERE = os.path.dirname(os.path.abspath(__file__))
BUCKET = f"{ORG}/training-logs"
MIB = 1 << 20
STAMP = (2026, 1, 1, 0, 0, 0)


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


# -- file contents: logs, JSONL, CSV; weights and media ----------------------------


def line_pools(rng):
    """Pools of log lines, JSONL records, CSV rows and YAML lines (no `hf_`)."""
    levels = ["INFO", "INFO", "INFO", "DEBUG", "WARNING", "ERROR"]
    logs = [f"2026-01-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
            f"{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z {rng.choice(levels)} "
            f"[{textgen.ident(rng, (1, 2))}] step={rng.randint(0, 200000)} "
            f"loss={rng.random() * 4:.4f} {textgen.sentence(rng, 3, 12)}\n" for _ in range(3000)]
    records = [json.dumps({"id": textgen.hexdigest(rng, 16), "text": textgen.sentence(rng, 8, 40),
                           "label": rng.randint(0, 9), "score": round(rng.random(), 6),
                           textgen.ident(rng, (1, 1)): textgen.ident(rng)}) + "\n" for _ in range(3000)]
    rows = [f"{rng.randint(0, 10 ** 6)},{textgen.ident(rng)},{rng.random():.6f},"
            f"\"{textgen.sentence(rng, 3, 10)}\",{textgen.hexdigest(rng, 12)}\n" for _ in range(3000)]
    yaml = [f"{textgen.ident(rng)}: {rng.choice([str(rng.randint(0, 4096)), textgen.ident(rng)])}\n"
            for _ in range(1000)]
    return {"log": logs, "txt": logs, "jsonl": records, "csv": rows, "yaml": yaml}


CSV_HEADER = "id,name,value,comment,digest\n"


def text_file(rng, pools, ext, size, token=None):
    """About `size` bytes of `ext` text; `token`, if any, on one line of it."""
    pool = pools[ext]
    avg = sum(len(x) for x in pool[:200]) / 200
    lines = rng.choices(pool, k=max(1, int(size / avg)))
    if token:
        leak = {
            "log": f"2026-01-09T10:00:00.000Z INFO [launcher] env HF_TOKEN={token} WANDB_MODE=offline\n",
            "txt": f"export HF_TOKEN={token}\n",
            "jsonl": json.dumps({"id": "cfg", "env": {"HF_TOKEN": token}}) + "\n",
            "csv": f"7,hub_login,0.0,\"token {token}\",00\n",
            "yaml": f"hub_token: {token}\n",
        }[ext]
        lines.insert(rng.randint(0, len(lines)), leak)
    body = "".join(lines)
    if ext == "csv":
        body = CSV_HEADER + body
    return body.encode()


def weight_file(rng, ext, size):
    """`size` bytes shaped like a weights or media file of type `ext`."""
    if ext == "safetensors":
        header = json.dumps({"__metadata__": {"format": "pt"},
                             "w": {"dtype": "F32", "shape": [size // 4], "data_offsets": [0, size // 4 * 4]}})
        header = header.encode() + b" " * (-len(header) % 8)
        return len(header).to_bytes(8, "little") + header + rng.randbytes(max(0, size - 8 - len(header)))
    magic = {"png": b"\x89PNG\r\n\x1a\n", "mp4": b"\x00\x00\x00\x18ftypmp42", "bin": b"\x80\x02\x8a\x0a"}.get(ext, b"")
    return magic + rng.randbytes(size - len(magic))


def zip_of(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members:
            z.writestr(zipfile.ZipInfo(name, date_time=STAMP), data, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def tokens_in(data):
    """Synthetic tokens in `data`, zip members unpacked."""
    found = {m.group(0).decode() for m in TOKEN.finditer(data)}
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for name in z.namelist():
                    found |= tokens_in(z.read(name))
        except (zipfile.BadZipFile, ValueError, EOFError):
            pass
    return found


# -- the bucket ---------------------------------------------------------------------


def make_bucket(rng, pools, out, nfiles, mib, nweights, downloads, weights):
    """Writes the bucket's files under out/bucket/; its config entry and its tokens."""
    root = os.path.join(out, "bucket")
    runs = [f"run {k:02d}" for k in range(20)] + ["run 07 (lr 3e-4)", "réunion 2026", "ünï-bench"]
    tasks = ["mmlu", "gsm8k", "résumé qa", "ünï-bench", "hellaswag"]
    paths = []
    for i in range(nfiles):
        g = i % 6
        if g == 0:
            paths.append((f"runs/{rng.choice(runs)}/train_{i:03d}.log", "log"))
        elif g == 1:
            paths.append((f"runs/{rng.choice(runs)}/metrics_{i:03d}.jsonl", "jsonl"))
        elif g == 2:
            paths.append((f"eval/{rng.choice(tasks)}/results_{i:03d}.csv", "csv"))
        elif g == 3:
            paths.append((f"logs/worker-{i % 7}/stdout {i:03d}.txt", "txt"))
        elif g == 4:
            paths.append((f"data/shards/part-{i:05d}.jsonl", "jsonl"))
        else:
            paths.append((f"configs/{textgen.ident(rng, (1, 2))}_{i:03d}.yaml", "yaml"))
    weights_w = [rng.lognormvariate(0, 1) for _ in paths]
    total = sum(weights_w)
    planted = {k: textgen.synthetic_token(rng) for k in rng.sample(range(nfiles), min(6, nfiles))}
    files, tokens = [], set()

    def put(path, data):
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
        files.append({"path": path, "file": os.path.abspath(full)})
        return hashlib.sha256(data).hexdigest()

    for k, (path, ext) in enumerate(paths):
        size = max(200, int(mib * MIB * weights_w[k] / total))
        data = text_file(rng, pools, ext, size, planted.get(k))
        tokens |= tokens_in(data)
        put(path, data)
        downloads.append({"path": f"/buckets/{BUCKET}/resolve/{quote(path)}", "bytes": len(data)})
    media = [("checkpoints/step_{k}/model.safetensors", 3), ("checkpoints/step_{k}/optimizer.bin", 2),
             ("samples/sample {k}.png", 1), ("videos/rollout_{k}.mp4", 4)]
    for k in range(nweights):
        name, size = media[k % len(media)]
        path = name.format(k=k * 1000)
        data = weight_file(rng, path.rsplit(".", 1)[1], size * MIB)
        weights["xet"][put(path, data)] = path
    return {"id": BUCKET, "files": files}, sorted(tokens)


# -- LFS contents in git repos ------------------------------------------------------


def pointer(data):
    return (f"version https://git-lfs.github.com/spec/v1\n"
            f"oid sha256:{hashlib.sha256(data).hexdigest()}\nsize {len(data)}\n").encode()


GITATTRIBUTES = b"".join(f"*.{e} filter=lfs diff=lfs merge=lfs -text\n".encode()
                         for e in ("jsonl", "csv", "zip", "png", "safetensors", "bin", "json"))


def add_lfs(bare, store, versions):
    """Commits on main: the first adds every path's first version (as an
    LFS pointer, contents to `store`) and .gitattributes, a second (if any
    path has one) the second versions. `versions`: {path: [bytes, ...]}.
    Returns the shas of the first commit and of the new HEAD."""
    ts = int(subprocess.run(["git", "-C", bare, "log", "-1", "--format=%ct", "refs/heads/main"],
                            check=True, capture_output=True, text=True).stdout) + 86400
    out = []

    def data(b):
        out.append(b"data %d\n" % len(b) + b + b"\n")

    commits = [("Upload dataset files\n", [(".gitattributes", GITATTRIBUTES)] +
                [(p, pointer(v[0])) for p, v in versions.items()])]
    if any(len(v) > 1 for v in versions.values()):
        commits.append(("Update train split\n", [(p, pointer(v[1])) for p, v in versions.items() if len(v) > 1]))
    for n, (msg, changes) in enumerate(commits):
        out.append(f"commit refs/heads/main\nmark :{n + 1}\n".encode())
        out.append(f"author Dev <dev@example.com> {ts + n * 3600} +0000\n".encode())
        out.append(f"committer Dev <dev@example.com> {ts + n * 3600} +0000\n".encode())
        data(msg.encode())
        out.append(b"from refs/heads/main^0\n" if n == 0 else b"from :1\n")
        for path, body in changes:
            out.append(f"M 100644 inline {path}\n".encode())
            data(body)
        out.append(b"\n")
    out.append(b"done\n")
    subprocess.run(["git", "-C", bare, "fast-import", "--quiet"], input=b"".join(out), check=True)
    for v in versions.values():
        for body in v:
            with open(os.path.join(store, hashlib.sha256(body).hexdigest()), "wb") as f:
                f.write(body)
    shas = subprocess.run(["git", "-C", bare, "rev-parse", "refs/heads/main~%d" % (len(commits) - 1),
                           "refs/heads/main"], check=True, capture_output=True, text=True).stdout.split()
    return shas[0], shas[1]


def lfs_versions(rng, pools, j, share):
    """The LFS files of the j-th LFS dataset: {path: [versions]}, and which
    of them are weights or media. Tokens: j=0 in train.jsonl's first version
    only, j=1 in test.csv, j=2 in a zip member, j=3 in train.jsonl at HEAD."""
    tok = textgen.synthetic_token(rng) if j < 4 else None
    v = {
        "data/train.jsonl": [text_file(rng, pools, "jsonl", int(share * 0.4), tok if j == 0 else None),
                             text_file(rng, pools, "jsonl", int(share * 0.4), tok if j == 3 else None)],
        "data/test.csv": [text_file(rng, pools, "csv", int(share * 0.15), tok if j == 1 else None)],
    }
    if j % 2 == 0:
        v["data/extra.zip"] = [zip_of([
            ("extra/notes.jsonl", text_file(rng, pools, "jsonl", int(share * 0.1), tok if j == 2 else None)),
            ("extra/run.log", text_file(rng, pools, "log", int(share * 0.05)))])]
    heavy = set()
    if j % 3 == 0:
        v["images/preview.png"] = [weight_file(rng, "png", MIB)]
        heavy.add("images/preview.png")
    return v, heavy


def weight_versions(rng, pools):
    v = {"model.safetensors": [weight_file(rng, "safetensors", 4 * MIB)],
         "pytorch_model.bin": [weight_file(rng, "bin", 3 * MIB)],
         "tokenizer.json": [text_file(rng, pools, "jsonl", 300 * 1024)]}
    return v, {"model.safetensors", "pytorch_model.bin"}


def lfs_tokens(bare, store):
    """Tokens in the contents of every LFS pointer reachable from a ref but
    refs/convert (zip members unpacked)."""
    objects = subprocess.run(
        ["git", "-C", bare, "rev-list", "--objects", "--branches", "--tags", "--glob=refs/pr/*"],
        check=True, capture_output=True).stdout.split(b"\n")
    ids = b"\n".join(line.split(b" ")[0] for line in objects if line) + b"\n"
    batch = subprocess.run(["git", "-C", bare, "cat-file", "--batch"], input=ids,
                           check=True, capture_output=True).stdout
    found, pos = set(), 0
    while pos < len(batch):
        nl = batch.index(b"\n", pos)
        header = batch[pos:nl].split()
        size = int(header[2])
        body = batch[nl + 1:nl + 1 + size]
        pos = nl + 1 + size + 1
        if header[1] == b"blob" and body.startswith(b"version https://git-lfs.github.com/spec/v1"):
            m = re.search(rb"oid sha256:([0-9a-f]{64})", body)
            path = os.path.join(store, m.group(1).decode()) if m else ""
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    found |= tokens_in(f.read())
    return sorted(found)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=20241201)
    ap.add_argument("--repos", type=int, default=200)
    ap.add_argument("--big", type=int, default=6)
    ap.add_argument("--big-commits", type=int, default=3000)
    ap.add_argument("--discussions", type=int, default=320,
                    help="discussions of the one busiest repo (the first small one)")
    ap.add_argument("--bucket-files", type=int, default=400, help="text files in the bucket")
    ap.add_argument("--bucket-mib", type=float, default=30, help="their size in all")
    ap.add_argument("--bucket-weights", type=int, default=20, help="weight and media files in the bucket")
    ap.add_argument("--lfs-repos", type=int, default=8, help="datasets with LFS text contents")
    ap.add_argument("--lfs-mib", type=float, default=40, help="their LFS text contents in all")
    ap.add_argument("--lfs-weight-repos", type=int, default=4, help="models with LFS weights")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    rng = random.Random(args.seed)
    # Bucket and LFS contents come from their own RNG, so the git repos do
    # not depend on their knobs.
    crng = random.Random(args.seed + 7919)
    pools = textgen.make_pools(rng, 400)
    lines = line_pools(crng)
    git_root = os.path.join(out, "git")
    store = os.path.join(out, "lfs")
    os.makedirs(store, exist_ok=True)
    kinds = (["model"] * 12 + ["dataset"] * 5 + ["space"] * 3)
    repos, truth = [], {}
    busy = set(rng.sample(range(args.repos), min(20, args.repos // 10)))
    talk_repo = args.big if args.big < args.repos else 0
    small = [i for i in range(args.big, args.repos) if i != talk_repo]
    lfs_data = sorted(crng.sample([i for i in small if kinds[i % len(kinds)] == "dataset"],
                                  min(args.lfs_repos, sum(1 for i in small if kinds[i % len(kinds)] == "dataset"))))
    lfs_models = sorted(crng.sample([i for i in small if kinds[i % len(kinds)] == "model"],
                                    min(args.lfs_weight_repos, sum(1 for i in small if kinds[i % len(kinds)] == "model"))))
    prefix = {"model": "", "dataset": "/datasets", "space": "/spaces"}
    downloads, weights = [], {"xet": {}, "lfs": {}}
    seen_oids = set()
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
        lfs = None
        if i in lfs_data:
            lfs = lfs_versions(crng, lines, lfs_data.index(i), args.lfs_mib * MIB / max(1, len(lfs_data)))
        elif i in lfs_models:
            lfs = weight_versions(crng, lines)
        if lfs:
            versions, heavy = lfs
            first, head = add_lfs(bare, store, versions)
            for path, vs in versions.items():
                for n, body in enumerate(vs):
                    oid = hashlib.sha256(body).hexdigest()
                    if path in heavy:
                        weights["lfs"][oid] = f"{kind}:{rid}:{path}"
                    elif oid not in seen_oids:
                        seen_oids.add(oid)
                        rev = first if n == 0 and len(vs) > 1 else head
                        downloads.append({"path": f"{prefix[kind]}/{rid}/resolve/{rev}/{quote(path)}",
                                          "bytes": len(body)})
        subprocess.run(["git", "-C", bare, "repack", "-a", "-d", "-q"], check=True)
        subprocess.run(["git", "-C", bare, "pack-refs", "--all"], check=True)
        disc_tokens = []
        count = rng.randint(100, 130) if i in busy else rng.randint(0, 4)
        talk = discussions(rng, args.discussions if i == talk_repo else count, disc_tokens)
        repos.append({"type": kind, "id": rid, "discussions": talk})
        truth[f"{kind}:{rid}"] = {"git": reachable_tokens(bare), "discussions": sorted(set(disc_tokens)),
                                  "lfs": lfs_tokens(bare, store) if lfs else []}
        if i % 20 == 0:
            print(f"  {i}/{args.repos} repos", file=sys.stderr)
    bucket, bucket_tokens = make_bucket(crng, lines, out, args.bucket_files, args.bucket_mib,
                                        args.bucket_weights, downloads, weights)
    truth[f"bucket:{BUCKET}"] = {"git": [], "discussions": [], "lfs": [], "bucket": bucket_tokens}
    with open(os.path.join(out, "hub.json"), "w") as f:
        json.dump({"git_root": git_root, "page_size": 100, "repos": repos, "buckets": [bucket],
                   "lfs_store": store}, f)
    with open(os.path.join(out, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1)
    weight_bytes = sum(os.path.getsize(os.path.join(store, oid)) for oid in weights["lfs"]) + sum(
        os.path.getsize(f["file"]) for f in bucket["files"]
        if hashlib.sha256(open(f["file"], "rb").read()).hexdigest() in weights["xet"])
    with open(os.path.join(out, "content.json"), "w") as f:
        json.dump({"downloads": downloads, "download_bytes": sum(d["bytes"] for d in downloads),
                   "weights": weights, "weight_bytes": weight_bytes}, f, indent=1)
    count = {k: sum(len(v.get(k, [])) for v in truth.values()) for k in ("git", "discussions", "lfs", "bucket")}
    print(json.dumps({"repos": args.repos, "git_tokens": count["git"], "discussion_tokens": count["discussions"],
                      "lfs_tokens": count["lfs"], "bucket_tokens": count["bucket"],
                      "discussions": sum(len(r["discussions"]) for r in repos),
                      "downloads": len(downloads),
                      "download_mib": round(sum(d["bytes"] for d in downloads) / MIB, 1),
                      "weight_files": len(weights["lfs"]) + len(weights["xet"]),
                      "weight_mib": round(weight_bytes / MIB, 1)}), file=sys.stderr)


if __name__ == "__main__":
    main()
