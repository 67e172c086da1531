"""WorkerService: the gRPC face of a worker."""

import inspect
import os
import threading
from time import monotonic
from typing import Callable, Optional

import grpc

from ._proto import pb
from .adapter import BaseAdapter
from .call import Call, deadline_after
from .channel import ChannelSession
from .execution import RequestRunner
from .frames import chunk_body, final_chunk_body, reply_error_body, reply_result_body
from .host_bridge_client import client_for
from .identity import WorkerIdentity
from .stats import WorkerStats
from .values import decode_map, encode_into

# Errors encode_into raises for a parameter default that is not a Value; the
# default is then left out of the description.
_UNDESCRIBABLE_DEFAULT = (TypeError, ValueError, OverflowError)


class WorkerServicer:
    def __init__(
        self,
        adapter: BaseAdapter,
        identity: WorkerIdentity,
        request_shutdown: Callable[[Optional[float]], None],
    ):
        self._adapter = adapter
        self._identity = identity
        self._stats = WorkerStats()
        self._runner = RequestRunner(adapter, self._stats, client_for(identity.host_address))
        self._request_shutdown = request_shutdown
        self._lock = threading.Lock()
        self._channels = set()
        self._shutting_down = False

    def begin_shutdown(self) -> None:
        """Let every open Channel finish its current request and end."""
        with self._lock:
            self._shutting_down = True
            channels = list(self._channels)
        for channel in channels:
            channel.begin_shutdown()

    # --- control -------------------------------------------------------------

    def Ping(self, request, context):
        return pb.PingReply(
            pid=os.getpid(),
            run_id=self._identity.run_id,
            adapter=self._identity.adapter,
            uptime_ms=self._stats.uptime_ms,
            requests_served=self._stats.requests_served,
            worker_id=self._identity.worker_id,
        )

    def DescribeTools(self, request, context):
        reply = pb.DescribeToolsReply()
        for description in self._adapter.describe():
            spec = reply.tools.add(
                name=description.name,
                description=description.description,
                streaming=description.streaming,
            )
            for parameter in description.parameters:
                out = spec.parameters.add(
                    name=parameter.name,
                    kind=parameter.kind,
                    annotation=parameter.annotation,
                    required=parameter.required,
                )
                if parameter.default is not inspect.Parameter.empty:
                    try:
                        encode_into(parameter.default, out.default_value)
                    except _UNDESCRIBABLE_DEFAULT:
                        out.ClearField("default_value")
        return reply

    def Shutdown(self, request, context):
        grace = request.grace_ms / 1000.0 if request.grace_ms else None
        self._request_shutdown(grace)
        return pb.ShutdownReply(accepted=True)

    # --- execution -----------------------------------------------------------

    def Execute(self, request, context):
        return self._runner.reply(
            _unary_call(request, context), _rpc_cancelled(context), MessageAnswers
        )

    def ExecuteStream(self, request, context):
        yield from self._runner.stream(
            _unary_call(request, context), _rpc_cancelled(context), MessageAnswers
        )

    def Channel(self, request_iterator, context):
        session = ChannelSession(self._runner, request_iterator, context)
        with self._lock:
            self._channels.add(session)
            if self._shutting_down:
                session.begin_shutdown()
        try:
            yield from session.frames()
        finally:
            with self._lock:
                self._channels.discard(session)


class MessageAnswers:
    """Answers as Reply / Chunk messages, for the unary calls. Built from the
    same encoded bodies as the Channel's frames, so both speak alike."""

    @staticmethod
    def result(request_id, value):
        return pb.Reply.FromString(reply_result_body(request_id, value))

    @staticmethod
    def error(request_id, error):
        return pb.Reply.FromString(reply_error_body(request_id, error))

    @staticmethod
    def chunk(request_id, seq, value):
        return pb.Chunk.FromString(chunk_body(request_id, seq, value))

    @staticmethod
    def final(request_id, seq, error=None):
        return pb.Chunk.FromString(final_chunk_body(request_id, seq, error))


def _unary_call(request, context) -> Call:
    """The Call of a unary request; its deadline is the earlier of the
    request's own budget and the gRPC deadline."""
    now = monotonic()
    deadline = deadline_after(request.timeout_ms, now)
    remaining = context.time_remaining()
    if remaining is not None:
        rpc_deadline = now + remaining
        deadline = rpc_deadline if deadline is None else min(deadline, rpc_deadline)
    return Call(
        request.id,
        request.tool,
        decode_map(request.args),
        request.session_id,
        request.timeout_ms,
        dict(request.metadata),
        deadline,
    )


def _rpc_cancelled(context) -> Callable[[int], bool]:
    """A unary call is cancelled when its RPC is (the id is its own)."""
    return lambda _request_id: not context.is_active()


def add_worker_service(servicer: WorkerServicer, server: grpc.Server) -> None:
    """Register the service. The Channel carries raw bytes both ways (frames.py
    codes them); the other calls use the generated message classes."""

    def unary(method, request_type, response_type):
        return grpc.unary_unary_rpc_method_handler(
            method,
            request_deserializer=request_type.FromString,
            response_serializer=response_type.SerializeToString,
        )

    service = pb.DESCRIPTOR.services_by_name["WorkerService"].full_name
    handlers = {
        "Ping": unary(servicer.Ping, pb.PingRequest, pb.PingReply),
        "DescribeTools": unary(
            servicer.DescribeTools, pb.DescribeToolsRequest, pb.DescribeToolsReply
        ),
        "Execute": unary(servicer.Execute, pb.Request, pb.Reply),
        "ExecuteStream": grpc.unary_stream_rpc_method_handler(
            servicer.ExecuteStream,
            request_deserializer=pb.Request.FromString,
            response_serializer=pb.Chunk.SerializeToString,
        ),
        "Channel": grpc.stream_stream_rpc_method_handler(servicer.Channel),
        "Shutdown": unary(servicer.Shutdown, pb.ShutdownRequest, pb.ShutdownReply),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, handlers),))
