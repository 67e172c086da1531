"""How a worker starts, reports readiness, fails to start, stops and dies."""

import os
import signal
import stat
import subprocess
import time

import grpc
import pytest

import snakepit_bridge_pb2 as pb
from channel_client import ChannelClient
from worker_process import (
    WorkerProcess,
    make_request,
    read_ready_line,
    worker_command,
    worker_env,
)

GRACE_S = 2.0


def process_gone(pid: int) -> bool:
    """True once ``pid`` exited (a zombie counts: it no longer runs)."""
    try:
        with open(f"/proc/{pid}/stat") as status:
            return status.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_until(condition, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_socket_directory_is_private(socket_dir):
    assert stat.S_IMODE(os.stat(socket_dir).st_mode) == 0o700


def test_ready_is_reported_on_fd_and_stdout_only_when_serving(start_worker):
    worker = start_worker()
    assert worker.ready_line == f"READY {worker.address} {worker.pid}\n"
    # READY means accepting calls: the very first call succeeds.
    assert worker.stub.Ping(pb.PingRequest(), timeout=2).pid == worker.pid
    assert worker.process.stdout.readline().decode() == worker.ready_line


def test_tcp_port_zero_reports_the_chosen_port(socket_dir):
    worker = WorkerProcess("snakepit_bridge.adapters.showcase", socket_dir / "unused")
    worker.address = "127.0.0.1:0"
    try:
        worker.start(expect_ready=False)
        _, address, _ = worker.ready_line.split()
        host, port = address.rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) > 0
    finally:
        worker.kill()


def test_crash_tool_ends_the_process_with_exit_code_70(start_worker):
    worker = start_worker()
    with pytest.raises(grpc.RpcError) as raised:
        worker.execute("crash")
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert worker.wait_exit(timeout=5) == 70


def test_sigterm_stops_gracefully_with_exit_0(start_worker):
    worker = start_worker()
    started = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    assert worker.wait_exit(timeout=GRACE_S + 3) == 0
    assert time.monotonic() - started < GRACE_S
    assert not os.path.exists(worker.address[len("unix:"):])


def test_sigint_stops_gracefully_with_exit_0(start_worker):
    worker = start_worker()
    worker.process.send_signal(signal.SIGINT)
    assert worker.wait_exit(timeout=GRACE_S + 3) == 0


def test_sigterm_with_an_open_channel_finishes_the_running_request(start_worker):
    worker = start_worker()
    channel = ChannelClient(worker.stub)
    try:
        # The running call must still be running when the signal handler
        # runs; on a loaded machine Python's main thread may take a while to
        # get to it, hence a call well longer than the pause before SIGTERM.
        channel.send([make_request(1, "sleep_ms", {"ms": 1500}), make_request(2, "ping")])
        time.sleep(0.3)
        started = time.monotonic()
        worker.process.send_signal(signal.SIGTERM)
        _, replies, _ = channel.collect([1, 2])
        assert replies[1].WhichOneof("outcome") == "result"
        assert replies[2].error.category == pb.CANCELLED  # queued: refused
        assert worker.wait_exit(timeout=GRACE_S + 3) == 0
        assert time.monotonic() - started < GRACE_S
    finally:
        channel.cancel_call()


def lock_step_pings(channel, count):
    for request_id in range(1, count + 1):
        channel.send([make_request(request_id, "ping")])
        assert [r.id for r in channel.receive(timeout=5).replies] == [request_id]


def channel_ends(channel, timeout):
    """True once the worker ended the channel (a status or end of stream)."""
    try:
        while True:
            channel.receive(timeout=timeout)
    except (grpc.RpcError, EOFError):
        return True


@pytest.mark.parametrize("how", ["sigterm", "shutdown_call"])
def test_stopping_an_idle_worker_with_an_open_channel_takes_well_under_the_grace(
    start_worker, how
):
    # The worker waits for the channel's next frame on the stream's own
    # thread; stopping must end that wait rather than sit out the grace.
    worker = start_worker(extra_args=["--grace-ms", "5000"])
    channel = ChannelClient(worker.stub)
    try:
        lock_step_pings(channel, 20)
        time.sleep(0.2)  # the helper reader goes idle too
        started = time.monotonic()
        if how == "sigterm":
            worker.process.send_signal(signal.SIGTERM)
        else:
            assert worker.stub.Shutdown(pb.ShutdownRequest(grace_ms=5000), timeout=5).accepted
        assert channel_ends(channel, timeout=4)
        assert worker.wait_exit(timeout=8) == 0
        assert time.monotonic() - started < 2.5  # the grace is 5 s
    finally:
        channel.cancel_call()


