"""A one-way "please stop" that signal handlers and RPC threads can trip.

The main thread blocks in os.read on a pipe: a signal interrupts the read,
Python runs the handler there, the handler writes a byte, and the retried
read returns. Unlike threading.Event, nothing here takes a lock a signal
handler could find already held by the thread it interrupted.
"""

import os
from typing import Optional, Tuple


class StopLatch:
    def __init__(self):
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._write_fd, False)
        self._reason: Optional[str] = None
        self._grace: Optional[float] = None

    @property
    def requested(self) -> bool:
        return self._reason is not None

    def request(self, reason: str, grace: Optional[float] = None) -> None:
        """Ask the main thread to stop; the first request's reason wins."""
        if self._reason is None:
            self._grace = grace
            self._reason = reason
        try:
            os.write(self._write_fd, b"!")
        except BlockingIOError:
            pass  # the pipe is full of earlier requests: the reader wakes anyway

    def wait(self) -> Tuple[str, Optional[float]]:
        """Block until a stop is requested; return (reason, grace or None)."""
        os.read(self._read_fd, 1)
        return self._reason, self._grace
