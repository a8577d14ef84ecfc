"""Where metadata lives inside image files, at the byte level.

Why by hand: the metadata label must be written into an already-encoded file (the platform flow updates
the label of an upload without re-encoding it), and read from any carrier the wild uses. Pillow re-encodes
to write; these functions only move chunks and segments, leaving the image data byte for byte.

Every reader here takes untrusted bytes, so each is linear in its input and bounded: compressed text is
inflated to at most ``MAX_INFLATED`` bytes, and a whole-file scan keeps at most ``MAX_PACKETS`` packets.
"""

from __future__ import annotations

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
GIF_XMP_APP = b"\x21\xff\x0bXMP DataXMP"
GIF_XMP_TRAILER = bytes([1]) + bytes(range(255, -1, -1)) + b"\x00"  # the XMP spec's "magic trailer"
MAX_INFLATED = 4 * 1024 * 1024  # a label or an XMP packet is a few KB; more is a bomb, not metadata
MAX_TEXT_INFLATED = 4 * MAX_INFLATED  # all of one PNG's compressed text chunks together
MAX_PACKETS = 16
ISOBMFF_BRANDS = {b"avif": "AVIF", b"avis": "AVIF", b"heic": "HEIF", b"heix": "HEIF", b"heim": "HEIF",
                  b"heis": "HEIF", b"hevc": "HEIF", b"hevx": "HEIF", b"mif1": "HEIF", b"msf1": "HEIF"}


def sniff_format(data: bytes) -> str | None:
    """The container of ``data`` by its magic bytes: JPEG, PNG, WEBP, TIFF, GIF, AVIF, HEIF, or None."""
    if data[4:8] == b"ftyp":
        return _isobmff_kind(data)
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
    if data[:2] == b"BM" and len(data) > 14:
        return "BMP"
    return None


def _isobmff_kind(data: bytes) -> str | None:
    """AVIF or HEIF from an ISO-BMFF ``ftyp`` box: its major brand, else the first known compatible brand."""
    size = struct.unpack(">I", data[:4])[0]
    end = min(len(data), size if 16 <= size <= 4096 else 16)
    brands = [data[8:12]] + [data[i:i + 4] for i in range(16, end - 3, 4)]
    if b"avif" in brands or b"avis" in brands:
        return "AVIF"
    return next((ISOBMFF_BRANDS[b] for b in brands if b in ISOBMFF_BRANDS), None)


def inflate(data: bytes, limit: int = MAX_INFLATED) -> bytes:
    """zlib-decompress ``data`` to at most ``limit`` bytes; a stream that would grow past it is refused."""
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, limit)
    if inflater.unconsumed_tail:
        raise MetadataError(f"compressed metadata inflates past {limit:,} bytes: refused as a decompression bomb")
    return out


# --- JPEG -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Segment:
    marker: int
    start: int  # offset of the 0xFF marker byte
    end: int  # offset just past the segment
    payload: bytes


def jpeg_segments(data: bytes, strict: bool = True) -> list[Segment]:
    """The marker segments before the image data (up to SOS). Raises MetadataError when malformed, unless
    ``strict`` is False: then the segments before the damage are returned."""
    if not data.startswith(b"\xff\xd8"):
        raise MetadataError("not a JPEG stream")
    segments, pos = [], 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            if not strict:
                break
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
            if not strict:
                break
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
    """(chunk type, keyword, text) for every tEXt, zTXt and iTXt chunk; undecodable ones are skipped, and so
    are compressed ones once the file's compressed text has cost MAX_TEXT_INFLATED of inflation in all, a
    refused bomb its whole limit (measured: a 2 MB file of 200 zTXt chunks, each inflating to just under
    MAX_INFLATED, took a read 2.2 s and the process to 890 MB; now 0.05 s and 106 MB, the process's size)."""
    found, budget = [], MAX_TEXT_INFLATED
    for chunk in png_chunks(data):
        parsed, cost = _parse_text_chunk(chunk, budget)
        budget -= cost
        if parsed:
            found.append((chunk.kind, *parsed))
    return found


