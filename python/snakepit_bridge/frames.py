"""The Channel's frames on the wire: HostFrame in, WorkerFrame pieces out.

Coded by hand (see protowire) because this is the per-call hot path. A
WorkerFrame is the concatenation of its fields, so each answer is encoded
once as a complete ``replies`` or ``chunks`` field and a frame is just
``b"".join(pieces)``.

The same answer bodies, parsed by protobuf, give the Reply and Chunk
messages of the unary calls (see ``MessageAnswers`` in servicer.py).
"""

import struct

from .call import Call
from .protowire import (
    WireFormatError,
    length_delimited,
    prefix_table,
    read_tag,
    read_varint,
    skip_field,
    varint,
)
from .values import decode_map_fields, encode_value

# HostFrame
_REQUEST = 0x0A  # requests = 1
_CANCEL_PACKED = 0x12  # cancel = 2, packed (proto3 default)
_CANCEL = 0x10  # cancel = 2, one varint
# Request
_ID = 0x08  # id = 1
_TOOL = 0x12  # tool = 2
_ARGS = 0x1A  # args = 3
_SESSION = 0x22  # session_id = 4
_TIMEOUT = 0x28  # timeout_ms = 5
_METADATA = 0x32  # metadata = 6 (map entries: key = 1, value = 2)
_ENTRY_KEY = 0x0A
_ENTRY_VALUE = 0x12

# WorkerFrame: replies = 1, chunks = 2
_REPLY_FIELD = b"\x0a"
_CHUNK_FIELD = b"\x12"
# Reply: id = 1, result = 2, error = 3
_ID_TAG = b"\x08"
_RESULT_TAG = b"\x12"
_REPLY_ERROR_TAG = b"\x1a"
# Chunk: id = 1, seq = 2, data = 3, final = 4, error = 5
_SEQ_TAG = b"\x10"
_DATA_TAG = b"\x1a"
_FINAL_TRUE = b"\x20\x01"
_CHUNK_ERROR_TAG = b"\x2a"
_RESULT_PREFIX = prefix_table(_RESULT_TAG[0])
_REPLY_PREFIX = prefix_table(_REPLY_FIELD[0])


# --- HostFrame -------------------------------------------------------------------


def parse_host_frame(data, received_at: float):
    """(calls, cancelled ids) of a serialized HostFrame received at
    ``received_at`` (time.monotonic()); WireFormatError if malformed."""
    calls = []
    cancels = []
    pos = 0
    end = len(data)
    try:
        while pos < end:
            tag, pos = read_tag(data, pos)
            if tag == _REQUEST:
                length, pos = read_varint(data, pos)
                if pos + length > end:
                    raise WireFormatError("malformed HostFrame: a request runs past its end")
                calls.append(_parse_request(data, pos, pos + length, received_at))
                pos += length
            elif tag == _CANCEL_PACKED:
                length, pos = read_varint(data, pos)
                packed_end = pos + length
                if packed_end > end:
                    raise WireFormatError("malformed HostFrame: cancel ids run past the end")
                while pos < packed_end:
                    request_id, pos = read_varint(data, pos)
                    cancels.append(request_id)
            elif tag == _CANCEL:
                request_id, pos = read_varint(data, pos)
                cancels.append(request_id)
            else:
                pos = skip_field(data, pos, tag, end)
    except (IndexError, UnicodeDecodeError, struct.error) as exc:
        raise WireFormatError(f"malformed HostFrame: {exc}") from None
    if pos != end:
        raise WireFormatError("malformed HostFrame: a field runs past its end")
    return calls, cancels


