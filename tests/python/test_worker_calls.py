"""A real worker answers Ping, DescribeTools, Execute and ExecuteStream."""

import os
import signal
import sys
import time

import grpc
import pytest

import snakepit_bridge_pb2 as pb
from snakepit_bridge.values import decode
from worker_process import make_request


def test_ping_reports_identity_and_health(shared_worker):
    reply = shared_worker.stub.Ping(pb.PingRequest(), timeout=5)
    assert reply.pid == shared_worker.pid
    assert reply.run_id == "test-run"
    assert reply.worker_id == "test-worker"
    assert reply.adapter == "snakepit_bridge.adapters.showcase:ShowcaseAdapter"
    assert reply.uptime_ms > 0


def test_requests_served_counts_executed_requests(shared_worker):
    before = shared_worker.stub.Ping(pb.PingRequest(), timeout=5).requests_served
    shared_worker.call("ping")
    shared_worker.call("ping")
    after = shared_worker.stub.Ping(pb.PingRequest(), timeout=5).requests_served
    assert after - before == 2


def test_ready_line_names_address_and_pid(shared_worker):
    assert shared_worker.ready_line == f"READY {shared_worker.address} {shared_worker.pid}\n"


def test_describe_tools_lists_showcase_tools_with_parameters(shared_worker):
    described = shared_worker.stub.DescribeTools(pb.DescribeToolsRequest(), timeout=5)
    tools = {t.name: t for t in described.tools}
    assert set(tools) >= {"ping", "echo", "add", "stream_count", "crash", "worker_info"}
    assert tools["stream_count"].streaming and not tools["add"].streaming
    add = [(p.name, p.required) for p in tools["add"].parameters]
    assert add == [("a", True), ("b", True)]
    raise_error = {p.name: p for p in tools["raise_error"].parameters}
    assert decode(raise_error["type"].default_value) == "ValueError"
    assert raise_error["type"].annotation == "str"
    assert [p.name for p in tools["sleep_ms"].parameters] == ["ms"]  # ctx is hidden
    assert tools["echo"].parameters[0].kind == "var_keyword"
    assert tools["ping"].description


def test_ping_tool_answers_pong_with_pid(shared_worker):
    assert shared_worker.call("ping") == {"pong": True, "pid": shared_worker.pid}


def test_echo_returns_arguments_with_types_kept(shared_worker):
    args = {"i": 1, "f": 1.0, "b": True, "s": "s", "y": b"\x00", "n": None}
    args.update({"l": [1, [2]], "m": {"k": {}}})
    result = shared_worker.call("echo", args)
    assert result == args
    assert [type(result[k]) for k in ("i", "f", "b", "y")] == [int, float, bool, bytes]


def test_add_adds(shared_worker):
    assert shared_worker.call("add", {"a": 2, "b": 40}) == 42
    assert shared_worker.call("add", {"a": "snake", "b": "pit"}) == "snakepit"


def test_sleep_ms_sleeps(shared_worker):
    assert shared_worker.call("sleep_ms", {"ms": 20}) == {"slept_ms": 20}


def test_echo_bytes_returns_bytes_unchanged(shared_worker):
    payload = bytes(range(256)) * 1024
    result = shared_worker.call("echo_bytes", {"data": payload})
    assert type(result) is bytes and result == payload


def test_worker_info_reports_process_and_identity(shared_worker):
    info = shared_worker.call("worker_info")
    assert info["pid"] == shared_worker.pid
    assert info["ppid"] == os.getpid()
    assert info["run_id"] == "test-run" and info["worker_id"] == "test-worker"
    assert info["python"] == ".".join(map(str, sys.version_info[:3]))


def test_raise_error_becomes_python_exception_with_traceback(shared_worker):
    kind, error = shared_worker.execute("raise_error", {"type": "KeyError", "message": "missing"})
    assert kind == "error"
    assert error.category == pb.PYTHON_EXCEPTION
    assert error.type == "KeyError"
    assert "missing" in error.message
    assert "Traceback" in error.traceback and "raise_error" in error.traceback
    assert "snakepit_bridge/execution.py" not in error.traceback  # tool frames only


def test_worker_keeps_serving_after_a_tool_raises(shared_worker):
    shared_worker.execute("raise_error")
    assert shared_worker.call("add", {"a": 1, "b": 1}) == 2


def test_unknown_tool_is_unknown_command(shared_worker):
    kind, error = shared_worker.execute("no_such_tool")
    assert kind == "error" and error.category == pb.UNKNOWN_COMMAND
    assert "no_such_tool" in error.message