def _parse_text_chunk(chunk: Chunk, budget: int) -> tuple[tuple[bytes, str] | None, int]:
    """(keyword, text) or None, and how much inflation it cost, held within ``budget`` (none left: a
    compressed chunk is skipped; zlib reads a limit of 0 as none at all)."""
    if chunk.kind not in (b"tEXt", b"zTXt", b"iTXt"):
        return None, 0  # an image data chunk, never split
    limit = min(MAX_INFLATED, budget)
    keyword, _, rest = chunk.body.partition(b"\x00")
    try:
        if chunk.kind == b"tEXt":
            return (keyword, rest.decode("latin-1")), 0
        if chunk.kind == b"zTXt":
            compressed, text = True, rest[1:]
        else:  # iTXt
            compressed, rest = bool(rest[0]), rest[2:]
            _language, _, rest = rest.partition(b"\x00")
            _translated, _, text = rest.partition(b"\x00")
        if not compressed:
            return (keyword, text.decode("utf-8")), 0
        if limit <= 0:
            return None, 0
        try:
            inflated = inflate(text, limit)
        except (zlib.error, MetadataError):
            return None, limit  # a bomb (or a broken stream) costs what was inflated before it was refused
        return (keyword, inflated.decode("latin-1" if chunk.kind == b"zTXt" else "utf-8")), len(inflated)
    except (UnicodeDecodeError, IndexError):
        return None, 0


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


def png_insert_before_data(data: bytes, chunks: list[bytes]) -> bytes:
    """``data`` with ready-made ``chunks`` inserted before its first IDAT (where iCCP, pHYs, eXIf must be)."""
    if not chunks:
        return data
    first = next(c for c in png_chunks(data) if c.kind in (b"IDAT", b"IEND"))
    return data[:first.start] + b"".join(chunks) + data[first.start:]


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


# --- GIF ------------------------------------------------------------------------------------------------

def _gif_header_end(data: bytes) -> int:
    """Offset just past the header, logical screen descriptor and global colour table."""
    if len(data) < 13 or data[:6] not in (b"GIF87a", b"GIF89a"):
        raise MetadataError("not a GIF stream")
    flags = data[10]
    end = 13 + (3 * (2 << (flags & 7)) if flags & 0x80 else 0)
    if end > len(data):
        raise MetadataError("GIF colour table runs past the end of the file")
    return end


def gif_blocks(data: bytes) -> list[tuple[int, int, int]]:
    """(kind, start, end) of each block after the header: an extension (kind 0x2100 | its label) or an image
    (kind 0x2C), up to the trailer. Raises MetadataError when the structure is broken."""
    pos, blocks = _gif_header_end(data), []
    while pos < len(data) and data[pos] != 0x3B:
        start, introducer = pos, data[pos]
        if introducer == 0x21 and pos + 1 < len(data):
            kind, pos = 0x2100 | data[pos + 1], pos + 2
        elif introducer == 0x2C and pos + 10 <= len(data):
            flags = data[pos + 9]
            pos += 10 + (3 * (2 << (flags & 7)) if flags & 0x80 else 0) + 1  # descriptor, local table, LZW size
            kind = 0x2C
        else:
            raise MetadataError(f"unknown GIF block 0x{introducer:02X} at byte {pos}")
        while pos < len(data) and data[pos]:  # data sub-blocks up to the zero-length terminator
            pos += 1 + data[pos]
        if pos >= len(data):
            raise MetadataError("GIF block runs past the end of the file")
        blocks.append((kind, start, pos + 1))
        pos += 1
    return blocks


def _is_gif_xmp(data: bytes, kind: int, start: int) -> bool:
    return kind == 0x21FF and data[start:start + len(GIF_XMP_APP)] == GIF_XMP_APP


def gif_xmp(data: bytes) -> list[bytes]:
    """The XMP packets of a GIF's ``XMP Data`` application extensions."""
    packets = []
    for kind, start, end in gif_blocks(data):
        if _is_gif_xmp(data, kind, start):
            body = data[start + len(GIF_XMP_APP):end]
            packets.append(body[:-len(GIF_XMP_TRAILER)] if body.endswith(GIF_XMP_TRAILER) else body)
    return packets


