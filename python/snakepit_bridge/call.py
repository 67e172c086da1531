"""A request to run, however it arrived (Channel frame or unary call)."""

from typing import Optional


class Call:
    __slots__ = ("id", "tool", "args", "session_id", "timeout_ms", "metadata", "deadline")

    def __init__(
        self,
        id: int,
        tool: str,
        args: dict,
        session_id: str = "",
        timeout_ms: int = 0,
        metadata: Optional[dict] = None,
        deadline: Optional[float] = None,
    ):
        self.id = id
        self.tool = tool
        self.args = args
        self.session_id = session_id
        self.timeout_ms = timeout_ms
        self.metadata = metadata  # None when the request carried none
        self.deadline = deadline  # time.monotonic() when the budget runs out

    def __repr__(self):
        return f"Call(id={self.id}, tool={self.tool!r}, args={self.args!r})"


def deadline_after(timeout_ms: int, received_at: float) -> Optional[float]:
    """The budget ``timeout_ms`` (0 = none) counted from ``received_at``."""
    return received_at + timeout_ms / 1000.0 if timeout_ms else None
