#!/usr/bin/env bash
# NuGet restore from the committed lock files (every project's packages.lock.json, and the Functions SDK's generated
# extension project's src/Serverless.Functions/packages.extensions.lock.json).
#
#   eng/restore.sh [project|solution]   restore in locked mode: exactly the locked versions, or fail (test.sh, run.sh, CI)
#   eng/restore.sh --update             re-resolve every graph and rewrite the lock files; run it after changing
#                                       Directory.Packages.props, or when a locked version is no longer served, then
#                                       commit the changed packages.lock.json files
#   <dotnet output> | eng/restore.sh --explain   print NuGet's errors about locked packages as one line each
#
# A locked restore that fails names the log file that keeps NuGet's whole output, then prints one line per cause,
# naming the package and the command that updates the locks.
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
UPDATE_HINT="update the locks with 'eng/restore.sh --update' and commit them (README, Development)"

# The version a lock file under the current folder records for a package id (case-insensitive), or "?".
locked_version() {
  local id="$1" file version
  while IFS= read -r file; do
    version="$(grep -i -A6 "^ *\"$id\": {" "$file" | grep -m1 -o '"resolved": "[^"]*"' | cut -d'"' -f4)"
    if [ -n "$version" ]; then printf '%s (%s)' "$version" "$file"; return; fi
  done < <(find "${LOCK_ROOT:-.}" \( -name packages.lock.json -o -name packages.extensions.lock.json \) -not -path '*/obj/*' -not -path '*/bin/*' -not -path './node_modules/*' 2>/dev/null)
  printf '?'
}

# Reads dotnet restore/build output; prints one clear line per locked-package problem. Exit 1 when it found one.
explain() {
  local found=1 line id detail
  declare -A seen=()
  while IFS= read -r line; do
    case "$line" in
      *"error NU1101:"* | *"error NU1102:"* | *"error NU1103:"*)
        id="$(printf '%s' "$line" | sed -E 's/.*Unable to find (a stable )?package ([^ .]+(\.[^ .]+)*)[ .].*/\2/')"
        [ -n "${seen[nf:$id]:-}" ] && continue
        seen[nf:$id]=1 found=0
        echo "restore failed: $id $(locked_version "$id") is locked but not served by the package source; $UPDATE_HINT" ;;
      *"error NU1004:"*)
        id="$(printf '%s' "$line" | sed -E 's/^ *([^ :]+\.csproj).*/\1/')"
        [ -n "${seen[lock:$id]:-}" ] && continue
        seen[lock:$id]=1 found=0
        detail="$(printf '%s' "$line" | sed -nE 's/.*error NU1004: (.+)\.The packages lock file is inconsistent.*/\1/p')"
        echo "restore failed: the lock file of $id no longer matches its package references${detail:+ ($detail)}; $UPDATE_HINT" ;;
      *"error SVL1001:"*)
        [ -n "${seen[ext]:-}" ] && continue
        seen[ext]=1 found=0
        echo "restore failed: ${line##*error SVL1001: }" ;;
    esac
  done
  return $found
}

if [ "${1:-}" = "--explain" ]; then
  explain
  exit $?
fi

if [ "${1:-}" = "--update" ]; then
  # Re-resolve the projects' graphs, then build the Functions app so the SDK regenerates and restores its extension
  # project; the build copies that project's new lock back (see Serverless.Functions.csproj).
  dotnet restore Serverless.sln --force-evaluate -p:RestoreLockedMode=false || exit 1
  dotnet build src/Serverless.Functions -c Release --no-restore -nologo -clp:ErrorsOnly \
    -p:RestoreLockedMode=false -p:RestoreForceEvaluate=true -p:RestorePackagesWithLockFile=true || exit 1
  git status --short -- '*packages.lock.json' '*packages.extensions.lock.json' 2>/dev/null
  echo "lock files updated: review and commit the changes above"
  exit 0
fi

target="${1:-Serverless.sln}"
if [ "$target" != "Serverless.sln" ]; then
  # Lock files are looked up beside the project restored (run.sh's src/Serverless.Local, a test's own project).
  if [ -d "$target" ]; then LOCK_ROOT="$target"; else LOCK_ROOT="$(dirname "$target")"; fi
fi
log="$(mktemp "${TMPDIR:-/tmp}/serverless-restore.XXXXXX.log")"
if dotnet restore "$target" --locked-mode >"$log" 2>&1; then
  warnings="$(grep -o 'warning NU[0-9]*' "$log" | sort | uniq -c | awk '{printf "%s%s x %s", sep, $1, $3; sep=", "}')"
  echo "restored from lock files${warnings:+ (expected warnings: $warnings; README, Development)}"
  rm -f "$log"
  exit 0
fi
echo "full restore output: $log"
if ! explain <"$log"; then
  # Not a locked-package problem (no network, a bad project file, ...): NuGet's own errors, once each.
  grep -E 'error [A-Z]+[0-9]+' "$log" | sed -E 's/ \[[^]]*\]$//' | sort -u
fi
exit 1
