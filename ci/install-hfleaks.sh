#!/usr/bin/env bash
# Installs hfleaks for the GitHub Action (action.yml): the release binary of
# the action's own version, checked against the release's SHA256SUMS, or,
# when no release matches the action's ref (a branch, a commit, a tag not
# released yet), a build from source with cargo.
#
# Inputs (environment):
#   HFLEAKS_REF          the action's ref (github.action_ref), e.g. v0.1.0;
#                        empty for a local action (uses: ./): build from source
#   HFLEAKS_RELEASE_URL  where releases are downloaded from; the files are
#                        $HFLEAKS_RELEASE_URL/$HFLEAKS_REF/SHA256SUMS and
#                        $HFLEAKS_RELEASE_URL/$HFLEAKS_REF/hfleaks-TARGET.tar.gz
#                        (.zip on Windows), as .github/workflows/release.yml
#                        publishes them (default: this project's GitHub releases)
#   HFLEAKS_ROOT         install root: the binary goes to $HFLEAKS_ROOT/bin
#                        (default: $RUNNER_TEMP/hfleaks, else ./hfleaks-install)
#   HFLEAKS_SOURCE       source tree for the cargo fallback (default: the
#                        checkout holding this script)
#   HFLEAKS_TARGET       the target triple to download (default: from RUNNER_OS
#                        and RUNNER_ARCH, else uname)
# Outputs: "path" (the installed binary) and "source" ("release" or "cargo"),
# written to $GITHUB_OUTPUT when set and printed.
# Exit: 0 installed; 1 refused or failed (a checksum mismatch, a release
# binary that does not run, a build that failed), with a one-line error.
set -euo pipefail

ref=${HFLEAKS_REF:-}
base=${HFLEAKS_RELEASE_URL:-https://github.com/hfleaks/hfleaks/releases/download}
base=${base%/}
if [ -n "${HFLEAKS_ROOT:-}" ]; then
  root=$HFLEAKS_ROOT
elif [ -n "${RUNNER_TEMP:-}" ]; then
  root=$RUNNER_TEMP/hfleaks
else
  root=$PWD/hfleaks-install
fi
source_dir=${HFLEAKS_SOURCE:-$(cd "$(dirname "$0")/.." && pwd)}

log() { printf 'hfleaks-install: %s\n' "$*" >&2; }
# One line, as a GitHub error annotation on Actions; then exit 1.
die() {
  if [ "${GITHUB_ACTIONS:-}" = "true" ]; then
    printf '::error title=hfleaks install::%s\n' "$*" >&2
  else
    printf 'hfleaks-install: error: %s\n' "$*" >&2
  fi
  exit 1
}

out() {
  printf '%s=%s\n' "$1" "$2"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"; fi
}

# The Rust target triple of this runner, as release.yml names its assets;
# empty when the project publishes no binary for it.
runner_target() {
  local os=${RUNNER_OS:-} arch=${RUNNER_ARCH:-}
  if [ -z "$os" ]; then
    case "$(uname -s)" in
      Linux) os=Linux ;;
      Darwin) os=macOS ;;
      MINGW* | MSYS* | CYGWIN*) os=Windows ;;
    esac
  fi
  if [ -z "$arch" ]; then
    case "$(uname -m)" in
      x86_64 | amd64) arch=X64 ;;
      aarch64 | arm64) arch=ARM64 ;;
    esac
  fi
  local cpu
  case "$arch" in
    X64) cpu=x86_64 ;;
    ARM64) cpu=aarch64 ;;
    *) return 0 ;;
  esac
  case "$os" in
    Linux)
      # A musl system (Alpine, in a container job) gets the static musl build.
      if ls /lib/ld-musl-* >/dev/null 2>&1 || { ldd --version 2>&1 | grep -qi musl; }; then
        printf '%s-unknown-linux-musl' "$cpu"
      else
        printf '%s-unknown-linux-gnu' "$cpu"
      fi
      ;;
    macOS) printf '%s-apple-darwin' "$cpu" ;;
    Windows) [ "$cpu" = x86_64 ] && printf 'x86_64-pc-windows-msvc' ;;
  esac
  return 0
}

sha256() {
  if command -v sha256sum >/dev/null; then
    sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null; then
    shasum -a 256 "$1" | cut -d' ' -f1
  else
    openssl dgst -sha256 -r "$1" | cut -d' ' -f1
  fi
}

# Downloads $1 to $2; prints the HTTP status (000 when there was no answer).
fetch() {
  local code
  code=$(curl --silent --show-error --location --proto '=https,http' --proto-redir '=https' \
    --retry 3 --retry-delay 2 --connect-timeout 20 --max-time 600 \
    --output "$2" --write-out '%{http_code}' "$1" 2>"$2.err") || true
  if [ -s "$2.err" ]; then log "$(head -n1 "$2.err")"; fi
  printf '%s' "${code:-000}"
}

