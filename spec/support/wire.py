"""The wire between the grader and the child process that runs a submission: plain data only.

A message is one frame:

    8 bytes   header length and payload length (two little-endian uint32)
    header    UTF-8 JSON, one object
    payload   the raw bytes of every array named in the header, one after the other

Inside the header a value is a JSON scalar (null, true/false, a number, a string) or a tagged
list: ["tuple", [items]], ["list", [items]], ["dict", [[key, value], ...]],
["array", dtype, shape, offset] (C order, `offset` into the payload) or
["ref", handle, type, names] (an object that stays in the child, with the names of its
attributes that are methods of its class, or for a module its classes and functions; only the
child sends these, and only as a whole reply).

The grader decodes strictly: known tags only, dtypes from a short list of numbers and bools,
shapes that fit the payload. Nothing is unpickled or evaluated, and no class of the student's is
ever instantiated here: what crosses is data, never behaviour.
"""

from __future__ import annotations

import json
import math
import os
import select
import struct
import time
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

FRAME = struct.Struct("<II")
# Both sides wait busily this long for the other's message before they sleep: the next request
# or reply usually comes sooner, and a process asleep on an idle core wakes up slowly (on this
# project's virtual machines about 250 us). Measured on two idle cores, a round trip with the
# spec's pauses between requests: 300 us with a 0.2 ms spin, 45 us with 2 ms; the whole spec
# isolated 5.4 -> 3.9 s.
SPIN_SECONDS = 2e-3
MAX_HEADER = 64 << 20
MAX_PAYLOAD = 256 << 20
MAX_DEPTH = 64

# The array types that may cross, in this machine's byte order; anything else is an object.
DTYPES = {
    np.dtype(kind).str: np.dtype(kind)
    for kind in (
        np.bool_,
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.uint8,
        np.uint16,
        np.uint32,
        np.uint64,
        np.float16,
        np.float32,
        np.float64,
    )
}
SCALARS = (type(None), bool, int, float, str)


class WireError(ValueError):
    """A message that does not follow the format above."""


# -- what counts as plain data ----------------------------------------------------------------


def is_plain(value: Any) -> bool:
    """The rule of the in-process backend (`submission.is_plain`), minus NumPy scalars that have
    no plain Python counterpart on the wire (complex, dates, bytes)."""
    if isinstance(value, SCALARS):
        return True
    if isinstance(value, np.generic):
        return value.dtype.kind in "biufU"
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "biuf"
    if isinstance(value, (tuple, list)):
        return all(is_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and is_plain(item) for key, item in value.items())
    return False


# -- encoding (both sides) --------------------------------------------------------------------


def encode(value: Any, buffers: list[bytes], other: Callable[[Any], Any]) -> Any:
    """The JSON form of `value`; array bytes are appended to `buffers`. `other(value)` encodes
    what is not plain data (a handle), or raises TypeError."""
    kind = type(value)  # the common exact types first: this runs for every value that crosses
    if kind in SCALARS:
        return value
    if kind is tuple or kind is list:
        return [kind.__name__, [encode(item, buffers, other) for item in value]]
    if kind is dict and all(type(key) is str for key in value):
        return ["dict", [[key, encode(item, buffers, other)] for key, item in value.items()]]
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        array = value.view(np.ndarray)  # a student's ndarray subclass travels as its numbers
        if array.dtype.str not in DTYPES:  # other byte order, long double
            array = array.astype(
                array.dtype.newbyteorder("=") if array.dtype.kind != "f" else np.float64
            )
        offset = sum(len(buffer) for buffer in buffers)
        buffers.append(array.tobytes())  # C order, whatever the array's own order
        return ["array", array.dtype.str, list(array.shape), offset]
    if isinstance(value, np.generic) and value.dtype.kind in "biufU":
        return value.item()
    if isinstance(value, (bool, int, float, str)):  # subclasses: their plain value
        return next(base for base in (bool, int, float, str) if isinstance(value, base))(value)
    if isinstance(value, (tuple, list)):
        tag = "tuple" if isinstance(value, tuple) else "list"
        return [tag, [encode(item, buffers, other) for item in value]]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return ["dict", [[str(key), encode(item, buffers, other)] for key, item in value.items()]]
    return other(value)


