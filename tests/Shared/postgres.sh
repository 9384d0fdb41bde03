#!/usr/bin/env bash
# A private, throwaway PostgreSQL cluster for tests. Used by test.sh and by the PostgresServer test fixture,
# so both start it the same way.
#
#   postgres.sh start DIR [WATCH_PID]   initdb into DIR/data, start on a free 127.0.0.1 port, wait until ready,
#                                       print the Npgsql connection string (the only line on stdout).
#                                       With WATCH_PID, a watchdog stops the cluster once that process is gone,
#                                       so a killed test run does not leave a server behind.
#   postgres.sh stop DIR                stop the cluster and delete DIR (and its data).
#
# Postgres refuses to run as root; as root (CI) the server runs as the "postgres" OS user. PG_BIN overrides
# the folder of initdb/pg_ctl (default: the newest /usr/lib/postgresql/*/bin).
#
# fsync stays on, so commits take the same path as in production. The data itself goes to /dev/shm when
# that is a large tmpfs (DIR/data is then a link to it): each test creates and drops a database, and on a
# disk every CREATE/DROP DATABASE costs a forced checkpoint of ~0.5 s; in memory it is ~0.05 s. Killing the
# server loses nothing either way; only an OS crash would, and no test can simulate that.
# PG_TEST_DATA_ON_DISK=1 keeps the data in DIR.
set -euo pipefail

command="${1:-}"
dir="${2:-}"
if [ -z "$command" ] || [ -z "$dir" ]; then
  echo "usage: $0 start DIR [WATCH_PID] | stop DIR" >&2
  exit 2
fi

find_bin() {
  if [ -n "${PG_BIN:-}" ]; then
    printf '%s\n' "$PG_BIN"
    return
  fi
  local found
  found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$found" ] || [ ! -x "$found/initdb" ]; then
    echo "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); apt-get install -y postgresql, or set PG_BIN" >&2
    exit 1
  fi
  printf '%s\n' "$found"
}

# Runs a PostgreSQL program as the user that owns the cluster.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A folder for the cluster's data: on /dev/shm when it is a tmpfs with at least 2 GiB free, else DIR/data.
make_data_dir() {
  local free_kb memory
  if [ -z "${PG_TEST_DATA_ON_DISK:-}" ] && [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = "tmpfs" ]; then
    free_kb="$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')"
    if [ "${free_kb:-0}" -ge $((2 * 1024 * 1024)) ] && memory="$(mktemp -d /dev/shm/serverless-pg.XXXXXX)"; then
      ln -s "$memory" "$dir/data"
      printf '%s\n' "$memory"
      return
    fi
  fi
  mkdir "$dir/data"
  printf '%s\n' "$dir/data"
}

stop_cluster() {
  local bin memory
  bin="$(find_bin)"
  if [ -f "$dir/data/postmaster.pid" ]; then
    # immediate: the data is thrown away next, so there is nothing worth a shutdown checkpoint.
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ -L "$dir/data" ]; then
    memory="$(readlink "$dir/data")"
    rm -rf "$memory"
  fi
  rm -rf "$dir"
}

start_cluster() {
  local bin data password port attempt
  bin="$(find_bin)"
  mkdir -p "$dir"
  data="$(make_data_dir)"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir" "$data"
  fi

  password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  printf '%s\n' "$password" >"$dir/pwfile"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir/pwfile"
  fi
  # --no-sync only skips flushing initdb's own files; the running server keeps fsync on.
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  rm -f "$dir/pwfile"

  for attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    port_in_use "$port" && continue
    # No Unix socket: its default folder may not be writable, and TCP on loopback is what the tests use.
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 start -o \
      "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='' -c fsync=on \
       -c max_connections=200 -c shared_buffers=128MB" >/dev/null 2>&1; then
      if [ -n "${WATCH_PID:-}" ]; then
        start_watchdog
      fi
      printf 'Host=127.0.0.1;Port=%s;Username=postgres;Password=%s;Database=postgres\n' "$port" "$password"
      return
    fi
    # Most likely another process took the port between the check and the bind: try another one.
    if [ "$attempt" -eq 5 ]; then
      echo "PostgreSQL did not start; its log:" >&2
      cat "$dir/postgres.log" >&2 || true
      exit 1
    fi
  done
}

start_watchdog() {
  # Detached and with no stdout, so whoever reads this script's output to the end is not kept waiting.
  setsid nohup bash -c '
    tail --pid="$1" -f /dev/null
    bash "$2" stop "$3"
  ' watchdog "$WATCH_PID" "$(realpath "$0")" "$dir" </dev/null >/dev/null 2>&1 &
}

case "$command" in
  start)
    WATCH_PID="${3:-}"
    start_cluster
    ;;
  stop)
    stop_cluster
    ;;
  *)
    echo "unknown command '$command'; use start or stop" >&2
    exit 2
    ;;
esac
