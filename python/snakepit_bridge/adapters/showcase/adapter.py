"""ShowcaseAdapter: the tool surface; the work lives in ``handlers/``."""

from ...adapter import BaseAdapter, tool
from .handlers import basic, binary, process, session, streaming


class ShowcaseAdapter(BaseAdapter):
    """Tools that exercise values, errors, streaming, binary data and the
    worker process itself."""

    # --- basic -------------------------------------------------------------

    @tool
    def ping(self) -> dict:
        """Answers {"pong": true, "pid": <worker pid>}."""
        return basic.ping()

    @tool
    def echo(self, **kwargs) -> dict:
        """Returns its keyword arguments unchanged, types kept."""
        return basic.echo(kwargs)

    @tool
    def add(self, a, b):
        """Returns a + b."""
        return basic.add(a, b)

    @tool
    def sleep_ms(self, ms: int, ctx) -> dict:
        """Sleeps for ms milliseconds (returns early if cancelled)."""
        return basic.sleep_ms(ms, ctx.cancelled)

    @tool
    def raise_error(self, type: str = "ValueError", message: str = "raised on request"):
        """Raises the named builtin exception type with the message."""
        basic.raise_error(type, message)

    # --- streaming ---------------------------------------------------------

    @tool
    def stream_count(self, count: int, delay_ms: int = 0):
        """Streams {"i": n} for n in range(count), delay_ms apart."""
        yield from streaming.count(count, delay_ms)

    # --- binary ------------------------------------------------------------

    @tool
    def echo_bytes(self, data: bytes) -> bytes:
        """Returns the bytes unchanged."""
        return binary.echo_bytes(data)

    # --- the worker process ------------------------------------------------

    @tool
    def worker_info(self) -> dict:
        """pid, ppid, pgid, run id, worker id, adapter and Python version."""
        return process.worker_info(self.worker)

    @tool
    def crash(self):
        """Ends the worker process at once with exit code 70."""
        process.crash()

    @tool
    def spawn_grandchild(self) -> dict:
        """Starts `sleep 600` in the worker's process group; returns its pid."""
        return process.spawn_grandchild()

    @tool
    def ignore_sigterm(self) -> dict:
        """Makes the worker ignore SIGTERM from now on."""
        return process.ignore_sigterm()

    # --- sessions: all state in the host, through ctx ------------------------

    @tool
    def init_session(self, ctx, counter: int = 0) -> dict:
        """Starts the session's counter (and its clock and command count)."""
        return session.init_session(ctx, counter)

    @tool
    def set_counter(self, ctx, value: int) -> dict:
        """Sets the counter; returns {"value": value}."""
        return session.set_counter(ctx, value)

    @tool
    def get_counter(self, ctx) -> dict:
        """Returns {"value": counter} (0 if the session has none)."""
        return session.get_counter(ctx)

    @tool
    def increment_counter(self, ctx, by: int = 1) -> dict:
        """Adds `by` to the counter atomically on the host; returns {"value": n}."""
        return session.increment_counter(ctx, by)

    @tool
    def cleanup(self, ctx) -> dict:
        """Removes the session's tool state; returns duration_ms and command_count."""
        return session.cleanup(ctx)

    @tool
    def call_host(self, ctx, name: str, args: dict = None):
        """Calls the host tool `name` with `args` and returns its value."""
        return session.call_host(ctx, name, args)

    @tool
    def session_get(self, ctx, name: str, default=None):
        """The session variable `name`, or `default`."""
        return session.session_get(ctx, name, default)

    @tool
    def session_set(self, ctx, name: str, value) -> dict:
        """Writes the session variable `name`; returns its new version."""
        return session.session_set(ctx, name, value)

    @tool
    def session_register(self, ctx, name: str, type: str, value, constraints: dict = None) -> dict:
        """Registers a typed session variable with constraints."""
        return session.session_register(ctx, name, type, value, constraints)
