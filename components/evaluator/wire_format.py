"""Protobuf's wire format written by NumPy: many messages of the same fields at once.

`tfma_records` writes TFMA's records with it: protobuf's Python API costs microseconds per
field, per message, which 10,000 slices or a head of 100,000 classes multiply; here each
field of every message (a "row": one metric entry, one matrix row, of many slices together)
is one array operation. `Pieces` builds rows a field at a time (nested messages, strings,
doubles); `repeated_rows` writes rows of doubles from columns; `split` cuts the rows' bytes
back into each record's share.

>>> from google.protobuf import wrappers_pb2
>>> value = wrappers_pb2.DoubleValue.DESCRIPTOR.fields_by_name["value"]
>>> pieces = Pieces(3)
>>> pieces.double(value, np.array([1.0, 0.0, -2.0]))
>>> data, widths = pieces.rows()
>>> widths.tolist()  # A tag (field 1, 8 bytes) and the value's 8 bytes; 0 left out.
[9, 0, 9]
>>> [part.hex() for part in split(data, widths, [1, 2])]  # Little-endian doubles.
['09000000000000f03f', '0900000000000000c0']
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Mapping, Sequence
from typing import NamedTuple

import numpy as np
from google.protobuf.descriptor import FieldDescriptor

FIXED64, LENGTH = 1, 2
"""Protobuf wire types: an 8-byte value, a length-delimited value."""

_Piece = tuple[np.ndarray, np.ndarray]
"""The bytes of one part of every row (uint8, row after row) and each row's byte count."""


class Pieces:
    """The wire format of `rows` messages of the same fields, built a field at a time for
    all rows at once (`_Piece`s); `rows` joins each row's pieces in the order added.

    `message` adds a length-delimited field holding what is added inside it, in every row
    (or in the rows `where`: then nothing inside it is written in the others); `string` a
    string field per row (left out where empty); `double` a `double` field per row (left
    out where its bits are 0, as protobuf does in proto3)."""

    def __init__(self, rows: int) -> None:
        self._count = rows
        self._pieces: list[_Piece] = []
        self._where = np.ones(rows, bool)

    @contextlib.contextmanager
    def message(self, field: FieldDescriptor, where: np.ndarray | None = None) -> Iterator[None]:
        """`where`: bool `[rows]`, the rows that hold the field (None: all)."""
        outer = self._where
        self._where = outer if where is None else outer & where
        start = len(self._pieces)
        try:
            yield
            lengths = np.zeros(self._count, np.int64)
            for _, widths in self._pieces[start:]:
                lengths += widths
            self._pieces[start:start] = [
                _constant(tag(field, LENGTH), self._where),
                _varints(lengths, self._where),
            ]
        finally:
            self._where = outer

    def string(self, field: FieldDescriptor, values: Sequence[str]) -> None:
        """`values`: one string per row."""
        if not self._where.all():
            values = [value if row else "" for value, row in zip(values, self._where, strict=True)]
        text = "".join(values)
        data = text.encode()
        if len(data) == len(text):  # ASCII: a byte a character.
            lengths = np.fromiter(map(len, values), np.int64, len(values))
        else:
            lengths = np.fromiter((len(value.encode()) for value in values), np.int64)
        present = lengths > 0
        self._pieces += [
            _constant(tag(field, LENGTH), present),
            _varints(lengths, present),
            (np.frombuffer(data, np.uint8), lengths),
        ]

    def double(self, field: FieldDescriptor, values: np.ndarray) -> None:
        """`values`: float64 `[rows]`."""
        present = (values.view(np.uint64) != 0) & self._where
        value = (values[present].astype("<f8").view(np.uint8), present * 8)
        self._pieces += [_constant(tag(field, FIXED64), present), value]

    def rows(self) -> tuple[np.ndarray, np.ndarray]:
        """The rows' bytes, one after another (uint8), and each row's byte count (int64)."""
        row_widths = np.zeros(self._count, np.int64)
        for _, widths in self._pieces:
            row_widths += widths
        starts = np.cumsum(row_widths) - row_widths  # Then each piece's, in turn.
        out = np.empty(int(row_widths.sum()), np.uint8)
        for data, widths in self._pieces:
            out[_positions(starts, widths)] = data
            starts += widths
        return out, row_widths


