#!/usr/bin/env bash
# Brings the compose cluster up for real on a machine without an image registry: starts its own
# dockerd, builds local stand-ins for the public base images and Strata's image, runs the
# testcontainers path of @strata/testing, `docker-compose up -d`, the smoke scenario through Nginx
# (then SIGKILLs one gateway replica under a stream of reads), and takes everything down again.
# Run as root; installs docker.io, docker-compose and mmdebstrap from the system packages when
# missing. See docs/deployment.md ("Compose without a registry").
#
#   bash docker/ci/compose-smoke.sh             # the whole run; cleans up on every exit path
#   bash docker/ci/compose-smoke.sh cleanup     # only the cleanup (after a run was killed hard)
#   STRATA_KEEP_UP=1 bash docker/ci/compose-smoke.sh   # leave the cluster running to poke at
#
# Variables: STRATA_DOCKER_DIR (this run's scratch: socket, pid, logs; default /tmp/strata-compose),
# STRATA_CI_CACHE_DIR (kept between runs: dockerd's data root with the stand-ins, Strata's build
# cache and the npm cache mount; default /var/cache/strata-ci; `none` for a cold run in scratch).
# A cached stand-in is rebuilt when the hash of its inputs (Dockerfile, entrypoint, Node version…)
# changes. Every step prints its duration; a summary closes the run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO_ROOT="$PWD"
WORK="${STRATA_DOCKER_DIR:-/tmp/strata-compose}"
CACHE_DIR="${STRATA_CI_CACHE_DIR:-/var/cache/strata-ci}"
# Debian's client: it speaks the daemon's API version and has BuildKit built in (a newer client
# elsewhere on PATH may need the buildx plugin, which no package here provides).
DOCKER_CLI="${STRATA_DOCKER_CLI:-/usr/bin/docker}"
export DOCKER_HOST="unix://$WORK/docker.sock" DOCKER_BUILDKIT=1
export COMPOSE_PROJECT_NAME=strata COMPOSE_FILE="$REPO_ROOT/compose.yaml"
export NODE_IMAGE=localhost/node:20-bookworm-slim POSTGRES_IMAGE=localhost/postgres:16-bookworm
export REDIS_IMAGE=localhost/redis:7-bookworm NGINX_IMAGE=localhost/nginx:1.27-bookworm
BASE_IMAGE=localhost/debian-base:bookworm
SUITE=bookworm
KEY_LABEL=org.strata.ci.key

log() { printf '[%s +%4ss] %s\n' "$(date -u +%H:%M:%S)" "$SECONDS" "$*"; }
die() {
  log "ERROR: $*" >&2
  exit 1
}
docker() { "$DOCKER_CLI" "$@"; }

