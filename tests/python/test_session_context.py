"""SessionContext against a fake HostBridge served by Python grpc on a Unix
socket: every method, typed values both ways, each refusal code as its
exception, a missing host or session, deadlines; and a real worker whose tool
uses ``ctx`` with ``--host`` pointing at the fake."""

import math
import threading
import time
from concurrent import futures

import grpc
import pytest

import host_bridge_pb2 as hb
import host_bridge_pb2_grpc as hb_grpc
from snakepit_bridge import SessionContext
from snakepit_bridge.host_bridge_client import DEFAULT_TIMEOUT_S, HostBridgeClient
from snakepit_bridge.session_errors import (
    BridgeTimeoutError,
    BridgeUnavailableError,
    HostToolError,
    InvalidValueError,
    NoSessionError,
    SessionArgumentError,
    SessionError,
    SessionLimitError,
    SessionNotFoundError,
    SessionStateError,
    VariableExistsError,
    VariableNotFoundError,
    VersionConflictError,
)
from snakepit_bridge.values import decode, decode_map, encode_into
from worker_process import WorkerProcess

Code = hb.SessionError


class FakeHostBridge(hb_grpc.HostBridgeServicer):
    """Sessions of variables in dicts, with the semantics of the host's
    variable store for what these tests touch. ``refuse_with`` answers every
    Session call with that code; ``delay`` sleeps before answering."""

    def __init__(self):
        self.sessions = {"s1": {}}
        self.refuse_with = None
        self.delay = 0.0
        self.session_calls = 0
        self.time_remaining = []
        self.lock = threading.Lock()

    def Session(self, request, context):
        self.session_calls += 1
        self.time_remaining.append(context.time_remaining())
        if self.delay:
            time.sleep(self.delay)
        if self.refuse_with is not None:
            return _refusal(self.refuse_with, f"refused with {Code.Code.Name(self.refuse_with)}")
        with self.lock:
            variables = self.sessions.get(request.session_id)
            if variables is None:
                return _refusal(Code.SESSION_NOT_FOUND, f"no session {request.session_id!r}")
            return self._apply(variables, request)

    def _apply(self, variables, request):
        op = request.WhichOneof("op")
        reply = hb.SessionReply()
        if op == "get_variables":
            for name in request.get_variables.names:
                if name not in variables:
                    return _refusal(Code.VARIABLE_NOT_FOUND, f"no variable {name!r}")
                reply.variables.add().CopyFrom(variables[name])
        elif op == "set_variables":
            staged = {}
            for write in request.set_variables.writes:
                current = variables.get(write.name)
                version = current.version if current else 0
                if write.HasField("expected_version") and write.expected_version != version:
                    return _refusal(
                        Code.VERSION_CONFLICT,
                        f"{write.name} is at version {version}, not {write.expected_version}",
                    )
                state = hb.VariableState(name=write.name, type="any", version=version + 1)
                if current:
                    state.CopyFrom(current)
                    state.version = version + 1
                state.value.CopyFrom(write.value)
                staged[write.name] = state
            variables.update(staged)
            reply.variables.extend(staged.values())
        elif op == "register_variable":
            op_ = request.register_variable
            if op_.name in variables:
                return _refusal(Code.ALREADY_EXISTS, f"{op_.name} exists")
            if op_.type == "integer" and not isinstance(decode(op_.value), int):
                return _refusal(Code.INVALID_VALUE, f"{op_.name} must be an integer")
            maximum = decode_map(op_.constraints).get("max")
            if maximum is not None and decode(op_.value) > maximum:
                return _refusal(Code.INVALID_VALUE, f"{op_.name} above max {maximum}")
            state = hb.VariableState(name=op_.name, type=op_.type, version=1)
            state.value.CopyFrom(op_.value)
            state.constraints.CopyFrom(op_.constraints)
            variables[op_.name] = state
            reply.variables.add().CopyFrom(state)
        elif op == "increment_variable":
            op_ = request.increment_variable
            delta = decode(op_.delta)
            state = variables.get(op_.name)
            if state is None:
                state = hb.VariableState(
                    name=op_.name, type="integer" if isinstance(delta, int) else "float"
                )
                encode_into(0, state.value)
            total = decode(state.value) + delta
            state.value.Clear()
            encode_into(total, state.value)
            state.version += 1
            variables[op_.name] = state
            reply.variables.add().CopyFrom(state)
        elif op == "delete_variable":
            if variables.pop(request.delete_variable.name, None) is None:
                return _refusal(Code.VARIABLE_NOT_FOUND, "nothing to delete")
        elif op == "list_variables":
            for name in sorted(variables):
                reply.variables.add().CopyFrom(variables[name])
        else:
            return _refusal(Code.INVALID_ARGUMENT, "no op")
        return reply

    def CallHostTool(self, request, context):
        reply = hb.HostToolReply()
        args = decode_map(request.args)
        if request.name == "add":
            encode_into(args["a"] + args["b"], reply.value)
        elif request.name == "session_of_caller":
            encode_into(request.session_id, reply.value)
        else:
            reply.error.category = 2  # UNKNOWN_COMMAND
            reply.error.type = "UnknownHostTool"
            reply.error.message = f"no host tool {request.name!r}"
        return reply

    def ListHostTools(self, request, context):
        listing = hb.HostToolList()
        spec = listing.tools.add(name="add", description="adds a and b")
        spec.parameters.add(name="a")
        spec.parameters.add(name="b")
        return listing