def _parse_request(data, pos: int, end: int, received_at: float) -> Call:
    request_id = 0
    tool = ""
    args = None
    session_id = ""
    timeout_ms = 0
    metadata = None
    while pos < end:
        tag = data[pos]
        pos += 1
        if tag == _ID or tag == _TIMEOUT:
            # Ids and budgets are mostly two or three bytes: inlined.
            number = data[pos]
            if number < 128:
                pos += 1
            else:
                byte = data[pos + 1]
                if byte < 128:
                    number = (number & 0x7F) | (byte << 7)
                    pos += 2
                else:
                    third = data[pos + 2]
                    if third < 128:
                        number = (number & 0x7F) | ((byte & 0x7F) << 7) | (third << 14)
                        pos += 3
                    else:
                        number, pos = read_varint(data, pos)
            if tag == _ID:
                request_id = number
            else:
                timeout_ms = number
        elif tag == _TOOL or tag == _ARGS or tag == _SESSION or tag == _METADATA:
            # One-byte lengths inlined: this runs for every call.
            length = data[pos]
            if length < 128:
                pos += 1
            else:
                length, pos = read_varint(data, pos)
            field_end = pos + length
            if field_end > end:
                raise WireFormatError("malformed Request: a field runs past its end")
            if tag == _TOOL:
                tool = str(data[pos:field_end], "utf-8")
            elif tag == _ARGS:
                args = decode_map_fields(data, pos, field_end)
            elif tag == _SESSION:
                session_id = str(data[pos:field_end], "utf-8")
            else:
                if metadata is None:
                    metadata = {}
                key, value = _parse_string_entry(data, pos, field_end)
                metadata[key] = value
            pos = field_end
        else:
            tag, pos = read_tag(data, pos - 1)
            pos = skip_field(data, pos, tag, end)
    if pos != end:
        raise WireFormatError("malformed Request: a field runs past its end")
    return Call(
        request_id,
        tool,
        {} if args is None else args,
        session_id,
        timeout_ms,
        metadata,
        received_at + timeout_ms / 1000.0 if timeout_ms else None,
    )


def _parse_string_entry(data, pos: int, end: int):
    key = value = ""
    while pos < end:
        tag, pos = read_tag(data, pos)
        if tag == _ENTRY_KEY or tag == _ENTRY_VALUE:
            length, pos = read_varint(data, pos)
            text = str(data[pos : pos + length], "utf-8")
            pos += length
            if tag == _ENTRY_KEY:
                key = text
            else:
                value = text
        else:
            pos = skip_field(data, pos, tag, end)
    return key, value


# --- answer bodies (serialized Reply / Chunk) -------------------------------------


def _id_field(request_id: int) -> bytes:
    return _ID_TAG + varint(request_id) if request_id else b""


def reply_result_body(request_id: int, value) -> bytes:
    """A serialized Reply with a result; encoding errors propagate."""
    return _id_field(request_id) + length_delimited(_RESULT_TAG, encode_value(value))


def reply_error_body(request_id: int, error) -> bytes:
    """A serialized Reply with an error (an ``ErrorInfo`` message)."""
    return _id_field(request_id) + length_delimited(_REPLY_ERROR_TAG, error.SerializeToString())


def chunk_body(request_id: int, seq: int, value) -> bytes:
    """A serialized data Chunk; encoding errors propagate."""
    seq_field = _SEQ_TAG + varint(seq) if seq else b""
    return _id_field(request_id) + seq_field + length_delimited(_DATA_TAG, encode_value(value))


def final_chunk_body(request_id: int, seq: int, error=None) -> bytes:
    """A serialized final Chunk, with an ``ErrorInfo`` if the stream failed."""
    seq_field = _SEQ_TAG + varint(seq) if seq else b""
    error_field = (
        length_delimited(_CHUNK_ERROR_TAG, error.SerializeToString()) if error is not None else b""
    )
    return _id_field(request_id) + seq_field + _FINAL_TRUE + error_field


class FramePieces:
    """Answers as WorkerFrame fields (bytes), ready to be joined into a frame."""

    @staticmethod
    def result(request_id, value) -> bytes:
        # reply_result_body wrapped in its field, flattened: once per call.
        data = encode_value(value)
        n = len(data)
        body = (
            (_ID_TAG + varint(request_id) if request_id else b"")
            + (_RESULT_PREFIX[n] if n < 128 else _RESULT_TAG + varint(n))
            + data
        )
        n = len(body)
        return (_REPLY_PREFIX[n] if n < 128 else _REPLY_FIELD + varint(n)) + body

    @staticmethod
    def error(request_id, error) -> bytes:
        return length_delimited(_REPLY_FIELD, reply_error_body(request_id, error))

    @staticmethod
    def chunk(request_id, seq, value) -> bytes:
        return length_delimited(_CHUNK_FIELD, chunk_body(request_id, seq, value))

    @staticmethod
    def final(request_id, seq, error=None) -> bytes:
        return length_delimited(_CHUNK_FIELD, final_chunk_body(request_id, seq, error))
