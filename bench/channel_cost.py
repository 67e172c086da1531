"""The Python worker's own cost per call on the Channel, without gRPC.

Feeds a ChannelSession (python/snakepit_bridge/channel.py) pre-built
HostFrames of --batch echo requests (16-byte string argument, a 30 s budget,
as the runtime sends them) through a stand-in for the gRPC context, and
prints the best of --repeat runs in microseconds per call: parsing, running
the showcase adapter's echo, encoding the replies and joining the frames.
What the worker pays on top of this per call is grpcio's (its per-message
cost divided by the batch).

    PYTHONPATH=python:build/python_gen /usr/bin/python3 bench/channel_cost.py --batch 32

--profile prints cProfile's top functions instead.
"""

import argparse
import cProfile
import pstats
import time

import snakepit_bridge_pb2 as pb
from snakepit_bridge.adapter_loader import load_adapter_class
from snakepit_bridge.channel import ChannelSession
from snakepit_bridge.execution import RequestRunner
from snakepit_bridge.stats import WorkerStats


class _Context:
    """What ChannelSession needs of grpc.ServicerContext."""

    def add_callback(self, callback):
        pass

    def cancel(self):
        pass

    def abort(self, code, details):
        raise RuntimeError(f"aborted: {code} {details}")


def _frame(first_id: int, batch: int) -> bytes:
    frame = pb.HostFrame()
    for i in range(batch):
        request = frame.requests.add()
        request.id = first_id + i
        request.tool = "echo"
        request.timeout_ms = 30000
        entry = request.args.entries.add()
        entry.key = "x"
        entry.value.string_value = "16-byte-payload!"
    return frame.SerializeToString()


def run_once(runner, batch: int, frames: int) -> float:
    data = [_frame(1 + n * batch, batch) for n in range(frames)]
    session = ChannelSession(runner, iter(data), _Context())
    start = time.perf_counter()
    replies = sum(1 for _ in session.frames())
    elapsed = time.perf_counter() - start
    if replies < frames:
        raise SystemExit(f"expected at least {frames} reply frames, got {replies}")
    return elapsed / (frames * batch) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32, help="requests per HostFrame")
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    adapter_class, _ = load_adapter_class("snakepit_bridge.adapters.showcase")
    runner = RequestRunner(adapter_class(), WorkerStats())
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(run_once, runner, args.batch, args.frames)
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)
        return
    best = min(run_once(runner, args.batch, args.frames) for _ in range(args.repeat))
    print(f"batch {args.batch}: {best:.2f} us per call (best of {args.repeat})")


if __name__ == "__main__":
    main()
