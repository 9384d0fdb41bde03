#!/usr/bin/env bash
# Sets up and runs every test project. The tests start what they need themselves (Azurite on free ports,
# SQLite files in temp folders); this script installs it. Ends with one line: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

if ! command -v npm >/dev/null; then
  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null || { echo "npm is required" >&2; exit 1; }
fi
if [ ! -x node_modules/.bin/azurite ]; then
  npm ci --no-audit --no-fund --loglevel=error || exit 1
fi

if ! dotnet build Serverless.sln -c Release -nologo -clp:ErrorsOnly; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

RESULTS="$PWD/TestResults"
rm -rf "$RESULTS"
LOG="$(mktemp)"
dotnet test Serverless.sln -c Release --no-build --results-directory "$RESULTS" --logger "trx" \
  --logger "console;verbosity=normal" 2>&1 | tee "$LOG"
STATUS=${PIPESTATUS[0]}

# Sum the per-project summaries ("Passed!  - Failed: 0, Passed: 12, Skipped: 0, Total: 12, ...").
read -r PASSED FAILED SKIPPED < <(grep -E '^(Passed|Failed)! +- ' "$LOG" | awk -F'[:,]' '
  { failed += $2; passed += $4; skipped += $6 } END { printf "%d %d %d\n", passed, failed, skipped }')
rm -f "$LOG"
if [ "$STATUS" -ne 0 ] && [ "$FAILED" -eq 0 ]; then
  # A test host that crashed prints no summary; count the run as failed rather than silently green.
  FAILED=1
fi
echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
exit "$STATUS"