def _refusal(code, message):
    return hb.SessionReply(error=hb.SessionError(code=code, message=message))


@pytest.fixture
def bridge(tmp_path):
    """(fake servicer, address) of a HostBridge served on a Unix socket."""
    fake = FakeHostBridge()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    hb_grpc.add_HostBridgeServicer_to_server(fake, server)
    address = f"unix:{tmp_path}/bridge.sock"
    assert server.add_insecure_port(address) == 1
    server.start()
    try:
        yield fake, address
    finally:
        server.stop(None)


@pytest.fixture
def ctx(bridge):
    _, address = bridge
    client = HostBridgeClient(address)
    try:
        yield SessionContext(request_id=1, session_id="s1", bridge=client)
    finally:
        client.close()


# --- every method --------------------------------------------------------------


def test_set_then_get_returns_the_value_and_versions_grow(ctx):
    assert ctx.set("x", 5) == 1
    assert ctx.get("x") == 5
    assert ctx.set("x", 6) == 2
    assert ctx.get("x") == 6


def test_get_of_a_missing_variable_returns_the_default(ctx):
    assert ctx.get("missing") is None
    assert ctx.get("missing", 17) == 17


def test_get_many_and_set_many_are_batches(ctx):
    assert ctx.set_many({"a": 1, "b": "two", "c": [3]}) == {"a": 1, "b": 1, "c": 1}
    assert ctx.get_many(["c", "a"]) == {"c": [3], "a": 1}
    assert ctx.get_many([]) == {} and ctx.set_many({}) == {}


def test_get_many_is_all_or_nothing(ctx):
    ctx.set("a", 1)
    with pytest.raises(VariableNotFoundError, match="'nope'"):
        ctx.get_many(["a", "nope"])


def test_register_variable_returns_the_typed_variable_with_constraints(ctx):
    state = ctx.register_variable("temperature", "integer", 20, {"min": 0, "max": 100})
    assert state == {
        "name": "temperature",
        "type": "integer",
        "value": 20,
        "version": 1,
        "constraints": {"min": 0, "max": 100},
    }
    with pytest.raises(VariableExistsError):
        ctx.register_variable("temperature", "integer", 21)


def test_register_variable_with_a_bad_value_raises_invalid_value(ctx):
    with pytest.raises(InvalidValueError, match="above max") as caught:
        ctx.register_variable("t", "integer", 101, {"max": 100})
    assert isinstance(caught.value, ValueError)
    assert caught.value.code == "INVALID_VALUE"
    with pytest.raises(ValueError):
        ctx.register_variable("u", "integer", "not a number")


def test_increment_returns_the_new_value_with_its_type(ctx):
    assert ctx.increment("n") == 1
    assert ctx.increment("n", by=41) == 42
    assert type(ctx.get("n")) is int
    assert ctx.increment("f", by=0.5) == 0.5
    assert type(ctx.increment("f", by=0.25)) is float


def test_compare_and_set_writes_only_at_the_expected_version(ctx):
    assert ctx.compare_and_set("k", "first", 0) == 1  # 0: create only
    with pytest.raises(VersionConflictError, match="version 1, not 0"):
        ctx.compare_and_set("k", "again", 0)
    assert ctx.compare_and_set("k", "second", 1) == 2
    with pytest.raises(VersionConflictError):
        ctx.compare_and_set("k", "stale", 1)
    assert ctx.get("k") == "second"


