"""Shared setup: import paths, and fixtures that start real workers.

Run through ctest (which sets PYTHONPATH), or directly:
    PYTHONPATH=python:<build>/python_gen /usr/bin/python3 -m pytest tests/python
"""

import os
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
PYTHON_DIR = TESTS_DIR.parents[1] / "python"

if str(PYTHON_DIR) not in sys.path:
    sys.path.insert(0, str(PYTHON_DIR))
if os.environ.get("SNAKEPIT_PYTHON_GEN_DIR"):
    sys.path.append(os.environ["SNAKEPIT_PYTHON_GEN_DIR"])

try:
    import snakepit_bridge_pb2  # noqa: F401
except ImportError:
    pytest.exit(
        "the generated stubs are not importable: build the CMake target "
        "snakepit_python_stubs and put <build>/python_gen on PYTHONPATH "
        "(or set SNAKEPIT_PYTHON_GEN_DIR)",
        returncode=4,
    )

from worker_process import WorkerProcess, private_socket_dir  # noqa: E402


@pytest.fixture
def socket_dir():
    with private_socket_dir() as path:
        yield path


@pytest.fixture
def start_worker(socket_dir):
    """Start workers for one test; every one is killed and reaped afterwards."""
    started = []

    def start(adapter="snakepit_bridge.adapters.showcase", **kwargs):
        worker = WorkerProcess(adapter, socket_dir / f"w{len(started)}.sock", **kwargs)
        started.append(worker)
        worker.start()
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.kill()


@pytest.fixture(scope="module")
def shared_worker():
    """One showcase worker for the tests of a module that leave it running."""
    with private_socket_dir() as path:
        worker = WorkerProcess("snakepit_bridge.adapters.showcase", path / "w.sock")
        try:
            worker.start()
            yield worker
        finally:
            worker.kill()
