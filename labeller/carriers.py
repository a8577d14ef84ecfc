"""Where metadata lives inside JPEG, PNG and WebP files, at the byte level.

Why by hand: the metadata label must be written into an already-encoded file (the platform flow updates
the label of an upload without re-encoding it), and read from any carrier the wild uses. Pillow re-encodes
to write; these functions only move chunks and segments, leaving the image data byte for byte.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

from .errors import MetadataError

JPEG_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
JPEG_EXIF_HEADER = b"Exif\x00\x00"
JPEG_MAX_SEGMENT_PAYLOAD = 65533  # 65535 minus the two length bytes
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"
WEBP_XMP_FLAG = 0x04


def sniff_format(data: bytes) -> str | None:
    """The container of ``data`` by its magic bytes: JPEG, PNG, WEBP, TIFF, GIF, or None."""
    if data.startswith(b"\xff\xd8"):
        return "JPEG"
    if data.startswith(PNG_SIGNATURE):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    return None


# --- JPEG -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Segment:
    marker: int
    start: int  # offset of the 0xFF marker byte
    end: int  # offset just past the segment
    payload: bytes


def jpeg_segments(data: bytes) -> list[Segment]:
    """The marker segments before the image data (up to SOS). Raises MetadataError when malformed."""
    if not data.startswith(b"\xff\xd8"):
        raise MetadataError("not a JPEG stream")
    segments, pos = [], 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise MetadataError(f"JPEG marker expected at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise MetadataError(f"JPEG segment 0x{marker:02X} at byte {pos} runs past the end of the file")
        segments.append(Segment(marker, pos, end, data[pos + 4:end]))
        if marker == 0xDA:  # start of scan: image data follows
            break
        pos = end
    return segments


def jpeg_xmp(data: bytes) -> list[bytes]:
    """Every standard XMP packet in a JPEG's APP1 segments (a conforming file has at most one)."""
    return [s.payload[len(JPEG_XMP_HEADER):] for s in jpeg_segments(data) if _is_xmp_segment(s)]


def jpeg_set_xmp(data: bytes, packet: bytes) -> bytes:
    """Replace the JPEG's standard XMP with ``packet`` (one APP1 segment after JFIF/EXIF)."""
    payload = JPEG_XMP_HEADER + packet
    if len(payload) > JPEG_MAX_SEGMENT_PAYLOAD:
        raise MetadataError(
            f"the XMP packet is {len(packet):,} bytes; a JPEG APP1 segment holds at most "
            f"{JPEG_MAX_SEGMENT_PAYLOAD - len(JPEG_XMP_HEADER):,}"
        )
    segments = [s for s in jpeg_segments(data) if not _is_xmp_segment(s)]
    if segments and segments[-1].marker == 0xDA:
        body, tail = segments[:-1], data[segments[-1].start:]
    else:
        body, tail = segments, data[segments[-1].end if segments else 2:]
    lead = 0  # JFIF (APP0) and EXIF (APP1) stay first, as readers expect
    while lead < len(body) and body[lead].marker in (0xE0, 0xE1):
        lead += 1
    new_segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    pieces = [data[:2]] + [data[s.start:s.end] for s in body[:lead]] + [new_segment]
    pieces += [data[s.start:s.end] for s in body[lead:]]
    return b"".join(pieces) + tail


def _is_xmp_segment(segment: Segment) -> bool:
    return segment.marker == 0xE1 and segment.payload.startswith(JPEG_XMP_HEADER)


def jpeg_exif(data: bytes) -> bytes | None:
    """The JPEG's EXIF (TIFF) block without its ``Exif\\0\\0`` header, or None."""
    for s in jpeg_segments(data):
        if s.marker == 0xE1 and s.payload.startswith(JPEG_EXIF_HEADER):
            return s.payload[len(JPEG_EXIF_HEADER):]
    return None


# --- PNG ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Chunk:
    kind: bytes
    start: int
    end: int
    body: bytes


def png_chunks(data: bytes) -> list[Chunk]:
    """Every chunk of a PNG. Raises MetadataError when the structure is broken."""
    if not data.startswith(PNG_SIGNATURE):
        raise MetadataError("not a PNG stream")
    chunks, pos = [], len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + length
        if end > len(data):
            raise MetadataError(f"PNG chunk {kind!r} at byte {pos} runs past the end of the file")
        chunks.append(Chunk(kind, pos, end, data[pos + 8:pos + 8 + length]))
        pos = end
        if kind == b"IEND":
            break
    return chunks


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_text_chunks(data: bytes) -> list[tuple[bytes, bytes, str]]:
    """(chunk type, keyword, text) for every tEXt, zTXt and iTXt chunk; undecodable ones are skipped."""
    found = []
    for chunk in png_chunks(data):
        parsed = _parse_text_chunk(chunk)
        if parsed:
            found.append((chunk.kind, *parsed))
    return found


def _parse_text_chunk(chunk: Chunk) -> tuple[bytes, str] | None:
    body = chunk.body
    try:
        if chunk.kind == b"tEXt":
            keyword, _, text = body.partition(b"\x00")
            return keyword, text.decode("latin-1")
        if chunk.kind == b"zTXt":
            keyword, _, rest = body.partition(b"\x00")
            return keyword, zlib.decompress(rest[1:]).decode("latin-1")
        if chunk.kind == b"iTXt":
            keyword, _, rest = body.partition(b"\x00")
            compressed, rest = rest[0], rest[2:]
            _language, _, rest = rest.partition(b"\x00")
            _translated, _, text = rest.partition(b"\x00")
            return keyword, (zlib.decompress(text) if compressed else text).decode("utf-8")
    except (zlib.error, UnicodeDecodeError, IndexError):
        return None
    return None


