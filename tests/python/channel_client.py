"""A test client for the Channel stream: send frames any time, read frames
with a timeout."""

import queue
import threading

import snakepit_bridge_pb2 as pb
from snakepit_bridge.values import decode


class ChannelClient:
    def __init__(self, stub):
        self._outgoing = queue.Queue()
        self._incoming = queue.Queue()
        self._call = stub.Channel(iter(self._outgoing.get, None))
        self._receiver = threading.Thread(target=self._receive_all, daemon=True)
        self._receiver.start()

    def send(self, requests=(), cancel=()):
        frame = pb.HostFrame(cancel=list(cancel))
        for request in requests:
            frame.requests.append(request)
        self._outgoing.put(frame)

    def receive(self, timeout=5.0) -> "pb.WorkerFrame":
        item = self._incoming.get(timeout=timeout)
        if isinstance(item, BaseException):
            raise item
        return item

    def collect(self, request_ids, timeout=10.0):
        """Frames until every id has its terminal answer; returns
        (frames, replies by id, chunks by id)."""
        waiting = set(request_ids)
        frames, replies, chunks = [], {}, {}
        while waiting:
            frame = self.receive(timeout)
            frames.append(frame)
            for reply in frame.replies:
                replies[reply.id] = reply
                waiting.discard(reply.id)
            for chunk in frame.chunks:
                chunks.setdefault(chunk.id, []).append(chunk)
                if chunk.final:
                    waiting.discard(chunk.id)
        return frames, replies, chunks

    def close(self):
        """Half-close: the worker finishes what it has and ends the call."""
        self._outgoing.put(None)

    def cancel_call(self):
        self._call.cancel()

    def _receive_all(self):
        try:
            for frame in self._call:
                self._incoming.put(frame)
        except Exception as exc:  # handed to the test thread by receive()
            self._incoming.put(exc)
        else:
            self._incoming.put(EOFError("channel ended"))


def result_of(reply):
    assert reply.WhichOneof("outcome") == "result", reply.error
    return decode(reply.result)
