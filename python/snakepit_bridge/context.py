"""What a tool learns about the request it serves.

A tool receives it by declaring a parameter named ``ctx``; in a worker that is
a :class:`~snakepit_bridge.session_context.SessionContext`, which adds session
state and host tools to this per-request part.
"""


def _never() -> bool:
    return False


class RequestContext:
    __slots__ = ("request_id", "session_id", "metadata", "_cancelled")

    def __init__(self, request_id=0, session_id="", metadata=None, cancelled=_never):
        self.request_id = request_id
        self.session_id = session_id
        self.metadata = {} if metadata is None else metadata
        self._cancelled = cancelled

    def cancelled(self) -> bool:
        """True once the host cancelled this request or went away.

        Long-running tools may poll it and return early; the worker then
        answers CANCELLED instead of the result.
        """
        return self._cancelled()

    def __repr__(self):
        return (
            f"RequestContext(request_id={self.request_id}, "
            f"session_id={self.session_id!r}, metadata={self.metadata!r})"
        )
