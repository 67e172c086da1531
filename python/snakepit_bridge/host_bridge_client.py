"""The worker's client to the host bridge (service HostBridge of
host_bridge.proto), reached at the ``--host`` address.

One lazily created gRPC channel and stub per worker process and address,
shared by every request thread (gRPC channels are thread-safe); nothing
connects until a tool first uses its session. Every call carries a deadline.
gRPC failures become :mod:`session_errors` exceptions here; refusals inside a
reply (``SessionReply.error``, ``HostToolReply.error``) are left to the caller.
"""

import threading

import grpc

from ._proto import hb, hb_grpc
from .session_errors import BridgeTimeoutError, BridgeUnavailableError

__all__ = ["HostBridgeClient", "client_for", "DEFAULT_TIMEOUT_S"]

# The deadline of a bridge call when the request has no budget of its own.
DEFAULT_TIMEOUT_S = 10.0
# Session values may be large (tensors); gRPC's default limit is 4 MiB.
MAX_RECEIVE_BYTES = 64 * 1024 * 1024


class HostBridgeClient:
    """Calls of one host bridge; ``timeout`` is in seconds."""

    def __init__(self, address: str):
        self.address = address
        self._lock = threading.Lock()
        self._channel = None
        self._stub = None

    def session(self, request: "hb.SessionRequest", timeout: float) -> "hb.SessionReply":
        return self._call("Session", request, timeout)

    def call_host_tool(self, call: "hb.HostToolCall", timeout: float) -> "hb.HostToolReply":
        return self._call("CallHostTool", call, timeout)

    def list_host_tools(self, timeout: float) -> "hb.HostToolList":
        return self._call("ListHostTools", hb.HostToolListRequest(), timeout)

    def close(self) -> None:
        with self._lock:
            channel, self._channel, self._stub = self._channel, None, None
        if channel is not None:
            channel.close()

    def _call(self, method: str, request, timeout: float):
        stub = self._stub or self._connect()
        try:
            return getattr(stub, method)(request, timeout=timeout)
        except grpc.RpcError as exc:
            raise _bridge_failure(self.address, method, timeout, exc) from None

    def _connect(self):
        with self._lock:
            if self._stub is None:
                self._channel = grpc.insecure_channel(
                    self.address,
                    options=[
                        ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
                        ("grpc.max_send_message_length", -1),
                    ],
                )
                self._stub = hb_grpc.HostBridgeStub(self._channel)
            return self._stub


def _bridge_failure(address: str, method: str, timeout: float, exc: grpc.RpcError):
    code = exc.code() if hasattr(exc, "code") else None
    details = exc.details() if hasattr(exc, "details") else str(exc)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return BridgeTimeoutError(
            f"host bridge {address}: no answer to {method} within {timeout:.3g} s ({details})"
        )
    name = code.name if code is not None else "UNKNOWN"
    return BridgeUnavailableError(f"host bridge {address}: {method} failed: {name}: {details}")


_clients = {}
_clients_lock = threading.Lock()


def client_for(address: str):
    """The process's client for ``address``; None when the worker has no host."""
    if not address:
        return None
    with _clients_lock:
        client = _clients.get(address)
        if client is None:
            client = _clients[address] = HostBridgeClient(address)
        return client
