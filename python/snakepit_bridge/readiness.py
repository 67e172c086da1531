"""The READY line: how a worker tells the host it accepts calls."""

import os
import sys
from typing import Optional


def ready_line(address: str) -> str:
    return f"READY {address} {os.getpid()}\n"


def announce_ready(address: str, ready_fd: Optional[int]) -> None:
    """Write the READY line to ``ready_fd`` (then close it) and to stdout.

    Closing the fd lets the host see EOF, and keeps the fd out of any process
    a tool starts later.
    """
    line = ready_line(address)
    if ready_fd is not None:
        try:
            os.write(ready_fd, line.encode())
        finally:
            os.close(ready_fd)
    sys.stdout.write(line)
    sys.stdout.flush()
