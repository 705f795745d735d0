#!/usr/bin/env bash
# `make docker-check`: start a Docker engine with the setup script, then build, run and check
# the image (ops/docker/check-image.sh); stop the engine again if this started it.
#   ops/docker/docker-check.sh [--optional]
#     --optional    (CI) no Docker engine and none can be started: say so and exit 0
#   JIS_DOCKER_SETUP  the host's engine setup script, if any: `up` installs and starts
#                     dockerd and makes the base image, `down` stops it and undoes its host
#                     networking changes. Without it, an engine must already run.
#   JIS_DOCKER_BASE   the base image [default local/python:3.11-bookworm, what `up` makes]
#   JIS_DOCKER_KEEP=1 leave an engine this started running
# Exit: 0 checked (or skipped with --optional); 1 a check failed; 2 no engine (without --optional).
set -euo pipefail
cd "$(dirname "$0")/../.."
setup=${JIS_DOCKER_SETUP:-}
base=${JIS_DOCKER_BASE:-local/python:3.11-bookworm}
optional=0
[ "${1:-}" = --optional ] && optional=1

say() { printf '[docker-check] %s\n' "$*"; }
unavailable() {
  if [ "$optional" = 1 ]; then
    say "SKIPPED, the image is not checked: $*"
    exit 0
  fi
  say "$*" >&2
  exit 2
}
engine_up() { command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1; }

t0=$SECONDS
started=0
if [ -n "$setup" ] && [ -x "$setup" ]; then
  engine_up || started=1
  if [ "$started" = 1 ] && [ "${JIS_DOCKER_KEEP:-0}" != 1 ]; then
    trap 'say "stopping the engine this started"; "$setup" down || true' EXIT
  fi
  timeout 900 "$setup" up || unavailable "$setup up failed: no Docker engine could be started"
elif ! engine_up; then
  unavailable "no Docker engine runs and no setup script is given (JIS_DOCKER_SETUP)"
fi
docker image inspect "$base" >/dev/null 2>&1 \
  || unavailable "no base image $base (the setup script makes it; or set JIS_DOCKER_BASE)"
# Every wait in the check is bounded; this bounds a build stuck on the network too.
timeout 900 ops/docker/check-image.sh "$base"
say "done in $((SECONDS - t0))s (engine setup included)"
