"""Session tools: every value lives in the host's session (DESIGN rule 3).

Nothing here keeps state between calls: a worker that dies mid-session
loses nothing, and any worker can serve the session's next call.
"""

import time

from ....session_errors import VariableExistsError, VariableNotFoundError

# The variables these tools keep in the session.
COUNTER = "counter"
STARTED_AT = "started_at"
COMMANDS = "command_count"


def _register_or_set(ctx, name, type_, value):
    try:
        ctx.register_variable(name, type_, value)
    except VariableExistsError:
        ctx.set(name, value)


def init_session(ctx, counter: int = 0) -> dict:
    _register_or_set(ctx, COUNTER, "integer", int(counter))
    _register_or_set(ctx, STARTED_AT, "float", time.time())
    _register_or_set(ctx, COMMANDS, "integer", 1)
    return {"session_id": ctx.session_id, "counter": int(counter)}


def _count_command(ctx) -> int:
    return ctx.increment(COMMANDS)


def set_counter(ctx, value: int) -> dict:
    ctx.set(COUNTER, value)
    _count_command(ctx)
    return {"value": value}


def get_counter(ctx) -> dict:
    _count_command(ctx)
    return {"value": ctx.get(COUNTER, 0)}


def increment_counter(ctx, by: int = 1) -> dict:
    # One atomic increment on the host: concurrent calls never lose one.
    value = ctx.increment(COUNTER, by)
    _count_command(ctx)
    return {"value": value}


def cleanup(ctx) -> dict:
    started = ctx.get(STARTED_AT)
    commands = _count_command(ctx)
    for name in (COUNTER, STARTED_AT, COMMANDS):
        try:
            ctx.delete(name)
        except VariableNotFoundError:
            pass  # never set in this session: nothing to remove
    duration_ms = (time.time() - started) * 1000.0 if started is not None else 0.0
    return {"duration_ms": duration_ms, "command_count": commands}


def call_host(ctx, name: str, args: dict = None):
    return ctx.call_host_tool(name, **(args or {}))


def session_get(ctx, name: str, default=None):
    return ctx.get(name, default)


def session_set(ctx, name: str, value) -> dict:
    return {"version": ctx.set(name, value)}


def session_register(ctx, name: str, type: str, value, constraints: dict = None) -> dict:
    return ctx.register_variable(name, type, value, constraints)
