"""A bounded look at a C2PA manifest store before c2pa-rs parses it.

c2pa-rs trusts the lengths inside a manifest store: a CBOR byte string whose 4-byte length was bumped by one
byte of damage makes it allocate 1.3 GB for a 4 KB JPEG (found by ``bench/fuzz.py``; kept as a regression
fixture). This module reassembles the store from its carrier (JPEG APP11 segments, PNG ``caBX``, WebP
``C2PA``) and walks its JUMBF boxes and the CBOR inside them, checking every length and count against the
bytes that are actually there — linear in the store, nothing allocated from a claimed size. A store that
fails is reported as unreadable without ever reaching c2pa-rs.
"""

from __future__ import annotations

import struct

from . import carriers
from .errors import AimarkError

MAX_DEPTH = 64  # JUMBF superboxes and CBOR containers nested deeper than any writer makes


def manifest_store(data: bytes) -> bytes | None:
    """The JUMBF manifest store of a JPEG, PNG or WebP file (None: none there, or a format not checked here)."""
    fmt = carriers.sniff_format(data)
    try:
        if fmt == "JPEG":
            return _jpeg_store(data)
        if fmt == "PNG":
            return next((c.body for c in carriers.png_chunks(data) if c.kind == b"caBX"), None)
        if fmt == "WEBP":
            return next((c.body for c in carriers.webp_chunks(data) if c.kind == b"C2PA"), None)
    except AimarkError:
        return None
    return None


def _jpeg_store(data: bytes) -> bytes | None:
    """APP11 JPEG-XT segments (CI "JP", box instance, sequence number, then the box) joined in order; every
    segment after the first repeats the box header (LBox, TBox), which is dropped."""
    parts: dict[int, list[tuple[int, bytes]]] = {}
    for segment in carriers.jpeg_segments(data, strict=False):
        payload = segment.payload
        if segment.marker != 0xEB or payload[:2] != b"JP" or len(payload) < 16:
            continue
        instance, sequence = struct.unpack(">HI", payload[2:8])
        parts.setdefault(instance, []).append((sequence, payload[8:]))
    for instance in sorted(parts):
        pieces = [body for _, body in sorted(parts[instance])]
        store = pieces[0] + b"".join(piece[8:] for piece in pieces[1:])
        if store[4:8] == b"jumb" and b"c2pa" in store[:64]:
            return store
    return None


def store_problem(store: bytes) -> str | None:
    """Why a manifest store must not be parsed (a box or a CBOR item claims more than is there), or None."""
    try:
        _boxes(store, 0, len(store), 0)
    except ValueError as exc:
        return str(exc)
    return None


def _boxes(data: bytes, start: int, end: int, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError("JUMBF boxes nested deeper than any writer makes")
    pos = start
    while pos + 8 <= end:
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if length == 1:
            if pos + 16 > end:
                raise ValueError("a JUMBF box's extended length runs past the store")
            length, header = struct.unpack(">Q", data[pos + 8:pos + 16])[0], 16
        elif length == 0:
            length = end - pos
        if length < header or pos + length > end:
            raise ValueError(f"JUMBF box {kind!r} claims {length:,} bytes where {end - pos:,} remain")
        if kind == b"jumb":
            _boxes(data, pos + header, pos + length, depth + 1)
        elif kind == b"cbor":
            _cbor(data, pos + header, pos + length)
        pos += length


def _cbor(data: bytes, start: int, end: int) -> None:
    """Walk one CBOR item without building it: every length and count must fit what remains.
    Indefinite-length strings and containers (c2pa-rs writes them) run to their break byte."""
    pos = start
    frames: list[int | None] = [1]  # items left in each open container; None: indefinite, until a break
    while frames:
        if frames[-1] == 0:
            frames.pop()
            continue
        if pos >= end:
            raise ValueError("a CBOR item in the manifest runs past its box")
        initial = data[pos]
        pos += 1
        if initial == 0xFF:  # break: closes the innermost indefinite container
            if frames[-1] is not None:
                raise ValueError("a CBOR break outside an indefinite-length item")
            frames.pop()
            continue
        if frames[-1] is not None:
            frames[-1] -= 1
        major, info = initial >> 5, initial & 0x1F
        if info == 31:
            if major not in (2, 3, 4, 5):
                raise ValueError("malformed CBOR (indefinite length on a simple item)")
            if len(frames) > MAX_DEPTH:
                raise ValueError("CBOR nested deeper than any writer makes")
            frames.append(None)
            continue
        if info < 24:
            value = info
        elif info <= 27:
            size = 1 << (info - 24)
            if pos + size > end:
                raise ValueError("a CBOR length runs past its box")
            value = int.from_bytes(data[pos:pos + size], "big")
            pos += size
        else:
            raise ValueError(f"malformed CBOR (additional information {info})")
        if major in (2, 3):
            if value > end - pos:
                raise ValueError(f"a CBOR string claims {value:,} bytes where {end - pos:,} remain")
            pos += value
        elif major in (4, 5):
            count = value * (2 if major == 5 else 1)
            if count > end - pos:
                raise ValueError(f"a CBOR container claims {count:,} items where {end - pos:,} bytes remain")
            if len(frames) > MAX_DEPTH:
                raise ValueError("CBOR nested deeper than any writer makes")
            frames.append(count)
        elif major == 6:
            frames.append(1)  # a tag wraps the next item
