"""The hand-written wire codec agrees byte for byte with protobuf itself."""

import random

import pytest

import snakepit_bridge_pb2 as pb
from snakepit_bridge.frames import FramePieces, parse_host_frame
from snakepit_bridge.protowire import WireFormatError, varint
from snakepit_bridge.values import decode_value, encode_value


def oracle(value) -> "pb.Value":
    """The Value built with the protobuf API: the reference encoding."""
    out = pb.Value()
    if value is None:
        out.null_value = pb.NULL_VALUE
    elif isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        out.int_value = value
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, bytes):
        out.bytes_value = value
    elif isinstance(value, list):
        out.list_value.SetInParent()
        for item in value:
            out.list_value.items.append(oracle(item))
    else:
        out.map_value.SetInParent()
        for key, item in value.items():
            out.map_value.entries.add(key=key, value=oracle(item))
    return out


def random_value(rng: random.Random, depth: int = 0):
    kinds = ["none", "bool", "int", "bigint", "float", "str", "bytes"]
    if depth < 3:
        kinds += ["list", "dict"]
    kind = rng.choice(kinds)
    if kind == "none":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "int":
        return rng.randint(-300, 300)
    if kind == "bigint":
        return rng.randint(-(2**63), 2**63 - 1)
    if kind == "float":
        return rng.uniform(-1e12, 1e12)
    if kind == "str":
        return "".join(rng.choice("aé✓z\U0001f40d ") for _ in range(rng.choice([0, 3, 130])))
    if kind == "bytes":
        return rng.randbytes(rng.choice([0, 5, 127, 128, 20000]))
    if kind == "list":
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 6))]
    return {
        f"k{i}" * rng.choice([1, 50]): random_value(rng, depth + 1)
        for i in range(rng.randint(0, 6))
    }


@pytest.mark.parametrize("seed", range(300))
def test_random_values_encode_exactly_like_protobuf_and_decode_back(seed):
    value = random_value(random.Random(seed))
    reference = oracle(value).SerializeToString()
    assert encode_value(value) == reference
    assert decode_value(reference) == value


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63), -1, 0, 127, 128, 2**32, -(2**40)])
def test_int64_edges_match_protobuf(value):
    assert encode_value(value) == oracle(value).SerializeToString()
    assert decode_value(oracle(value).SerializeToString()) == value


def test_unknown_fields_in_a_value_are_skipped():
    unknown = (
        varint(15 << 3 | 0) + varint(300)  # varint field 15
        + varint(200 << 3 | 2) + varint(3) + b"abc"  # length-delimited field 200
        + varint(16 << 3 | 5) + b"\x00\x00\x00\x00"  # fixed32 field 16
        + varint(17 << 3 | 1) + b"\x00" * 8  # fixed64 field 17
    )
    data = unknown + oracle({"a": [1, "x"]}).SerializeToString() + unknown
    assert decode_value(data) == {"a": [1, "x"]}


def test_empty_value_decodes_to_none():
    assert decode_value(b"") is None


@pytest.mark.parametrize("cut", [1, 3, 7])
def test_truncated_value_raises_wire_format_error(cut):
    data = oracle({"key": b"0123456789"}).SerializeToString()
    with pytest.raises(WireFormatError):
        decode_value(data[:-cut])


def test_host_frame_parses_like_protobuf():
    frame = pb.HostFrame(cancel=[3, 2**64 - 1])
    request = frame.requests.add(
        id=2**63 + 5,
        tool="t" * 200,
        session_id="session-1",
        timeout_ms=2**32 - 1,
        metadata={"correlation_id": "c-1", "k" * 150: "v" * 150},
    )
    request.args.entries.add(key="data", value=oracle(b"\x00" * 5000))
    request.args.entries.add(key="n", value=oracle(-7))
    frame.requests.add(id=9, tool="ping")
    calls, cancels = parse_host_frame(frame.SerializeToString(), received_at=100.0)

    assert cancels == [3, 2**64 - 1]
    first, second = calls
    assert first.id == 2**63 + 5 and first.tool == "t" * 200
    assert first.args == {"data": b"\x00" * 5000, "n": -7}
    assert first.session_id == "session-1"
    assert first.timeout_ms == 2**32 - 1
    assert first.deadline == pytest.approx(100.0 + (2**32 - 1) / 1000.0)
    assert first.metadata == {"correlation_id": "c-1", "k" * 150: "v" * 150}
    assert (second.id, second.tool, second.args, second.deadline, second.metadata) == (
        9, "ping", {}, None, None,
    )


def test_unpacked_cancel_ids_are_accepted():
    data = varint(2 << 3 | 0) + varint(11) + varint(2 << 3 | 0) + varint(12)
    assert parse_host_frame(data, 0.0) == ([], [11, 12])


def test_malformed_host_frame_raises_wire_format_error():
    data = pb.HostFrame(requests=[pb.Request(id=1, tool="echo")]).SerializeToString()
    with pytest.raises(WireFormatError):
        parse_host_frame(data[:-2], 0.0)


def test_frame_pieces_join_into_the_worker_frame_protobuf_builds():
    error = pb.ErrorInfo(category=pb.TIMEOUT, type="RequestTimeoutError", message="late")
    pieces = [
        FramePieces.result(1, {"x": [1, 2.5]}),
        FramePieces.error(2, error),
        FramePieces.result(0, None),
        FramePieces.chunk(3, 0, "a"),
        FramePieces.chunk(3, 1, b"b" * 300),
        FramePieces.final(3, 2),
        FramePieces.final(4, 0, error),
    ]
    expected = pb.WorkerFrame()
    expected.replies.add(id=1, result=oracle({"x": [1, 2.5]}))
    expected.replies.add(id=2, error=error)
    expected.replies.add(id=0, result=oracle(None))
    parsed = pb.WorkerFrame.FromString(b"".join(pieces))
    assert list(parsed.replies) == list(expected.replies)
    assert [(c.id, c.seq, c.final, c.HasField("error")) for c in parsed.chunks] == [
        (3, 0, False, False), (3, 1, False, False), (3, 2, True, False), (4, 0, True, True),
    ]
    assert parsed.chunks[1].data == oracle(b"b" * 300)
    assert parsed.chunks[3].error == error
    assert b"".join(pieces[:2]) == pb.WorkerFrame(replies=expected.replies[:2]).SerializeToString()


def test_every_truncation_of_a_host_frame_is_rejected():
    request = pb.Request(id=300, tool="echo", session_id="s", timeout_ms=1000)
    request.args.entries.add(key="k", value=oracle([1, "two"]))
    request.metadata["correlation_id"] = "c"
    data = pb.HostFrame(requests=[request]).SerializeToString()  # one field
    for cut in range(1, len(data)):
        with pytest.raises(WireFormatError):
            parse_host_frame(data[:cut], 0.0)


def test_inner_length_past_its_enclosing_field_is_rejected():
    bad_args = b"\x0a\x10" + b"\x0a\x01k"  # a map entry claiming 16 bytes, 3 present
    request = b"\x08\x01" + b"\x1a" + varint(len(bad_args)) + bad_args + b"\x12\x04echo"
    frame = b"\x0a" + varint(len(request)) + request
    with pytest.raises(WireFormatError):
        parse_host_frame(frame, 0.0)
    with pytest.raises(WireFormatError):
        decode_value(b"\x42" + varint(len(bad_args)) + bad_args + b"\x08\x00")
