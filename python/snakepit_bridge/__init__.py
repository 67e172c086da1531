"""snakepit_bridge: the Python side of snakepit.

Write an adapter by subclassing :class:`BaseAdapter` and marking methods with
:func:`tool`; run it with ``python3 -m snakepit_bridge.server``.
"""

from .adapter import BaseAdapter, tool
from .context import RequestContext
from .identity import WorkerIdentity
from .session_context import SessionContext

__all__ = ["BaseAdapter", "tool", "RequestContext", "SessionContext", "WorkerIdentity"]
