"""The Channel: one bidirectional stream carrying all execute traffic.

A reader thread parses HostFrames off the stream into a queue and records
cancels as they arrive; the response generator (run by gRPC on one of the
server's threads) executes calls in arrival order and yields WorkerFrames.
Frames travel as bytes (see frames.py): the Channel's RPC handler is
registered without protobuf (de)serializers.

Batching adds no latency to an idle worker: a reply is sent as soon as its
call finishes, unless more calls are already waiting, in which case those
run first and their replies travel in the same frame (up to
MAX_BATCH_REPLIES replies or MAX_BATCH_BYTES). Stream chunks are sent one
frame each, as they are produced; replies made before a stream starts are
sent before it.
"""

import functools
import logging
import queue
import threading
import time
from typing import Iterator

import grpc

from .errors import RequestCancelledError
from .execution import RequestRunner
from .failures import refusal
from .frames import FramePieces, parse_host_frame
from .protowire import WireFormatError

log = logging.getLogger(__name__)

MAX_BATCH_REPLIES = 64
MAX_BATCH_BYTES = 1 << 20

# Queue markers; calls travel as Call objects.
_HOST_CLOSED = object()
_SHUTTING_DOWN = object()


class _Malformed:
    """Queue marker: the host sent bytes that are not a HostFrame."""

    def __init__(self, reason: str):
        self.reason = reason


class CancelRegistry:
    """Which of the calls not yet answered the host has cancelled.

    Only ids that are queued or running are recorded, so cancels for calls
    already answered leave nothing behind.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._open = set()
        self._cancelled = set()

    def opened(self, request_ids) -> None:
        with self._lock:
            self._open.update(request_ids)

    def cancel(self, request_ids) -> None:
        with self._lock:
            self._cancelled.update(i for i in request_ids if i in self._open)

    def is_cancelled(self, request_id: int) -> bool:
        return request_id in self._cancelled

    def closed(self, request_id: int) -> None:
        with self._lock:
            self._open.discard(request_id)
            self._cancelled.discard(request_id)


class ChannelSession:
    """Serves one Channel call from start to end."""

    def __init__(self, runner: RequestRunner, host_frames, context: grpc.ServicerContext):
        self._runner = runner
        self._host_frames = host_frames
        self._context = context
        self._queue = queue.SimpleQueue()
        self._cancels = CancelRegistry()
        self._shutting_down = False
        # The generator may wait on the queue while the host vanishes; the
        # callback wakes it when the call ends for any reason.
        context.add_callback(functools.partial(self._queue.put, _HOST_CLOSED))
        self._reader = threading.Thread(target=self._read, name="channel-reader", daemon=True)

    def begin_shutdown(self) -> None:
        """Finish the call in progress, refuse the queued ones, end the stream."""
        self._shutting_down = True
        self._queue.put(_SHUTTING_DOWN)

    def frames(self) -> Iterator[bytes]:
        self._reader.start()
        pending = self._queue
        runner = self._runner
        while True:
            item = pending.get()
            pieces = []
            batch_bytes = 0
            # One batch; every path out of it leaves `pieces` sent.
            while True:
                if item is _HOST_CLOSED:
                    if pieces:
                        yield b"".join(pieces)
                    return
                if item is _SHUTTING_DOWN or self._shutting_down:
                    pieces.extend(self._refuse_queued(item))
                    if pieces:
                        yield b"".join(pieces)
                    return
                if isinstance(item, _Malformed):
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
                piece = self._reply(item)
                pieces.append(piece)
                batch_bytes += len(piece)
                if (
                    len(pieces) >= MAX_BATCH_REPLIES
                    or batch_bytes >= MAX_BATCH_BYTES
                    or pending.empty()
                ):
                    yield b"".join(pieces)
                    break
                item = pending.get_nowait()

    def _reply(self, call) -> bytes:
        request_id = call.id
        cancelled = functools.partial(self._cancels.is_cancelled, request_id)
        try:
            return self._runner.reply(call, cancelled, FramePieces)
        finally:
            self._cancels.closed(request_id)

    def _stream(self, call) -> Iterator[bytes]:
        """One frame per chunk (a WorkerFrame holding one chunk is the chunk's
        own field bytes)."""
        request_id = call.id
        cancelled = functools.partial(self._cancels.is_cancelled, request_id)
        try:
            yield from self._runner.stream(call, cancelled, FramePieces)
        finally:
            self._cancels.closed(request_id)

    def _refuse_queued(self, item) -> list:
        """CANCELLED replies for ``item`` and every call still queued."""
        error = refusal(RequestCancelledError("the worker is shutting down"))
        refused = []
        while True:
            if not (item is _HOST_CLOSED or item is _SHUTTING_DOWN or isinstance(item, _Malformed)):
                refused.append(FramePieces.error(item.id, error))
                self._cancels.closed(item.id)
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return refused

    def _read(self) -> None:
        """Reader thread: HostFrames -> queue, until the host closes or leaves."""
        put = self._queue.put
        try:
            for data in self._host_frames:
                calls, cancels = parse_host_frame(data, time.monotonic())
                if calls:
                    self._cancels.opened([call.id for call in calls])
                    for call in calls:
                        put(call)
                if cancels:
                    self._cancels.cancel(cancels)
        except grpc.RpcError:
            log.debug("channel cancelled by the host")
        except WireFormatError as exc:
            log.error("ending the channel: %s", exc)
            put(_Malformed(str(exc)))
        finally:
            put(_HOST_CLOSED)
