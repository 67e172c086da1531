"""Adapters used only by the tests (this folder is on the workers' PYTHONPATH).

The module exports two adapters on purpose: ``--adapter sample_adapters``
alone is ambiguous and must name a class.
"""

import sys
import time

from snakepit_bridge import BaseAdapter, tool


class ProbeAdapter(BaseAdapter):
    """Tools that probe corners of the bridge the showcase does not."""

    @tool
    def context(self, ctx) -> dict:
        return {
            "request_id": ctx.request_id,
            "session_id": ctx.session_id,
            "metadata": dict(ctx.metadata),
            "cancelled": ctx.cancelled(),
        }

    @tool
    def stream_then_fail(self, items: int):
        yield from range(items)
        raise RuntimeError(f"failed after {items} items")

    @tool
    def returns_unsupported(self):
        return {"fine": 1, "not_fine": {1, 2}}

    @tool
    def type_error_inside(self, value):
        return len(value)  # TypeError for an int, raised inside a correct call

    @tool
    def sleep(self, ms: int) -> int:
        time.sleep(ms / 1000.0)
        return ms

    @tool
    def slow_first_item(self, ms: int):
        time.sleep(ms / 1000.0)
        yield "late"

    @tool
    def spin_until_cancelled(self, ctx, max_ms: int) -> dict:
        """Busy-waits (holding the GIL but for the interpreter's switches)
        until cancelled or max_ms have passed."""
        end = time.monotonic() + max_ms / 1000.0
        while not ctx.cancelled() and time.monotonic() < end:
            pass
        return {"cancelled": ctx.cancelled()}

    @tool
    def exits(self):
        sys.exit(3)


class OtherAdapter(BaseAdapter):
    @tool
    def other(self) -> str:
        return "other"
