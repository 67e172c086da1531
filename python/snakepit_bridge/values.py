"""Python values <-> ``snakepit.bridge.v1.Value``.

Mapping (encode):

=====================================  ===================================
Python                                 Value
=====================================  ===================================
``None``                               ``null_value``
``bool`` (checked before ``int``)      ``bool_value``
``int`` (must fit in int64)            ``int_value``
``float``                              ``double_value``
``str``                                ``string_value``
``bytes``, ``bytearray``, memoryview   ``bytes_value``
``list``, ``tuple``                    ``list_value``
``dict`` / Mapping with ``str`` keys   ``map_value`` (insertion order kept)
numpy scalar (``numpy.generic``)       as its Python scalar (``.item()``)
``numpy.ndarray``                      ``{"shape": [..], "dtype": str,
                                       "data": [..]}``: ``data`` is the
                                       array flattened in C (row-major)
                                       order as Python scalars
=====================================  ===================================

Decoding gives the plain Python types of the left column: ``list`` for
lists (a tuple comes back as a list), ``dict`` for maps, ``bytes`` for bytes;
an encoded array comes back as its dict. A ``Value`` with nothing set decodes
to ``None``.

Any other type raises ``TypeError`` naming it; an ``int`` outside int64 raises
``OverflowError``; a ``str`` that is not valid Unicode (lone surrogates)
raises ``UnicodeEncodeError``. numpy is never imported here: a numpy value
can only exist if the caller already imported it, so it is looked up in
``sys.modules``.

This is the hot path of every call, so values are coded straight to and from
the wire format (see protowire): ``encode_value`` / ``decode_value`` work on
bytes, and ``encode`` / ``decode`` wrap them for code that holds protobuf
message objects.
"""

import struct
import sys
from collections.abc import Mapping

from ._proto import pb
from .protowire import WireFormatError, prefix_table, read_tag, read_varint, skip_field, varint

__all__ = [
    "encode_value",
    "encode_map",
    "decode_value",
    "decode_map_fields",
    "encode",
    "encode_into",
    "encode_map_into",
    "decode",
    "decode_map",
]

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_pack_double = struct.Struct("<d").pack
_unpack_double = struct.Struct("<d").unpack_from

# Tags (field number << 3 | wire type) of Value, ValueList, ValueMap, MapEntry.
_NULL = 0x08  # 1, varint
_BOOL = 0x10  # 2, varint
_INT = 0x18  # 3, varint (zig-zag)
_DOUBLE = 0x21  # 4, fixed64
_STRING = 0x2A  # 5, length-delimited
_BYTES = 0x32  # 6
_LIST = 0x3A  # 7
_MAP = 0x42  # 8
_ITEM = 0x0A  # ValueList.items = 1
_ENTRY = 0x0A  # ValueMap.entries = 1
_KEY = 0x0A  # MapEntry.key = 1
_VALUE = 0x12  # MapEntry.value = 2

_NULL_BYTES = bytes((_NULL, 0))
_TRUE_BYTES = bytes((_BOOL, 1))
_FALSE_BYTES = bytes((_BOOL, 0))
_INT_TAG = bytes((_INT,))
_DOUBLE_TAG = bytes((_DOUBLE,))
# For each length-delimited tag: the tag byte, and tag + length for n < 128.
_STRING_TAG, _STRING_PREFIX = bytes((_STRING,)), prefix_table(_STRING)
_BYTES_TAG, _BYTES_PREFIX = bytes((_BYTES,)), prefix_table(_BYTES)
_LIST_TAG, _LIST_PREFIX = bytes((_LIST,)), prefix_table(_LIST)
_MAP_TAG, _MAP_PREFIX = bytes((_MAP,)), prefix_table(_MAP)
_ITEM_TAG, _ITEM_PREFIX = bytes((_ITEM,)), prefix_table(_ITEM)
_ENTRY_TAG, _ENTRY_PREFIX = bytes((_ENTRY,)), prefix_table(_ENTRY)
_KEY_TAG, _KEY_PREFIX = bytes((_KEY,)), prefix_table(_KEY)
_VALUE_TAG, _VALUE_PREFIX = bytes((_VALUE,)), prefix_table(_VALUE)


# --- encode: Python -> serialized Value ----------------------------------------
# The `x if n < 128 else ...` expressions inline the common one-byte length.


def encode_value(value) -> bytes:
    """The serialized ``Value`` holding ``value``."""
    encoder = _ENCODERS.get(type(value)) or _encoder_for_other(value)
    return encoder(value)


