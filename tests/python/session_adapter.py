"""A test adapter whose tools use their session through ``ctx``; started by
test_session_context.py with ``--host`` pointing at a fake host bridge."""

from snakepit_bridge import BaseAdapter, tool
from snakepit_bridge.session_errors import SessionError


class SessionAdapter(BaseAdapter):
    @tool
    def bump(self, ctx, by: int = 1):
        """Increments the session's counter on the host and reads it back."""
        value = ctx.increment("counter", by)
        return {"value": value, "read": ctx.get("counter"), "context": type(ctx).__name__}

    @tool
    def host_add(self, ctx, a, b):
        return ctx.call_host_tool("add", a=a, b=b)

    @tool
    def failing_read(self, ctx, name: str):
        """Reads a variable; a refusal becomes {"error": class name}."""
        try:
            return ctx.get_many([name])
        except SessionError as exc:
            return {"error": type(exc).__name__, "code": exc.code}
