#!/usr/bin/env bash
# Sets up and runs every test project. The tests start most of what they need themselves (Azurite on free
# ports, SQLite files in temp folders); this script installs it, and starts one private PostgreSQL cluster
# for the whole run (tests/Shared/postgres.sh; the tests find it through SERVERLESS_TEST_POSTGRES and create
# a database each). Works as root (CI) and as a normal user. Ends with one line: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

if ! command -v npm >/dev/null; then
  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null || { echo "npm is required" >&2; exit 1; }
fi
if [ ! -x node_modules/.bin/azurite ]; then
  npm ci --no-audit --no-fund --loglevel=error || exit 1
fi

# PostgreSQL 15 comes with this machine kind (Debian); install it where it does not.
if [ -z "${PG_BIN:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } \
    || { echo "PostgreSQL is required (apt-get install -y postgresql)" >&2; exit 1; }
fi

# Debian's Chromium for the dashboard's browser tests (Playwright drives it; its own browser download does not work here).
if [ -z "${SERVERLESS_TEST_CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
    || { echo "Chromium is required (apt-get install -y chromium)" >&2; exit 1; }
fi

# Prometheus (Debian's package) for the test that scrapes the local host's /metrics and queries what it stored.
if [ -z "${SERVERLESS_TEST_PROMETHEUS:-}" ] && [ ! -x /usr/bin/prometheus ]; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null; } \
    || { echo "Prometheus is required (apt-get install -y prometheus)" >&2; exit 1; }
fi

# Packages come from the committed lock files only (eng/restore.sh); a locked package the registry no longer serves
# stops here with one line naming it and the command that updates the locks.
if ! bash eng/restore.sh; then
  echo "restore failed"
  echo "0 passed, 1 failed"
  exit 1
fi
BUILD_LOG="$(mktemp "${TMPDIR:-/tmp}/serverless-build.XXXXXX.log")"
# Locked mode also for the extension project the Functions SDK restores during the build.
if ! dotnet build Serverless.sln -c Release --no-restore -nologo -clp:ErrorsOnly -p:RestoreLockedMode=true 2>&1 | tee "$BUILD_LOG"; then
  bash eng/restore.sh --explain <"$BUILD_LOG"
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi
rm -f "$BUILD_LOG"

# The Functions app's deployment package, published exactly as infra/README.md deploys it (locked, ReadyToRun);
# FunctionsPackageTests read it from SERVERLESS_TEST_FUNCTIONS_PACKAGE.
rm -rf artifacts/functions
if ! dotnet publish src/Serverless.Functions -c Release -r linux-x64 --self-contained false -o artifacts/functions \
    -nologo -clp:ErrorsOnly -p:RestoreLockedMode=true; then
  echo "publish failed"
  echo "0 passed, 1 failed"
  exit 1
fi
export SERVERLESS_TEST_FUNCTIONS_PACKAGE="$PWD/artifacts/functions"

PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/serverless-pg.XXXXXX")"
stop_postgres() { bash tests/Shared/postgres.sh stop "$PG_DIR"; }
trap stop_postgres EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
pg_started=$(date +%s%N)
# $$: should this script be killed outright, the cluster stops itself once it is gone.
if ! SERVERLESS_TEST_POSTGRES="$(bash tests/Shared/postgres.sh start "$PG_DIR" $$)"; then
  echo "PostgreSQL did not start"
  echo "0 passed, 1 failed"
  exit 1
fi
export SERVERLESS_TEST_POSTGRES
echo "PostgreSQL test server on $(printf '%s' "$SERVERLESS_TEST_POSTGRES" | grep -o 'Port=[0-9]*'), ready in $((($(date +%s%N) - pg_started) / 1000000)) ms"

RESULTS="$PWD/TestResults"
rm -rf "$RESULTS"
STATUS=0
PASSED=0 FAILED=0 SKIPPED=0
for project in tests/*.Tests; do
  name="$(basename "$project")"
  dotnet test "$project" -c Release --no-build --results-directory "$RESULTS/$name" \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" || STATUS=1
  trx="$RESULTS/$name/$name.trx"
  if [ -f "$trx" ]; then
    counters="$(grep -o '<Counters [^>]*>' "$trx")"
    count() { printf '%s' "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
    PASSED=$((PASSED + $(count passed)))
    FAILED=$((FAILED + $(count failed) + $(count error) + $(count timeout) + $(count aborted)))
    SKIPPED=$((SKIPPED + $(count notExecuted)))
  else
    # A test host that crashed writes no results; count the project as failed rather than silently green.
    echo "no results for $name" >&2
    FAILED=$((FAILED + 1))
  fi
done

if [ "$STATUS" -ne 0 ] && [ "$FAILED" -eq 0 ]; then
  FAILED=1
fi
echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
exit "$STATUS"
