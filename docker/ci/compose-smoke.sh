#!/usr/bin/env bash
# Brings the compose cluster up for real on a machine without a registry, runs a smoke scenario
# through Nginx, and takes everything down again. Needs root, Debian's docker.io and
# docker-compose, debootstrap; see docs/deployment.md ("Compose without a registry").
#
#   bash docker/ci/compose-smoke.sh            # everything, then down -v and stop dockerd
#   STRATA_KEEP_UP=1 bash docker/ci/compose-smoke.sh   # leave the cluster running to poke at
#
# Every step prints its duration. Nothing here is run by .ci/run (yet): it is the recipe for it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO_ROOT="$PWD"
WORK="${STRATA_DOCKER_DIR:-/tmp/strata-compose}"
export DOCKER_HOST="unix://$WORK/docker.sock"
export COMPOSE_PROJECT_NAME=strata
export NODE_IMAGE=localhost/node:20-bookworm-slim POSTGRES_IMAGE=localhost/postgres:16-bookworm
export REDIS_IMAGE=localhost/redis:7-bookworm NGINX_IMAGE=localhost/nginx:1.27-bookworm
PUBLIC="http://127.0.0.1:${STRATA_PUBLIC_PORT:-8080}"

log() { printf '[%s +%4ss] %s\n' "$(date -u +%H:%M:%S)" "$SECONDS" "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

STARTED_DOCKERD=''
cleanup() {
  if [[ -z "${STRATA_KEEP_UP:-}" ]]; then
    docker-compose -f compose.yaml down -v --remove-orphans >/dev/null 2>&1 || true
    if [[ -n "$STARTED_DOCKERD" ]]; then kill "$(cat "$WORK/docker.pid")" 2>/dev/null || true; fi
  fi
}
trap cleanup EXIT

# --- engine ------------------------------------------------------------------------------------
command -v dockerd >/dev/null || die 'dockerd missing: apt-get install -y docker.io'
command -v docker-compose >/dev/null || die 'docker-compose missing: apt-get install -y docker-compose'
mkdir -p "$WORK"
if ! docker info >/dev/null 2>&1; then
  log 'starting dockerd'
  dockerd --data-root "$WORK/data" --exec-root "$WORK/exec" -H "$DOCKER_HOST" --pidfile "$WORK/docker.pid" \
    --iptables=false --ip-forward=false --ip-masq=false >"$WORK/dockerd.log" 2>&1 &
  STARTED_DOCKERD=1
  for _ in $(seq 1 30); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || die "dockerd did not start (see $WORK/dockerd.log)"
fi
log 'dockerd ready'

# --- local stand-ins for the public base images ---------------------------------------------------
if ! docker image inspect localhost/debian-base:bookworm >/dev/null 2>&1; then
  MIRROR="$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
  [[ -n "$MIRROR" ]] || MIRROR="$(awk '/^deb / { print $2; exit }' /etc/apt/sources.list)"
  if [[ ! -x "$WORK/rootfs/bin/bash" ]]; then
    log "debootstrap bookworm from $MIRROR"
    debootstrap --variant=minbase bookworm "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log"
  fi
  tar -C "$WORK/rootfs" -c . | docker import - localhost/debian-base:bookworm >/dev/null
fi
if ! docker image inspect "$NODE_IMAGE" >/dev/null 2>&1; then
  log 'building the node stand-in'
  rm -rf "$WORK/node-context" && mkdir -p "$WORK/node-context"
  cp "$(command -v node)" "$WORK/node-context/node"
  cp -r "$(npm root -g)/npm" "$WORK/node-context/npm"
  node_headers="$(npm config get nodedir 2>/dev/null | grep -v '^null$' || dirname "$(dirname "$(command -v node)")")/include/node"
  cp -r "$node_headers" "$WORK/node-context/include-node"
  cp "$(npm config get cafile 2>/dev/null | grep -v '^null$' || echo /etc/ssl/certs/ca-certificates.crt)" "$WORK/node-context/ca-certificates.crt"
  docker build -q --network host -t "$NODE_IMAGE" -f docker/ci/node.Dockerfile "$WORK/node-context" >/dev/null
fi
for image in postgres redis nginx; do
  variable="${image^^}_IMAGE"
  if ! docker image inspect "${!variable}" >/dev/null 2>&1; then
    log "building the $image stand-in"
    docker build -q --network host -t "${!variable}" -f "docker/ci/$image.Dockerfile" docker/ci >/dev/null
  fi
done
log 'base images ready'

# --- Strata's images: built here with --network host (dockerd runs without NAT) --------------------
for target in runtime tools; do
  name="strata/app:dev"
  [[ "$target" == tools ]] && name="strata/tools:dev"
  log "building $name"
  docker build -q --network host --build-arg "NODE_IMAGE=$NODE_IMAGE" --target "$target" -t "$name" -f docker/Dockerfile . >/dev/null
done
log 'images built'

# --- up ------------------------------------------------------------------------------------------
docker-compose -f compose.yaml up -d --no-build >"$WORK/compose-up.log" 2>&1 || {
  cat "$WORK/compose-up.log" >&2
  docker-compose -f compose.yaml ps >&2
  die 'docker-compose up failed'
}
for _ in $(seq 1 120); do
  curl -fsS "$PUBLIC/readyz" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "$PUBLIC/readyz" >/dev/null || { docker-compose -f compose.yaml ps >&2; die 'not ready through Nginx'; }
log "up: $PUBLIC"

# --- smoke through Nginx ----------------------------------------------------------------------------
node "$REPO_ROOT/docker/ci/smoke.mjs" "$PUBLIC" "http://127.0.0.1:8025"
log 'smoke passed'
