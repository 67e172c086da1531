"""SessionContext: a tool's view of its session's state and of host tools.

A tool that declares a parameter named ``ctx`` receives one. Workers are
stateless (DESIGN rule 3): every read and write goes to the host's session
actor through the host bridge, so a worker crash loses nothing.

    @tool
    def count(self, ctx, by: int = 1) -> int:
        return ctx.increment("calls", by)

Values keep their types both ways (int stays int, bytes stay bytes, nested
lists and dicts stay native). Each call carries a deadline: what is left of
the request's budget, else 10 s. Failures raise the exceptions of
:mod:`snakepit_bridge.session_errors`.
"""

from time import monotonic

from ._proto import hb, pb
from .context import RequestContext, _never
from .host_bridge_client import DEFAULT_TIMEOUT_S
from .session_errors import (
    BridgeTimeoutError,
    BridgeUnavailableError,
    HostToolError,
    NoSessionError,
    VariableNotFoundError,
    session_error_for,
)
from .values import decode, decode_map, encode_into, encode_map_into

__all__ = ["SessionContext"]

_ERROR_CODE_NAME = hb.SessionError.Code.Name
_CATEGORY_NAME = pb.ErrorCategory.Name


class SessionContext(RequestContext):
    __slots__ = ("_bridge", "_deadline")

    def __init__(
        self,
        request_id=0,
        session_id="",
        metadata=None,
        cancelled=_never,
        bridge=None,
        deadline=None,
    ):
        """``bridge``: the worker's HostBridgeClient (None without ``--host``);
        ``deadline``: ``time.monotonic()`` when the request's budget ends."""
        super().__init__(request_id, session_id, metadata, cancelled)
        self._bridge = bridge
        self._deadline = deadline

    # --- variables -------------------------------------------------------------

    def get(self, name: str, default=None):
        """The variable's value, or ``default`` if the session has no such variable."""
        try:
            (state,) = self._session(get_variables=hb.VariableGet(names=[name]))
        except VariableNotFoundError:
            return default
        return decode(state.value)

    def get_many(self, names) -> dict:
        """{name: value} for every name; all or nothing (VariableNotFoundError
        names the first one missing)."""
        names = list(names)
        if not names:
            return {}
        states = self._session(get_variables=hb.VariableGet(names=names))
        return {state.name: decode(state.value) for state in states}

    def set(self, name: str, value) -> int:
        """Writes a value (creating a variable of type "any" if there is none);
        returns the variable's new version."""
        (state,) = self._session(set_variables=hb.VariableSet(writes=[_write(name, value)]))
        return state.version

    def set_many(self, mapping) -> dict:
        """Writes several variables at once, all or nothing; {name: new version}."""
        writes = [_write(name, value) for name, value in mapping.items()]
        if not writes:
            return {}
        states = self._session(set_variables=hb.VariableSet(writes=writes))
        return {state.name: state.version for state in states}

    def compare_and_set(self, name: str, value, expected_version: int) -> int:
        """Writes only if the variable is at ``expected_version`` (0: only if it
        does not exist); VersionConflictError otherwise. Returns the new version."""
        write = _write(name, value, expected_version)
        (state,) = self._session(set_variables=hb.VariableSet(writes=[write]))
        return state.version

    def register_variable(self, name: str, type: str, value, constraints=None) -> dict:
        """Creates a typed variable (integer, float, string, boolean, choice,
        tensor, embedding, any) with optional constraints (min, max,
        min_length, max_length, pattern, choices, dimension, shape); returns
        it as a dict. VariableExistsError if the name is taken,
        InvalidValueError if ``value`` breaks the type or constraints."""
        op = hb.VariableRegister(name=name, type=type)
        encode_into(value, op.value)
        if constraints:
            encode_map_into(constraints, op.constraints)
        (state,) = self._session(register_variable=op)
        return _state_dict(state)

    def increment(self, name: str, by=1):
        """Adds ``by`` atomically on the host; returns the new value."""
        op = hb.VariableIncrement(name=name)
        encode_into(by, op.delta)
        (state,) = self._session(increment_variable=op)
        return decode(state.value)

    def delete(self, name: str) -> None:
        """Removes a variable; VariableNotFoundError if there is none."""
        self._session(delete_variable=hb.VariableDelete(name=name))

    def list(self):
        """Every variable of the session, sorted by name, as dicts with name,
        type, value, version and constraints."""
        return [_state_dict(state) for state in self._session(list_variables=hb.VariableList())]

    # --- host tools ----------------------------------------------------------------

    def call_host_tool(self, name: str, **kwargs):
        """Runs a tool of the host program and returns its value; HostToolError
        if it fails or the host has no tool of that name."""
        call = hb.HostToolCall(name=name, session_id=self.session_id)
        encode_map_into(kwargs, call.args)
        reply = self._client().call_host_tool(call, self._timeout())
        if reply.WhichOneof("result") == "error":
            error = reply.error
            raise HostToolError(
                error.message or f"host tool {name!r} failed",
                _CATEGORY_NAME(error.category),
                error.type,
            )
        return decode(reply.value)

    def list_host_tools(self):
        """[{name, description, parameters: [names]}] of the host's tools."""
        listing = self._client().list_host_tools(self._timeout())
        return [
            {
                "name": spec.name,
                "description": spec.description,
                "parameters": [p.name for p in spec.parameters],
            }
            for spec in listing.tools
        ]

    # --- plumbing ------------------------------------------------------------------

    def _session(self, **op):
        """Sends one SessionRequest with ``op`` set; its variables, or the
        host's refusal raised as its exception."""
        client = self._client()
        if not self.session_id:
            raise NoSessionError(
                "this request carries no session: call the tool with a session "
                "(execute_in_session) to use session variables"
            )
        request = hb.SessionRequest(session_id=self.session_id, **op)
        reply = client.session(request, self._timeout())
        if reply.HasField("error"):
            code = _ERROR_CODE_NAME(reply.error.code)
            raise session_error_for(code, reply.error.message or code)
        return reply.variables

    def _client(self):
        if self._bridge is None:
            raise BridgeUnavailableError(
                "this worker was started without --host, so it has no host bridge "
                "for session state and host tools"
            )
        return self._bridge

    def _timeout(self) -> float:
        if self._deadline is None:
            return DEFAULT_TIMEOUT_S
        remaining = self._deadline - monotonic()
        if remaining <= 0:
            raise BridgeTimeoutError(
                f"request {self.request_id} has no budget left for a call to the host bridge"
            )
        return remaining

    def __repr__(self):
        return (
            f"SessionContext(request_id={self.request_id}, "
            f"session_id={self.session_id!r}, metadata={self.metadata!r})"
        )


def _write(name: str, value, expected_version=None) -> "hb.VariableWrite":
    write = hb.VariableWrite(name=name)
    encode_into(value, write.value)
    if expected_version is not None:
        write.expected_version = expected_version
    return write


def _state_dict(state) -> dict:
    return {
        "name": state.name,
        "type": state.type,
        "value": decode(state.value),
        "version": state.version,
        "constraints": decode_map(state.constraints),
    }
