#!/usr/bin/env bash
# Build the image on a local base image, run it and check it from the host, through its
# published port (not only its own HEALTHCHECK status):
#   ops/docker/check-image.sh [BASE]      BASE default: local/python:3.11-bookworm, the base
#                                         that the engine setup script (JIS_DOCKER_SETUP) makes
# Checks, in order; any failure stops the script with exit 1 and says which:
#   the build (time, size), what the image holds (no compilers, pip or test and lint tools; a
#   warm numba cache; a non-root user), then with TLS and credentials on a named volume:
#   gRPC health SERVING from the host on the published port (time from `docker run`), the
#   container's own HEALTHCHECK healthy over TLS, no kernel compiled at start, a broadcast
#   published and read back through the published port, a graceful stop, a new container on
#   the same volume that reads it back, and its process uid not root; then the same start
#   with mutual TLS, and in plaintext (JIS_INSECURE=1).
# The host side uses PYTHON (default .venv/bin/python: grpcio and the jis package, `make`
# installs them) with ops/docker/probe.py, and openssl for a throwaway CA. The legacy builder
# is used (DOCKER_BUILDKIT=0): BuildKit may be absent, and needs no registry here either way.
# JIS_CHECK_NO_CACHE=1 builds without the layer cache (a build time as on a fresh machine).
set -euo pipefail
export LC_ALL=C   # a "." in $EPOCHREALTIME
base=${1:-local/python:3.11-bookworm}
tag=${JIS_CHECK_TAG:-jis:check}
cd "$(dirname "$0")/../.."
py=${PYTHON:-.venv/bin/python}
export DOCKER_BUILDKIT=0

t_start=$EPOCHREALTIME
say() { printf '[check-image +%5.1fs] %s\n' "$(elapsed "$t_start")" "$*"; }
pass() { say "PASS $*"; }
fail() { say "FAIL $*" >&2; exit 1; }
elapsed() {   # seconds since an $EPOCHREALTIME stamp, e.g. 1.53
  local us=$((${EPOCHREALTIME/./} - ${1/./}))
  printf '%d.%06d' $((us / 1000000)) $((us % 1000000))
}

"$py" -c 'import grpc, grpc_health, jis.v1' 2>/dev/null \
  || fail "$py cannot import grpc and jis (run make, or set PYTHON)"
command -v openssl >/dev/null || fail "openssl is needed for the throwaway CA"
docker image inspect "$base" >/dev/null 2>&1 || fail "no base image $base (the engine setup script, JIS_DOCKER_SETUP, makes it)"