def test_missing_and_unexpected_arguments_are_invalid_argument(shared_worker):
    kind, error = shared_worker.execute("add", {"a": 1})
    assert kind == "error" and error.category == pb.INVALID_ARGUMENT and "'b'" in error.message
    kind, error = shared_worker.execute("add", {"a": 1, "b": 2, "c": 3})
    assert kind == "error" and error.category == pb.INVALID_ARGUMENT and "'c'" in error.message


def test_execute_of_a_streaming_tool_is_refused(shared_worker):
    kind, error = shared_worker.execute("stream_count", {"count": 2})
    assert kind == "error" and error.category == pb.INVALID_ARGUMENT


def test_expired_timeout_through_grpc_deadline_is_timeout(shared_worker):
    with pytest.raises(grpc.RpcError) as raised:
        shared_worker.stub.Execute(make_request(1, "sleep_ms", {"ms": 2000}), timeout=0.2)
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_execute_stream_yields_items_in_order_then_final(shared_worker):
    request = make_request(5, "stream_count", {"count": 5})
    chunks = list(shared_worker.stub.ExecuteStream(request, timeout=10))
    assert [c.seq for c in chunks] == [0, 1, 2, 3, 4, 5]
    assert all(c.id == 5 for c in chunks)
    assert [decode(c.data) for c in chunks[:-1]] == [{"i": n} for n in range(5)]
    assert chunks[-1].final and not chunks[-1].HasField("error")
    assert not any(c.final for c in chunks[:-1])


def test_execute_stream_of_a_plain_tool_gives_one_item(shared_worker):
    request = make_request(6, "add", {"a": 1, "b": 2})
    chunks = list(shared_worker.stub.ExecuteStream(request, timeout=10))
    assert [(c.seq, c.final) for c in chunks] == [(0, False), (1, True)]
    assert decode(chunks[0].data) == 3


def test_execute_stream_of_unknown_tool_is_one_final_error_chunk(shared_worker):
    chunks = list(shared_worker.stub.ExecuteStream(make_request(7, "nope"), timeout=10))
    assert len(chunks) == 1
    assert chunks[0].final and chunks[0].error.category == pb.UNKNOWN_COMMAND


def _cmdline_once_exec_is_done(pid: int, limit_s: float = 2.0) -> list:
    # Popen returns when exec has closed its error pipe, which the kernel does
    # before it sets up the new program's arguments: for a moment the
    # command line reads empty.
    deadline = time.monotonic() + limit_s
    while True:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            args = cmdline.read().split(b"\0")
        if args != [b""] or time.monotonic() > deadline:
            return args
        time.sleep(0.001)


def test_spawn_grandchild_starts_sleep_in_the_worker_process_group(start_worker):
    worker = start_worker()
    child = worker.call("spawn_grandchild")
    try:
        assert child["pgid"] == os.getpgid(worker.pid)
        assert _cmdline_once_exec_is_done(child["pid"])[:2] == [b"sleep", b"600"]
    finally:
        os.kill(child["pid"], signal.SIGKILL)


def test_ctx_carries_request_id_session_and_metadata(start_worker):
    worker = start_worker("sample_adapters:ProbeAdapter")
    result = worker.call(
        "context", request_id=77, session_id="s-1", metadata={"correlation_id": "c-9"}
    )
    assert result == {
        "request_id": 77,
        "session_id": "s-1",
        "metadata": {"correlation_id": "c-9"},
        "cancelled": False,
    }


def test_type_error_inside_a_correct_call_is_python_exception(start_worker):
    worker = start_worker("sample_adapters:ProbeAdapter")
    kind, error = worker.execute("type_error_inside", {"value": 5})
    assert kind == "error" and error.category == pb.PYTHON_EXCEPTION and error.type == "TypeError"


def test_unsupported_result_type_is_a_python_exception_naming_it(start_worker):
    worker = start_worker("sample_adapters:ProbeAdapter")
    kind, error = worker.execute("returns_unsupported")
    assert kind == "error" and error.category == pb.PYTHON_EXCEPTION
    assert "set" in error.message and "returns_unsupported" in error.message


def test_sys_exit_in_a_tool_fails_only_that_request(start_worker):
    worker = start_worker("sample_adapters:ProbeAdapter")
    kind, error = worker.execute("exits")
    assert kind == "error" and error.type == "SystemExit"
    assert worker.call("context")["cancelled"] is False
