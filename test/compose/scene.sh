#!/usr/bin/env bash
# The compose shapes the README names, for real, as a user runs them: the image built from the Dockerfile, each scene
# brought up with docker-compose, and everything checked from the host with curl.
#
#   bash test/compose/scene.sh              both, one after the other
#   bash test/compose/scene.sh single-box   docker-compose.yml
#   bash test/compose/scene.sh scale-out    docker-compose.scale-out.yml
#
# single-box: nginx's traffic must arrive through the shipper with its labels, levels and own times; a shipper restart
# and a 20 s aggregator outage must lose and double no line (nginx's own files against what Daylog stored), nor may a
# new shipper container; the data must survive an aggregator restart and a new aggregator container; both Daylog
# containers must run as non-root.
# scale-out: the same lines through the load balancer; one replica stopped for 20 s, then the other killed, while
# nginx's traffic goes on, lose and double no line; each replica, asked directly, serves every line.
# Both: `down -v` must leave no container, network or volume.
#
# Needs docker-compose 1.29 (or newer) and ports 8080 and 8081 free. Without a registry, the stand-ins tool
# (../shared/tools/docker-standins, or DOCKER_STANDINS) starts a private daemon and builds the public images from
# Debian; a daemon it starts here is stopped at the end (the images stay cached in its data directory). Its postgres
# stand-in is given the official image's entrypoint contract first (test/compose/postgres-standin says where it falls
# short). Whatever fails, the scene is taken down with its volumes. Each step prints its time.
set -euo pipefail
cd "$(dirname "$0")/../.."

case ${1:-both} in
  both) shapes=(single-box scale-out) ;;
  single-box | scale-out) shapes=("$1") ;;
  *) echo "usage: bash test/compose/scene.sh [single-box | scale-out]" >&2; exit 2 ;;
esac

standins=${DOCKER_STANDINS:-$PWD/../shared/tools/docker-standins}
url=http://127.0.0.1:8080
work=$(mktemp -d)
started_at=$EPOCHREALTIME
step_at=$started_at
compose=()
scene_up=no
daemon_started=no

say() { printf 'scene: %s\n' "$*"; }
fail() { say "FAILED: $*"; exit 1; }
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
step() { say "$1 ($(elapsed "$step_at") s; $(elapsed "$started_at") s in all)"; step_at=$EPOCHREALTIME; }