def encode_map(mapping) -> bytes:
    """The serialized ``ValueMap`` holding a str-keyed mapping."""
    parts = []
    encoders = _ENCODERS
    for key, item in mapping.items():
        if type(key) is not str:
            key = _string_key(key)
        key_bytes = key.encode()
        n = len(key_bytes)
        entry = (_KEY_PREFIX[n] if n < 128 else _KEY_TAG + varint(n)) + key_bytes
        value_bytes = (encoders.get(type(item)) or _encoder_for_other(item))(item)
        n = len(value_bytes)
        entry += (_VALUE_PREFIX[n] if n < 128 else _VALUE_TAG + varint(n)) + value_bytes
        n = len(entry)
        parts.append((_ENTRY_PREFIX[n] if n < 128 else _ENTRY_TAG + varint(n)) + entry)
    return b"".join(parts)


def _encode_none(_value):
    return _NULL_BYTES


def _encode_bool(value):
    return _TRUE_BYTES if value else _FALSE_BYTES


def _encode_int(value):
    if _INT64_MIN <= value <= _INT64_MAX:
        return _INT_TAG + varint((value << 1) ^ (value >> 63))
    raise OverflowError(f"int {value} does not fit in a 64-bit Value")


def _encode_float(value):
    return _DOUBLE_TAG + _pack_double(value)


def _encode_str(value):
    data = value.encode()
    n = len(data)
    return (_STRING_PREFIX[n] if n < 128 else _STRING_TAG + varint(n)) + data


def _encode_bytes(value):
    n = len(value)
    return (_BYTES_PREFIX[n] if n < 128 else _BYTES_TAG + varint(n)) + value


def _encode_list(value):
    parts = []
    encoders = _ENCODERS
    for item in value:
        item_bytes = (encoders.get(type(item)) or _encoder_for_other(item))(item)
        n = len(item_bytes)
        parts.append((_ITEM_PREFIX[n] if n < 128 else _ITEM_TAG + varint(n)) + item_bytes)
    body = b"".join(parts)
    n = len(body)
    return (_LIST_PREFIX[n] if n < 128 else _LIST_TAG + varint(n)) + body


def _encode_dict(value):
    body = encode_map(value)
    n = len(body)
    return (_MAP_PREFIX[n] if n < 128 else _MAP_TAG + varint(n)) + body


_ENCODERS = {
    type(None): _encode_none,
    bool: _encode_bool,
    int: _encode_int,
    float: _encode_float,
    str: _encode_str,
    bytes: _encode_bytes,
    list: _encode_list,
    tuple: _encode_list,
    dict: _encode_dict,
}


def _encoder_for_other(value):
    """Encoder for subclasses, buffers, numpy values; TypeError for the rest."""
    # bool is an int subclass, so it is tested first.
    if isinstance(value, bool):
        return lambda v: _encode_bool(bool(v))
    if isinstance(value, int):
        return lambda v: _encode_int(int(v))
    if isinstance(value, float):
        return lambda v: _encode_float(float(v))
    if isinstance(value, str):
        return lambda v: _encode_str(str(v))
    if isinstance(value, (bytes, bytearray)):
        return lambda v: _encode_bytes(bytes(v))
    if isinstance(value, memoryview):
        return lambda v: _encode_bytes(v.tobytes())
    if isinstance(value, (list, tuple)):
        return _encode_list
    if isinstance(value, Mapping):
        return _encode_dict
    numpy_encoder = _numpy_encoder(value)
    if numpy_encoder is not None:
        return numpy_encoder
    raise TypeError(
        f"cannot encode a value of type {_type_name(value)}: supported are None, "
        "bool, int, float, str, bytes, bytearray, memoryview, list, tuple, "
        "dict with str keys, numpy scalars and arrays"
    )


def _numpy_encoder(value):
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return None
    if isinstance(value, numpy.ndarray):
        return _encode_ndarray
    if isinstance(value, numpy.generic):
        return _encode_numpy_scalar
    return None


def _encode_ndarray(array):
    return _encode_dict(
        {
            "shape": list(array.shape),
            "dtype": str(array.dtype),
            "data": array.ravel(order="C").tolist(),
        }
    )


def _encode_numpy_scalar(scalar):
    plain = scalar.item()
    if type(plain) is type(scalar):  # .item() did not give a Python scalar
        raise TypeError(f"cannot encode a value of type {_type_name(scalar)}")
    return encode_value(plain)


def _string_key(key) -> str:
    if isinstance(key, str):
        return str(key)
    raise TypeError(
        f"cannot encode a dict key of type {_type_name(key)} ({key!r}): map keys must be str"
    )


def _type_name(value) -> str:
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


# --- decode: serialized Value -> Python -----------------------------------------


