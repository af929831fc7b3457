#!/usr/bin/env bash
# Runs hfleaks as a CI gate on GitHub Actions (action.yml) or GitLab CI
# (ci/gitlab-ci.yml): picks the commit range the pipeline event covers,
# scans it, writes SARIF and JSON reports, and exits like hfleaks does.
#
# Inputs (environment):
#   HFLEAKS               hfleaks binary (default: hfleaks on PATH)
#   HFLEAKS_REPO          repository to scan (default: .)
#   HFLEAKS_FULL_HISTORY  "true": scan the whole history whatever the event
#   HFLEAKS_VERIFY        "true": verify findings against the Hub (--verify)
#   HFLEAKS_FAIL_ON       any | valid | none (--fail-on; with --verify)
#   HFLEAKS_ARGS          extra arguments for hfleaks (word-split)
#   HFLEAKS_SARIF         SARIF report path (default: hfleaks.sarif)
#   HFLEAKS_JSON          JSON report path (default: hfleaks.json)
# GitHub: GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_SHA, GITHUB_OUTPUT.
# GitLab: GITLAB_CI, CI_MERGE_REQUEST_DIFF_BASE_SHA,
#         CI_COMMIT_BEFORE_SHA, CI_COMMIT_SHA.
# Outputs: "range" (empty for a full scan), "findings", "exit-code",
# "sarif", "json" (each empty when that report was not written), written
# to $GITHUB_OUTPUT when set and printed.
set -euo pipefail

hfleaks=${HFLEAKS:-hfleaks}
repo=${HFLEAKS_REPO:-.}
sarif=${HFLEAKS_SARIF:-hfleaks.sarif}
json=${HFLEAKS_JSON:-hfleaks.json}
zero=0000000000000000000000000000000000000000

log() { printf 'hfleaks-ci: %s\n' "$*" >&2; }

# The value of a dotted key in the GitHub event payload (needs python3,
# which every GitHub-hosted runner has).
event_field() {
  [ -n "${GITHUB_EVENT_PATH:-}" ] && [ -f "$GITHUB_EVENT_PATH" ] || return 0
  python3 - "$GITHUB_EVENT_PATH" "$1" <<'PY' 2>/dev/null || true
import json, sys
value = json.load(open(sys.argv[1]))
for key in sys.argv[2].split("."):
    value = value.get(key) if isinstance(value, dict) else None
print(value if isinstance(value, str) else "")
PY
}

has_commit() { [ -n "$1" ] && [ "$1" != "$zero" ] && git -C "$repo" cat-file -e "$1^{commit}" 2>/dev/null; }

base="" head=""
if [ "${HFLEAKS_FULL_HISTORY:-false}" = "true" ]; then
  log "full history requested"
elif [ -n "${GITHUB_EVENT_NAME:-}" ]; then
  case "$GITHUB_EVENT_NAME" in
    pull_request|pull_request_target)
      base=$(event_field pull_request.base.sha)
      head=$(event_field pull_request.head.sha)
      ;;
    push)
      base=$(event_field before)
      head=$(event_field after)
      ;;
  esac
  head=${head:-${GITHUB_SHA:-HEAD}}
elif [ "${GITLAB_CI:-}" = "true" ]; then
  if [ -n "${CI_MERGE_REQUEST_DIFF_BASE_SHA:-}" ]; then
    base=$CI_MERGE_REQUEST_DIFF_BASE_SHA
  else
    base=${CI_COMMIT_BEFORE_SHA:-}
  fi
  head=${CI_COMMIT_SHA:-HEAD}
fi

range=""
if [ -n "$base" ] && [ "$base" != "$zero" ]; then
  if has_commit "$base" && has_commit "$head"; then
    range="$base..$head"
  else
    log "commit $base or $head is not in the clone (fetch with full depth: actions/checkout fetch-depth: 0, GIT_DEPTH: 0); scanning the whole history instead"
  fi
elif [ -n "$head" ] && [ "${HFLEAKS_FULL_HISTORY:-false}" != "true" ]; then
  log "no base commit (first push of a branch, or an event without one): scanning the whole history"
fi

args=(history "$repo" --no-progress -o "$sarif" -o "$json")
[ -n "$range" ] && args+=(--range "$range")
[ "${HFLEAKS_VERIFY:-false}" = "true" ] && args+=(--verify)
[ -n "${HFLEAKS_FAIL_ON:-}" ] && args+=(--fail-on "$HFLEAKS_FAIL_ON")
# shellcheck disable=SC2206 # word splitting of user arguments is intended
[ -n "${HFLEAKS_ARGS:-}" ] && args+=($HFLEAKS_ARGS)

log "running: $hfleaks ${args[*]}"
set +e
"$hfleaks" "${args[@]}"
code=$?
set -e

findings=0
if [ -f "$json" ]; then
  findings=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$json" 2>/dev/null ||
    grep -c '"rule_id"' "$json" || true)
fi

out() {
  printf '%s=%s\n' "$1" "$2"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"; fi
}
out range "$range"
out findings "$findings"
out exit-code "$code"
out sarif "$([ -f "$sarif" ] && printf '%s' "$sarif")"
out json "$([ -f "$json" ] && printf '%s' "$json")"
exit "$code"
