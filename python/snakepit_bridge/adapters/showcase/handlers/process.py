"""Tools about the worker process itself, for lifecycle and cleanup tests."""

import ctypes
import logging
import os
import platform
import signal
import subprocess

log = logging.getLogger(__name__)

EXIT_CRASH = 70


def worker_info(identity) -> dict:
    return {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "pgid": os.getpgid(0),
        "run_id": identity.run_id if identity else "",
        "worker_id": identity.worker_id if identity else "",
        "adapter": identity.adapter if identity else "",
        "python": platform.python_version(),
    }


def crash():
    log.warning("crashing on request (exit %d)", EXIT_CRASH)
    os._exit(EXIT_CRASH)


def spawn_grandchild() -> dict:
    """Start `sleep 600` in our process group and leave it running.

    Its stdio goes to /dev/null so it holds none of the worker's pipes open.
    """
    child = subprocess.Popen(
        ["sleep", "600"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        close_fds=True,
    )
    return {"pid": child.pid, "pgid": os.getpgid(child.pid)}


def ignore_sigterm() -> dict:
    """Set SIGTERM to SIG_IGN for the whole process.

    Python's signal.signal() only works on the main thread and tools run on
    gRPC threads, so this goes to libc directly. Python's own SIGTERM handler
    is replaced: from now on only SIGKILL ends the worker.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.signal.restype = ctypes.c_void_p
    libc.signal.argtypes = (ctypes.c_int, ctypes.c_void_p)
    sig_ign = ctypes.c_void_p(int(signal.SIG_IGN))
    previous = libc.signal(int(signal.SIGTERM), sig_ign)
    if previous == ctypes.c_void_p(-1).value:  # SIG_ERR
        errno = ctypes.get_errno()
        raise OSError(errno, f"signal(SIGTERM, SIG_IGN) failed: {os.strerror(errno)}")
    return {"ok": True}
