"""CPU-bound work for the concurrency demo: each call runs on one worker
process, so N workers run N of them at once."""

import os
import time


def cpu_task(n: int, task_id: int = 0) -> dict:
    """Sums i*i mod 7919 for i < n; returns the sum, the worker pid and the time taken."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    started = time.perf_counter()
    total = 0
    for i in range(n):
        total = (total + i * i) % 7919
    return {
        "task_id": task_id,
        "result": total,
        "pid": os.getpid(),
        "ms": (time.perf_counter() - started) * 1000.0,
    }
