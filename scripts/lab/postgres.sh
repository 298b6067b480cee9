#!/usr/bin/env bash
# A private PostgreSQL for tests and benches: its own data and socket directory under DIR, listening only on ADDRESS
# (run it with `ip netns exec NS` so that 127.0.0.1 is a lab namespace's own loopback), run as the postgres user from
# Debian's postgresql package. Never touches the system's cluster, never listens on a real interface.
#
#   postgres.sh start DIR [PORT] [ADDRESS]   initdb on first use, start, create role and database "provisioner"
#                                            (password "provisioner"); prints the connection string Provisioner takes
#   postgres.sh stop DIR                     fast shutdown (the data stays in DIR)
#
# PG_DURABLE=1 keeps fsync and synchronous commit on (benches that compare journals); by default they are off: the
# tests kill Provisioner nodes, never the database, so a commit the server has acknowledged is not lost either way.
set -euo pipefail

usage() { sed -n '2,12p' "$0" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1
dir=$(realpath -m "$2")
port=${3:-5432}
address=${4:-127.0.0.1}

bin=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/pg_ctl" ] || { echo "postgres.sh: PostgreSQL is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
as_postgres() { runuser -u postgres -- "$@"; }

case $cmd in
  start)
    mkdir -p "$dir"
    chown postgres: "$dir"
    chmod 700 "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_postgres "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    options="-c listen_addresses=$address -c port=$port -c unix_socket_directories=$dir -c max_connections=200"
    if [ "${PG_DURABLE:-0}" != 1 ]; then
      options="$options -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$options" start >/dev/null \
      || { tail -20 "$dir/server.log" >&2; exit 1; }
    psql() { as_postgres "$bin/psql" -h "$dir" -p "$port" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
    if [ "$(psql -c "SELECT 1 FROM pg_roles WHERE rolname = 'provisioner'")" != 1 ]; then
      psql -c "CREATE ROLE provisioner LOGIN PASSWORD 'provisioner'"
    fi
    if [ "$(psql -c "SELECT 1 FROM pg_database WHERE datname = 'provisioner'")" != 1 ]; then
      psql -c "CREATE DATABASE provisioner OWNER provisioner"
    fi
    echo "Host=$address;Port=$port;Database=provisioner;Username=provisioner;Password=provisioner"
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    fi
    ;;
  *) usage ;;
esac
