#!/usr/bin/env bash
# Sets up and runs the service locally: Azurite for blob storage, SQLite for keys, the demo model.
#   ./run.sh                     serve on http://127.0.0.1:${PORT:-7071}
#   ./run.sh <command> [args]    run an admin CLI command with the same configuration (./run.sh --help lists them)
#                                (keys create --customer acme, keys list, models upload <dir> --id <id>, ...)
set -euo pipefail
cd "$(dirname "$0")"
ROOT="$PWD"
LOCAL="$ROOT/.local"
PORT="${PORT:-7071}"
AZURITE_PORT="${AZURITE_BLOB_PORT:-10000}"
mkdir -p "$LOCAL"

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }

# --- prerequisites -----------------------------------------------------------------------------
if ! command -v dotnet >/dev/null; then echo "dotnet (SDK 10) is required" >&2; exit 1; fi
if ! command -v npm >/dev/null; then
  say "installing Node.js and npm (apt)"
  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
fi
if [ ! -x node_modules/.bin/azurite ]; then
  say "installing Azurite from npm"
  npm ci --no-audit --no-fund --loglevel=error
fi

HOST_DLL="$ROOT/src/Serverless.Local/bin/Release/net10.0/Serverless.Local.dll"
say "building"
# Packages come from the committed lock files only (eng/restore.sh names any locked package no longer served).
bash eng/restore.sh src/Serverless.Local >&2
dotnet build src/Serverless.Local -c Release --no-restore -nologo -v quiet -clp:ErrorsOnly -p:RestoreLockedMode=true >&2

# --- local secrets (generated once, kept in .local/, never committed) --------------------------
secret() { # file
  if [ ! -s "$1" ]; then head -c 48 /dev/urandom | base64 | tr -d '/+=\n' | head -c 48 > "$1"; chmod 600 "$1"; fi
  cat "$1"
}
export Keys__HashSecret="${Keys__HashSecret:-$(secret "$LOCAL/hash-secret")}"
if [ ! -s "$LOCAL/admin-key" ]; then printf 'admin-%s' "$(secret "$LOCAL/.admin-random")" > "$LOCAL/admin-key"; chmod 600 "$LOCAL/admin-key"; fi
export Admin__Key="${Admin__Key:-$(cat "$LOCAL/admin-key")}"
export Database__ConnectionString="${Database__ConnectionString:-Data Source=$LOCAL/serverless.db}"
# With ModelStorage__BlobServiceUri set (Azure storage by identity, e.g. `models upload` after `az login`),
# the Azurite connection string must stay unset: the app accepts one or the other.
if [ -z "${ModelStorage__BlobServiceUri:-}" ]; then
  export ModelStorage__BlobConnectionString="${ModelStorage__BlobConnectionString:-DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$AZURITE_PORT/devstoreaccount1;}"
fi
export ModelStorage__CacheDirectory="${ModelStorage__CacheDirectory:-$LOCAL/model-cache}"
# Batches run on a Durable Task hub in the same Azurite (blobs, queues and tables), as Durable Functions would in Azure.
export AzureWebJobsStorage="${AzureWebJobsStorage:-DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$AZURITE_PORT/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$((AZURITE_PORT + 1))/devstoreaccount1;TableEndpoint=http://127.0.0.1:$((AZURITE_PORT + 2))/devstoreaccount1;}"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

# --- Azurite -----------------------------------------------------------------------------------
AZURITE_PID=""
SERVER_PID=""
cleanup() {
  for pid in $SERVER_PID $AZURITE_PID; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if (exec 3<>"/dev/tcp/127.0.0.1/$AZURITE_PORT") 2>/dev/null; then
  say "using the Azurite already listening on port $AZURITE_PORT"
else
  mkdir -p "$LOCAL/azurite"
  node_modules/.bin/azurite --silent --disableTelemetry --skipApiVersionCheck \
    --blobHost 127.0.0.1 --blobPort "$AZURITE_PORT" \
    --queueHost 127.0.0.1 --queuePort "$((AZURITE_PORT + 1))" \
    --tableHost 127.0.0.1 --tablePort "$((AZURITE_PORT + 2))" \
    --location "$LOCAL/azurite" >"$LOCAL/azurite.log" 2>&1 &
  AZURITE_PID=$!
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$AZURITE_PORT") 2>/dev/null; then break; fi
    sleep 0.1
  done
  say "Azurite on 127.0.0.1:$AZURITE_PORT (data in .local/azurite)"
fi

# --- an admin command, or the service ----------------------------------------------------------
if [ $# -gt 0 ]; then
  dotnet "$HOST_DLL" "$@"
  exit $?
fi

say "preparing: migrations, demo model in Azurite, dev API key"
dotnet "$HOST_DLL" setup --dev-key-file "$LOCAL/dev-api-key"
DEV_KEY="$(cat "$LOCAL/dev-api-key")"

cat >&2 <<MSG

Serving on http://127.0.0.1:$PORT  (Ctrl+C stops the service and Azurite)
  dev API key: .local/dev-api-key     admin key: .local/admin-key
  dashboard:   http://127.0.0.1:$PORT/dashboard  (sign in with the dev key, or: ./run.sh dashboard link --customer dev)

Try it:
  curl http://127.0.0.1:$PORT/v1/chat/completions \\
    -H "Authorization: Bearer $DEV_KEY" -H "Content-Type: application/json" \\
    -d '{"model":"demo","messages":[{"role":"user","content":"Tell me a story"}],"max_tokens":40}'

MSG
dotnet "$HOST_DLL" serve --urls "http://127.0.0.1:$PORT" &
SERVER_PID=$!
wait "$SERVER_PID"