work=$(mktemp -d)
volume=jis-check-$$
containers=()
cleanup() {
  local c
  for c in "${containers[@]}"; do docker rm -f -v "$c" >/dev/null 2>&1 || true; done
  docker volume rm "$volume" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# --- build ---------------------------------------------------------------------------------
say "building $tag on $base (log: build.log below on failure)"
t0=$EPOCHREALTIME
no_cache=(); [ "${JIS_CHECK_NO_CACHE:-0}" = 1 ] && no_cache=(--no-cache)
if ! docker build "${no_cache[@]}" --build-arg BASE="$base" -t "$tag" . >"$work/build.log" 2>&1; then
  tail -n 30 "$work/build.log" >&2
  fail "docker build"
fi
build_s=$(elapsed "$t0")
size=$(docker image inspect -f '{{.Size}}' "$tag")
base_size=$(docker image inspect -f '{{.Size}}' "$base")
steps=$(grep -c '^Step ' "$work/build.log" || true)
reused=$(grep -c 'Using cache' "$work/build.log" || true)
pass "build: $(printf '%.0f' "$build_s")s ($reused of $steps steps from the layer cache)," \
     "image $(numfmt --to=si "$size")B (base $(numfmt --to=si "$base_size")B + $(numfmt --to=si $((size - base_size)))B)"

# --- what the image holds ------------------------------------------------------------------
user=$(docker image inspect -f '{{.Config.User}}' "$tag")
case "$user" in ''|0|root|0:*|root:*) fail "image user is '${user:-<unset>}' (root)";; esac
found=$(docker run --rm --entrypoint sh "$tag" -c \
  'for t in gcc cc c++ make ld pip pip3 pytest ruff mypy hadolint; do command -v "$t"; done;
   python -c "import importlib.util as u; print(*[m for m in (\"pip\", \"setuptools\", \"pytest\", \"hypothesis\", \"grpc_tools\", \"mypy\", \"ruff\") if u.find_spec(m)])"' \
  | tr -s ' \n' ' ' | sed 's/ $//')
[ -z "$found" ] || fail "the final stage carries build, test or lint tools: $found"
pass "no compilers, pip, setuptools, test or lint tools in the image; image user $user"
cached=$(docker run --rm --entrypoint sh "$tag" -c 'find "$NUMBA_CACHE_DIR" -name "*.nbc" | wc -l')
[ "$cached" -gt 0 ] || fail "no numba cache in the image"
pass "numba cache warmed at build time: $cached compiled kernel file(s) in \$NUMBA_CACHE_DIR"

# --- throwaway CA, server and client certificates, credentials ------------------------------
tls=$work/tls
mkdir -p "$tls"
name=jis.check.internal   # the server certificate has this name only: no 127.0.0.1, no localhost
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
{
  openssl req -x509 "${ec[@]}" -keyout "$tls/ca.key" -out "$tls/ca.pem" -days 1 -subj /CN=jis-check-ca
  echo "subjectAltName=DNS:$name" >"$tls/san.ext"
  for who in server client; do
    openssl req "${ec[@]}" -keyout "$tls/$who.key" -out "$tls/$who.csr" -subj "/CN=jis-check-$who"
    extra=(); [ "$who" = server ] && extra=(-extfile "$tls/san.ext")
    openssl x509 -req -in "$tls/$who.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
      -out "$tls/$who.pem" -days 1 "${extra[@]}"
  done
} >"$work/openssl.log" 2>&1 || { cat "$work/openssl.log" >&2; fail "openssl"; }
minted=$("$py" -m jis token docker-check admin)
token=$(sed -n 's/^token ([^)]*): //p' <<<"$minted")
entry=$(sed -n 's/^credentials-file entry[^:]*: //p' <<<"$minted")
if [ -z "$token" ] || [ -z "$entry" ]; then fail "jis token printed no token"; fi
echo "{\"identities\": [$entry]}" >"$tls/credentials.json"
# The container's user (uid 10001) reads them through a read-only bind mount.
chmod 755 "$work" "$tls"
chmod 644 "$tls"/*
pass "throwaway CA, server certificate for $name, client certificate, admin token"

# --- helpers --------------------------------------------------------------------------------
tls_env=(-v "$tls:/tls:ro" -e JIS_TLS_CERT=/tls/server.pem -e JIS_TLS_KEY=/tls/server.key
         -e JIS_CREDENTIALS=/tls/credentials.json)
probe_tls=(--ca "$tls/ca.pem" --name "$name")

start() {   # start LABEL DOCKER-RUN-ARGS...: run a container; sets cid, addr, t_run
  t_run=$EPOCHREALTIME
  cid=$(docker run -d -p 127.0.0.1::50051 "${@:2}" "$tag") || fail "$1: docker run"
  containers+=("$cid")
  addr=$(docker port "$cid" 50051/tcp | head -n 1)
  [[ $addr =~ ^127\.0\.0\.1:[0-9]+$ ]] || { docker logs "$cid" 2>&1 | tail -n 20 >&2; fail "$1: port 50051 not published on 127.0.0.1 (got '$addr')"; }
}

wait_serving() {   # wait_serving LABEL PROBE-ARGS...: gRPC health from the host, then docker's own
  local out s status
  if ! out=$("$py" ops/docker/probe.py "$addr" "${@:2}" wait-serving --timeout 60 2>&1); then
    docker logs "$cid" 2>&1 | tail -n 20 >&2
    fail "$1: host health check on $addr: $out"
  fi
  s=$(elapsed "$t_run")
  pass "$1: host gRPC health on $addr answers SERVING $(printf '%.2f' "$s")s after docker run"
  startup_s+=("$1=$(printf '%.2f' "$s")s")
  status=starting
  # Healthy by the next probe (every 5 s) once the server is SERVING: at most ~30 s more.
  for _ in $(seq 1 60); do
    status=$(docker inspect -f '{{.State.Health.Status}}' "$cid")
    [ "$status" = starting ] || break
    [ "$(docker inspect -f '{{.State.Running}}' "$cid")" = true ] || break
    sleep 0.5
  done
  out=$(docker inspect -f '{{json .State.Health}}' "$cid" | "$py" -c \
    'import json, sys; h = json.load(sys.stdin) or {}; print(" ".join(((h.get("Log") or [{}])[-1].get("Output") or "").split())[-300:])')
  [ "$status" = healthy ] || { docker logs "$cid" 2>&1 | tail -n 20 >&2; fail "$1: container health '$status': $out"; }
  pass "$1: container HEALTHCHECK healthy $(printf '%.1f' "$(elapsed "$t_run")")s after docker run ($out)"
}

no_compile() {   # no_compile LABEL: the start loaded the kernels from the image's cache
  local line changed
  line=$(docker logs "$cid" 2>&1 | grep -o 'jis SERVING: .*' | head -n 1)
  # A compiled kernel is written to the cache (an index .nbi, code .nbc), wherever it is.
  changed=$(docker diff "$cid" | grep -c -E ' /cache|\.nb[ic]$' || true)
  [ "$changed" -eq 0 ] || fail "$1: the server wrote $changed numba cache entries: it compiled"
  pass "$1: nothing compiled (numba cache untouched); log: $line"
}

startup_s=()

# --- TLS and credentials, on a named volume ------------------------------------------------
docker volume create "$volume" >/dev/null
start tls-1 -v "$volume:/data" "${tls_env[@]}"
wait_serving tls-1 "${probe_tls[@]}"
no_compile tls-1
out=$("$py" ops/docker/probe.py "$addr" "${probe_tls[@]}" --token "$token" publish L-CHECK V-CHECK-1 2>&1) \
  || fail "tls-1: publish: $out"
pass "tls-1: $out"
out=$("$py" ops/docker/probe.py "$addr" "${probe_tls[@]}" --token "$token" read L-CHECK V-CHECK-1 2>&1) \
  || fail "tls-1: read: $out"
pass "tls-1: $out"
out=$("$py" ops/docker/probe.py "$addr" "${probe_tls[@]}" read L-CHECK V-CHECK-1 2>&1) \
  && fail "tls-1: a call without a token was answered: $out"
pass "tls-1: without a token: ${out#probe read: }"

t0=$EPOCHREALTIME
docker stop -t 10 "$cid" >/dev/null
code=$(docker inspect -f '{{.State.ExitCode}}' "$cid")
[ "$code" = 0 ] || fail "tls-1: exit code $code after docker stop"
docker logs "$cid" 2>&1 | grep -q 'jis stopped' || fail "tls-1: no 'jis stopped' in its log"
pass "tls-1: stopped gracefully in $(printf '%.1f' "$(elapsed "$t0")")s, exit code 0"

start tls-2 -v "$volume:/data" "${tls_env[@]}"
wait_serving tls-2 "${probe_tls[@]}"
out=$("$py" ops/docker/probe.py "$addr" "${probe_tls[@]}" --token "$token" read L-CHECK V-CHECK-1 2>&1) \
  || fail "tls-2: read after restart: $out"
pass "tls-2 (new container, same volume): $out"
uids=$(docker top "$cid" -o pid,uid | awk 'NR > 1 {print $2}' | sort -u | tr '\n' ' ') \
  || fail "tls-2: docker top"
if [ -z "$uids" ] || grep -qw 0 <<<"$uids"; then fail "tls-2: a process runs as root (uids: '$uids')"; fi
exec_uid=$(docker exec "$cid" id -u)
[ "$exec_uid" != 0 ] || fail "tls-2: the container's user is root"
pass "tls-2: not root: server process uid(s) ${uids% }, container user uid $exec_uid"

# --- mutual TLS: the HEALTHCHECK presents the server's certificate as its client certificate --
start mtls -e JIS_TLS_CLIENT_CA=/tls/ca.pem "${tls_env[@]}"
wait_serving mtls "${probe_tls[@]}" --cert "$tls/client.pem" --key "$tls/client.key"
out=$("$py" ops/docker/probe.py "$addr" "${probe_tls[@]}" wait-serving --timeout 2 2>&1) \
  && fail "mtls: answered a client without a certificate: $out"
pass "mtls: a client without a certificate is refused"
docker rm -f -v "$cid" >/dev/null

# --- plaintext, for a local trial (JIS_INSECURE=1) ------------------------------------------
start plaintext -e JIS_INSECURE=1
wait_serving plaintext
no_compile plaintext
docker rm -f -v "$cid" >/dev/null

say "image $tag: $(numfmt --to=si "$size")B, build $(printf '%.0f' "$build_s")s," \
    "start to SERVING: ${startup_s[*]}"
pass "all checks ($(printf '%.0f' "$(elapsed "$t_start")")s)"
