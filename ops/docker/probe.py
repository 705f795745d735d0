"""Host side of ops/docker/check-image.sh: talk gRPC to a container through its published port.

    probe.py ADDRESS [TLS/auth options] wait-serving [--timeout S]
    probe.py ADDRESS [TLS/auth options] publish LINE VEHICLE
    probe.py ADDRESS [TLS/auth options] read LINE VEHICLE

wait-serving polls grpc.health.v1 Check ("" service) until it answers SERVING and prints how
long that took; publish configures LINE and publishes one ADD broadcast of VEHICLE (call_no 1,
seq_no 1), accepting APPLIED, or DUPLICATE on a store that already holds it; read reads the
vehicle back (GetVehicle) and checks its line, state, seq_no and part. Exit 0 on success, 1
otherwise, with one line saying why. Runs with the project's virtualenv (grpcio, jis.v1).
"""

from __future__ import annotations

import argparse
import sys
import time

import grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc

from jis.v1 import (
    broadcast_pb2,
    broadcast_pb2_grpc,
    common_pb2,
    lines_pb2,
    lines_pb2_grpc,
    sequence_pb2,
    sequence_pb2_grpc,
)

EPOCH = Timestamp(seconds=1_767_247_200)  # 2026-01-01T06:00:00Z: need_time = epoch + seq_no * takt
PART = common_pb2.Part(group="SEAT", part_number="S-DOCKER", supplier_id="SUP1", quantity=1)


def read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def channel(a: argparse.Namespace) -> grpc.Channel:
    if not a.ca:
        if a.token:
            raise SystemExit("probe: --token needs TLS (--ca)")
        return grpc.insecure_channel(a.address)
    creds = grpc.ssl_channel_credentials(
        read(a.ca),
        private_key=read(a.key) if a.key else None,
        certificate_chain=read(a.cert) if a.cert else None,
    )
    if a.token:
        creds = grpc.composite_channel_credentials(creds, grpc.access_token_call_credentials(a.token))
    options = [("grpc.ssl_target_name_override", a.name)] if a.name else []
    return grpc.secure_channel(a.address, creds, options=options)


def wait_serving(ch: grpc.Channel, timeout: float) -> str:
    stub = health_pb2_grpc.HealthStub(ch)
    t0 = time.monotonic()
    last = "no answer"
    for _ in range(int(timeout / 0.1) + 1):  # bounded in count and, below, in time
        try:
            status = stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
            last = health_pb2.HealthCheckResponse.ServingStatus.Name(status)
            if status == health_pb2.HealthCheckResponse.SERVING:
                return f"SERVING after {time.monotonic() - t0:.2f}s"
        except grpc.RpcError as exc:
            last = f"{exc.code().name}: {exc.details()}"
        if time.monotonic() - t0 > timeout:
            break
        time.sleep(0.1)
    raise RuntimeError(f"not SERVING within {timeout:.0f}s (last: {last})")


def publish(ch: grpc.Channel, line: str, vehicle: str) -> str:
    lines_pb2_grpc.LineServiceStub(ch).ConfigureLine(
        lines_pb2.ConfigureLineRequest(
            line_id=line, takt=Duration(seconds=60), heartbeat=Duration(seconds=86_400), epoch=EPOCH
        ),
        timeout=10,
    )
    b = broadcast_pb2.Broadcast(
        line_id=line, call_no=1, action=common_pb2.ACTION_ADD, vehicle_id=vehicle, seq_no=1, parts=[PART]
    )
    r = broadcast_pb2_grpc.BroadcastServiceStub(ch).Publish(
        broadcast_pb2.PublishRequest(broadcast=b), timeout=10
    )
    name = broadcast_pb2.Disposition.Name(r.disposition)
    if r.disposition not in (broadcast_pb2.DISPOSITION_APPLIED, broadcast_pb2.DISPOSITION_DUPLICATE):
        raise RuntimeError(f"publish {line}/{vehicle}: {name}")
    return f"published {vehicle} on {line}: {name}, highest call_no {r.highest_call_no}"


def read_back(ch: grpc.Channel, line: str, vehicle: str) -> str:
    v = sequence_pb2_grpc.SequenceServiceStub(ch).GetVehicle(
        sequence_pb2.GetVehicleRequest(vehicle_id=vehicle), timeout=10
    )
    state = common_pb2.VehicleState.Name(v.state)
    got = (v.line_id, v.seq_no, v.last_call_no, [p.part_number for p in v.parts])
    if got != (line, 1, 1, [PART.part_number]) or v.state != common_pb2.VEHICLE_STATE_ACTIVE:
        raise RuntimeError(f"read {vehicle}: unexpected {got} {state}")
    return f"read back {vehicle}: line {v.line_id}, seq_no {v.seq_no}, {state}, part {v.parts[0].part_number}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("address", help="host:port, e.g. 127.0.0.1:32768")
    p.add_argument("--ca", default="", help="PEM CA bundle: TLS (else plaintext)")
    p.add_argument("--name", default="", help="name to expect in the server certificate")
    p.add_argument("--cert", default="", help="client certificate (mutual TLS)")
    p.add_argument("--key", default="", help="client key (mutual TLS)")
    p.add_argument("--token", default="", help="bearer token")
    sub = p.add_subparsers(dest="command", required=True)
    w = sub.add_parser("wait-serving")
    w.add_argument("--timeout", type=float, default=60.0)
    for name in ("publish", "read"):
        s = sub.add_parser(name)
        s.add_argument("line")
        s.add_argument("vehicle")
    a = p.parse_args()
    with channel(a) as ch:
        try:
            if a.command == "wait-serving":
                out = wait_serving(ch, a.timeout)
            elif a.command == "publish":
                out = publish(ch, a.line, a.vehicle)
            else:
                out = read_back(ch, a.line, a.vehicle)
        except grpc.RpcError as exc:
            print(f"probe {a.command}: {exc.code().name}: {exc.details()}", file=sys.stderr)
            return 1
        except RuntimeError as exc:
            print(f"probe {a.command}: {exc}", file=sys.stderr)
            return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