def test_delete_removes_and_refuses_a_missing_name(ctx):
    ctx.set("gone", 1)
    ctx.delete("gone")
    assert ctx.get("gone", "default") == "default"
    with pytest.raises(VariableNotFoundError):
        ctx.delete("gone")


def test_list_gives_every_variable_as_a_dict_sorted_by_name(ctx):
    ctx.set("b", b"\x01")
    ctx.register_variable("a", "integer", 1, {"max": 9})
    assert ctx.list() == [
        {"name": "a", "type": "integer", "value": 1, "version": 1, "constraints": {"max": 9}},
        {"name": "b", "type": "any", "value": b"\x01", "version": 1, "constraints": {}},
    ]


def test_call_host_tool_returns_the_value_and_passes_the_session(ctx):
    assert ctx.call_host_tool("add", a=2, b=40) == 42
    assert ctx.call_host_tool("add", a=b"ab", b=b"\x00") == b"ab\x00"
    assert ctx.call_host_tool("session_of_caller") == "s1"
    assert ctx.list_host_tools() == [
        {"name": "add", "description": "adds a and b", "parameters": ["a", "b"]}
    ]


def test_a_host_tool_error_raises_host_tool_error(ctx):
    with pytest.raises(HostToolError, match="no host tool 'nope'") as caught:
        ctx.call_host_tool("nope", x=1)
    assert caught.value.category == "UNKNOWN_COMMAND"
    assert caught.value.type == "UnknownHostTool"
    assert isinstance(caught.value, SessionError)


# --- values keep their types ---------------------------------------------------

ROUND_TRIPS = [
    0,
    -7,
    2**63 - 1,
    -(2**63),
    1.5,
    math.inf,
    True,
    False,
    None,
    "héllo ✓",
    "",
    b"\x00\xff\x10",
    b"",
    [1, "two", 3.0, None, b"\x04"],
    {"nested": {"list": [1, [2, [3]]], "bytes": b"\x00", "flag": True}, "n": -1},
    [],
    {},
]


@pytest.mark.parametrize("value", ROUND_TRIPS, ids=repr)
def test_values_round_trip_with_their_types(ctx, value):
    ctx.set("v", value)
    got = ctx.get("v")
    assert got == value
    assert _shape(got) == _shape(value)


def test_tuples_and_bytearrays_come_back_as_lists_and_bytes(ctx):
    ctx.set("t", (1, bytearray(b"ab")))
    assert ctx.get("t") == [1, b"ab"]
    assert type(ctx.get("t")[1]) is bytes


def test_an_unsupported_value_fails_before_anything_is_sent(bridge, ctx):
    fake, _ = bridge
    with pytest.raises(TypeError, match="set"):
        ctx.set("s", {1, 2})
    with pytest.raises(OverflowError):
        ctx.set("big", 2**64)
    assert fake.session_calls == 0


