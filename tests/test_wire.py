"""The wire between the grader and a submission's child process carries plain data only, and the
grader decodes it strictly: whatever bytes a hostile child sends, it gets numbers, strings,
tuples, lists, dicts and numeric arrays, or a WireError; never an object of the child's making."""

import json

import numpy as np
import pytest

from spec.support import wire


def round_trip(value):
    buffers: list[bytes] = []
    node = wire.encode(value, buffers, lambda v: pytest.fail(f"{v!r} is plain data"))
    text = json.loads(json.dumps(node))  # what the header carries
    return wire.decode(text, b"".join(buffers))


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        3,
        -2.5,
        float("inf"),
        "text",
        (1, "a"),
        [1.0, [2, (3,)]],
        {"a": [1, None]},
        np.arange(6, dtype=np.int32).reshape(2, 3),
        np.ones((0, 4)),
        np.array(True),
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    ],
)
def test_plain_data_crosses_unchanged(value):
    result = round_trip(value)
    if isinstance(value, np.ndarray):
        assert result.dtype == value.dtype and np.array_equal(result, value)
        assert result.flags.writeable and result.flags.owndata
    else:
        assert result == value and type(result) is type(value)


def test_numpy_scalars_and_subclasses_cross_as_their_plain_values():
    class Lying(float):
        def __eq__(self, other):
            return True

    assert round_trip((np.float64(1.5), np.int64(2), np.bool_(True))) == (1.5, 2, True)
    assert type(round_trip(Lying(2.0))) is float
    assert type(round_trip(np.zeros(2).view(np.matrix))) is np.ndarray


@pytest.mark.parametrize(
    "node, payload",
    [
        (["array", "|O", [1], 0], bytes(8)),  # object arrays would be pointers
        (["array", "<f8", [2], 0], bytes(8)),  # past the end of the payload
        (["array", "<f8", [-1], 0], bytes(8)),
        (["array", "<f8", [1], -8], bytes(8)),
        (["array", "<f8", [True], 0], bytes(8)),
        (["pickle", "gASVAAAA"], b""),
        (["ref", 3, "Layer", []], b""),  # a handle where only data may be
        ({"__class__": "os.system"}, b""),
        (["tuple", [1], 2], b""),
        (["dict", [[1, 2]]], b""),
    ],
)
def test_malformed_values_are_refused(node, payload):
    with pytest.raises(wire.WireError):
        wire.decode(node, payload)


def test_deep_nesting_is_refused():
    node = 1
    for _ in range(wire.MAX_DEPTH + 2):
        node = ["list", [node]]
    with pytest.raises(wire.WireError):
        wire.decode(node, b"")


def test_a_header_must_be_a_json_object():
    for text in (b"[1, 2]", b"\xff\xfe", b"{" * 100_000, b"not json"):
        with pytest.raises(wire.WireError):
            wire.parse_header(text)
