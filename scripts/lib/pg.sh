# Private PostgreSQL servers for the tests and run-local: find the binaries,
# initdb, start on a given port, create the analytics role and database,
# stop. Source it. The server refuses to run as root, so as root every
# server-side command runs as the postgres user (Debian's package makes it)
# and the directories it writes are given to that user.
# shellcheck shell=bash

# pg_bin_dir: prints the directory holding initdb, pg_ctl and postgres.
pg_bin_dir() {
  local d
  d="$(pg_config --bindir 2>/dev/null)"
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then
    echo "$d"
    return 0
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ]; then
      echo "$d"
      return 0
    fi
  done
  echo "pg: no PostgreSQL server binaries (initdb); install the postgresql package" >&2
  return 1
}

# pg_as_server COMMAND...: runs a server-side command as the postgres user
# when we are root, else as ourselves.
pg_as_server() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# pg_give DIR_OR_FILE...: makes paths the server's (as root only).
pg_give() {
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$@"; fi
}

# pg_local_init DATADIR: initdb with trust authentication for local
# connections and a superuser named postgres, unless DATADIR already holds a
# cluster. The parent directories must let the postgres user through.
pg_local_init() {
  local data="$1" bin
  bin="$(pg_bin_dir)" || return 1
  if [ -f "$data/PG_VERSION" ]; then return 0; fi
  mkdir -p "$data"
  chmod 700 "$data"
  pg_give "$data"
  if ! pg_as_server test -w "$data"; then
    echo "pg: the postgres user cannot write $data (a parent directory is closed to it?)" >&2
    return 1
  fi
  pg_as_server "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$data.initdb.log" 2>&1 ||
    { echo "pg: initdb failed; see $data.initdb.log" >&2; return 1; }
}

# pg_local_start DATADIR PORT SOCKDIR LOGFILE [SERVER OPTIONS...]: starts the
# server on 127.0.0.1:PORT with its unix socket in SOCKDIR and waits until
# it accepts connections. Returns 1 when it did not come up (port taken...).
pg_local_start() {
  local data="$1" port="$2" sock="$3" log="$4" bin
  shift 4
  bin="$(pg_bin_dir)" || return 1
  mkdir -p "$sock"
  touch "$log"
  pg_give "$sock" "$log"
  pg_as_server "$bin/pg_ctl" -D "$data" -l "$log" -w -t 30 \
    -o "-p $port -k $sock -c listen_addresses=127.0.0.1 $*" start >/dev/null 2>&1
}

# pg_local_stop DATADIR: stops the server of DATADIR if it runs (fast
# shutdown, then immediate if that hangs), resuming it first in case it was
# stopped with SIGSTOP.
pg_local_stop() {
  local data="$1" bin
  bin="$(pg_bin_dir)" || return 1
  [ -f "$data/postmaster.pid" ] || return 0
  # A test may have stopped it with SIGSTOP to stage a hung server.
  kill -CONT "$(pg_local_pid "$data")" 2>/dev/null
  pg_as_server "$bin/pg_ctl" -D "$data" -m fast -w -t 10 stop >/dev/null 2>&1 ||
    pg_as_server "$bin/pg_ctl" -D "$data" -m immediate -w -t 10 stop >/dev/null 2>&1
}

# pg_local_pid DATADIR: prints the postmaster's PID.
pg_local_pid() { head -1 "$1/postmaster.pid"; }

# pg_local_create_db PORT ROLE DB: creates the login role and a database it
# owns, unless they exist, and in it the extensions that are not trusted
# (creating them takes a superuser): hll, for the funnels' distinct
# visitors (Debian: postgresql-15-hll). The role is not a superuser:
# migrations must not need one.
pg_local_create_db() {
  local port="$1" role="$2" db="$3" psql=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres)
  if [ -z "$("${psql[@]}" -d postgres -Atc "SELECT 1 FROM pg_roles WHERE rolname = '$role'")" ]; then
    "${psql[@]}" -d postgres -c "CREATE ROLE \"$role\" LOGIN" || return 1
  fi
  if [ -z "$("${psql[@]}" -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
    "${psql[@]}" -d postgres -c "CREATE DATABASE \"$db\" OWNER \"$role\"" || return 1
  fi
  "${psql[@]}" -d "$db" -c "CREATE EXTENSION IF NOT EXISTS hll" ||
    { echo "pg: cannot create the extension hll in $db: install postgresql-15-hll" >&2; return 1; }
}