def _shape(value):
    """The value's types, recursively (1 and 1.0 and True compare equal)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value)


# --- refusals become exceptions ----------------------------------------------------

CODES = [
    ("SESSION_NOT_FOUND", SessionNotFoundError),
    ("VARIABLE_NOT_FOUND", VariableNotFoundError),
    ("INVALID_VALUE", InvalidValueError),
    ("VERSION_CONFLICT", VersionConflictError),
    ("ALREADY_EXISTS", VariableExistsError),
    ("INVALID_STATE", SessionStateError),
    ("INVALID_ARGUMENT", SessionArgumentError),
    ("SESSION_LIMIT", SessionLimitError),
    ("UNAVAILABLE", BridgeUnavailableError),
    ("INTERNAL", SessionError),
]


def test_every_code_of_the_proto_has_an_exception():
    assert {name for name, _ in CODES} == set(Code.Code.keys()) - {"CODE_UNSPECIFIED"}


@pytest.mark.parametrize("code,exception", CODES, ids=[c for c, _ in CODES])
def test_each_refusal_code_raises_its_exception(bridge, ctx, code, exception):
    fake, _ = bridge
    fake.refuse_with = Code.Code.Value(code)
    # get() hides VARIABLE_NOT_FOUND behind its default: use get_many.
    with pytest.raises(exception, match=f"refused with {code}") as caught:
        ctx.get_many(["x"])
    assert type(caught.value) is exception
    assert caught.value.code == code
    assert caught.value.message == f"refused with {code}"


def test_an_unknown_session_raises_session_not_found(bridge):
    _, address = bridge
    ctx = SessionContext(session_id="expired", bridge=HostBridgeClient(address))
    with pytest.raises(SessionNotFoundError, match="'expired'"):
        ctx.set("x", 1)


# --- no host, no session, deadlines ------------------------------------------------------


def test_without_a_host_every_call_raises_a_clear_error():
    ctx = SessionContext(session_id="s1", bridge=None)
    for call in (lambda: ctx.get("x"), lambda: ctx.set("x", 1), ctx.list,
                 lambda: ctx.call_host_tool("add", a=1, b=2)):
        with pytest.raises(BridgeUnavailableError, match="without --host"):
            call()


def test_without_a_session_a_session_op_raises_a_clear_error(bridge):
    fake, address = bridge
    ctx = SessionContext(session_id="", bridge=HostBridgeClient(address))
    with pytest.raises(NoSessionError, match="no session"):
        ctx.get("x")
    with pytest.raises(NoSessionError):
        ctx.increment("x")
    assert fake.session_calls == 0
    # Host tools need no session.
    assert ctx.call_host_tool("add", a=1, b=1) == 2


def test_a_call_gets_the_requests_remaining_budget_as_deadline(bridge):
    fake, address = bridge
    fake.delay = 2.0
    ctx = SessionContext(
        session_id="s1", bridge=HostBridgeClient(address), deadline=time.monotonic() + 0.3
    )
    start = time.monotonic()
    with pytest.raises(BridgeTimeoutError, match="within") as caught:
        ctx.get("x")
    assert 0.2 < time.monotonic() - start < 1.5
    assert isinstance(caught.value, TimeoutError)
    assert isinstance(caught.value, BridgeUnavailableError)


def test_a_request_with_no_budget_left_fails_without_calling(bridge):
    fake, address = bridge
    ctx = SessionContext(
        session_id="s1", bridge=HostBridgeClient(address), deadline=time.monotonic() - 0.01
    )
    with pytest.raises(BridgeTimeoutError, match="no budget left"):
        ctx.set("x", 1)
    assert fake.session_calls == 0


def test_without_a_budget_a_call_gets_the_default_deadline(bridge, ctx):
    fake, _ = bridge
    ctx.get("x")
    (remaining,) = fake.time_remaining
    assert abs(remaining - DEFAULT_TIMEOUT_S) < 1.5  # gRPC rounds the deadline it sends


def test_an_unreachable_host_raises_bridge_unavailable(tmp_path):
    ctx = SessionContext(
        session_id="s1",
        bridge=HostBridgeClient(f"unix:{tmp_path}/nobody.sock"),
        deadline=time.monotonic() + 2.0,
    )
    with pytest.raises(BridgeUnavailableError, match="UNAVAILABLE"):
        ctx.get("x")


# --- inside a real worker --------------------------------------------------------------


@pytest.fixture
def session_worker(bridge, socket_dir):
    _, address = bridge
    worker = WorkerProcess(
        "session_adapter:SessionAdapter", socket_dir / "w.sock", extra_args=["--host", address]
    )
    try:
        yield worker.start()
    finally:
        worker.kill()


def test_a_tool_in_a_worker_reads_and_writes_its_session_on_the_host(bridge, session_worker):
    fake, _ = bridge
    assert session_worker.call("bump", {"by": 2}, session_id="s1") == {
        "value": 2,
        "read": 2,
        "context": "SessionContext",
    }
    assert session_worker.call("bump", {"by": 3}, session_id="s1")["value"] == 5
    assert decode(fake.sessions["s1"]["counter"].value) == 5  # the state is on the host
    assert session_worker.call("host_add", {"a": 1, "b": 2}, session_id="s1") == 3
    assert session_worker.call("failing_read", {"name": "nope"}, session_id="s1") == {
        "error": "VariableNotFoundError",
        "code": "VARIABLE_NOT_FOUND",
    }


def test_a_session_error_escaping_a_tool_keeps_its_type_name(session_worker):
    kind, error = session_worker.execute("bump", {"by": 1}, session_id="")
    assert kind == "error"
    assert error.type == "NoSessionError"
    assert "no session" in error.message
