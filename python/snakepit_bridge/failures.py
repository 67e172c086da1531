"""Exceptions -> ``ErrorInfo`` messages."""

import traceback

from ._proto import pb
from .errors import BridgeError

# Leading frames from these modules are the bridge calling the tool; a user
# reading a traceback wants it to start at their own code.
_BRIDGE_MODULES = frozenset(
    {"snakepit_bridge.execution", "snakepit_bridge.adapter", "snakepit_bridge.channel"}
)


def refusal(exc: BridgeError) -> "pb.ErrorInfo":
    """The bridge refused or stopped a request (unknown tool, bad arguments,
    timeout, cancel): no traceback, the category says it all."""
    return pb.ErrorInfo(
        category=pb.ErrorCategory.Value(exc.category),
        type=type(exc).__name__,
        message=str(exc),
    )


def python_exception(exc: BaseException, message_prefix: str = "") -> "pb.ErrorInfo":
    """A tool raised ``exc``: its type, message and traceback, tool frames only."""
    return pb.ErrorInfo(
        category=pb.PYTHON_EXCEPTION,
        type=type(exc).__name__,
        message=message_prefix + str(exc),
        traceback="".join(
            traceback.format_exception(type(exc), exc, _without_bridge_frames(exc.__traceback__))
        ),
    )


def _without_bridge_frames(tb):
    first = tb
    while tb is not None and tb.tb_frame.f_globals.get("__name__") in _BRIDGE_MODULES:
        tb = tb.tb_next
    # An exception raised by the bridge itself keeps its full traceback.
    return tb if tb is not None else first
