#!/usr/bin/env bash
# docker-compose.yml for real, as a user runs it: the image built from the Dockerfile, the scene brought up with
# docker-compose, and everything checked from the host with curl. nginx's traffic must arrive through the shipper
# with its labels, levels and own times; a shipper restart and a 20 s aggregator outage must lose and double no line
# (nginx's own files against what Daylog stored), nor may a new shipper container; the data must survive an
# aggregator restart and a new aggregator container; both Daylog containers must run as non-root; `down -v` must
# leave no container, network or volume.
#
#   bash test/compose/scene.sh
#
# Needs docker-compose 1.29 (or newer) and ports 8080 and 8081 free. Without a registry, the stand-ins tool
# (../shared/tools/docker-standins, or DOCKER_STANDINS) starts a private daemon and builds the public images from
# Debian; a daemon it starts here is stopped at the end (the images stay cached in its data directory). Whatever
# fails, the scene is taken down with its volumes. Each step prints its time.
set -euo pipefail
cd "$(dirname "$0")/../.."

standins=${DOCKER_STANDINS:-$PWD/../shared/tools/docker-standins}
project=daylogscene$$
compose=(docker-compose -p "$project" -f docker-compose.yml)
url=http://127.0.0.1:8080
work=$(mktemp -d)
started_at=$EPOCHREALTIME
step_at=$started_at
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
    "${compose[@]}" down -v --timeout 30 >/dev/null 2>&1 || say "could not take the scene down: docker-compose -p $project down -v"
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
# nginx's own files, as it wrote them, next to the checker's input.
nginx_files() {
  for source in access.log error.log; do "${compose[@]}" exec -T nginx cat "/var/log/app/$source" >"$work/$source"; done
}
same_lines() { nginx_files && node test/compose/scene-lines.mjs same "$url" "$work"; }

for port in 8080 8081; do
  if [ -n "$(ss -Hltn "sport = :$port")" ]; then fail "port $port is taken (ss -ltnp names the process); the scene publishes it"; fi
done

if [ -x "$standins" ]; then
  if [ -z "${DOCKER_HOST:-}" ] && ! DOCKER_HOST="unix://${DOCKER_STANDINS_ROOT:-/var/tmp/docker-standins}/docker.sock" docker version >/dev/null 2>&1; then
    daemon_started=yes
  fi
  eval "$("$standins" env)"
  "$standins" images node:20-bookworm-slim nginx:1.27-bookworm curlimages/curl:8.11.1
  step "daemon and stand-in images ready"
  "$standins" build -q -t daylog:latest . >/dev/null
else
  say "no $standins: the Docker daemon at hand is used and the public images are pulled"
  docker build -q -t daylog:latest . >/dev/null
fi
step "image daylog:latest built from the Dockerfile"

scene_up=yes
"${compose[@]}" up -d
step "docker-compose up -d"

until_holds "the aggregator healthy by its HEALTHCHECK within 60 s" 60 healthy aggregator
curl -fsS "$url/readyz" >/dev/null
step "aggregator healthy, answering on 8080"

until_holds "nginx's 200, 404, 502 and error.log lines stored within 60 s" 60 \
  node test/compose/scene-lines.mjs labelled "$url"
cat "$work/last"
step "nginx's lines stored with their labels, levels and times"

until_holds "the shipper healthy within 60 s" 60 healthy shipper
step "shipper healthy"

for service in aggregator shipper; do
  uid=$("${compose[@]}" exec -T "$service" sh -c 'id -u; awk "/^Uid:/ { print \$2 }" /proc/1/status' | sort -u)
  [ "$uid" != 0 ] && [ "$(wc -l <<<"$uid")" = 1 ] || fail "$service runs as uid $uid"
  say "$service runs as uid $uid"
done
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
until_holds "every line nginx wrote stored once within 60 s" 60 same_lines
cat "$work/last"
step "nothing lost or doubled"

"${compose[@]}" restart aggregator
until_holds "the aggregator healthy after its restart within 60 s" 60 healthy aggregator
until_holds "every line nginx wrote still stored after the restart" 30 same_lines
cat "$work/last"
step "data survived docker-compose restart aggregator"

"${compose[@]}" up -d --no-deps --force-recreate aggregator
until_holds "the recreated aggregator healthy within 60 s" 60 healthy aggregator
until_holds "every line nginx wrote still stored in the recreated aggregator" 30 same_lines
cat "$work/last"
step "data survived the aggregator's recreation (its volume)"

"${compose[@]}" down -v
scene_up=no
left=$(docker ps -aq --filter "label=com.docker.compose.project=$project"; docker network ls -q --filter "label=com.docker.compose.project=$project"; docker volume ls -q --filter "label=com.docker.compose.project=$project")
[ -z "$left" ] || fail "docker-compose down -v left $left"
step "docker-compose down -v left no container, network or volume"
