"""A strict, hand-written msgpack decoder that keeps the wire type of every value.

Why not the ``msgpack`` library?  It decodes ``0xcf`` (uint64) and ``0xd3``
(int64) to the same Python ``int`` and ``0xca`` (float32) / ``0xcb`` (float64)
to the same Python ``float``.  The Datadog Agent is picky about exactly those
distinctions (a signed trace_id or a float32 metric is a bug in the tracer),
so the test agent must see the encoding, not just the value.

Usage::

    node = decode(data)          # raises MsgpackError on any malformation
    node.kind                    # 'uint', 'int', 'float32', 'map', ...
    node.fmt                     # 'uint64', 'negative fixint', 'fixmap', ...
    node.value                   # Python value; arrays hold Nodes, maps hold
                                 # a list of (key Node, value Node) pairs
    to_python(node)              # plain Python (dicts, lists, ints, ...)

Standard library only.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Union

__all__ = ["MsgpackError", "Node", "Ext", "decode", "to_python", "describe"]

# Every kind a Node can have.
KINDS = ("nil", "bool", "uint", "int", "float32", "float64",
         "str", "bin", "array", "map", "ext")

# Nesting deeper than this is certainly not a trace payload (traces are 4 levels
# deep) and would otherwise hit Python's recursion limit with a confusing error.
DEFAULT_MAX_DEPTH = 64


class MsgpackError(ValueError):
    """Malformed msgpack.  ``offset`` is the byte offset of the problem."""

    def __init__(self, reason: str, offset: int):
        super().__init__(f"msgpack error at byte offset {offset}: {reason}")
        self.reason = reason
        self.offset = offset


@dataclass(frozen=True)
class Ext:
    """Value of an ext-family node: application type code and raw data."""
    type: int
    data: bytes


@dataclass(frozen=True)
class Node:
    """One decoded msgpack value, with its wire encoding.

    kind   -- one of KINDS.
    fmt    -- exact format family, e.g. 'positive fixint', 'uint8', 'int64',
              'float32', 'fixstr', 'str8', 'bin16', 'fixarray', 'array16',
              'fixmap', 'map32', 'fixext4', 'ext8', 'nil', 'true', 'false'.
    value  -- None | bool | int | float | str | bytes | Ext
              | list[Node] (array) | list[tuple[Node, Node]] (map, in wire
              order, duplicates kept).
    offset -- byte offset of the format byte in the input.
    """
    kind: str
    fmt: str
    value: Any
    offset: int

    def __repr__(self) -> str:  # compact: the default dataclass repr of a nested map is unreadable
        if self.kind == "array":
            inner = ", ".join(repr(v) for v in self.value)
            return f"<{self.fmt} [{inner}]>"
        if self.kind == "map":
            inner = ", ".join(f"{k!r}: {v!r}" for k, v in self.value)
            return f"<{self.fmt} {{{inner}}}>"
        return f"<{self.fmt} {self.value!r}>"


# Fixed-size formats: format byte -> (kind, fmt, struct code).  Big-endian, as
# the msgpack spec requires.
_FIXED = {
    0xca: ("float32", "float32", ">f"),
    0xcb: ("float64", "float64", ">d"),
    0xcc: ("uint", "uint8", ">B"),
    0xcd: ("uint", "uint16", ">H"),
    0xce: ("uint", "uint32", ">I"),
    0xcf: ("uint", "uint64", ">Q"),
    0xd0: ("int", "int8", ">b"),
    0xd1: ("int", "int16", ">h"),
    0xd2: ("int", "int32", ">i"),
    0xd3: ("int", "int64", ">q"),
}

# Variable-length formats: format byte -> (kind, fmt, length struct code).
_SIZED = {
    0xc4: ("bin", "bin8", ">B"),
    0xc5: ("bin", "bin16", ">H"),
    0xc6: ("bin", "bin32", ">I"),
    0xc7: ("ext", "ext8", ">B"),
    0xc8: ("ext", "ext16", ">H"),
    0xc9: ("ext", "ext32", ">I"),
    0xd9: ("str", "str8", ">B"),
    0xda: ("str", "str16", ">H"),
    0xdb: ("str", "str32", ">I"),
    0xdc: ("array", "array16", ">H"),
    0xdd: ("array", "array32", ">I"),
    0xde: ("map", "map16", ">H"),
    0xdf: ("map", "map32", ">I"),
}

# fixext formats: format byte -> data length.
_FIXEXT = {0xd4: 1, 0xd5: 2, 0xd6: 4, 0xd7: 8, 0xd8: 16}


class _Decoder:
    def __init__(self, data: bytes, max_depth: int):
        self.data = data
        self.pos = 0
        self.max_depth = max_depth

    def _take(self, n: int, what: str, item_offset: int) -> bytes:
        """Consume exactly n bytes or raise a 'truncated' error naming the item."""
        end = self.pos + n
        if end > len(self.data):
            remaining = len(self.data) - self.pos
            raise MsgpackError(
                f"truncated input: {what} (started at offset {item_offset}) needs "
                f"{n} more byte(s) at offset {self.pos} but only {remaining} remain",
                self.pos)
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def _unpack(self, code: str, what: str, item_offset: int):
        return struct.unpack(code, self._take(struct.calcsize(code), what, item_offset))[0]

    def value(self, depth: int = 0) -> Node:
        if depth > self.max_depth:
            raise MsgpackError(f"nesting deeper than {self.max_depth} levels", self.pos)
        start = self.pos
        b = self._take(1, "format byte", start)[0]

        # Single-byte formats first.
        if b <= 0x7f:
            return Node("uint", "positive fixint", b, start)
        if b >= 0xe0:
            return Node("int", "negative fixint", b - 0x100, start)
        if b == 0xc0:
            return Node("nil", "nil", None, start)
        if b == 0xc2:
            return Node("bool", "false", False, start)
        if b == 0xc3:
            return Node("bool", "true", True, start)
        if b == 0xc1:
            raise MsgpackError("reserved format byte 0xc1 (never used in msgpack)", start)

        if b in _FIXED:
            kind, fmt, code = _FIXED[b]
            return Node(kind, fmt, self._unpack(code, fmt, start), start)

        # Everything left has a length: either in the byte itself (fix*) or
        # in a big-endian length field right after it.
        if 0xa0 <= b <= 0xbf:
            kind, fmt, length = "str", "fixstr", b & 0x1f
        elif 0x90 <= b <= 0x9f:
            kind, fmt, length = "array", "fixarray", b & 0x0f
        elif 0x80 <= b <= 0x8f:
            kind, fmt, length = "map", "fixmap", b & 0x0f
        elif b in _FIXEXT:
            kind, fmt, length = "ext", f"fixext{_FIXEXT[b]}", _FIXEXT[b]
        elif b in _SIZED:
            kind, fmt, code = _SIZED[b]
            length = self._unpack(code, f"{fmt} length", start)
        else:  # pragma: no cover - the tables above cover all 256 byte values
            raise MsgpackError(f"unknown format byte 0x{b:02x}", start)

        if kind == "str":
            payload_offset = self.pos
            raw = self._take(length, f"{fmt} of {length} byte(s)", start)
            try:
                text = raw.decode("utf-8")  # strict: no surrogateescape, no replacement
            except UnicodeDecodeError as e:
                raise MsgpackError(
                    f"invalid UTF-8 in {fmt} (string starting at offset {start}): {e.reason}",
                    payload_offset + e.start) from None
            return Node("str", fmt, text, start)
        if kind == "bin":
            return Node("bin", fmt, bytes(self._take(length, f"{fmt} of {length} byte(s)", start)), start)
        if kind == "ext":
            type_code = self._unpack(">b", f"{fmt} type", start)
            data = bytes(self._take(length, f"{fmt} data of {length} byte(s)", start))
            return Node("ext", fmt, Ext(type_code, data), start)

        # Containers.  Each element takes at least one byte, so a claimed count
        # larger than what is left is truncation; checking up front avoids
        # allocating for absurd counts like 0xffffffff.
        remaining = len(self.data) - self.pos
        needed = length * (2 if kind == "map" else 1)
        if needed > remaining:
            raise MsgpackError(
                f"truncated input: {fmt} at offset {start} declares {length} "
                f"{'entries' if kind == 'map' else 'elements'} but only {remaining} byte(s) remain",
                self.pos)
        if kind == "array":
            return Node("array", fmt, [self.value(depth + 1) for _ in range(length)], start)
        pairs = []
        for _ in range(length):
            k = self.value(depth + 1)
            v = self.value(depth + 1)
            pairs.append((k, v))
        return Node("map", fmt, pairs, start)


def decode(data: Union[bytes, bytearray, memoryview], *, max_depth: int = DEFAULT_MAX_DEPTH) -> Node:
    """Decode exactly one msgpack value from ``data``.

    Raises MsgpackError on truncated input, trailing bytes after the value,
    the reserved byte 0xc1, invalid UTF-8 in a str, or excessive nesting.
    """
    data = bytes(data)
    if not data:
        raise MsgpackError("empty input (expected one msgpack value)", 0)
    dec = _Decoder(data, max_depth)
    node = dec.value()
    if dec.pos != len(data):
        raise MsgpackError(
            f"trailing bytes: {len(data) - dec.pos} unexpected byte(s) after the "
            f"top-level value, which ended at offset {dec.pos}",
            dec.pos)
    return node


def _hashable(x: Any) -> Any:
    # Map keys may be arrays/maps in msgpack; make them usable as dict keys.
    if isinstance(x, list):
        return tuple(_hashable(i) for i in x)
    if isinstance(x, dict):
        return tuple((k, _hashable(v)) for k, v in x.items())
    return x


def to_python(node: Node) -> Any:
    """Convert a Node tree to plain Python.

    Maps become dicts (for duplicate keys the last one wins -- callers that
    care about duplicates must inspect ``node.value`` themselves), arrays
    become lists, ext becomes Ext.
    """
    if node.kind == "array":
        return [to_python(n) for n in node.value]
    if node.kind == "map":
        return {_hashable(to_python(k)): to_python(v) for k, v in node.value}
    return node.value


def describe(node: Node) -> str:
    """Human-readable encoding of a node for error messages, e.g.
    'int64 (signed encoding)', 'float32', 'map (fixmap)'."""
    if node.kind == "int":
        return f"{node.fmt} (signed encoding)"
    if node.kind == "uint":
        return f"{node.fmt} (unsigned encoding)"
    if node.kind == node.fmt:
        return node.fmt
    return f"{node.kind} ({node.fmt})"