def decode_value(buf, pos: int = 0, end: int = None):
    """The Python value of the serialized ``Value`` in ``buf[pos:end]``.

    A repeated oneof field means the last one wins, as in protobuf.
    """
    if end is None:
        end = len(buf)
    result = None
    try:
        while pos < end:
            tag = buf[pos]
            pos += 1
            if tag == _INT or tag == _BOOL or tag == _NULL:
                n = buf[pos]
                if n < 128:
                    pos += 1
                else:
                    n, pos = read_varint(buf, pos)
                if tag == _INT:
                    result = (n >> 1) ^ -(n & 1)
                elif tag == _BOOL:
                    result = n != 0
                else:
                    result = None
            elif tag == _DOUBLE:
                result = _unpack_double(buf, pos)[0]
                pos += 8
            elif _STRING <= tag <= _MAP and (tag & 7) == 2:
                length = buf[pos]
                if length < 128:
                    pos += 1
                else:
                    length, pos = read_varint(buf, pos)
                field_end = pos + length
                if field_end > end:
                    raise WireFormatError("malformed Value: a field runs past its end")
                if tag == _STRING:
                    result = str(buf[pos:field_end], "utf-8")
                elif tag == _MAP:
                    result = decode_map_fields(buf, pos, field_end)
                elif tag == _BYTES:
                    result = bytes(buf[pos:field_end])
                else:
                    result = _decode_list_fields(buf, pos, field_end)
                pos = field_end
            else:
                tag, pos = read_tag(buf, pos - 1)
                pos = skip_field(buf, pos, tag, end)
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise WireFormatError(f"malformed Value: {exc}") from None
    if pos != end:
        raise WireFormatError("malformed Value: a field runs past its end")
    return result


def decode_map_fields(buf, pos: int, end: int) -> dict:
    """The dict of the serialized ``ValueMap`` in ``buf[pos:end]``."""
    out = {}
    while pos < end:
        if buf[pos] != _ENTRY:
            tag, pos = read_tag(buf, pos)
            pos = skip_field(buf, pos, tag, end)
            continue
        length = buf[pos + 1]
        if length < 128:
            pos += 2
        else:
            length, pos = read_varint(buf, pos + 1)
        entry_end = pos + length
        if entry_end > end:
            raise WireFormatError("malformed ValueMap: an entry runs past its end")
        key = ""
        value = None
        while pos < entry_end:
            tag = buf[pos]
            if tag != _KEY and tag != _VALUE:
                tag, pos = read_tag(buf, pos)
                pos = skip_field(buf, pos, tag, entry_end)
                continue
            length = buf[pos + 1]
            if length < 128:
                pos += 2
            else:
                length, pos = read_varint(buf, pos + 1)
            if tag == _KEY:
                key = str(buf[pos : pos + length], "utf-8")
            else:
                value_end = pos + length
                # Most arguments are short strings or small ints: decoded
                # here, without a call (anything else, or a Value with more
                # than the one field, goes through decode_value).
                kind = buf[pos] if length else -1
                if kind == _STRING and buf[pos + 1] < 128 and pos + 2 + buf[pos + 1] == value_end:
                    value = str(buf[pos + 2 : value_end], "utf-8")
                elif kind == _INT and length == 2 and buf[pos + 1] < 128:
                    n = buf[pos + 1]
                    value = (n >> 1) ^ -(n & 1)
                else:
                    value = decode_value(buf, pos, value_end)
            pos += length
        if pos != entry_end:
            raise WireFormatError("malformed ValueMap: an entry runs past its end")
        out[key] = value
    return out


def _decode_list_fields(buf, pos: int, end: int) -> list:
    out = []
    while pos < end:
        if buf[pos] != _ITEM:
            tag, pos = read_tag(buf, pos)
            pos = skip_field(buf, pos, tag, end)
            continue
        length = buf[pos + 1]
        if length < 128:
            pos += 2
        else:
            length, pos = read_varint(buf, pos + 1)
        if pos + length > end:
            raise WireFormatError("malformed ValueList: an item runs past its end")
        out.append(decode_value(buf, pos, pos + length))
        pos += length
    return out


# --- protobuf message objects ----------------------------------------------------


def encode(value) -> "pb.Value":
    """A new ``Value`` message holding ``value``."""
    return pb.Value.FromString(encode_value(value))


def encode_into(value, out) -> None:
    """Write ``value`` into the empty ``Value`` message ``out``."""
    out.MergeFromString(encode_value(value))


def encode_map_into(mapping, out) -> None:
    """Write a str-keyed mapping into the empty ``ValueMap`` message ``out``."""
    out.MergeFromString(encode_map(mapping))


def decode(message):
    """The Python value of a ``Value`` message."""
    return decode_value(message.SerializeToString())


def decode_map(message) -> dict:
    """The dict of a ``ValueMap`` message."""
    data = message.SerializeToString()
    try:
        return decode_map_fields(data, 0, len(data))
    except (IndexError, UnicodeDecodeError) as exc:
        raise WireFormatError(f"malformed ValueMap: {exc}") from None
