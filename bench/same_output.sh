#!/usr/bin/env bash
# Compare the output of two hfleaks builds, byte for byte, on the same work:
# the check a restructuring must pass ("output stays byte-identical").
#
#   bench/same_output.sh BEFORE_BINARY AFTER_BINARY
#
# It builds a small mock organization (bench/gen_hub.py: repos with long and
# short histories, LFS contents, a Storage Bucket, a repo with many
# discussions), serves it with tests/mockhub.py on 127.0.0.1, and runs each
# binary through `scan`, `history` (full, --range, --state twice), `hub`
# (every format, --no-discussions, a shard, --state twice) and `repos`.
# stdout, stderr, the exit code and every file written are compared after
# the run's own clock is taken out (`duration_ms`, "in 1.23 s"). Prints one
# line per case and exits 1 if any differs. Nothing reaches the internet.
#
# Environment: SAME_DIR=DIR keeps the work there (default: a temporary
# directory, deleted at the end); BENCH_SEED=N the generator's seed.
set -euo pipefail

before="${1:?usage: same_output.sh BEFORE AFTER}"
after="${2:?usage: same_output.sh BEFORE AFTER}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/.." && pwd)"
work="${SAME_DIR:-$(mktemp -d)}"
mkdir -p "$work"
cleanup() {
    [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null || true
    [ -z "${SAME_DIR:-}" ] && rm -rf "$work"
    return 0
}
trap cleanup EXIT

org="$work/org"
if [ ! -f "$org/hub.json" ]; then
    python3 "$here/gen_hub.py" --out "$org" --seed "${BENCH_SEED:-20241203}" --repos 24 --big 2 \
        --big-commits 800 --discussions 60 --bucket-files 40 --bucket-mib 2 --bucket-weights 4 \
        --lfs-repos 3 --lfs-mib 3 --lfs-weight-repos 2 >/dev/null
fi
python3 - "$org/hub.json" "$work/hub.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
json.dump(dict(c, api_latency_ms=0), open(sys.argv[2], "w"))
EOF
coproc MOCK { python3 "$repo_root/tests/mockhub.py" "$work/hub.json"; }
server_pid=$MOCK_PID
read -r _ port <&"${MOCK[0]}"
read -r _ _ <&"${MOCK[0]}"
endpoint="http://127.0.0.1:$port"

# A local repository with history: the first big repo of the org, cloned
# with a work tree so `history` sees a checkout.
big=""
for d in $(find "$org/git" -mindepth 3 -maxdepth 3 -type d -name '*.git' | sort); do
    n="$(git -C "$d" rev-list --count --all 2>/dev/null || echo 0)"
    if [ -z "$big" ] || [ "$n" -gt "$big_n" ]; then big="$d" big_n="$n"; fi
done
local_repo="$work/local"
[ -d "$local_repo" ] || git clone -q --no-local "$big" "$local_repo" 2>/dev/null
first="$(git -C "$local_repo" rev-list --max-parents=0 HEAD | head -1)"
printf '%s\n' "$local_repo" "$(find "$org/git" -mindepth 3 -maxdepth 3 -type d -name '*.git' | sort | sed -n 2,4p)" \
    >"$work/repos.txt"

# Removes the run's own clock from a file.
normalize() {
    sed -E -e 's/"duration_ms": ?[0-9]+/"duration_ms":0/g' \
        -e 's/ in [0-9]+(\.[0-9]+)? (s|ms|min)/ in T/g' \
        -e 's/[0-9]+(\.[0-9]+)? (s|ms) elapsed/T elapsed/g' \
        -e 's#(hfleaks-[a-z]+-)[A-Za-z0-9]+#\1X#g' "$1"
}

# compare NAME: the two builds' outputs of a case, side by side.
compare() {
    if diff -r "$work/out/$1/before" "$work/out/$1/after" >"$work/out/$1.diff"; then
        echo "same     $1"
    else
        echo "DIFFERS  $1 (see $work/out/$1.diff)"
        differ=1
    fi
}

# case NAME ARGS...: runs both binaries with ARGS (OUT in them stands for a
# file to write, compared too) and compares.
differ=0
case_() {
    local name="$1"
    shift
    local b
    for b in before after; do
        local bin="$before"
        [ "$b" = after ] && bin="$after"
        local d="$work/out/$name/$b"
        rm -rf "$d" && mkdir -p "$d"
        local args=()
        local a
        for a in "$@"; do args+=("${a//OUT/$d/out}"); done
        (cd "$work" && env -u HF_TOKEN -u HUGGING_FACE_HUB_TOKEN HF_ENDPOINT="$endpoint" \
            "$bin" "${args[@]}" >"$d/stdout" 2>"$d/stderr"; echo $? >"$d/rc") || true
        for f in "$d"/*; do normalize "$f" >"$f.n" && mv "$f.n" "$f"; done
    done
    compare "$name"
}

state_twice() {
    local name="$1"
    shift
    rm -f "$work/state-before.json" "$work/state-after.json"
    for b in before after; do
        local bin="$before"
        [ "$b" = after ] && bin="$after"
        (cd "$work" && env -u HF_TOKEN HF_ENDPOINT="$endpoint" "$bin" "$@" --state "$work/state-$b.json" \
            --format json -o /dev/null >/dev/null 2>&1) || true
    done
    # The second run reads each binary's own first record.
    for b in before after; do
        local bin="$before"
        [ "$b" = after ] && bin="$after"
        local d="$work/out/$name/$b"
        rm -rf "$d" && mkdir -p "$d"
        (cd "$work" && env -u HF_TOKEN HF_ENDPOINT="$endpoint" "$bin" "$@" --state "$work/state-$b.json" \
            --format json -o "$d/out" >"$d/stdout" 2>"$d/stderr"; echo $? >"$d/rc") || true
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.pop("created_at",None); d.pop("updated_at",None); print(json.dumps(d,sort_keys=True,indent=1))' \
            "$work/state-$b.json" >"$d/state" 2>/dev/null || cp "$work/state-$b.json" "$d/state"
        for f in "$d"/*; do normalize "$f" >"$f.n" && mv "$f.n" "$f"; done
    done
    compare "$name"
}

demo="$repo_root/fixtures/demo"
case_ scan-text scan "$demo" --no-progress --color never
case_ scan-json scan "$demo" --format json --no-progress
case_ history-json history "$local_repo" --format json --no-progress
case_ history-text history "$local_repo" --no-progress --color never
case_ history-sarif history "$local_repo" --format sarif -o OUT --no-progress
case_ history-range history "$local_repo" --range "$first..HEAD" --format json --no-progress
case_ history-messages history "$local_repo" --messages --format jsonl --no-progress
state_twice history-state history "$local_repo" --no-progress
case_ hub-json hub bench-org --format json --no-progress --hf-endpoint "$endpoint"
case_ hub-text hub bench-org --no-progress --color never --hf-endpoint "$endpoint"
case_ hub-sarif hub bench-org --format sarif -o OUT --no-progress --hf-endpoint "$endpoint"
case_ hub-html hub bench-org --format html -o OUT --no-progress --hf-endpoint "$endpoint"
case_ hub-git-only hub bench-org --no-discussions --no-lfs --include models,datasets --format json \
    --no-progress --hf-endpoint "$endpoint"
case_ hub-shard hub bench-org --shard 2/3 --format json --no-progress --hf-endpoint "$endpoint"
case_ hub-jobs1 hub bench-org --jobs 1 --format jsonl --no-progress --hf-endpoint "$endpoint"
state_twice hub-state hub bench-org --no-progress --hf-endpoint "$endpoint"
case_ repos-json repos "$work/repos.txt" --format json --no-progress
state_twice repos-state repos "$work/repos.txt" --no-progress
exit "$differ"
