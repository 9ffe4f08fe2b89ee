#!/bin/bash
# The official postgres image's entrypoint, in small, where the stand-in of ../shared/tools/docker-standins falls
# short of it in ways docker-compose.scale-out.yml depends on:
# - a command that is not postgres runs as given (the official image's `exec "$@"`): the one-shot
#   postgres-password service is `sh -euc …`;
# - POSTGRES_PASSWORD may come from POSTGRES_PASSWORD_FILE, and is needed only to initialise the data directory;
# - postgres becomes PID 1 (setpriv execs, as the official image's gosu does; runuser forks and keeps PID 1 without
#   passing signals on), so Docker's SIGINT is a fast shutdown rather than a SIGKILL after the grace period.
set -euo pipefail
BIN=/usr/lib/postgresql/15/bin

if [ "${1:0:1}" = - ]; then set -- postgres "$@"; fi
if [ "$1" != postgres ]; then exec "$@"; fi
shift

if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
  [ -z "${POSTGRES_PASSWORD:-}" ] || { echo "postgres: both POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are set" >&2; exit 1; }
  POSTGRES_PASSWORD=$(<"$POSTGRES_PASSWORD_FILE")
fi
: "${PGDATA:=/var/lib/postgresql/data}" "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"
as_postgres=(setpriv --reuid=postgres --regid=postgres --init-groups)

mkdir -p "$PGDATA" /var/run/postgresql && chown -R postgres:postgres "$PGDATA" /var/run/postgresql && chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != trust ]; then
    echo "postgres: set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE (or POSTGRES_HOST_AUTH_METHOD=trust)" >&2; exit 1
  fi
  password=$(mktemp); printf '%s' "${POSTGRES_PASSWORD:-}" >"$password"; chown postgres "$password"
  "${as_postgres[@]}" $BIN/initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$password" -A scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$password"
  echo "host all all all ${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >>"$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    "${as_postgres[@]}" $BIN/postgres --single -D "$PGDATA" postgres <<<"CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$POSTGRES_USER\";" >/dev/null
  fi
fi
exec "${as_postgres[@]}" $BIN/postgres -D "$PGDATA" -c listen_addresses='*' "$@"
