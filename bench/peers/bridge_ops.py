"""Ops/s of SessionContext get/set next to a raw generated stub, both calling
the same HostBridge server; prints one JSON object.

    PYTHONPATH=python:build/python_gen /usr/bin/python3 bench/peers/bridge_ops.py \\
        --server build/bench/snakepit-trivial-bridge-server [--seconds 2]

starts the trivial C++ server (bench/peers/trivial_bridge_server.cpp) on a
Unix socket in a private 0700 directory and stops it afterwards; measure a
server that is already running with ``--address unix:/PATH`` (repeatable,
and combinable with ``--server``: snakepit-bench measures its runtime's
bridge and the trivial server in one process). Each figure is one Python
thread calling in lock-step for ``--seconds``; the raw stub sends prebuilt
requests, so the difference is what SessionContext adds (value coding,
building the request, checking the reply). With ``--rounds N`` every server
is measured N times: each figure is taken on every server in turn (who goes
first alternates), so drift on a busy machine hits all of them alike; each
figure is the best round (``mean`` has the means).

The variable ``counter`` of ``--session`` is registered as an integer if it
does not exist yet (a runtime's session must exist: SessionContext does not
create sessions; the trivial server accepts any id).

Output: {"servers": [{"address", "label", "ctx_get_ops_per_s",
"ctx_set_ops_per_s", "raw_get_ops_per_s", "raw_set_ops_per_s", "mean": {...}},
...], ...}
in the order of the ``--address`` options, the started server last.
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
from snakepit_bridge.session_errors import VariableExistsError  # noqa: E402
from snakepit_bridge.values import encode_into  # noqa: E402

FIGURES = ("ctx_set_ops_per_s", "ctx_get_ops_per_s", "raw_set_ops_per_s", "raw_get_ops_per_s")


def ops_per_second(op, seconds: float) -> float:
    """Calls ``op(i)`` in a loop for ``seconds`` (after a short warm-up)."""
    for i in range(20):
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


class Target:
    """One server: a SessionContext and a raw stub, both connected and warm."""

    def __init__(self, label: str, address: str, session: str):
        self.label = label
        self.address = address
        self.client = HostBridgeClient(address)
        ctx = SessionContext(request_id=1, session_id=session, bridge=self.client)
        try:
            ctx.register_variable("counter", "integer", 0)
        except VariableExistsError:
            pass
        ctx.set("counter", 0)

        self.channel = grpc.insecure_channel(address)
        stub = hb_grpc.HostBridgeStub(self.channel)
        set_request = hb.SessionRequest(session_id=session)
        write = set_request.set_variables.writes.add(name="counter")
        encode_into(1, write.value)
        get_request = hb.SessionRequest(session_id=session)
        get_request.get_variables.names.append("counter")
        for request in (set_request, get_request):  # the raw stub checks nothing in the loop
            reply = stub.Session(request, timeout=10.0)
            if reply.HasField("error"):
                raise SystemExit(f"{address}: {reply.error.message}")

        self.ops = {
            "ctx_set_ops_per_s": lambda i: ctx.set("counter", i),
            "ctx_get_ops_per_s": lambda i: ctx.get("counter"),
            "raw_set_ops_per_s": lambda i: stub.Session(set_request, timeout=10.0),
            "raw_get_ops_per_s": lambda i: stub.Session(get_request, timeout=10.0),
        }
        for op in self.ops.values():  # connections, caches, code paths
            for i in range(100):
                op(i)

    def close(self) -> None:
        self.client.close()
        self.channel.close()


def measure_rounds(targets, session: str, seconds: float, rounds: int) -> list:
    """targets: [(label, address)]. Each round measures every figure on every
    server, the servers side by side (who goes first alternates), so the
    numbers compared are taken close together. Per figure: the best round
    (the least disturbed by the rest of the machine), and the mean."""
    opened = []
    try:
        for label, address in targets:
            opened.append(Target(label, address, session))
        samples = [{k: [] for k in FIGURES} for _ in opened]
        turn = 0
        for _ in range(rounds):
            for key in FIGURES:
                order = list(range(len(opened)))
                if turn % 2:
                    order.reverse()
                turn += 1
                for i in order:
                    samples[i][key].append(ops_per_second(opened[i].ops[key], seconds))
    finally:
        for t in opened:
            t.close()
    return [
        {
            "label": t.label,
            "address": t.address,
            **{k: round(max(v)) for k, v in s.items()},
            "mean": {k: round(sum(v) / len(v)) for k, v in s.items()},
        }
        for t, s in zip(opened, samples)
    ]


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
    parser.add_argument(
        "--address",
        action="append",
        default=[],
        help="a running HostBridge server (unix:PATH or HOST:PORT); repeatable",
    )
    parser.add_argument("--server", help="the trivial server binary to start and measure")
    parser.add_argument("--session", default="bench", help="session id (default: bench)")
    parser.add_argument("--seconds", type=float, default=2.0, help="per figure and round")
    parser.add_argument("--rounds", type=int, default=1, help="turns of every server")
    args = parser.parse_args()
    if not args.address and not args.server:
        parser.error("give --address, --server or both")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    targets = [("address", a) for a in args.address]
    process = directory = None
    try:
        if args.server:
            directory = Path(tempfile.mkdtemp(prefix="spb-", dir="/tmp"))  # mode 0700
            process, address = start_server(args.server, directory)
            targets.append((os.path.basename(args.server), address))
        servers = measure_rounds(targets, args.session, args.seconds, args.rounds)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=5)
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)
    result = {
        "servers": servers,
        "session": args.session,
        "seconds_per_figure": args.seconds,
        "rounds": args.rounds,
        "python": sys.executable,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
