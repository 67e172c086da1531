"""Ops/s of SessionContext get/set next to a raw generated stub, both calling
the same HostBridge server; prints one JSON object.

    PYTHONPATH=python:build/python_gen /usr/bin/python3 bench/peers/bridge_ops.py \\
        --server build/bench/snakepit-trivial-bridge-server [--seconds 2]

starts the trivial C++ server (bench/peers/trivial_bridge_server.cpp) on a
Unix socket in a private 0700 directory and stops it afterwards; or measure a
server that is already running with ``--address unix:/PATH``. Each figure is
one Python thread calling in lock-step for ``--seconds``; the raw stub sends
prebuilt requests, so the difference is what SessionContext adds (value
coding, building the request, checking the reply).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "python"))

import grpc  # noqa: E402

import host_bridge_pb2 as hb  # noqa: E402
import host_bridge_pb2_grpc as hb_grpc  # noqa: E402
from snakepit_bridge import SessionContext  # noqa: E402
from snakepit_bridge.host_bridge_client import HostBridgeClient  # noqa: E402
from snakepit_bridge.values import encode_into  # noqa: E402

SESSION = "bench"


def ops_per_second(op, seconds: float) -> float:
    """Calls ``op(i)`` in a loop for ``seconds`` (after a short warm-up)."""
    for i in range(200):
        op(i)
    count = 0
    start = time.perf_counter()
    end = start + seconds
    while True:
        for _ in range(100):  # check the clock every 100 calls
            op(count)
            count += 1
        now = time.perf_counter()
        if now >= end:
            return count / (now - start)


def measure(address: str, seconds: float) -> dict:
    client = HostBridgeClient(address)
    ctx = SessionContext(request_id=1, session_id=SESSION, bridge=client)
    ctx.set("counter", 0)
    figures = {
        "ctx_set_ops_per_s": ops_per_second(lambda i: ctx.set("counter", i), seconds),
        "ctx_get_ops_per_s": ops_per_second(lambda i: ctx.get("counter"), seconds),
    }
    client.close()

    channel = grpc.insecure_channel(address)
    stub = hb_grpc.HostBridgeStub(channel)
    set_request = hb.SessionRequest(session_id=SESSION)
    write = set_request.set_variables.writes.add(name="counter")
    encode_into(1, write.value)
    get_request = hb.SessionRequest(session_id=SESSION)
    get_request.get_variables.names.append("counter")
    figures["raw_set_ops_per_s"] = ops_per_second(
        lambda i: stub.Session(set_request, timeout=10.0), seconds
    )
    figures["raw_get_ops_per_s"] = ops_per_second(
        lambda i: stub.Session(get_request, timeout=10.0), seconds
    )
    channel.close()
    return {k: round(v) for k, v in figures.items()}


def start_server(binary: str, directory: Path):
    address = f"unix:{directory}/bridge.sock"
    process = subprocess.Popen([binary, address], stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline().strip()
    if not line.startswith("READY "):
        process.kill()
        raise SystemExit(f"{binary} did not start: {line!r}")
    return process, line.split(" ", 1)[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--address", help="a running HostBridge server (unix:PATH or HOST:PORT)")
    where.add_argument("--server", help="the trivial server binary to start and measure")
    parser.add_argument("--seconds", type=float, default=2.0, help="per figure")
    args = parser.parse_args()

    if args.address:
        result = measure(args.address, args.seconds)
        result["address"] = args.address
    else:
        directory = Path(tempfile.mkdtemp(prefix="spb-", dir="/tmp"))  # mode 0700
        process, address = start_server(args.server, directory)
        try:
            result = measure(address, args.seconds)
            result["server"] = os.path.basename(args.server)
        finally:
            process.terminate()
            process.wait(timeout=5)
            shutil.rmtree(directory, ignore_errors=True)
    result["seconds_per_figure"] = args.seconds
    result["python"] = sys.executable
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
