"""Counters a worker reports in Ping."""

import threading
import time


class WorkerStats:
    def __init__(self):
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._served = 0

    def count_request(self) -> None:
        with self._lock:
            self._served += 1

    @property
    def requests_served(self) -> int:
        return self._served

    @property
    def uptime_ms(self) -> int:
        return int((time.monotonic() - self._started) * 1000)