# --- step timing ---------------------------------------------------------------------------------
# Wall time and CPU-seconds per step. CPU counts what ran in containers and image builds (cgroup v1
# `docker` tree) and in this script's children (jest, docker-compose, node…): unlike wall time on a
# shared machine, it is comparable between a loaded and an idle one. dockerd's own CPU is totalled
# at the end.
container_cpu_ns() { cat /sys/fs/cgroup/cpuacct/docker/cpuacct.usage 2>/dev/null || echo 0; }
children_cpu_ms() {
  # Not in a pipe: a subshell would report its own (empty) children.
  times >"$WORK/times" 2>/dev/null || {
    echo 0
    return
  }
  awk 'NR == 2 { gsub(/[ms]/, " "); printf "%d\n", ($1 * 60 + $2 + $3 * 60 + $4) * 1000 }' "$WORK/times"
}
cpu_now_ms() { echo $(($(container_cpu_ns) / 1000000 + $(children_cpu_ms))); }
STEPS=()
STEP_NAME=''
STEP_START=0
STEP_CPU=0
step() {
  step_end
  STEP_NAME="$1"
  STEP_START=$SECONDS
  STEP_CPU="$(cpu_now_ms)"
  log "== $STEP_NAME"
}
step_end() {
  if [[ -n "$STEP_NAME" ]]; then
    STEPS+=("$(printf '%-52s %5ss %6s CPU-s' "$STEP_NAME" $((SECONDS - STEP_START)) \
      $((($(cpu_now_ms) - STEP_CPU) / 1000)))")
    STEP_NAME=''
  fi
}
process_cpu_ticks() { # utime+stime of a live process (its children are counted elsewhere)
  awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
dockerd_cpu_ticks() { # dockerd and its containerd; build steps run under docker/buildkit
  local pid total child
  pid="$(cat "$WORK/docker.pid" 2>/dev/null)" || {
    echo 0
    return
  }
  total="$(process_cpu_ticks "$pid")"
  for child in $(pgrep -P "$pid" 2>/dev/null || true); do
    total=$((total + $(process_cpu_ticks "$child")))
  done
  echo "$total"
}
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"

summary() {
  step_end
  log "summary (load average at start $LOAD_START, now $(cut -d' ' -f1-3 /proc/loadavg)):"
  printf '    %s\n' "${STEPS[@]}"
  printf '    %-52s %5ss %6s CPU-s (+ dockerd/containerd %s CPU-s)\n' 'total' "$SECONDS" \
    $((($(cpu_now_ms) - ${CPU_START:-0}) / 1000)) $((${DOCKERD_TICKS:-0} / $(getconf CLK_TCK)))
}

# --- cleanup: every exit path; also callable alone -----------------------------------------------
# Stops what this run started, by the pids it recorded, and unmounts whatever a killed dockerd left
# under its directories, so nothing survives the run.
stop_dockerd() {
  local pid
  [[ -s "$WORK/docker.pid" ]] || return 0
  pid="$(cat "$WORK/docker.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "dockerd ($pid) ignored SIGTERM for 30 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  # A dockerd killed hard leaves its containerd shims (and their containers) behind.
  local shim
  for shim in $(pgrep -f "containerd-shim.*$WORK/exec" 2>/dev/null || true); do
    kill -KILL "$shim" 2>/dev/null || true
  done
  rm -f "$WORK/docker.pid"
}
unmount_leftovers() {
  local root mounts
  for root in "$WORK" "$(cat "$WORK/data-root" 2>/dev/null || true)"; do
    [[ -n "$root" ]] || continue
    # Deepest first; lazily, so a busy mount cannot stall the cleanup.
    mounts="$(awk -v root="$root/" 'index($2, root) == 1 { print $2 }' /proc/self/mounts | sort -r)"
    [[ -z "$mounts" ]] || xargs -r -n1 umount -l <<<"$mounts" 2>/dev/null || true
  done
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n "${STRATA_KEEP_UP:-}" && "$status" -eq 0 ]]; then
    summary
    log "left running: export DOCKER_HOST=$DOCKER_HOST; then docker-compose ps / logs / down -v; bash $0 cleanup"
    exit 0
  fi
  # The background stand-in builds, if still running (by pid).
  if [[ -n "${STAND_INS_PID:-}" ]] && kill -0 "$STAND_INS_PID" 2>/dev/null; then
    pkill -TERM -P "$STAND_INS_PID" 2>/dev/null || true
    kill -TERM "$STAND_INS_PID" 2>/dev/null || true
  fi
  if [[ -S "$WORK/docker.sock" ]] && docker info >/dev/null 2>&1; then
    log 'cleanup: docker-compose down -v'
    timeout 90 docker-compose down -v --remove-orphans --timeout 5 >"$WORK/compose-down.log" 2>&1 ||
      log "docker-compose down failed (see $WORK/compose-down.log); removing containers by force"
    # testcontainers' containers, anything left over.
    docker ps -aq | xargs -r "$DOCKER_CLI" rm -f -v >/dev/null 2>&1 || true
    docker volume prune -f >/dev/null 2>&1 || true
    # Keep the cache dir bounded: dangling images of earlier runs, build cache beyond 8 GB.
    docker image prune -f >/dev/null 2>&1 || true
    docker builder prune -f --keep-storage 8gb >/dev/null 2>&1 || true
  fi
  DOCKERD_TICKS="$(dockerd_cpu_ticks)"
  stop_dockerd
  unmount_leftovers
  if [[ "$(cat "$WORK/data-root" 2>/dev/null || true)" == "$WORK/data" ]]; then
    rm -rf --one-file-system "$WORK/data"
  fi
  rm -rf --one-file-system "$WORK/exec"
  if [[ "${1:-}" == only ]]; then
    log "cleanup of $WORK done"
    exit 0
  fi
  summary
  log "compose smoke: $([[ "$status" -eq 0 ]] && echo passed || echo "FAILED (exit $status)")"
  exit "$status"
}

if [[ "${1:-}" == cleanup ]]; then
  cleanup only
