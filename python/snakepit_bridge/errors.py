"""Refusals of the bridge itself, each tied to an ErrorCategory of the proto.

Exceptions raised by a tool are not wrapped in these: they cross the wire as
PYTHON_EXCEPTION with their own type name, message and traceback.
"""


class BridgeError(Exception):
    """A request the worker answers with an error without blaming the tool."""

    category = "INTERNAL"  # the ErrorCategory enum name


class UnknownToolError(BridgeError):
    category = "UNKNOWN_COMMAND"


class InvalidArgumentsError(BridgeError):
    category = "INVALID_ARGUMENT"


class RequestTimeoutError(BridgeError):
    category = "TIMEOUT"


class RequestCancelledError(BridgeError):
    category = "CANCELLED"