def png_xmp(data: bytes) -> list[bytes]:
    """Every XMP packet in a PNG's ``XML:com.adobe.xmp`` iTXt chunks."""
    return [text.encode("utf-8") for kind, keyword, text in png_text_chunks(data)
            if keyword == PNG_XMP_KEYWORD]


def png_set_xmp(data: bytes, packet: bytes) -> bytes:
    """Replace the PNG's XMP with one uncompressed iTXt chunk placed before the image data."""
    chunks = png_chunks(data)
    new_chunk = png_chunk(b"iTXt", PNG_XMP_KEYWORD + b"\x00\x00\x00\x00\x00" + packet)
    out, inserted = [data[:len(PNG_SIGNATURE)]], False
    for chunk in chunks:
        if chunk.kind == b"iTXt" and chunk.body.startswith(PNG_XMP_KEYWORD + b"\x00"):
            continue
        if not inserted and chunk.kind in (b"IDAT", b"IEND"):
            out.append(new_chunk)
            inserted = True
        out.append(data[chunk.start:chunk.end])
    out.append(data[chunks[-1].end:] if chunks else b"")
    return b"".join(out)


def png_exif(data: bytes) -> bytes | None:
    for chunk in png_chunks(data):
        if chunk.kind == b"eXIf":
            return chunk.body
    return None


# --- WebP -----------------------------------------------------------------------------------------------

def webp_chunks(data: bytes) -> list[Chunk]:
    """The chunks of a RIFF/WEBP file. Raises MetadataError when the structure is broken."""
    if not (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        raise MetadataError("not a WebP stream")
    chunks, pos = [], 12
    while pos + 8 <= len(data):
        kind, length = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        end = pos + 8 + length + (length & 1)
        if pos + 8 + length > len(data):
            raise MetadataError(f"WebP chunk {kind!r} at byte {pos} runs past the end of the file")
        chunks.append(Chunk(kind, pos, min(end, len(data)), data[pos + 8:pos + 8 + length]))
        pos = end
    return chunks


def webp_xmp(data: bytes) -> list[bytes]:
    return [c.body for c in webp_chunks(data) if c.kind == b"XMP "]


def webp_exif(data: bytes) -> bytes | None:
    for chunk in webp_chunks(data):
        if chunk.kind == b"EXIF":
            return chunk.body
    return None


def _riff_chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) & 1 else b"")


def webp_set_xmp(data: bytes, packet: bytes, canvas: tuple[int, int], has_alpha: bool) -> bytes:
    """Replace the WebP's XMP chunk, converting a simple file to the extended (VP8X) layout if needed.

    ``canvas`` and ``has_alpha`` are needed only to create a VP8X header for a simple (VP8/VP8L) file.
    """
    chunks = webp_chunks(data)
    kept = [c for c in chunks if c.kind != b"XMP "]
    if kept and kept[0].kind == b"VP8X":
        flags = kept[0].body[0] | WEBP_XMP_FLAG
        header = _riff_chunk(b"VP8X", bytes([flags]) + kept[0].body[1:])
        body = header + b"".join(data[c.start:c.end] for c in kept[1:])
    else:
        width, height = canvas
        flags = WEBP_XMP_FLAG | (0x10 if has_alpha else 0)
        vp8x = bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        body = _riff_chunk(b"VP8X", vp8x) + b"".join(data[c.start:c.end] for c in kept)
    body += _riff_chunk(b"XMP ", packet)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


# --- any container --------------------------------------------------------------------------------------

_XMP_SCAN = re.compile(rb"<x:xmpmeta\b.*?</x:xmpmeta>|<rdf:RDF\b.*?</rdf:RDF>", re.S)


def scan_xmp(data: bytes) -> list[bytes]:
    """XMP packets found anywhere in ``data`` by their markup: TIFF tag 700, GIF ``XMP Data`` and others."""
    return [m.group(0) for m in _XMP_SCAN.finditer(data)]


def read_xmp(data: bytes) -> tuple[list[bytes], str]:
    """Every XMP packet in ``data`` and where it was found (the format's carrier, else a byte scan)."""
    fmt = sniff_format(data)
    readers = {"JPEG": jpeg_xmp, "PNG": png_xmp, "WEBP": webp_xmp}
    if fmt in readers:
        try:
            return readers[fmt](data), f"{fmt} XMP"
        except MetadataError:
            pass  # structure broken: fall back to scanning the bytes
    return scan_xmp(data), f"{fmt or 'file'} bytes"


def read_exif(data: bytes) -> bytes | None:
    """The EXIF (TIFF-structured) block of a JPEG, PNG or WebP without any ``Exif\\0\\0`` header, or None."""
    readers = {"JPEG": jpeg_exif, "PNG": png_exif, "WEBP": webp_exif}
    reader = readers.get(sniff_format(data))
    try:
        block = reader(data) if reader else None
    except MetadataError:
        return None
    if block and block.startswith(JPEG_EXIF_HEADER):
        block = block[len(JPEG_EXIF_HEADER):]
    return block or None