def gif_set_xmp(data: bytes, packet: bytes) -> bytes:
    """Replace the GIF's XMP with one ``XMP Data`` application extension placed before the first block."""
    if b"\x00" in packet:
        raise MetadataError("an XMP packet for GIF must not contain NUL bytes")
    head = _gif_header_end(data)
    kept = b"".join(data[s:e] for kind, s, e in gif_blocks(data) if not _is_gif_xmp(data, kind, s))
    # application extensions need the 89a header
    return b"GIF89a" + data[6:head] + GIF_XMP_APP + packet + GIF_XMP_TRAILER + kept + b"\x3b"


# --- any container --------------------------------------------------------------------------------------

_XMP_MARKUP = ((b"<x:xmpmeta", b"</x:xmpmeta>"), (b"<rdf:RDF", b"</rdf:RDF>"))


def scan_xmp(data: bytes, limit: int = MAX_PACKETS) -> list[bytes]:
    """XMP packets found anywhere in ``data`` by their markup (TIFF tag 700, AVIF/HEIF items, a packet after
    a PNG's IEND or a JPEG's EOI...). One forward pass per kind of markup: linear in ``data``."""
    for opening, closing in _XMP_MARKUP:
        packets, pos = [], 0
        while len(packets) < limit:
            start = data.find(opening, pos)
            if start < 0:
                break
            end = data.find(closing, start)
            if end < 0:
                break
            packets.append(data[start:end + len(closing)])
            pos = end + len(closing)
        if packets:
            return packets
    return []


def read_xmp(data: bytes) -> tuple[list[bytes], str]:
    """Every XMP packet in ``data`` and where it was found (the format's carrier, else a byte scan)."""
    fmt = sniff_format(data)
    readers = {"JPEG": jpeg_xmp, "PNG": png_xmp, "WEBP": webp_xmp, "GIF": gif_xmp}
    if fmt in readers:
        try:
            return readers[fmt](data), f"{fmt} XMP"
        except MetadataError:
            pass  # structure broken: fall back to scanning the bytes
    return scan_xmp(data), f"{fmt or 'file'} bytes"


# --- EXIF (TIFF structure) -------------------------------------------------------------------------------

TIFF_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
EXIF_POINTERS = (0x8769, 0x8825, 0xA005)  # Exif, GPS and Interoperability sub-IFDs
MAX_IFD_ENTRIES = 1000
MAX_IFDS = 8


def exif_problem(block: bytes) -> str | None:
    """Why the EXIF (TIFF-structured) ``block`` must not be handed to a parser, or None when every IFD and
    every value lies inside it. piexif allocates from each entry's count before it checks the data is there
    (a 40 KB JPEG claiming 4 GB): this walk checks the counts against the block's own size first."""
    if len(block) < 8 or block[:4] not in (b"II*\x00", b"MM\x00*"):
        return "EXIF does not start with a TIFF header"
    order = "<" if block[:2] == b"II" else ">"
    # (offset, whether it is on the main chain IFD0 -> IFD1, whose directories end with a next pointer;
    # sub-directories often do not, so their last four bytes may be value data)
    pending, seen = [(struct.unpack(order + "I", block[4:8])[0], True)], set()
    while pending:
        offset, main_chain = pending.pop()
        if offset in seen or offset == 0:
            continue
        seen.add(offset)
        if len(seen) > MAX_IFDS:
            return "EXIF has more linked directories than any camera writes"
        if offset + 2 > len(block):
            return f"an EXIF directory at byte {offset} lies past the end of the block"
        count = struct.unpack(order + "H", block[offset:offset + 2])[0]
        end = offset + 2 + 12 * count
        if count > MAX_IFD_ENTRIES or end > len(block):
            return f"an EXIF directory at byte {offset} claims {count} entries the block cannot hold"
        for entry in range(offset + 2, end, 12):
            tag, kind, number, value = struct.unpack(order + "HHII", block[entry:entry + 12])
            size = TIFF_TYPE_SIZES.get(kind, 1) * number
            if size > 4 and value + size > len(block):
                return (f"EXIF tag 0x{tag:04X} claims {size:,} bytes in a block of {len(block):,}: "
                        "refused before parsing")
            if tag in EXIF_POINTERS:
                pending.append((value, False))
        if main_chain and end + 4 <= len(block):
            pending.append((struct.unpack(order + "I", block[end:end + 4])[0], True))
    return None


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
