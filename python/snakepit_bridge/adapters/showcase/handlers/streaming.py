"""Streaming tools: generators whose items become chunks."""

import time
from typing import Iterator


def count(count: int, delay_ms: int = 0) -> Iterator[dict]:
    for n in range(count):
        if delay_ms and n:
            time.sleep(delay_ms / 1000.0)
        yield {"i": n}


def progress(total: int, delay_ms: int = 0, cancelled=None) -> Iterator[dict]:
    """{"done": n, "total": total} for n in 1..total, delay_ms apart."""
    for n in range(1, total + 1):
        if cancelled is not None and cancelled():
            return
        if delay_ms:
            time.sleep(delay_ms / 1000.0)
        yield {"done": n, "total": total}