fi
[[ $# -eq 0 ]] || die "unknown argument: $1 (usage: $0 [cleanup])"
[[ "$(id -u)" -eq 0 ]] || die 'needs root (dockerd, mmdebstrap)'
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated (time limit?)"; exit 143' TERM

mkdir -p "$WORK"
CPU_START="$(cpu_now_ms)"
log "compose smoke in $REPO_ROOT (scratch $WORK, cache ${CACHE_DIR}, load average $LOAD_START)"

# --- system packages -------------------------------------------------------------------------------
step 'system packages'
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
if ((${#missing[@]})); then
  command -v apt-get >/dev/null || die "missing ${missing[*]} and apt-get is not available"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # .ci/run says so when it has just updated the package lists (for nginx).
  [[ -n "${STRATA_APT_UPDATED:-}" ]] || apt-get update -qq || die 'apt-get update failed'
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$WORK/apt.log" 2>&1 ||
    {
      tail -n 30 "$WORK/apt.log" >&2
      die "apt-get install ${missing[*]} failed"
    }
  # Where services may start on install, the package starts a system dockerd on docker0, the
  # bridge ours uses too: stop the one the install just started (as .ci/run does with nginx).
  if [[ " ${missing[*]} " == *' docker.io '* && -s /run/docker.pid ]]; then
    kill -TERM "$(cat /run/docker.pid)" 2>/dev/null || true
  fi
fi
[[ -x "$DOCKER_CLI" ]] || die "$DOCKER_CLI missing (Debian's docker.io provides it)"
log "$(dockerd --version), $(docker-compose version --short), mmdebstrap $(mmdebstrap --version | awk '{ print $2 }')"

# --- dockerd -------------------------------------------------------------------------------------
# The data root lives in the cache dir (kept between runs) unless another run holds it.
step 'start dockerd'
DATA_ROOT="$WORK/data"
if [[ "$CACHE_DIR" != none ]]; then
  mkdir -p "$CACHE_DIR"
  exec 9>"$CACHE_DIR/lock"
  if flock -n 9; then
    DATA_ROOT="$CACHE_DIR/docker"
  else
    log "$CACHE_DIR is in use by another run: building everything from scratch in $WORK"
  fi
fi
echo "$DATA_ROOT" >"$WORK/data-root"
[[ ! -S "$WORK/docker.sock" ]] || ! docker info >/dev/null 2>&1 || die "a dockerd already answers on $WORK/docker.sock (bash $0 cleanup)"
rm -f "$WORK/docker.sock" "$WORK/docker.pid"
# Own session: a time limit's SIGTERM to this script's process group must not stop dockerd
# before the cleanup has used it. No NAT: builds use --network host; containers reach each other
# on compose's network and the host through published 127.0.0.1 ports.
setsid dockerd --data-root "$DATA_ROOT" --exec-root "$WORK/exec" -H "$DOCKER_HOST" \
  --pidfile "$WORK/docker.pid" --iptables=false --ip-forward=false --ip-masq=false \
  >"$WORK/dockerd.log" 2>&1 </dev/null &
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && break
  sleep 0.5
done
docker info >/dev/null 2>&1 || {
  tail -n 20 "$WORK/dockerd.log" >&2
  die "dockerd did not start (see $WORK/dockerd.log)"
}
log "dockerd $(docker version -f '{{.Server.Version}}') on $DOCKER_HOST, data root $DATA_ROOT"
# A run killed hard may have left containers (restarted by their policy just now) and volumes.
docker-compose down -v --remove-orphans --timeout 1 >/dev/null 2>&1 || true
docker ps -aq | xargs -r "$DOCKER_CLI" rm -f -v >/dev/null 2>&1 || true

# --- local stand-ins for the public base images ------------------------------------------------------
key_of() { sha256sum | cut -c1-16; }
has_image() { # <image> <key>: present and built from the same inputs
  [[ "$(docker image inspect -f "{{ index .Config.Labels \"$KEY_LABEL\" }}" "$1" 2>/dev/null)" == "$2" ]]
}
build_quiet() { # <log> docker build args…: the log is printed only when the build fails
  local log_file="$1"
  shift
  docker build --progress plain --network host "$@" >"$log_file" 2>&1 || {
    tail -n 40 "$log_file" >&2
    return 1
  }
}

MIRROR="$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
[[ -n "$MIRROR" ]] || MIRROR="$(awk '/^deb / { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)"
[[ -n "$MIRROR" ]] || die 'no Debian mirror in the apt sources of this machine'

step 'base image (mmdebstrap minbase)'
# As Docker's official Debian images: dpkg without fsync (a build layer is thrown away on failure
# anyway), which makes every apt-get install in the stand-ins and in the build stage faster.
base_key="$(echo "mmdebstrap minbase $SUITE $MIRROR unsafe-io v1" | key_of)"
if has_image "$BASE_IMAGE" "$base_key"; then
  log "cached ($BASE_IMAGE)"
else
  log "mmdebstrap $SUITE from $MIRROR"
  mmdebstrap --variant=minbase --mode=root --format=tar --dpkgopt=force-unsafe-io \
    --customize-hook='echo force-unsafe-io >"$1/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"' \
    "$SUITE" - "$MIRROR" 2>"$WORK/mmdebstrap.log" |
    docker import --change "LABEL $KEY_LABEL=$base_key" - "$BASE_IMAGE" >/dev/null ||
    {
      tail -n 30 "$WORK/mmdebstrap.log" >&2
      die 'building the base image failed'
    }
fi
base_id="$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE")"

step 'node stand-in'
node_bin="$(command -v node)"
node_prefix="$(dirname "$(dirname "$node_bin")")"
npm_dir="$(npm root -g)/npm"
cafile="$(npm config get cafile 2>/dev/null | grep -v '^null$' || true)"
[[ -n "$cafile" && -f "$cafile" ]] || cafile=/etc/ssl/certs/ca-certificates.crt
node_key="$( (
  cat docker/ci/node.Dockerfile "$cafile"
  echo "$base_id $("$node_bin" --version) $(npm --version)"
) | key_of)"
if has_image "$NODE_IMAGE" "$node_key"; then
  log "cached ($NODE_IMAGE)"
else
  context="$WORK/node-context"
  rm -rf "$context" && mkdir -p "$context"
  cp "$node_bin" "$context/node"
  cp -r "$npm_dir" "$context/npm"
  cp -r "$node_prefix/include/node" "$context/include-node"
  cp "$cafile" "$context/ca-certificates.crt"
  build_quiet "$WORK/build-node.log" --label "$KEY_LABEL=$node_key" -t "$NODE_IMAGE" \
    -f docker/ci/node.Dockerfile "$context" || die 'building the node stand-in failed'
  rm -rf "$context"
fi

# The other stand-ins only install Debian packages (network and dpkg, little CPU): they build in
# the background while Strata's image (CPU) builds.
build_server_stand_ins() {
  local image variable key
  for image in postgres redis nginx; do
    variable="${image^^}_IMAGE"
    key="$( (
      cat "docker/ci/$image.Dockerfile" docker/ci/*-entrypoint.sh
      echo "$base_id"
    ) | key_of)"
    if has_image "${!variable}" "$key"; then
      echo "$image: cached"
      continue
    fi
    local started=$SECONDS
    build_quiet "$WORK/build-$image.log" --label "$KEY_LABEL=$key" -t "${!variable}" \
      -f "docker/ci/$image.Dockerfile" docker/ci || {
      echo "$image: FAILED"
      return 1
    }
    echo "$image: built in $((SECONDS - started))s"
  done
}
build_server_stand_ins >"$WORK/stand-ins.out" 2>&1 &
STAND_INS_PID=$!

# --- Strata's image ------------------------------------------------------------------------------
step 'seed the npm cache mount'
npm_cache="$(npm config get cache)"
if [[ -d "$npm_cache/_cacache" ]]; then
  # Keyed by the lockfile: the seed is copied again only when the dependencies changed.
  seed_key="$( (
    cat package-lock.json docker/ci/npm-cache-seed.Dockerfile
    echo "$base_id"
  ) | key_of)"
  if has_image localhost/strata-npm-seed "$seed_key"; then
    log 'cached'
  else
    build_quiet "$WORK/build-npm-seed.log" --label "$KEY_LABEL=$seed_key" -t localhost/strata-npm-seed \
      -f "$REPO_ROOT/docker/ci/npm-cache-seed.Dockerfile" "$npm_cache" || die 'seeding the npm cache failed'
    log "$(grep -oE '[0-9.]+[KMG]\s+/root/.npm' "$WORK/build-npm-seed.log" | tail -n 1 | awk '{ print $1 }') from $npm_cache"
  fi
else
  log "no npm cache at $npm_cache: npm ci in the image downloads everything"
fi

step 'build strata/app:dev'
build_quiet "$WORK/build-app.log" --build-arg "NODE_IMAGE=$NODE_IMAGE" --target runtime \
  -t strata/app:dev -f docker/Dockerfile . || die "building strata/app:dev failed (log: $WORK/build-app.log)"
# Per-step durations from BuildKit's log (the slow steps only).
awk '/^#[0-9]+ \[/ { sub(/^#/, ""); split($0, a, " "); name[a[1]] = substr($0, index($0, "[")) }
     /^#[0-9]+ DONE/ { id = substr($1, 2); t = $3 + 0; if (t >= 5) printf "    %6.1fs %s\n", t, substr(name[id], 1, 90) }
     /^#[0-9]+ CACHED/ { cached++ } END { if (cached) printf "    (%d steps cached)\n", cached }' "$WORK/build-app.log"

step 'wait for the postgres/redis/nginx stand-ins'
wait "$STAND_INS_PID" || {
  cat "$WORK/stand-ins.out" >&2
  die 'a stand-in failed to build'
}
sed 's/^/    /' "$WORK/stand-ins.out"

# --- testcontainers path of @strata/testing ------------------------------------------------------
# No server URLs: the kit's jest globalSetup must start PostgreSQL and Redis through testcontainers
# against this dockerd (the suites fail with TestServersUnavailableError otherwise).
step 'testcontainers: @strata/testing integration specs'
# dockerd keeps only its last 256 events (health checks fill that quickly): record them live.
docker events --filter type=container --filter event=start \
  --format '{{ .Actor.Attributes.image }}' >"$WORK/testcontainers-events" 2>&1 &
events_pid=$!
sleep 0.5
if ! env -u TEST_DATABASE_URL -u TEST_REDIS_URL \
  TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1 \
  TEST_POSTGRES_IMAGE="$POSTGRES_IMAGE" TEST_REDIS_IMAGE="$REDIS_IMAGE" \
  npx jest -c packages/testing/jest.config.js --ci \
  packages/testing/src/test-database.int-spec.ts packages/testing/src/test-redis.int-spec.ts 2>&1 |
  sed 's/^/    /'; then
  die 'the testcontainers run failed'
fi
# Proof that the containers came from this engine, not from URLs found elsewhere.
kill "$events_pid" 2>/dev/null || true
wait "$events_pid" 2>/dev/null || true
started_images="$(sort -u "$WORK/testcontainers-events" | tr '\n' ' ')"
for image in "$POSTGRES_IMAGE" "$REDIS_IMAGE"; do
  [[ " $started_images " == *" $image "* ]] || die "testcontainers did not start $image (started: ${started_images:-nothing})"
done
log "testcontainers started: $started_images"

# --- up ------------------------------------------------------------------------------------------
step 'docker-compose up, ready through Nginx'
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { # the preferred port, or any free one if something already listens there
  if port_free "$1"; then echo "$1"; else node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; fi
}
STRATA_PUBLIC_PORT="$(free_port "${STRATA_PUBLIC_PORT:-8080}")"
STRATA_MAIL_PORT="$(free_port "${STRATA_MAIL_PORT:-8025}")"
STRATA_DASHBOARD_PORT="$(free_port "${STRATA_DASHBOARD_PORT:-9400}")"
export STRATA_PUBLIC_PORT STRATA_MAIL_PORT STRATA_DASHBOARD_PORT
PUBLIC="http://127.0.0.1:$STRATA_PUBLIC_PORT"
show_state() {
  docker-compose ps >&2 || true
  local name
  for name in $(docker ps -a --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" \
    --format '{{.Names}} {{.Status}}' | awk '!/\(healthy\)|Exited \(0\)/ { print $1 }'); do
    echo "--- last log lines of $name" >&2
    docker logs --tail 15 "$name" 2>&1 | sed 's/^/    /' >&2
  done
}
# No timeout(1) of its own here: it would put docker-compose in another process group, out of
# reach of the SIGTERM a time limit sends to this script's group.
docker-compose up -d --no-build >"$WORK/compose-up.log" 2>&1 || {
  cat "$WORK/compose-up.log" >&2
  show_state
  die 'docker-compose up failed'
}
deadline=$((SECONDS + 180))
until curl -fsS "$PUBLIC/readyz" >/dev/null 2>&1; do
  ((SECONDS < deadline)) || {
    show_state
    die "not ready through Nginx ($PUBLIC/readyz) within 180 s"
  }
  sleep 1
done
log "ready: $PUBLIC (mail catcher http://127.0.0.1:$STRATA_MAIL_PORT)"

# --- smoke through Nginx, then one gateway replica killed under reads ------------------------------
step 'smoke scenario through Nginx'
gateway_a="$(docker-compose ps -q gateway-a)"
[[ -n "$gateway_a" ]] || die 'no gateway-a container'
node docker/ci/smoke.mjs "$PUBLIC" "http://127.0.0.1:$STRATA_MAIL_PORT" \
  "$DOCKER_CLI" kill -s KILL "$gateway_a" || {
  show_state
  die 'smoke scenario failed'
}
step_end
if [[ -n "${STRATA_KEEP_UP:-}" ]]; then exit 0; fi
step 'docker-compose down -v, stop dockerd'
