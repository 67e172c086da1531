"""The Channel: one bidirectional stream carrying all execute traffic.

The response generator (run by gRPC on one of the server's threads) executes
calls in arrival order and yields WorkerFrames. When it has nothing to run it
reads the next HostFrame itself, so a call made in lock-step costs no thread
hand-off. A helper thread reads only while a call has been running for longer
than SLOW_CALL_S, so that cancels (and new requests) arriving meanwhile are
seen. Exactly one of the two reads at a time (it holds the "read token");
calls go through one queue either way (a frame's calls as one list),
cancels into the registry. Frames
travel as bytes (see frames.py): the Channel's RPC handler is registered
without protobuf (de)serializers.

Batching adds no latency to an idle worker: a reply is sent as soon as its
call finishes, unless more calls are already waiting, in which case those
run first and their replies travel in the same frame (up to
MAX_BATCH_REPLIES replies or MAX_BATCH_BYTES). Stream chunks are sent one
frame each, as they are produced; replies made before a stream starts are
sent before it.
"""

import collections
import functools
import logging
import queue
import threading
from time import monotonic
from typing import Iterator

import grpc

from .errors import RequestCancelledError
from .call import Call
from .execution import RequestRunner
from .failures import refusal
from .frames import FramePieces, parse_host_frame
from .protowire import WireFormatError

log = logging.getLogger(__name__)

MAX_BATCH_REPLIES = 64
MAX_BATCH_BYTES = 1 << 20

# A call running this long gets the helper reading frames for it (cancels
# must reach it); also how often the helper looks while calls are being run.
SLOW_CALL_S = 0.005
# The helper stops looking after this long without a call started, and is
# woken by the next one (an idle worker's threads all sleep).
HELPER_IDLE_S = 0.05

# Queue markers; calls travel as lists of Call objects, one per frame.
_HOST_CLOSED = object()
_SHUTTING_DOWN = object()
# The helper gave the read token back: the generator reads again.
_WAKE = object()

# Who holds the read token.
_GENERATOR = "generator"
_HELPER = "helper"


class _Malformed:
    """Queue marker: the host sent bytes that are not a HostFrame."""

    def __init__(self, reason: str):
        self.reason = reason


class CancelRegistry:
    """Which of the calls not yet answered the host has cancelled.

    Only ids that are queued or running are recorded, so cancels for calls
    already answered leave nothing behind.

    No lock: each set operation is atomic under the GIL, and the orders
    below keep the invariant when the reader's ``cancel`` and the runner's
    ``closed`` interleave (``cancel`` records first and checks after,
    ``closed`` forgets in the opposite order), so a cancel never outlives its
    call. ``opened`` and ``cancel`` come from whichever thread reads frames,
    one at a time and in frame order.
    """

    def __init__(self):
        self._open = set()
        self._cancelled = set()

    def opened(self, request_ids) -> None:
        self._open.update(request_ids)

    def cancel(self, request_ids) -> None:
        for request_id in request_ids:
            self._cancelled.add(request_id)
            if request_id not in self._open:
                self._cancelled.discard(request_id)

    def is_cancelled(self, request_id: int) -> bool:
        return request_id in self._cancelled

    def closed(self, request_id: int) -> None:
        self._open.discard(request_id)
        self._cancelled.discard(request_id)