build_from_source() {
  log "$1: building hfleaks from source with cargo (slow; a released version of the action installs in seconds)"
  command -v cargo >/dev/null ||
    die "no release binary for ${ref:-this ref} and no cargo to build one: use a released version of the action (e.g. @v0.1.0) or install a Rust toolchain first"
  [ -f "$source_dir/Cargo.toml" ] || die "no hfleaks source tree at $source_dir to build from"
  cargo install --locked --path "$source_dir" --root "$root" --force ||
    die "cargo install of hfleaks from $source_dir failed (see above)"
  local bin="$root/bin/hfleaks$exe"
  [ -x "$bin" ] || die "cargo install did not produce $bin"
  local version
  version=$("$bin" --version) || die "the hfleaks built from source does not run: $bin"
  log "built $version from source"
  out path "$bin"
  out source cargo
  exit 0
}

target=${HFLEAKS_TARGET:-$(runner_target)}
exe=""
case "$target/${RUNNER_OS:-$(uname -s)}" in *windows*/* | */Windows | */MINGW* | */MSYS* | */CYGWIN*) exe=".exe" ;; esac

[ -n "$ref" ] || build_from_source "no action ref (a local action, uses: ./)"
case "$ref" in
  *[!A-Za-z0-9._/+-]* | */../* | ../* | */..) build_from_source "ref '$ref' cannot name a release" ;;
esac
[ -n "$target" ] || build_from_source "no release binary for ${RUNNER_OS:-$(uname -s)} ${RUNNER_ARCH:-$(uname -m)}"
case "$base" in
  https://*) ;;
  http://127.* | http://localhost[:/]* | http://localhost | http://\[::1\]*) ;;
  *) die "HFLEAKS_RELEASE_URL must be https:// (plain http only on loopback): $base" ;;
esac
command -v curl >/dev/null || build_from_source "curl is not installed"

case "$target" in
  *windows*) asset="hfleaks-$target.zip" ;;
  *) asset="hfleaks-$target.tar.gz" ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

status=$(fetch "$base/$ref/SHA256SUMS" "$tmp/SHA256SUMS")
case "$status" in
  200) ;;
  404) build_from_source "no release $ref (a branch, a commit, or a tag without a release)" ;;
  *) build_from_source "could not download $base/$ref/SHA256SUMS (HTTP $status)" ;;
esac

# sha256sum's format: "<64 hex>  <name>" (or " *<name>" in binary mode).
expected=$(awk -v f="$asset" '{ n = $2; sub(/^\*/, "", n) } n == f { print tolower($1); exit }' "$tmp/SHA256SUMS")
[ -n "$expected" ] || build_from_source "release $ref lists no $asset in SHA256SUMS"
[[ "$expected" =~ ^[0-9a-f]{64}$ ]] || die "release $ref: SHA256SUMS has a malformed checksum for $asset"

status=$(fetch "$base/$ref/$asset" "$tmp/$asset")
[ "$status" = 200 ] || build_from_source "could not download $base/$ref/$asset (HTTP $status)"

actual=$(sha256 "$tmp/$asset")
[ "$actual" = "$expected" ] ||
  die "checksum mismatch for $asset of release $ref (SHA256SUMS says $expected, the download is $actual): refusing to install it"

mkdir "$tmp/x"
case "$asset" in
  *.zip)
    if command -v unzip >/dev/null; then
      unzip -q "$tmp/$asset" -d "$tmp/x"
    elif command -v 7z >/dev/null; then
      7z x -y -o"$tmp/x" "$tmp/$asset" >/dev/null
    else
      "$(command -v python3 || command -v python)" -m zipfile -e "$tmp/$asset" "$tmp/x"
    fi
    ;;
  *) tar -xzf "$tmp/$asset" -C "$tmp/x" ;;
esac
[ -f "$tmp/x/hfleaks$exe" ] || die "release asset $asset holds no hfleaks$exe"
chmod +x "$tmp/x/hfleaks$exe"
version=$("$tmp/x/hfleaks$exe" --version 2>&1) ||
  die "the release binary $asset of $ref does not run here: $(printf '%s\n' "$version" | head -n 1)"
case "$ref" in
  v[0-9]*)
    [ "$version" = "hfleaks ${ref#v}" ] ||
      die "release $ref's $asset says '$version', not 'hfleaks ${ref#v}': refusing to install it"
    ;;
esac

mkdir -p "$root/bin"
mv -f "$tmp/x/hfleaks$exe" "$root/bin/hfleaks$exe"
log "installed $version from release $ref ($asset, sha256 $actual)"
out path "$root/bin/hfleaks$exe"
out source release