to_json = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


def frame(header: dict, buffers: list[bytes]) -> bytes:
    text = to_json(header).encode()
    payload = b"".join(buffers)
    return FRAME.pack(len(text), len(payload)) + text + payload


# -- decoding (strict: the grader runs this on what the child sends) ---------------------------


def parse_header(text: bytes) -> dict:
    try:
        header = json.loads(text.decode("utf-8"))
    except (ValueError, RecursionError) as error:
        raise WireError(f"the header is not JSON: {error}") from None
    if not isinstance(header, dict):
        raise WireError("the header is not a JSON object")
    return header


def decode(
    node: Any, payload: bytes, ref: Callable[[int, str, list], Any] | None = None, depth: int = 0
) -> Any:
    """The value a JSON node stands for. `ref(handle, type_name, names)` makes a handle, where
    one is allowed (a whole reply); elsewhere a handle is an error."""
    if type(node) in SCALARS:
        return node
    if depth > MAX_DEPTH:
        raise WireError("values nested too deeply")
    if type(node) is not list or not node or type(node[0]) is not str:
        raise WireError(f"not a value: {str(node)[:80]}")
    tag, fields = node[0], node[1:]
    if tag in ("tuple", "list") and len(fields) == 1 and type(fields[0]) is list:
        items = [decode(item, payload, None, depth + 1) for item in fields[0]]
        return tuple(items) if tag == "tuple" else items
    if tag == "dict" and len(fields) == 1 and type(fields[0]) is list:
        result = {}
        for pair in fields[0]:
            if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not str:
                raise WireError("a dict entry is not a [string, value] pair")
            result[pair[0]] = decode(pair[1], payload, None, depth + 1)
        return result
    if tag == "array" and len(fields) == 3:
        return decode_array(*fields, payload)
    if tag == "ref" and ref is not None and len(fields) == 3:
        handle, type_name, names = fields
        if (
            type(handle) is int
            and type(type_name) is str
            and type(names) is list
            and all(type(name) is str for name in names)
        ):
            return ref(handle, type_name[:200], names)
    raise WireError(f"not a value: {str(node)[:80]}")


def decode_array(dtype: Any, shape: Any, offset: Any, payload: bytes) -> np.ndarray:
    if type(dtype) is not str or dtype not in DTYPES:
        raise WireError(f"arrays of dtype {str(dtype)[:20]!r} may not cross")
    if type(shape) is not list or len(shape) > 32 or any(type(n) is not int for n in shape):
        raise WireError("an array shape is not a list of sizes")
    count = math.prod(shape)
    if (
        type(offset) is not int
        or offset < 0
        or min(shape, default=0) < 0
        or (offset + count * DTYPES[dtype].itemsize > len(payload))
    ):
        raise WireError("an array does not fit in the message")
    array = np.frombuffer(payload, DTYPES[dtype], count, offset)
    return array.reshape(shape).copy()  # writable, and owns its memory


# -- blocking transport (the child's side; the grader reads with deadlines) --------------------


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def send(fd: int, header: dict, buffers: list[bytes] = ()) -> None:
    write_all(fd, frame(header, list(buffers)))


def read_exactly(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)  # a buffered stream returns less only at its end
    if len(data) < size:
        raise EOFError("the other side closed the connection")
    return data


def spin_until_readable(fd: int) -> None:
    """Busy-wait up to SPIN_SECONDS for `fd` to have something to read (see above)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    end = time.perf_counter() + SPIN_SECONDS
    while time.perf_counter() < end and not poller.poll(0):
        os.sched_yield()  # on a busy machine, the process we wait for may need this core


def receive(stream: BinaryIO) -> tuple[dict, bytes]:
    spin_until_readable(stream.fileno())
    header_size, payload_size = FRAME.unpack(read_exactly(stream, FRAME.size))
    if header_size > MAX_HEADER or payload_size > MAX_PAYLOAD:
        raise WireError("message too large")
    return parse_header(read_exactly(stream, header_size)), read_exactly(stream, payload_size)