def split(data: np.ndarray, widths: np.ndarray, counts: Sequence[int]) -> list[memoryview]:
    """The bytes of each group of consecutive rows, as views of `data` (joined or added to
    `bytes` without another copy): `data` (uint8) holds rows of `widths` bytes (int64
    `[rows]`), the groups `counts` rows each, in order (`sum(counts) == rows`)."""
    if sum(counts) != len(widths):
        raise ValueError(f"groups of {sum(counts)} rows in all; received {len(widths)} rows")
    row_ends = np.concatenate([[0], np.cumsum(widths)])
    bounds = row_ends[np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])].tolist()
    view = memoryview(data)
    return [view[start:end] for start, end in zip(bounds[:-1], bounds[1:], strict=True)]


def _constant(data: bytes, where: np.ndarray) -> _Piece:
    """The `_Piece` of `data` in the rows `where` (bool `[rows]`)."""
    data_array = np.frombuffer(data, np.uint8)
    return np.tile(data_array, int(where.sum())), where * len(data)


def _varints(values: np.ndarray, where: np.ndarray) -> _Piece:
    """The `_Piece` of the varints of `values` (int64 `[rows]`, >= 0) in the rows `where`:
    7 bits a byte, low bits first, the high bit set on all bytes but the last."""
    shifts = 7 * np.arange(max(1, (int(values.max(initial=0)).bit_length() + 6) // 7))
    widths = np.maximum(1, np.sum(values[:, None] >> shifts > 0, axis=1)) * where
    more = shifts < 7 * (widths[:, None] - 1)
    digits = (values[:, None] >> shifts) & 0x7F | more << 7
    return digits[shifts < 7 * widths[:, None]].astype(np.uint8), widths


def _positions(starts: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """`starts[r] + j` for each `j < widths[r]`, row after row."""
    width = int(widths.max(initial=0))
    if widths.min(initial=width) == width:  # One width in every row (a tag): not ragged.
        return starts if width == 1 else (starts[:, None] + np.arange(width)).ravel()
    positions = np.repeat(starts - (np.cumsum(widths) - widths), widths)
    positions += np.arange(len(positions))
    return positions


def repeated_rows(
    field: FieldDescriptor, columns: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The repeated message `field` with one message per row of `columns` (field name to
    float64 values, each a `double` or a `google.protobuf.DoubleValue` field), as protobuf
    writes it: fields in number order; a `double` left out where its bits are 0 (proto3), a
    `DoubleValue` always there, empty where its value's bits are 0. Returns the rows' bytes
    one after another (uint8) and each row's byte count (int64), as `Pieces.rows`.

    Written `_CHUNK_ROWS` rows at a time (their bytes stay in the processor's cache), each
    row whole from a template (`_row_layout`), a column at a time through structured views
    (NumPy's fancy indexing of the row bytes took over a microsecond a row), then the bytes
    of the values that are 0 dropped."""
    layout = _row_layout(field, tuple(columns))
    arrays = [np.asarray(values, "<f8") for values in columns.values()]
    count = len(arrays[0]) if arrays else 0
    parts = [
        _chunk_rows(layout, [values[start : start + _CHUNK_ROWS] for values in arrays])
        for start in range(0, count, _CHUNK_ROWS)
    ]
    if not parts:
        return np.empty(0, np.uint8), np.empty(0, np.int64)
    widths = np.concatenate([chunk_widths for _, chunk_widths in parts])
    lengths = widths - layout.row_prefix
    if lengths.max() > 127:  # A one-byte length: at most 11 doubles a row.
        raise ValueError(f"rows of {field.full_name} over 127 bytes: {lengths.max()}")
    return np.concatenate([data for data, _ in parts]), widths


_CHUNK_ROWS = 4096
"""Rows `repeated_rows` writes at a time (about 400 KiB of row bytes and their mask)."""


def _chunk_rows(layout: _RowLayout, columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """`repeated_rows` of a few rows (`columns`: float64 `[rows]` each, in column order):
    each row's bytes to keep, and its width, looked up by which of its values are not 0."""
    count = len(columns[0])
    out = np.empty((count, layout.template.size), np.uint8)
    out[:] = layout.template
    values_view = out.view(layout.values_dtype)[:, 0]
    pattern = np.zeros(count, np.intp)  # Bit c: column c is not 0.
    for index, (values, (start, stop), length_byte) in enumerate(
        zip(columns, layout.optional, layout.length_bytes, strict=True)
    ):
        present = values.view("<u8") != 0
        values_view[f"v{index}"] = values
        pattern |= present.astype(np.intp) << index
        if length_byte >= 0:
            out[:, length_byte] = present * (stop - start)
    widths = layout.widths[pattern]
    out[:, layout.row_prefix - 1] = widths - layout.row_prefix
    keep = layout.keep[pattern].view(bool).reshape(out.shape)  # A row a copy (not a byte).
    return out[keep], widths


class _RowLayout(NamedTuple):
    """The bytes of one row of `repeated_rows`, the same for every row but for the values."""

    template: np.ndarray
    """uint8: the row's tag, its length (0 here), then per field its tag (and a
    `DoubleValue`'s length and inner tag) and 8 value bytes (0 here)."""
    row_prefix: int
    """Bytes before the row's fields (its tag and length)."""
    optional: list[tuple[int, int]]
    """Per column, in column order, where its bytes written only where its value is not 0
    lie (its tag, or a `DoubleValue`'s inner tag, then its 8 value bytes, last)."""
    length_bytes: list[int]
    """Per column, where its `DoubleValue`'s length goes (-1 for a `double`)."""
    values_dtype: np.dtype
    """A row as a structure: field `v<column>` its value (float64)."""
    keep: np.ndarray
    """`[2**columns]` of `template.size` bools each (one NumPy void item): the bytes of a
    row kept where the columns of the bits of its index (bit c: column c) are not 0;
    `widths`: int64, their count."""
    widths: np.ndarray


@functools.lru_cache(maxsize=8)
def _row_layout(field: FieldDescriptor, names: tuple[str, ...]) -> _RowLayout:
    """The `_RowLayout` of the repeated message `field` holding the fields `names`."""
    if len(names) > _MAX_COLUMNS:
        raise ValueError(f"rows of {field.full_name}: at most {_MAX_COLUMNS} columns; {names}")
    message = field.message_type.fields_by_name
    unknown = [name for name in names if name not in message]
    if unknown:
        raise ValueError(f"rows of {field.full_name}: expected its fields; received {unknown}")
    template = bytearray([*tag(field, LENGTH), 0])
    optional = [(0, 0)] * len(names)
    length_bytes = [-1] * len(names)
    for column in sorted((message[name] for name in names), key=_number):
        index = names.index(column.name)
        if column.type == FieldDescriptor.TYPE_MESSAGE:
            template += tag(column, LENGTH)
            length_bytes[index] = len(template)
            template += b"\0"
            value_tag = tag(column.message_type.fields_by_name["value"], FIXED64)
        else:
            value_tag = tag(column, FIXED64)
        start = len(template)
        template += value_tag + bytes(8)
        optional[index] = (start, len(template))
    owners = np.full(len(template), len(names))  # The column a byte needs (none: always).
    for index, (start, stop) in enumerate(optional):
        owners[start:stop] = index
    bits = np.arange(2 ** len(names))[:, None] >> np.arange(len(names) + 1) & 1
    bits[:, -1] = 1
    keep = bits[:, owners].astype(bool)
    values_dtype = np.dtype(
        {
            "names": [f"v{index}" for index in range(len(names))],
            "formats": ["<f8"] * len(names),
            "offsets": [stop - 8 for _, stop in optional],
            "itemsize": len(template),
        }
    )
    return _RowLayout(
        template=np.frombuffer(bytes(template), np.uint8),
        row_prefix=len(tag(field, LENGTH)) + 1,
        optional=optional,
        length_bytes=length_bytes,
        values_dtype=values_dtype,
        keep=np.ascontiguousarray(keep).view(f"V{len(template)}").ravel(),
        widths=keep.sum(axis=1, dtype=np.int64),
    )


_MAX_COLUMNS = 12
"""The most columns of `repeated_rows` (its lookup of kept bytes has a row per subset)."""


def _number(field: FieldDescriptor) -> int:
    return field.number


def tag(field: FieldDescriptor, wire_type: int) -> bytes:
    """A field's tag: its number and `wire_type` (`FIXED64`, `LENGTH`) as a varint."""
    return varint(field.number << 3 | wire_type)


def delimited(field: FieldDescriptor, payload: bytes) -> bytes:
    """A length-delimited field (a message) as protobuf writes it."""
    return tag(field, LENGTH) + varint(len(payload)) + payload


def varint(value: int) -> bytes:
    """`value` (>= 0) as a varint: 7 bits a byte, low bits first."""
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
