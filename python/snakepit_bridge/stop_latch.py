"""A one-way "please stop" that signal handlers and RPC threads can trip.

The main thread waits on a pipe. A process-directed signal may be delivered
to any thread (gRPC's included), and Python runs its handler only on the
main thread once that thread is back in the interpreter: a main thread
blocked in a read that the signal did not interrupt would never get there.
So the pipe is also the interpreter's wakeup fd (the C-level handler writes
a byte to it from whichever thread took the signal), and the wait re-checks
at a short interval, so no delivery order can leave it blocked. Unlike
threading.Event, nothing here takes a lock a signal handler could find
already held by the thread it interrupted.
"""

import os
import select
import signal
from typing import Optional, Tuple

# Longest a stop request can go unnoticed if every wakeup were missed.
_RECHECK_S = 0.2


class StopLatch:
    def __init__(self):
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._write_fd, False)
        self._reason: Optional[str] = None
        self._grace: Optional[float] = None

    @property
    def requested(self) -> bool:
        return self._reason is not None

    def use_as_signal_wakeup(self) -> None:
        """Make the pipe the interpreter's signal wakeup fd (main thread only)."""
        signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)

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
        while self._reason is None:
            readable, _, _ = select.select([self._read_fd], [], [], _RECHECK_S)
            if readable:
                os.read(self._read_fd, 64)
        return self._reason, self._grace
