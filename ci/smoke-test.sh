#!/usr/bin/env bash
# Checks an installed hfleaks (from a wheel, a release asset): it says it is
# Cargo.toml's version, and `hfleaks scan fixtures/demo` exits 1 with the
# demo tree's 3 findings. Used by .ci/run and .github/workflows/release.yml.
#
# Usage: ci/smoke-test.sh HFLEAKS   (a path, or a name on PATH)
set -euo pipefail
bin=${1:?usage: ci/smoke-test.sh HFLEAKS}
cd "$(dirname "$0")/.."

fail() {
  printf 'smoke-test: error: %s\n' "$*" >&2
  exit 1
}

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
got=$("$bin" --version) || fail "$bin --version failed"
[ "$got" = "hfleaks $version" ] || fail "$bin --version says '$got', not 'hfleaks $version' (Cargo.toml)"

report=$(mktemp)
trap 'rm -f "$report"' EXIT
set +e
"$bin" scan fixtures/demo --no-progress --quiet --format jsonl -o "$report"
code=$?
set -e
[ "$code" = 1 ] || fail "hfleaks scan fixtures/demo exited $code, not 1"
findings=$(grep -c '"rule_id"' "$report" || true)
[ "$findings" = 3 ] || fail "hfleaks scan fixtures/demo reported $findings findings, not 3"
printf 'smoke-test: %s (%s): --version and the demo scan (exit 1, 3 findings) are right\n' "$got" "$bin"
