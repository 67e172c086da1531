"""Python values survive the trip through ``Value`` with their types."""

import collections
import enum
import math

import numpy
import pytest

import snakepit_bridge_pb2 as pb
from snakepit_bridge.values import decode, decode_map, encode, encode_map_into


def round_trip(value):
    wire = pb.Value.FromString(encode(value).SerializeToString())
    return decode(wire)


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -1,
        2**63 - 1,
        -(2**63),
        0.0,
        -2.5,
        1e300,
        "",
        "héllo ✓",
        b"",
        b"\x00\xff\x10",
        [],
        {},
        [1, "two", 3.0, None, b"4", [5], {"six": 6}],
        {"a": {"b": {"c": [1, {"d": b"e"}]}}},
    ],
    ids=repr,
)
def test_value_round_trips_with_its_type(value):
    result = round_trip(value)
    assert result == value
    assert type(result) is type(value)


def test_bool_stays_bool_and_int_stays_int():
    assert round_trip(True) is True
    assert type(round_trip(1)) is int
    assert encode(True).WhichOneof("kind") == "bool_value"
    assert encode(1).WhichOneof("kind") == "int_value"


def test_float_with_integral_value_stays_float():
    result = round_trip(3.0)
    assert type(result) is float and result == 3.0


def test_nested_types_are_kept_at_every_depth():
    value = {"ints": [1, 2], "bytes": [b"x"], "flags": [True, False], "nested": {"f": 1.5}}
    result = round_trip(value)
    assert result == value
    assert [type(x) for x in result["ints"]] == [int, int]
    assert type(result["bytes"][0]) is bytes
    assert [type(x) for x in result["flags"]] == [bool, bool]


def test_map_keeps_insertion_order():
    value = {"z": 1, "a": 2, "m": 3}
    assert list(round_trip(value)) == ["z", "a", "m"]


def test_non_finite_floats_cross():
    assert round_trip(math.inf) == math.inf
    assert math.isnan(round_trip(math.nan))


def test_tuple_becomes_list():
    assert round_trip((1, (2, 3))) == [1, [2, 3]]


def test_bytearray_and_memoryview_become_bytes():
    assert round_trip(bytearray(b"ab")) == b"ab"
    assert type(round_trip(memoryview(b"cd"))) is bytes


def test_subclasses_encode_as_their_base_type():
    class Color(enum.IntEnum):
        RED = 1

    ordered = collections.OrderedDict([("b", 1), ("a", 2)])
    assert round_trip(Color.RED) == 1 and type(round_trip(Color.RED)) is int
    assert round_trip(ordered) == {"b": 1, "a": 2}


def test_empty_list_and_map_are_not_null():
    assert encode([]).WhichOneof("kind") == "list_value"
    assert encode({}).WhichOneof("kind") == "map_value"


def test_unset_value_decodes_to_none():
    assert decode(pb.Value()) is None


def test_unsupported_type_raises_type_error_naming_it():
    with pytest.raises(TypeError, match="complex"):
        encode(1j)
    with pytest.raises(TypeError, match="set"):
        encode({"inner": {1, 2}})


def test_non_string_map_key_raises_type_error():
    with pytest.raises(TypeError, match="key of type int"):
        encode({1: "one"})


def test_int_outside_int64_raises_overflow_error():
    with pytest.raises(OverflowError):
        encode(2**63)


def test_numpy_scalars_become_python_scalars():
    assert round_trip(numpy.int32(7)) == 7 and type(round_trip(numpy.int32(7))) is int
    assert type(round_trip(numpy.float32(0.5))) is float
    assert round_trip(numpy.bool_(True)) is True


def test_numpy_array_becomes_shape_dtype_and_flat_data():
    array = numpy.arange(6, dtype=numpy.int64).reshape(2, 3)
    assert round_trip(array) == {"shape": [2, 3], "dtype": "int64", "data": [0, 1, 2, 3, 4, 5]}


def test_map_helpers_encode_and_decode_keyword_arguments():
    out = pb.ValueMap()
    encode_map_into({"a": 1, "b": [b"x"]}, out)
    assert decode_map(out) == {"a": 1, "b": [b"x"]}
