#!/usr/bin/env bash
# Build the image on a local base image, run it, and wait for its HEALTHCHECK (gRPC health).
#   ops/docker/check-image.sh BASE      e.g. a python:3.11-slim built or loaded locally
# The container listens on 0.0.0.0, so it runs with JIS_INSECURE=1 (a local check); its port
# is published on 127.0.0.1 only. Exit 0 when the container reports healthy.
set -euo pipefail
base=${1:?usage: $0 BASE_IMAGE (a local Python >= 3.11 base image)}
tag=jis:check
cd "$(dirname "$0")/../.."
docker build --build-arg BASE="$base" -t "$tag" .
cid=$(docker run -d -e JIS_INSECURE=1 -p 127.0.0.1::50051 "$tag")
trap 'docker rm -f "$cid" >/dev/null' EXIT
status=starting
for _ in $(seq 1 90); do
  status=$(docker inspect -f '{{.State.Health.Status}}' "$cid")
  [ "$status" = healthy ] && break
  [ "$(docker inspect -f '{{.State.Running}}' "$cid")" = true ] || break
  sleep 2
done
docker logs "$cid" 2>&1 | tail -n 5
echo "container health: $status (published on $(docker port "$cid" 50051))"
[ "$status" = healthy ]
