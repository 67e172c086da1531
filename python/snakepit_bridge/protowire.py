"""Protocol-buffers wire primitives: varints, tags, skipping unknown fields.

Debian's protobuf runtime is the C++ extension, where every field access
creates Python objects (~0.1-0.7 us each). On the per-call hot path
(Value, HostFrame, WorkerFrame) reading and writing the wire format
directly in Python is about twice as fast, so those few messages are coded
by hand on top of these helpers; tests check them against the real protobuf.
"""

__all__ = [
    "WireFormatError",
    "prefix_table",
    "varint",
    "read_varint",
    "read_tag",
    "skip_field",
    "length_delimited",
]

VARINT = 0
FIXED64 = 1
LENGTH_DELIMITED = 2
FIXED32 = 5

_ONE_BYTE = [bytes((n,)) for n in range(128)]


class WireFormatError(ValueError):
    """The bytes are not a valid encoding of the expected message."""


def varint(n: int) -> bytes:
    """The varint encoding of a non-negative int below 2**64."""
    if n < 128:
        return _ONE_BYTE[n]
    if n < 16384:  # request ids, lengths of a few KiB
        return bytes(((n & 0x7F) | 0x80, n >> 7))
    out = bytearray()
    while n >= 128:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def prefix_table(tag: int) -> list:
    """``table[n]`` is tag + length for a length-delimited field of n < 128
    bytes: one list index instead of two concatenations on the hot path."""
    return [bytes((tag, n)) for n in range(128)]


def length_delimited(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: tag, length, payload."""
    n = len(payload)
    return tag + (_ONE_BYTE[n] if n < 128 else varint(n)) + payload


def read_varint(buf, pos: int):
    """(value, next position) of the varint at ``pos``. Raises IndexError on
    truncated input; callers turn that into WireFormatError."""
    byte = buf[pos]
    if byte < 128:
        return byte, pos + 1
    result = byte & 0x7F
    shift = 7
    pos += 1
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 128:
            return result, pos
        shift += 7
        if shift >= 70:
            raise WireFormatError("varint longer than 10 bytes")


def read_tag(buf, pos: int):
    """(tag, next position); tags of fields 1-15 are one byte."""
    tag = buf[pos]
    if tag < 128:
        return tag, pos + 1
    return read_varint(buf, pos)


def skip_field(buf, pos: int, tag: int, end: int) -> int:
    """Position after the value of an unknown field (kept for forward
    compatibility: a newer host may send fields this worker does not know)."""
    wire_type = tag & 7
    if wire_type == VARINT:
        _, pos = read_varint(buf, pos)
    elif wire_type == FIXED64:
        pos += 8
    elif wire_type == LENGTH_DELIMITED:
        length, pos = read_varint(buf, pos)
        pos += length
    elif wire_type == FIXED32:
        pos += 4
    else:
        raise WireFormatError(f"unsupported wire type {wire_type} (tag {tag})")
    if pos > end:
        raise WireFormatError("field runs past the end of its message")
    return pos