def test_sigterm_after_lock_step_calls_finishes_the_running_request(start_worker):
    worker = start_worker(extra_args=["--grace-ms", "5000"])
    channel = ChannelClient(worker.stub)
    try:
        lock_step_pings(channel, 20)
        channel.send([make_request(100, "sleep_ms", {"ms": 1500})])
        channel.send([make_request(101, "ping")])  # queued behind it
        time.sleep(0.3)
        started = time.monotonic()
        worker.process.send_signal(signal.SIGTERM)
        _, replies, _ = channel.collect([100, 101])
        assert replies[100].WhichOneof("outcome") == "result"
        assert replies[101].error.category == pb.CANCELLED
        assert channel_ends(channel, timeout=4)
        assert worker.wait_exit(timeout=8) == 0
        assert time.monotonic() - started < 4.0  # the grace is 5 s
    finally:
        channel.cancel_call()


@pytest.mark.parametrize(
    "long_call",
    [("sleep_ms", {"ms": 10_000}), ("stream_count", {"count": 1000, "delay_ms": 50})],
    ids=["reply", "stream"],
)
def test_sigterm_during_a_long_call_exits_within_the_grace_period(start_worker, long_call):
    worker = start_worker(extra_args=["--grace-ms", "500"])
    channel = ChannelClient(worker.stub)
    try:
        channel.send([make_request(1, *long_call)])
        time.sleep(0.2)
        started = time.monotonic()
        worker.process.send_signal(signal.SIGTERM)
        assert worker.wait_exit(timeout=5) == 0
        # The grace (0.5 s) plus the worker's 0.25 s, with room for a busy
        # machine; the call itself would take 10 s or 50 s.
        assert time.monotonic() - started < 0.5 + 0.25 + 0.75
    finally:
        channel.cancel_call()


def test_shutdown_call_stops_the_worker_with_exit_0(start_worker):
    worker = start_worker()
    reply = worker.stub.Shutdown(pb.ShutdownRequest(grace_ms=1000), timeout=5)
    assert reply.accepted
    assert worker.wait_exit(timeout=5) == 0


def test_ignore_sigterm_leaves_only_sigkill(start_worker):
    worker = start_worker()
    assert worker.call("ignore_sigterm") == {"ok": True}
    worker.process.send_signal(signal.SIGTERM)
    with pytest.raises(subprocess.TimeoutExpired):
        worker.wait_exit(timeout=0.5)
    assert worker.call("ping")["pong"] is True
    worker.process.kill()
    assert worker.wait_exit(timeout=5) == -signal.SIGKILL


def test_adapter_that_does_not_import_exits_2_without_ready(socket_dir):
    worker = WorkerProcess("broken_adapter", socket_dir / "w.sock")
    try:
        worker.start(expect_ready=False)
        assert worker.ready_line == ""
        assert worker.wait_exit(timeout=10) == 2
        stdout, stderr = worker.output()
        assert "READY" not in stdout
        assert "broken_adapter" in stderr and "ModuleNotFoundError" in stderr
    finally:
        worker.kill()


def test_ambiguous_adapter_module_exits_2(socket_dir):
    worker = WorkerProcess("sample_adapters", socket_dir / "w.sock")
    try:
        worker.start(expect_ready=False)
        assert worker.wait_exit(timeout=10) == 2
        assert "exactly one BaseAdapter subclass" in worker.output()[1]
    finally:
        worker.kill()


def test_address_that_cannot_be_bound_exits_3(socket_dir):
    worker = WorkerProcess("snakepit_bridge.adapters.showcase", socket_dir / "no-dir" / "w.sock")
    try:
        worker.start(expect_ready=False)
        assert worker.ready_line == ""
        assert worker.wait_exit(timeout=10) == 3
        assert "cannot listen on unix:" in worker.output()[1]
    finally:
        worker.kill()


def test_bad_command_line_exits_64(socket_dir):
    result = subprocess.run(
        worker_command("snakepit_bridge.adapters.showcase", "unix:x", extra_args=["--bogus"]),
        env=worker_env(),
        capture_output=True,
        timeout=10,
    )
    assert result.returncode == 64
    assert b"--bogus" in result.stderr


def test_worker_exits_when_its_parent_dies(socket_dir):
    """The watchdog: started under `sh`, the worker outlives a killed sh by
    at most a few polls."""
    read_fd, write_fd = os.pipe()
    command = " ".join(
        worker_command(
            "snakepit_bridge.adapters.showcase",
            f"unix:{socket_dir / 'w.sock'}",
            extra_args=["--ready-fd", str(write_fd)],
        )
    )
    shell = subprocess.Popen(
        ["sh", "-c", f"{command} & wait"],
        env=worker_env(),
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    os.close(write_fd)
    worker_pid = None
    try:
        line = read_ready_line(read_fd, timeout=15)
        worker_pid = int(line.split()[2])
        assert not process_gone(worker_pid)
        shell.kill()
        shell.wait(timeout=5)
        assert wait_until(lambda: process_gone(worker_pid), timeout=4.0)
    finally:
        os.close(read_fd)
        # The whole group: sh and, if the watchdog failed, the worker.
        try:
            os.killpg(shell.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # everyone already exited
        shell.wait(timeout=5)
