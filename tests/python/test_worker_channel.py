"""The Channel: many requests per frame, replies by id, cancel, timeouts."""

import queue
import time

import grpc
import pytest

import snakepit_bridge_pb2 as pb
from channel_client import ChannelClient, result_of
from snakepit_bridge.values import decode
from worker_process import make_request


@pytest.fixture
def channel(shared_worker):
    client = ChannelClient(shared_worker.stub)
    try:
        yield client
    finally:
        client.cancel_call()


def test_several_requests_in_one_frame_get_replies_by_id(channel):
    channel.send([make_request(i, "add", {"a": i, "b": 100}) for i in range(1, 6)])
    _, replies, _ = channel.collect(range(1, 6))
    assert {i: result_of(replies[i]) for i in range(1, 6)} == {i: i + 100 for i in range(1, 6)}


def test_exception_in_one_request_fails_only_that_request(channel):
    channel.send(
        [
            make_request(1, "echo", {"x": 1}),
            make_request(2, "raise_error", {"type": "RuntimeError", "message": "boom"}),
            make_request(3, "echo", {"x": 3}),
        ]
    )
    _, replies, _ = channel.collect([1, 2, 3])
    assert result_of(replies[1]) == {"x": 1}
    assert replies[2].error.category == pb.PYTHON_EXCEPTION
    assert replies[2].error.type == "RuntimeError" and replies[2].error.message == "boom"
    assert result_of(replies[3]) == {"x": 3}


def test_idle_worker_answers_a_lone_request_at_once(channel):
    for request_id in range(1, 4):
        started = time.monotonic()
        channel.send([make_request(request_id, "ping")])
        frame = channel.receive(timeout=2)
        assert [r.id for r in frame.replies] == [request_id]
        assert time.monotonic() - started < 1.0  # no waiting for company


def test_requests_waiting_behind_a_busy_worker_come_back_in_one_frame(channel):
    channel.send(
        [make_request(1, "sleep_ms", {"ms": 150})]
        + [make_request(i, "echo", {"i": i}) for i in range(2, 12)]
    )
    frames, replies, _ = channel.collect(range(1, 12))
    assert len(frames) == 1
    assert [r.id for r in frames[0].replies] == list(range(1, 12))


def test_batches_are_bounded_to_64_replies(channel):
    channel.send(
        [make_request(1, "sleep_ms", {"ms": 150})]
        + [make_request(i, "ping") for i in range(2, 101)]
    )
    frames, replies, _ = channel.collect(range(1, 101))
    assert len(replies) == 100
    assert max(len(f.replies) for f in frames) == 64


def test_streaming_tool_sends_ordered_chunks_then_final(channel):
    channel.send([make_request(9, "stream_count", {"count": 4})])
    _, replies, chunks = channel.collect([9])
    assert 9 not in replies
    assert [c.seq for c in chunks[9]] == [0, 1, 2, 3, 4]
    assert [decode(c.data) for c in chunks[9][:-1]] == [{"i": n} for n in range(4)]
    assert chunks[9][-1].final and not chunks[9][-1].HasField("error")


def test_exception_mid_stream_ends_it_with_an_error_chunk(start_worker):
    worker = start_worker("sample_adapters:ProbeAdapter")
    client = ChannelClient(worker.stub)
    try:
        client.send([make_request(1, "stream_then_fail", {"items": 2}), make_request(2, "context")])
        _, replies, chunks = client.collect([1, 2])
        assert [c.seq for c in chunks[1]] == [0, 1, 2]
        final = chunks[1][-1]
        assert final.final and final.error.category == pb.PYTHON_EXCEPTION
        assert final.error.type == "RuntimeError" and "stream_then_fail" in final.error.traceback
        assert result_of(replies[2])["request_id"] == 2
    finally:
        client.cancel_call()


def test_replies_made_before_a_stream_are_not_held_back_by_it(start_worker):
    worker = start_worker("sample_adapters:ProbeAdapter")
    client = ChannelClient(worker.stub)
    try:
        client.send(
            [
                make_request(1, "sleep", {"ms": 100}),
                make_request(2, "context"),
                make_request(3, "slow_first_item", {"ms": 1500}),
            ]
        )
        started = time.monotonic()
        client.collect([1, 2])
        assert time.monotonic() - started < 1.2
        _, _, chunks = client.collect([3])
        assert decode(chunks[3][0].data) == "late"
    finally:
        client.cancel_call()


