"""Streaming tools: generators whose items become chunks."""

import time
from typing import Iterator


def count(count: int, delay_ms: int = 0) -> Iterator[dict]:
    for n in range(count):
        if delay_ms and n:
            time.sleep(delay_ms / 1000.0)
        yield {"i": n}
