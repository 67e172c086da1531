"""ShowcaseAdapter: a thin tool surface; the work lives in ``handlers/`` (one
module per domain) and ``utils/``. Nothing here or there keeps state: every
session value goes through the SessionContext to the host."""

from ...adapter import BaseAdapter, tool
from .handlers import (
    basic,
    binary,
    concurrent,
    game,
    ml_workflow,
    process,
    session,
    streaming,
    variable,
)


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

    @tool
    def error_demo(self, kind: str = "value") -> dict:
        """Fails a few frames deep: kind is value, zero_division, key, custom or none."""
        return basic.error_demo(kind)

    # --- streaming ---------------------------------------------------------

    @tool
    def stream_count(self, count: int, delay_ms: int = 0):
        """Streams {"i": n} for n in range(count), delay_ms apart."""
        yield from streaming.count(count, delay_ms)

    @tool
    def stream_progress(self, ctx, total: int, delay_ms: int = 0):
        """Streams {"done": n, "total": total} for n in 1..total, delay_ms apart."""
        yield from streaming.progress(total, delay_ms, ctx.cancelled)

    # --- binary ------------------------------------------------------------

    @tool
    def echo_bytes(self, data: bytes) -> bytes:
        """Returns the bytes unchanged."""
        return binary.echo_bytes(data)

    @tool
    def checksum_bytes(self, data: bytes) -> dict:
        """{"length", "crc32", "sha256"} of the bytes."""
        return binary.checksum(data)

    # --- concurrency ---------------------------------------------------------

    @tool
    def cpu_task(self, n: int, task_id: int = 0) -> dict:
        """CPU-bound loop of n steps; returns the result, the worker pid and ms."""
        return concurrent.cpu_task(n, task_id)

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

    # --- typed variables -------------------------------------------------------

    @tool
    def define_model_config(self, ctx) -> list:
        """Registers typed, constrained variables (temperature, max_tokens, ...)."""
        return variable.define_model_config(ctx)

    @tool
    def try_update(self, ctx, name: str, value) -> dict:
        """Writes a variable; reports a refusal with the value before and after."""
        return variable.try_update(ctx, name, value)

    @tool
    def variables_snapshot(self, ctx) -> list:
        """Every variable of the session."""
        return variable.snapshot(ctx)

    # --- ML workflow: data and model as tensors in the session --------------------

    @tool
    def load_dataset(self, ctx, dataset: str = "iris", split: float = 0.8, seed: int = 7) -> dict:
        """Loads a real data set into the session (DataNotFoundError if absent)."""
        return ml_workflow.load_dataset(ctx, dataset, split, seed)

    @tool
    def synthetic_dataset(self, ctx, samples: int = 150, split: float = 0.8, seed: int = 7) -> dict:
        """Generates an iris-like data set into the session."""
        return ml_workflow.synthetic_dataset(ctx, samples, split, seed)

    @tool
    def train_model(self, ctx, epochs: int = 20, learning_rate: float = 0.5, epoch_ms: int = 0):
        """Trains softmax regression, streaming per-epoch progress; the model
        is saved to the session after every epoch."""
        yield from ml_workflow.train(ctx, epochs, learning_rate, epoch_ms)

    @tool
    def evaluate_model(self, ctx) -> dict:
        """Test accuracy and confusion matrix of the session's model."""
        return ml_workflow.evaluate(ctx)

    # --- game sessions (GameBot) ---------------------------------------------------

    @tool
    def game_start(self, ctx, guild_id: str, mode: str, word: str) -> dict:
        """Starts a word game in this session for a guild, in a mode."""
        return game.start(ctx, guild_id, mode, word)

    @tool
    def game_guess(self, ctx, player: str, word: str) -> dict:
        """Processes one guess against the session's game."""
        return game.guess(ctx, player, word)

    @tool
    def game_status(self, ctx) -> dict:
        """The game's guild, mode, guesses, solved and winner."""
        return game.status(ctx)