def test_request_cancelled_before_it_starts_is_not_run(channel):
    channel.send([make_request(1, "sleep_ms", {"ms": 500}), make_request(2, "echo", {"x": 2})])
    channel.send(cancel=[2])
    _, replies, _ = channel.collect([1, 2])
    assert result_of(replies[1]) == {"slept_ms": 500}
    assert replies[2].error.category == pb.CANCELLED


def test_cancelled_running_stream_stops_after_the_chunk_in_progress(channel):
    channel.send([make_request(1, "stream_count", {"count": 1000, "delay_ms": 10})])
    first = channel.receive()
    assert first.chunks[0].seq == 0
    channel.send(cancel=[1])
    _, _, chunks = channel.collect([1])
    final = chunks[1][-1]
    assert final.final and final.error.category == pb.CANCELLED
    assert final.seq < 100


def cancel_while_running(channel, request_id):
    """Cancels a call that is running now; (its reply, seconds the cancel took)."""
    time.sleep(0.1)
    started = time.monotonic()
    channel.send(cancel=[request_id])
    _, replies, _ = channel.collect([request_id])
    return replies[request_id], time.monotonic() - started


def test_cancelled_running_tool_that_watches_ctx_answers_cancelled(channel):
    channel.send([make_request(1, "sleep_ms", {"ms": 5000})])
    reply, took = cancel_while_running(channel, 1)
    assert reply.error.category == pb.CANCELLED
    assert took < 1.0


def test_cancel_of_an_unknown_id_is_ignored(channel):
    channel.send(cancel=[12345])
    channel.send([make_request(12345, "ping")])
    _, replies, _ = channel.collect([12345])
    assert result_of(replies[12345])["pong"] is True


def test_request_whose_budget_expired_in_the_queue_is_timeout_without_running(channel):
    channel.send(
        [
            make_request(1, "sleep_ms", {"ms": 200}),
            make_request(2, "echo", {"x": 2}, timeout_ms=50),
            make_request(3, "echo", {"x": 3}, timeout_ms=5000),
        ]
    )
    _, replies, _ = channel.collect([1, 2, 3])
    assert replies[2].error.category == pb.TIMEOUT
    assert result_of(replies[3]) == {"x": 3}


def test_unknown_tool_and_bad_arguments_on_the_channel(channel):
    channel.send([make_request(1, "nope"), make_request(2, "add", {"a": 1})])
    _, replies, _ = channel.collect([1, 2])
    assert replies[1].error.category == pb.UNKNOWN_COMMAND
    assert replies[2].error.category == pb.INVALID_ARGUMENT


def test_half_closed_channel_finishes_queued_requests_then_ends(channel):
    channel.send([make_request(1, "sleep_ms", {"ms": 100}), make_request(2, "ping")])
    channel.close()
    _, replies, _ = channel.collect([1, 2])
    assert set(replies) == {1, 2}
    with pytest.raises(EOFError):
        channel.receive()


def test_batches_are_bounded_in_bytes(channel):
    payload = b"x" * (600 * 1024)
    channel.send(
        [make_request(1, "sleep_ms", {"ms": 150})]
        + [make_request(i, "echo_bytes", {"data": payload}) for i in range(2, 5)]
    )
    frames, replies, _ = channel.collect(range(1, 5))
    assert [[r.id for r in f.replies] for f in frames] == [[1, 2, 3], [4]]
    assert all(result_of(replies[i]) == payload for i in range(2, 5))


def test_malformed_frame_ends_the_channel_with_invalid_argument(shared_worker):
    raw_channel = grpc.insecure_channel(shared_worker.address)
    try:
        call = raw_channel.stream_stream("/snakepit.bridge.v1.WorkerService/Channel")
        responses = call(iter([b"\x0a\x05\x08"]), timeout=5)  # a request cut short
        with pytest.raises(grpc.RpcError) as raised:
            list(responses)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "malformed" in raised.value.details()
    finally:
        raw_channel.close()
    assert shared_worker.call("ping")["pong"] is True  # the worker itself is fine


# --- the worker reads frames itself when idle, a helper while a call runs long


def lock_step(client, first_id, count, tool="echo"):
    """``count`` calls one at a time, each waiting for its reply; each reply
    must come alone, in order, with the right result."""
    for request_id in range(first_id, first_id + count):
        client.send([make_request(request_id, tool, {"n": request_id})])
        frame = client.receive(timeout=5)
        assert [r.id for r in frame.replies] == [request_id]
        if tool == "echo":
            assert result_of(frame.replies[0]) == {"n": request_id}


