"""Ends the worker when the process that started it is gone.

The host also asks the kernel for a death signal (PR_SET_PDEATHSIG); this is
the second layer, for a host that dies in a way the signal misses.
"""

import logging
import os
import threading
import time

log = logging.getLogger(__name__)

EXIT_HOST_GONE = 4


def start_parent_watchdog(poll_interval: float = 0.2) -> threading.Thread:
    """Poll getppid(); when it changes, the parent died: exit at once."""
    parent = os.getppid()

    def watch():
        while True:
            time.sleep(poll_interval)
            if os.getppid() != parent:
                log.warning("parent process %d is gone; exiting", parent)
                logging.shutdown()
                os._exit(EXIT_HOST_GONE)

    thread = threading.Thread(target=watch, name="parent-watchdog", daemon=True)
    thread.start()
    return thread
