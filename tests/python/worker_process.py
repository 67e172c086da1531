"""A real worker process under test: start, wait for READY, call, clean up."""

import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc

import snakepit_bridge_pb2 as pb
import snakepit_bridge_pb2_grpc as pb_grpc
from snakepit_bridge.values import decode, encode_map_into

TESTS_DIR = Path(__file__).resolve().parent
PYTHON_DIR = TESTS_DIR.parents[1] / "python"
GEN_DIR = Path(pb.__file__).resolve().parent
INTERPRETER = sys.executable  # runs pytest, so it has grpcio (Debian: /usr/bin/python3)
READY_TIMEOUT_S = 15.0


@contextlib.contextmanager
def private_socket_dir():
    """A short (< 100 byte socket paths), mode 0700 directory under /tmp."""
    path = Path(tempfile.mkdtemp(prefix="spk-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def worker_env() -> dict:
    env = dict(os.environ)
    # python/ first, then the stubs, then this folder (test-only adapters).
    env["PYTHONPATH"] = os.pathsep.join([str(PYTHON_DIR), str(GEN_DIR), str(TESTS_DIR)])
    env.setdefault("SNAKEPIT_LOG_LEVEL", "WARNING")
    return env


def worker_command(adapter, listen, run_id="test-run", extra_args=()) -> list:
    return [
        INTERPRETER, "-m", "snakepit_bridge.server",
        "--adapter", adapter,
        "--listen", listen,
        "--run-id", run_id,
        "--worker-id", "test-worker",
        *extra_args,
    ]


def read_ready_line(fd: int, timeout: float) -> str:
    """Everything written to ``fd`` until EOF or a newline, within ``timeout``."""
    data = b""
    end = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        remaining = end - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise TimeoutError(f"no READY line within {timeout} s (got {data!r})")
        piece = os.read(fd, 256)
        if not piece:
            break
        data += piece
    return data.decode()


def make_request(request_id, tool, args=None, **fields) -> "pb.Request":
    request = pb.Request(id=request_id, tool=tool, **fields)
    encode_map_into(args or {}, request.args)
    return request


class WorkerProcess:
    def __init__(self, adapter, socket_path, extra_args=(), start_new_session=True):
        self.adapter = adapter
        self.address = f"unix:{socket_path}"
        self.extra_args = list(extra_args)
        self.start_new_session = start_new_session
        self.process = None
        self.ready_line = None
        self._channel = None
        self.stub = None

    def start(self, expect_ready=True):
        read_fd, write_fd = os.pipe()
        try:
            self.process = subprocess.Popen(
                worker_command(
                    self.adapter,
                    self.address,
                    extra_args=["--ready-fd", str(write_fd), *self.extra_args],
                ),
                env=worker_env(),
                pass_fds=(write_fd,),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                # Own process group: kill() takes any grandchild down too.
                start_new_session=self.start_new_session,
            )
            os.close(write_fd)
            write_fd = None
            self.ready_line = read_ready_line(read_fd, READY_TIMEOUT_S)
        finally:
            if write_fd is not None:
                os.close(write_fd)
            os.close(read_fd)
        if expect_ready:
            assert self.ready_line.startswith("READY "), self.describe_failure()
            self._channel = grpc.insecure_channel(self.address)
            self.stub = pb_grpc.WorkerServiceStub(self._channel)
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def execute(self, tool, args=None, request_id=1, timeout=10.0, **fields):
        """Execute one tool; return ("result", value) or ("error", ErrorInfo)."""
        reply = self.stub.Execute(make_request(request_id, tool, args, **fields), timeout=timeout)
        assert reply.id == request_id
        if reply.WhichOneof("outcome") == "result":
            return "result", decode(reply.result)
        return "error", reply.error

    def call(self, tool, args=None, **kwargs):
        """Execute a tool that must succeed; return its decoded result."""
        kind, value = self.execute(tool, args, **kwargs)
        assert kind == "result", f"{tool} failed: {value}"
        return value

    def wait_exit(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)

    def output(self):
        """(stdout, stderr) of a process that has exited."""
        stdout, stderr = self.process.communicate(timeout=5)
        return stdout.decode(), stderr.decode()

    def describe_failure(self) -> str:
        if self.process.poll() is None:
            return f"worker {self.pid} did not report READY: {self.ready_line!r}"
        stdout, stderr = self.output()
        return f"worker exited {self.process.returncode}: stdout={stdout!r} stderr={stderr!r}"

    def kill(self):
        """SIGKILL the worker (and its process group) and reap it."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self.process is None:
            return
        # The group is killed even after the worker exited: a grandchild it
        # started may still be running there.
        with contextlib.suppress(ProcessLookupError):
            if self.start_new_session:
                os.killpg(self.process.pid, signal.SIGKILL)
            elif self.process.poll() is None:
                self.process.kill()
        self.process.wait(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
