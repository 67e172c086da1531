"""Python's multiprocessing.Pool as an echo peer for snakepit-bench.

The same echo as the showcase adapter's (the arguments dict comes back),
run on a Pool of worker processes, measured two ways:

  * lock-step: one caller, pool.apply() after pool.apply(), latency p50/p99;
  * saturated: apply_async() keeping --inflight calls in flight from one
    thread (each completion submits the next), calls/s over --window-ms and
    the latency (submit -> result) p50/p99 of the calls in that window.

Prints one JSON object on stdout. Run with the Debian interpreter
(/usr/bin/python3); standard library only.
"""

import argparse
import json
import multiprocessing
import sys
import threading
import time


def echo(args):
    return args


def percentile(samples, p):
    """Nearest rank, like bench/sample_stats.hpp; 0 for no samples."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), -(-int(p * len(ordered)) // 100)))
    return ordered[rank - 1]


def lock_step(pool, arg, calls, warmup):
    for _ in range(warmup):
        pool.apply(echo, (arg,))
    samples = []
    clock = time.perf_counter
    for _ in range(calls):
        t0 = clock()
        result = pool.apply(echo, (arg,))
        samples.append((clock() - t0) * 1e6)
        if result != arg:
            raise RuntimeError(f"echo answered {result!r}")
    return samples


def saturated(pool, arg, inflight, window_s):
    clock = time.perf_counter
    lock = threading.Lock()
    state = {"stop": False, "open": 0, "counted": 0, "errors": 0}
    samples = []
    finished = threading.Event()
    window = {"start": 0.0, "end": None}

    def submit():
        t0 = clock()
        pool.apply_async(echo, (arg,), callback=lambda r: done(t0, r),
                         error_callback=lambda e: done(t0, e, failed=True))

    def done(t0, result, failed=False):
        t = clock()
        with lock:
            if failed or result != arg:
                state["errors"] += 1
            if window["end"] is None:
                state["counted"] += 1
                samples.append((t - t0) * 1e6)
            if state["stop"]:
                state["open"] -= 1
                if state["open"] == 0:
                    finished.set()
                return
        submit()

    # Warm-up: the processes have started and served calls.
    for _ in range(50):
        pool.apply(echo, (arg,))
    with lock:
        state["open"] = inflight
    window["start"] = clock()
    for _ in range(inflight):
        submit()
    time.sleep(window_s)
    with lock:
        window["end"] = clock()
        state["stop"] = True
        counted = state["counted"]
    finished.wait(30)
    elapsed = window["end"] - window["start"]
    return counted / elapsed, samples, state["errors"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--calls", type=int, default=2000, help="lock-step calls")
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--inflight", type=int, default=64)
    ap.add_argument("--window-ms", type=int, default=2000)
    ap.add_argument("--payload", default="16-byte-payload!")
    opts = ap.parse_args()

    arg = {"x": opts.payload}
    with multiprocessing.Pool(processes=opts.processes) as pool:
        lat = lock_step(pool, arg, opts.calls, opts.warmup)
        per_s, sat, errors = saturated(pool, arg, opts.inflight, opts.window_ms / 1000.0)
    if errors:
        print(f"mp_pool_echo: {errors} calls failed", file=sys.stderr)
        return 1
    json.dump({
        "processes": opts.processes,
        "lockstep_calls": len(lat),
        "lockstep_p50_us": percentile(lat, 50),
        "lockstep_p99_us": percentile(lat, 99),
        "inflight": opts.inflight,
        "saturated_calls_per_s": per_s,
        "saturated_calls": len(sat),
        "saturated_p50_us": percentile(sat, 50),
        "saturated_p99_us": percentile(sat, 99),
    }, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
