"""Runs one Call against the adapter and encodes its answer.

Shared by the Channel and the unary Execute / ExecuteStream calls, which
differ only in how answers are encoded (an ``Answers`` object: bytes pieces
of a WorkerFrame, or Reply / Chunk messages) and how a cancel is noticed.
Every call gets exactly one terminal answer:

* ``reply`` gives a Reply (a result, or an error);
* ``stream`` yields Chunks with seq 0, 1, ... and ends with one chunk with
  ``final`` set, carrying ``error`` if the stream failed.

A call that expired or was cancelled before it starts is refused without
running. A running stream stops after the chunk in progress when it is
cancelled or its budget runs out.
"""

from time import monotonic
from typing import Callable, Iterator, Protocol

from .adapter import BaseAdapter
from .call import Call
from .session_context import SessionContext
from .errors import (
    BridgeError,
    InvalidArgumentsError,
    RequestCancelledError,
    RequestTimeoutError,
)
from .failures import python_exception, refusal
from .stats import WorkerStats

# What a tool may raise and still leave the worker serving. SystemExit is
# included: a tool calling sys.exit() must not end a channel thread.
_TOOL_FAILURES = (Exception, SystemExit)
# What encoding a value can raise (unsupported type, int out of range, a str
# that is not valid UTF-8).
_ENCODE_FAILURES = (TypeError, ValueError, OverflowError)

# Whether the host cancelled a call, asked with the call's id: the Channel
# passes one bound method for all its calls (no closure per call); a
# zero-argument form is only made for a tool that takes a context.
Cancelled = Callable[[int], bool]


class Answers(Protocol):
    """How answers are encoded; ``result`` and ``chunk`` raise on values that
    cannot be encoded."""

    def result(self, request_id: int, value): ...

    def error(self, request_id: int, error): ...

    def chunk(self, request_id: int, seq: int, value): ...

    def final(self, request_id: int, seq: int, error=None): ...


class RequestRunner:
    def __init__(self, adapter: BaseAdapter, stats: WorkerStats, bridge=None):
        """``bridge``: the HostBridgeClient a tool's SessionContext calls
        (None when the worker was started without ``--host``)."""
        self._adapter = adapter
        self._tools = adapter.tools
        self._stats = stats
        self._bridge = bridge

    def is_streaming(self, tool_name: str) -> bool:
        tool = self._tools.get(tool_name)
        return tool is not None and tool.streaming

    def reply(self, call: Call, cancelled: Cancelled, answers: Answers):
        """Run a call that answers with one Reply; return the encoded Reply."""
        self._stats.count_request()
        request_id = call.id
        try:
            tool, kwargs, ctx = self._prepare(call, cancelled)
            if tool.streaming:
                raise InvalidArgumentsError(
                    f"tool {tool.name!r} streams: call it with ExecuteStream or on the Channel"
                )
            result = tool.invoke(kwargs, ctx)
            if cancelled(request_id):
                raise RequestCancelledError(f"request {request_id} was cancelled while it ran")
        except BridgeError as exc:
            return answers.error(request_id, refusal(exc))
        except _TOOL_FAILURES as exc:
            return answers.error(request_id, python_exception(exc))
        try:
            return answers.result(request_id, result)
        except _ENCODE_FAILURES as exc:
            return answers.error(
                request_id,
                python_exception(exc, f"the result of tool {tool.name!r} cannot be sent: "),
            )

    def stream(self, call: Call, cancelled: Cancelled, answers: Answers) -> Iterator:
        """Run a call as a stream, yielding each encoded Chunk.

        A non-streaming tool's result becomes a single chunk.
        """
        self._stats.count_request()
        request_id = call.id
        try:
            tool, kwargs, ctx = self._prepare(call, cancelled)
            produced = tool.invoke(kwargs, ctx)
        except BridgeError as exc:
            yield answers.final(request_id, 0, refusal(exc))
            return
        except _TOOL_FAILURES as exc:
            yield answers.final(request_id, 0, python_exception(exc))
            return

        items = produced if tool.streaming else iter((produced,))
        seq = 0
        try:
            while True:
                stop = _stop_reason(call, seq, cancelled)
                if stop is not None:
                    yield answers.final(request_id, seq, refusal(stop))
                    return
                try:
                    item = next(items)
                except StopIteration:
                    break
                except _TOOL_FAILURES as exc:
                    yield answers.final(request_id, seq, python_exception(exc))
                    return
                try:
                    encoded = answers.chunk(request_id, seq, item)
                except _ENCODE_FAILURES as exc:
                    prefix = f"item {seq} of tool {tool.name!r} cannot be sent: "
                    yield answers.final(request_id, seq, python_exception(exc, prefix))
                    return
                yield encoded
                seq += 1
        finally:
            if tool.streaming:
                produced.close()  # runs the tool's own finally blocks now
        yield answers.final(request_id, seq)

    def _prepare(self, call: Call, cancelled: Cancelled):
        """Resolve the tool and refuse a dead call; (tool, kwargs, ctx)."""
        tool = self._adapter.lookup(call.tool)
        if cancelled(call.id):
            raise RequestCancelledError(f"request {call.id} was cancelled before it started")
        if call.deadline is not None and monotonic() >= call.deadline:
            raise RequestTimeoutError(
                f"request {call.id} ran out of its {call.timeout_ms} ms budget before it started"
            )
        ctx = None
        if tool.wants_context:
            request_id = call.id
            ctx = SessionContext(
                request_id,
                call.session_id,
                call.metadata,
                lambda: cancelled(request_id),
                self._bridge,
                call.deadline,
            )
        return tool, call.args, ctx


def _stop_reason(call: Call, seq: int, cancelled: Cancelled):
    if cancelled(call.id):
        return RequestCancelledError(f"request {call.id} was cancelled after {seq} chunks")
    if call.deadline is not None and monotonic() >= call.deadline:
        return RequestTimeoutError(
            f"request {call.id} ran out of its {call.timeout_ms} ms budget after {seq} chunks"
        )
    return None