@pytest.mark.parametrize("pause_s", [0.0, 0.3], ids=["at_once", "after_an_idle_pause"])
def test_cancel_reaches_a_long_call_that_followed_lock_step_calls(channel, pause_s):
    lock_step(channel, 1, 20)
    time.sleep(pause_s)  # long enough for the helper reader to go to sleep
    channel.send([make_request(100, "sleep_ms", {"ms": 10_000})])
    reply, took = cancel_while_running(channel, 100)
    assert reply.error.category == pb.CANCELLED
    assert took < 3.0  # the call would take 10 s


def test_cancel_reaches_a_long_call_that_holds_the_gil(start_worker):
    worker = start_worker("sample_adapters:ProbeAdapter")
    client = ChannelClient(worker.stub)
    try:
        client.send([make_request(1, "context")])
        client.collect([1])
        client.send([make_request(2, "spin_until_cancelled", {"max_ms": 10_000})])
        time.sleep(0.1)
        started = time.monotonic()
        client.send(cancel=[2])
        _, replies, _ = client.collect([2], timeout=15)
        assert replies[2].error.category == pb.CANCELLED
        assert time.monotonic() - started < 3.0
    finally:
        client.cancel_call()


def test_requests_sent_in_separate_frames_during_a_long_call_share_its_reply_frame(channel):
    lock_step(channel, 1, 5)
    channel.send([make_request(10, "sleep_ms", {"ms": 1000})])
    for request_id in range(11, 15):
        time.sleep(0.05)
        channel.send([make_request(request_id, "echo", {"n": request_id})])
    channel.send(cancel=[14])  # read while 10 still runs: 14 never starts
    frames, replies, _ = channel.collect(range(10, 15))
    assert [[r.id for r in f.replies] for f in frames] == [[10, 11, 12, 13, 14]]
    assert [result_of(replies[i]) for i in (11, 12, 13)] == [{"n": i} for i in (11, 12, 13)]
    assert replies[14].error.category == pb.CANCELLED


def test_worker_answers_lock_step_calls_in_order_again_after_a_long_call(channel):
    lock_step(channel, 1, 30)
    channel.send([make_request(100, "sleep_ms", {"ms": 100})])
    assert [r.id for r in channel.receive().replies] == [100]
    lock_step(channel, 101, 200)
    channel.send([make_request(400, "stream_count", {"count": 3, "delay_ms": 20})])
    _, _, chunks = channel.collect([400])
    assert [c.seq for c in chunks[400]] == [0, 1, 2, 3]
    lock_step(channel, 401, 100, tool="ping")


def test_many_lock_step_calls_mixed_with_long_calls_lose_nothing(channel):
    answered = []
    request_id = 0
    for round_ in range(600):
        request_id += 1
        if round_ % 50 == 49:
            # A long call, with a request and a cancel of another arriving
            # while it runs (read by the helper), then lock-step again.
            long_id, queued_id, doomed_id = request_id, request_id + 1, request_id + 2
            request_id += 2
            channel.send([make_request(long_id, "sleep_ms", {"ms": 30})])
            channel.send([make_request(queued_id, "echo", {"n": queued_id})])
            channel.send([make_request(doomed_id, "sleep_ms", {"ms": 5000})], cancel=[doomed_id])
            _, replies, _ = channel.collect([long_id, queued_id, doomed_id])
            assert result_of(replies[long_id]) == {"slept_ms": 30}
            assert result_of(replies[queued_id]) == {"n": queued_id}
            assert replies[doomed_id].error.category == pb.CANCELLED
            answered += [long_id, queued_id, doomed_id]
        else:
            channel.send([make_request(request_id, "echo", {"n": request_id})])
            frame = channel.receive(timeout=5)
            assert [r.id for r in frame.replies] == [request_id]
            assert result_of(frame.replies[0]) == {"n": request_id}
            answered.append(request_id)
    assert answered == list(range(1, request_id + 1))
    with pytest.raises(queue.Empty):
        channel.receive(timeout=0.3)  # nothing answered twice


def test_half_close_of_an_idle_channel_ends_it(channel):
    lock_step(channel, 1, 3)
    channel.close()
    with pytest.raises(EOFError):
        channel.receive()


def test_host_cancelling_an_idle_channel_leaves_the_worker_serving(shared_worker):
    first = ChannelClient(shared_worker.stub)
    lock_step(first, 1, 3)
    first.cancel_call()
    with pytest.raises(grpc.RpcError):
        first.receive()
    second = ChannelClient(shared_worker.stub)
    try:
        lock_step(second, 1, 3)
    finally:
        second.cancel_call()