cleanup() {
  local status=$?
  if [ "$scene_up" = yes ]; then
    if [ "$status" -ne 0 ]; then "${compose[@]}" ps || true; "${compose[@]}" logs --no-color --tail=30 || true; fi
    "${compose[@]}" down -v --timeout 30 >/dev/null 2>&1 || say "could not take the scene down: ${compose[*]} down -v"
  fi
  rm -rf "$work"
  if [ "$daemon_started" = yes ]; then "$standins" stop; fi
  if [ "$status" -eq 0 ]; then say "passed in $(elapsed "$started_at") s"; else say "failed after $(elapsed "$started_at") s"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# until_holds DESCRIPTION SECONDS COMMAND...: runs COMMAND every half second until it exits 0; exit 2 means "not yet",
# anything else fails at once. Its last output is printed when it does not hold in time.
until_holds() {
  local what=$1 deadline=$((SECONDS + $2)) status
  shift 2
  while :; do
    status=0
    "$@" >"$work/last" 2>&1 || status=$?
    [ "$status" -eq 0 ] && return 0
    if [ "$status" -ne 2 ] || [ "$SECONDS" -ge "$deadline" ]; then cat "$work/last"; fail "$what"; fi
    sleep 0.5
  done
}

container() { "${compose[@]}" ps -q "$1"; }
# Healthy by the container's own healthcheck (the image's HEALTHCHECK, or the compose file's).
healthy() {
  local health
  health=$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$(container "$1")")
  echo "$1: $health"
  case $health in healthy) return 0 ;; starting | unhealthy) return 2 ;; *) return 1 ;; esac
}
# A service's own address on the scene's network: a replica asked directly, not through the load balancer.
address_of() { docker inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$(container "$1")"; }
# accepting SERVICE...: each replica has stored lines since it (re)started, its counter starting at 0: the load
# balancer sends to it.
accepting() {
  local service count
  for service in "$@"; do
    count=$(curl -fsS "http://$(address_of "$service"):8080/metrics" | awk '/^daylog_lines_accepted_total/ { sum += $2 } END { printf "%d", sum }')
    echo "$service: $count lines accepted since it started"
    [ "$count" -gt 0 ] || return 2
  done
}
non_root() {
  local service uid
  for service in "$@"; do
    uid=$("${compose[@]}" exec -T "$service" sh -c 'id -u; awk "/^Uid:/ { print \$2 }" /proc/1/status' | sort -u)
    [ "$uid" != 0 ] && [ "$(wc -l <<<"$uid")" = 1 ] || fail "$service runs as uid $uid"
    say "$service runs as uid $uid"
  done
}
# nginx's own files, as it wrote them, next to the checker's input.
nginx_files() {
  for source in access.log error.log; do "${compose[@]}" exec -T nginx cat "/var/log/app/$source" >"$work/$source"; done
}
# same_lines [URL]: every line nginx wrote, stored once, as the Daylog at URL (the published port) serves them.
same_lines() { nginx_files && node test/compose/scene-lines.mjs same "${1:-$url}" "$work"; }
every_line_stored() { # DESCRIPTION [URL]
  until_holds "every line nginx wrote stored once $1" 60 same_lines "${2:-$url}"
  cat "$work/last"
}

up() { # FILE: the scene of FILE up, in a project of its own
  compose=(docker-compose -p "daylogscene$$" -f "$1")
  scene_up=yes
  "${compose[@]}" up -d
  step "$1: docker-compose up -d"
}

down() {
  local project=daylogscene$$ left
  "${compose[@]}" down -v
  scene_up=no
  left=$(docker ps -aq --filter "label=com.docker.compose.project=$project"; docker network ls -q --filter "label=com.docker.compose.project=$project"; docker volume ls -q --filter "label=com.docker.compose.project=$project")
  [ -z "$left" ] || fail "docker-compose down -v left $left"
  step "docker-compose down -v left no container, network or volume"
}

single_box() {
  up docker-compose.yml

  until_holds "the aggregator healthy by its HEALTHCHECK within 60 s" 60 healthy aggregator
  curl -fsS "$url/readyz" >/dev/null
  step "aggregator healthy, answering on 8080"

  until_holds "nginx's 200, 404, 502 and error.log lines stored within 60 s" 60 \
    node test/compose/scene-lines.mjs labelled "$url"
  cat "$work/last"
  step "nginx's lines stored with their labels, levels and times"

  until_holds "the shipper healthy within 60 s" 60 healthy shipper
  step "shipper healthy"

  non_root aggregator shipper
  step "non-root checked"

  "${compose[@]}" restart shipper
  until_holds "the shipper healthy again within 60 s" 60 healthy shipper
  step "docker-compose restart shipper"

  # A new container, as `up -d` makes after a new image: only the state volume carries the checkpoints over.
  "${compose[@]}" up -d --no-deps --force-recreate shipper
  until_holds "the recreated shipper healthy within 60 s" 60 healthy shipper
  step "shipper recreated"

  "${compose[@]}" stop aggregator
  # The outage is the point: 20 s of nginx traffic that must wait for the aggregator in the shipper.
  sleep 20
  "${compose[@]}" start aggregator
  until_holds "the aggregator healthy again within 60 s" 60 healthy aggregator
  until_holds "the shipper healthy again within 60 s" 60 healthy shipper
  step "aggregator stopped for 20 s and started"

  "${compose[@]}" stop traffic
  every_line_stored "within 60 s"
  step "nothing lost or doubled"

  "${compose[@]}" restart aggregator
  until_holds "the aggregator healthy after its restart within 60 s" 60 healthy aggregator
  every_line_stored "after the aggregator's restart"
  step "data survived docker-compose restart aggregator"

  "${compose[@]}" up -d --no-deps --force-recreate aggregator
  until_holds "the recreated aggregator healthy within 60 s" 60 healthy aggregator
  every_line_stored "in the recreated aggregator"
  step "data survived the aggregator's recreation (its volume)"

  down
}

scale_out() {
  up docker-compose.scale-out.yml

  until_holds "postgres healthy within 60 s" 60 healthy postgres
  until_holds "aggregator-1 healthy within 60 s" 60 healthy aggregator-1
  until_holds "aggregator-2 healthy within 60 s" 60 healthy aggregator-2
  curl -fsS "$url/readyz" >/dev/null
  step "database and both replicas healthy, the load balancer answering on 8080"

  until_holds "nginx's 200, 404, 502 and error.log lines stored within 60 s" 60 \
    node test/compose/scene-lines.mjs labelled "$url"
  cat "$work/last"
  until_holds "the shipper healthy within 60 s" 60 healthy shipper
  step "nginx's lines stored through the load balancer with their labels, levels and times; shipper healthy"

  non_root aggregator-1 aggregator-2 shipper
  step "non-root checked"

  # The outage is the point: 20 s of nginx traffic the load balancer must pass to the other replica.
  "${compose[@]}" stop aggregator-1
  sleep 20
  "${compose[@]}" start aggregator-1
  until_holds "aggregator-1 healthy again within 60 s" 60 healthy aggregator-1
  step "aggregator-1 stopped for 20 s and started"

  # No shutdown this time: whatever it was answering is cut off, and must be sent again to the other.
  "${compose[@]}" kill aggregator-2
  sleep 5
  "${compose[@]}" start aggregator-2
  until_holds "aggregator-2 healthy again within 60 s" 60 healthy aggregator-2
  until_holds "the shipper healthy within 60 s" 60 healthy shipper
  step "aggregator-2 killed and started"

  until_holds "the load balancer passing batches to both restarted replicas within 60 s" 60 accepting aggregator-1 aggregator-2
  cat "$work/last"
  step "the load balancer sends to both replicas again"

  "${compose[@]}" stop traffic
  every_line_stored "through the load balancer within 60 s"
  local replica
  for replica in aggregator-1 aggregator-2; do every_line_stored "on $replica" "http://$(address_of "$replica"):8080"; done
  step "nothing lost or doubled; each replica serves every line"

  down
}

for port in 8080 8081; do
  if [ -n "$(ss -Hltn "sport = :$port")" ]; then fail "port $port is taken (ss -ltnp names the process); the scenes publish it"; fi
done

if [ -x "$standins" ]; then
  if [ -z "${DOCKER_HOST:-}" ] && ! DOCKER_HOST="unix://${DOCKER_STANDINS_ROOT:-/var/tmp/docker-standins}/docker.sock" docker version >/dev/null 2>&1; then
    daemon_started=yes
  fi
  eval "$("$standins" env)"
  "$standins" images node:20-bookworm-slim nginx:1.27-bookworm curlimages/curl:8.11.1 postgres:15-bookworm
  if [ -z "$(docker image inspect --format '{{index .Config.Labels "org.daylog.test.postgres-entrypoint"}}' postgres:15-bookworm)" ]; then
    "$standins" build -q -t postgres:15-bookworm test/compose/postgres-standin >/dev/null
  fi
  step "daemon and stand-in images ready"
  "$standins" build -q -t daylog:latest . >/dev/null
else
  say "no $standins: the Docker daemon at hand is used and the public images are pulled"
  docker build -q -t daylog:latest . >/dev/null
fi
step "image daylog:latest built from the Dockerfile"

for shape in "${shapes[@]}"; do
  case $shape in single-box) single_box ;; scale-out) scale_out ;; esac
done