class ChannelSession:
    """Serves one Channel call from start to end.

    State shared by the generator and the helper (the read token, the call
    running, the helper parked, the stream over) is guarded by ``_lock``.
    """

    def __init__(self, runner: RequestRunner, host_frames, context: grpc.ServicerContext):
        self._runner = runner
        self._host_frames = host_frames
        self._context = context
        self._queue = queue.SimpleQueue()
        # Calls of the frame taken last, not yet run (the generator's own).
        self._pending = collections.deque()
        self._cancels = CancelRegistry()
        self._shutting_down = False
        self._lock = threading.Lock()
        self._helper_wake = threading.Condition(self._lock)
        self._reading = None  # _GENERATOR, _HELPER or None: who holds the token
        self._running_since = None  # monotonic start of the call running
        self._calls_started = 0
        self._generator_waiting = False  # blocked on the queue
        self._helper_parked = False
        self._stream_over = False  # nothing more to read
        self._finished = False  # the generator has ended
        # The generator may wait on the queue while the host vanishes; the
        # callback wakes it when the call ends for any reason.
        context.add_callback(functools.partial(self._queue.put, _HOST_CLOSED))
        self._helper = threading.Thread(target=self._help, name="channel-reader", daemon=True)

    def begin_shutdown(self) -> None:
        """Finish the call in progress, refuse the queued ones, end the stream."""
        with self._lock:
            self._shutting_down = True
            reading_directly = self._reading is _GENERATOR
        self._queue.put(_SHUTTING_DOWN)
        if reading_directly:
            # The generator is idle, waiting for the host's next frame: it
            # would never see the marker. Ending the RPC wakes it.
            self._context.cancel()

    def frames(self) -> Iterator[bytes]:
        self._helper.start()
        try:
            yield from self._serve()
        finally:
            with self._lock:
                self._finished = True
                self._helper_wake.notify()

    def _serve(self) -> Iterator[bytes]:
        runner = self._runner
        reply = runner.reply
        is_cancelled = self._cancels.is_cancelled
        closed = self._cancels.closed
        pending = self._pending
        while True:
            item = self._next_item()
            pieces = []
            batch_bytes = 0
            # One batch; every path out of it leaves `pieces` sent. This loop
            # runs once per call: the common case (a Call, no shutdown) is
            # tested first and the reply is made inline.
            while True:
                if item.__class__ is not Call or self._shutting_down:
                    if item is _HOST_CLOSED:
                        if pieces:
                            yield b"".join(pieces)
                        return
                    if item is _SHUTTING_DOWN or self._shutting_down:
                        pieces.extend(self._refuse_queued(item))
                        if pieces:
                            yield b"".join(pieces)
                        return
                    # The one marker left: _Malformed (abort raises).
                    if pieces:
                        yield b"".join(pieces)
                    self._context.abort(grpc.StatusCode.INVALID_ARGUMENT, item.reason)
                if runner.is_streaming(item.tool):
                    # Replies already made go now: a stream's first item may
                    # take a while.
                    if pieces:
                        yield b"".join(pieces)
                    yield from self._stream(item)
                    break
                self._call_started(not pieces)
                try:
                    piece = reply(item, is_cancelled, FramePieces)
                finally:
                    self._running_since = None  # as _call_done
                    closed(item.id)
                pieces.append(piece)
                batch_bytes += len(piece)
                if len(pieces) >= MAX_BATCH_REPLIES or batch_bytes >= MAX_BATCH_BYTES:
                    yield b"".join(pieces)
                    break
                item = pending.popleft() if pending else self._take_queued()
                if item is None:
                    yield b"".join(pieces)
                    break

    # --- getting work ----------------------------------------------------------

    def _next_item(self):
        """The next queued item; with none, reads a frame on this thread if
        the helper is not reading, else waits for the helper."""
        pending = self._queue
        while True:
            item = self._take_queued()
            if item is not None:
                return item
            with self._lock:
                direct = (
                    self._reading is None and not self._stream_over and not self._shutting_down
                )
                if direct:
                    self._reading = _GENERATOR
                else:
                    self._generator_waiting = True
            if direct:
                try:
                    self._read_frame()
                finally:
                    with self._lock:
                        self._reading = None
                continue
            item = pending.get()
            self._generator_waiting = False
            if item.__class__ is list:
                self._pending.extend(item)
                return self._pending.popleft()
            if item is not _WAKE:
                return item

    def _take_queued(self):
        """The next queued item (a Call or a marker), or None if there is
        none (only the generator takes from the queue)."""
        pending = self._pending
        if pending:
            return pending.popleft()
        frames = self._queue
        while not frames.empty():
            item = frames.get_nowait()
            if item.__class__ is list:
                pending.extend(item)
                return pending.popleft()
            if item is not _WAKE:
                return item
        return None

    def _read_frame(self) -> bool:
        """Read one HostFrame (the caller holds the read token) into the queue
        and the cancel registry; False once the stream is over."""
        try:
            data = next(self._host_frames)
            calls, cancels = parse_host_frame(data, monotonic())
        except StopIteration:
            self._end_of_stream()
            return False
        except grpc.RpcError:
            log.debug("channel cancelled")
            self._end_of_stream()
            return False
        except WireFormatError as exc:
            log.error("ending the channel: %s", exc)
            self._end_of_stream(_Malformed(str(exc)))
            return False
        if calls:
            self._cancels.opened([call.id for call in calls])
            self._queue.put(calls)
        if cancels:
            self._cancels.cancel(cancels)
        return True

    def _end_of_stream(self, *markers) -> None:
        with self._lock:
            self._stream_over = True
        for marker in markers:
            self._queue.put(marker)
        self._queue.put(_HOST_CLOSED)

    # --- the helper reader ---------------------------------------------------

    def _help(self) -> None:
        """Helper thread: reads frames while a call runs long, until the
        channel ends."""
        try:
            while self._wait_for_a_slow_call():
                self._read_while_slow()
        except Exception:
            log.exception("channel reader failed")
            self._end_of_stream()

    def _wait_for_a_slow_call(self) -> bool:
        """Take the read token once a call has run SLOW_CALL_S and the
        generator is not reading; False when the channel is done."""
        wake = self._helper_wake
        seen_started = -1
        active_at = monotonic()
        with self._lock:
            while not (self._finished or self._stream_over):
                now = monotonic()
                since = self._running_since
                if since is not None:
                    if self._reading is None and now - since >= SLOW_CALL_S:
                        self._reading = _HELPER
                        return True
                    active_at = now
                elif self._calls_started != seen_started:
                    seen_started = self._calls_started
                    active_at = now
                elif now - active_at >= HELPER_IDLE_S:
                    # Idle: sleep until a call starts (_call_started wakes us).
                    self._helper_parked = True
                    wake.wait()
                    self._helper_parked = False
                    active_at = monotonic()
                    continue
                wake.wait(SLOW_CALL_S)
        return False

    def _read_while_slow(self) -> None:
        """Holding the token: read frames while a call keeps running long,
        then give the token back (and wake a generator waiting for it)."""
        while self._read_frame():
            with self._lock:
                since = self._running_since
                if since is not None and monotonic() - since >= SLOW_CALL_S:
                    continue
                self._reading = None
                wake_generator = self._generator_waiting
            if wake_generator:
                self._queue.put(_WAKE)
            return

    # --- running calls ---------------------------------------------------------

    def _call_started(self, first_of_batch: bool = True) -> None:
        if not first_of_batch:
            # Calls of a batch start back to back: the helper, awake since
            # the batch's first call, cannot reach its idle park between them
            # (that takes HELPER_IDLE_S without a call starting), so it needs
            # no wake-up and the plain stores are safe under the GIL.
            self._running_since = monotonic()
            self._calls_started += 1
            return
        with self._lock:
            self._running_since = monotonic()
            self._calls_started += 1
            if self._helper_parked:
                self._helper_parked = False
                self._helper_wake.notify()

    def _call_done(self) -> None:
        # No lock, no notify: a helper that sees the call a moment longer
        # reads one frame more.
        self._running_since = None

    def _stream(self, call) -> Iterator[bytes]:
        """One frame per chunk (a WorkerFrame holding one chunk is the chunk's
        own field bytes)."""
        self._call_started()
        try:
            yield from self._runner.stream(call, self._cancels.is_cancelled, FramePieces)
        finally:
            self._call_done()
            self._cancels.closed(call.id)

    def _refuse_queued(self, item) -> list:
        """CANCELLED replies for ``item`` and every call still queued."""
        error = refusal(RequestCancelledError("the worker is shutting down"))
        refused = []
        while item is not None:
            if item.__class__ is Call:  # markers carry no call to refuse
                refused.append(FramePieces.error(item.id, error))
                self._cancels.closed(item.id)
            item = self._take_queued()
        return refused
