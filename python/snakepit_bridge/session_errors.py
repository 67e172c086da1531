"""What a SessionContext call raises: the host refused it, or the bridge to
the host failed.

One exception per ``SessionError.Code`` of host_bridge.proto, all subclasses
of :class:`SessionError`, so a tool can catch one case or all. Each carries
``code`` (the enum name) and ``message`` (the host's text). A tool that lets
one escape is answered PYTHON_EXCEPTION with the class name as its type, like
any other exception.
"""

__all__ = [
    "SessionError",
    "NoSessionError",
    "SessionNotFoundError",
    "VariableNotFoundError",
    "InvalidValueError",
    "VersionConflictError",
    "VariableExistsError",
    "SessionStateError",
    "SessionArgumentError",
    "SessionLimitError",
    "HostToolError",
    "BridgeUnavailableError",
    "BridgeTimeoutError",
    "session_error_for",
]


class SessionError(Exception):
    """Base of every session and bridge failure; raised itself for INTERNAL."""

    code = "INTERNAL"

    def __init__(self, message: str = "", code: str = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NoSessionError(SessionError):
    """A session operation in a request that carries no session id."""

    code = "INVALID_ARGUMENT"


class SessionNotFoundError(SessionError):
    code = "SESSION_NOT_FOUND"


class VariableNotFoundError(SessionError):
    code = "VARIABLE_NOT_FOUND"


class InvalidValueError(SessionError, ValueError):
    """The value breaks the variable's type or constraints."""

    code = "INVALID_VALUE"


class VersionConflictError(SessionError):
    """compare_and_set saw another version than the one expected."""

    code = "VERSION_CONFLICT"


class VariableExistsError(SessionError):
    """register_variable of a name that is taken."""

    code = "ALREADY_EXISTS"


class SessionStateError(SessionError):
    """The session cannot take this operation in its current state."""

    code = "INVALID_STATE"


class SessionArgumentError(SessionError, ValueError):
    """A malformed request: an empty name, an unknown type, bad constraints."""

    code = "INVALID_ARGUMENT"


class SessionLimitError(SessionError):
    code = "SESSION_LIMIT"


class HostToolError(SessionError):
    """A host tool answered with an error; ``category`` and ``type`` are those
    of its ErrorInfo (e.g. UNKNOWN_COMMAND for a tool the host lacks)."""

    code = "HOST_TOOL"

    def __init__(self, message: str, category: str = "INTERNAL", type: str = ""):
        super().__init__(message)
        self.category = category
        self.type = type


class BridgeUnavailableError(SessionError):
    """The host bridge cannot be reached: no ``--host`` given, the host is
    gone or shutting down, or it does not serve the call."""

    code = "UNAVAILABLE"


class BridgeTimeoutError(BridgeUnavailableError, TimeoutError):
    """No answer from the host within the call's deadline."""

    code = "DEADLINE_EXCEEDED"


_BY_CODE = {
    cls.code: cls
    for cls in (
        SessionNotFoundError,
        VariableNotFoundError,
        InvalidValueError,
        VersionConflictError,
        VariableExistsError,
        SessionStateError,
        SessionArgumentError,
        SessionLimitError,
        BridgeUnavailableError,
    )
}


def session_error_for(code: str, message: str) -> SessionError:
    """The exception for a ``SessionError.Code`` name; SessionError itself
    for INTERNAL and codes this version does not know."""
    cls = _BY_CODE.get(code)
    if cls is None:
        return SessionError(message, code)
    return cls(message)
