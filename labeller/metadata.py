"""The metadata (implicit) label: GB 45438 §6.1 / Annex E in XMP ``TC260:AIGC``, and the IPTC source type.

Writers put exactly one label in a file, in the place the TC260 image guide names, and merge it into any
XMP already there. Readers look everywhere a label has been seen in the wild and say, for each one found,
whether it conforms and if not, why — a wrongly written label is still a label, not an absence of one.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field, replace

import piexif
from lxml import etree

from . import carriers, parameters
from .errors import MetadataError
from .vocabulary import Disclosure

TC260_NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
TC260_PREFIX = "TC260"
IPTC_EXT_NS = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
IPTC_EXT_PREFIX = "Iptc4xmpExt"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
X_NS = "adobe:ns:meta/"
TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
COMPOSITE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
SOURCE_TYPES = {"trained": TRAINED, "composite": COMPOSITE}
# What each AI source type declares, in words (IPTC's NewsCodes); the others (a camera's capture, a
# painting's scan, plain algorithmic media) declare no AI generation.
SOURCE_TYPE_MEANINGS = {
    TRAINED: "made by a generative AI model (trainedAlgorithmicMedia)",
    COMPOSITE: "a composite that includes generative AI (compositeWithTrainedAlgorithmicMedia)"}

KEYS = ("Label", "ContentProducer", "ProduceID", "ReservedCode1", "ContentPropagator", "PropagateID",
        "ReservedCode2")
LABEL_MEANINGS = {"1": "AI-generated", "2": "possibly AI-generated", "3": "suspected AI-generated"}
# Annex E: printable ASCII without space, '"' and '\', where '\"' is allowed.
_VALUE = re.compile(r'(?:[\x21\x23-\x5B\x5D-\x7E]|\\")*')
# Carriers besides XMP where labels are found in the wild.
PNG_TEXT_KEYWORD = b"AIGC"
XMP_PADDING = 1024  # lets later in-place edits grow the packet without moving the file around
MAX_XMP_BYTES = 4 * 1024 * 1024  # real packets are KB; a bigger one is refused, not parsed
MAX_LOOSE_CANDIDATES = 64  # label-like spots examined in one malformed packet
LOOSE_WINDOW = 16 * 1024  # how far after a spot a label's JSON may run


def value_problem(key: str, value) -> str | None:
    """Why ``value`` is not allowed for ``key``, or None."""
    if not isinstance(value, str):
        return f"{key} is a {type(value).__name__}, not a string"
    if not _VALUE.fullmatch(value):
        return f"{key} has characters outside printable ASCII without space, '\"' and '\\'"
    if key == "Label" and value not in LABEL_MEANINGS:
        return f"Label is {value!r}; it must be \"1\", \"2\" or \"3\""
    return None


@dataclass(frozen=True)
class AigcLabel:
    """The seven keys of a GB 45438 metadata label, all strings."""

    label: str
    content_producer: str
    produce_id: str
    reserved_code1: str = ""
    content_propagator: str = ""
    propagate_id: str = ""
    reserved_code2: str = ""

    @classmethod
    def for_producer(cls, producer: str, produce_id: str, *, label: str = "1", reserved_code1: str = "",
                     propagator: str | None = None, propagate_id: str | None = None) -> AigcLabel:
        """A producer's first label: propagator fields default to the producer's own values."""
        made = cls(label=label, content_producer=producer, produce_id=produce_id, reserved_code1=reserved_code1,
                   content_propagator=producer if propagator is None else propagator,
                   propagate_id=produce_id if propagate_id is None else propagate_id)
        made.validate()
        return made

    @classmethod
    def from_dict(cls, values: dict) -> AigcLabel:
        return cls(*(values.get(key, "") for key in KEYS))

    def to_dict(self) -> dict[str, str]:
        return dict(zip(KEYS, (self.label, self.content_producer, self.produce_id, self.reserved_code1,
                               self.content_propagator, self.propagate_id, self.reserved_code2)))

    def to_json(self, wrapped: bool = False) -> str:
        """Compact JSON: the inner object (XMP), or ``{"AIGC": {...}}`` (Annex E, other carriers)."""
        inner = self.to_dict()
        return json.dumps({"AIGC": inner} if wrapped else inner, separators=(",", ":"), ensure_ascii=True)

    def validate(self) -> None:
        problems = [p for key, value in self.to_dict().items() if (p := value_problem(key, value))]
        if problems:
            raise MetadataError("metadata label refused: " + "; ".join(problems))

    @property
    def meaning(self) -> str:
        return LABEL_MEANINGS.get(self.label, "unknown")


# --- writing --------------------------------------------------------------------------------------------

def _safe_parser() -> etree.XMLParser:
    """A parser for untrusted XMP: no entity expansion, no DTD, no network, bounded trees."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           remove_blank_text=True)


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _outer_markup(packet: bytes) -> bytes:
    """The outermost ``x:xmpmeta`` (else ``rdf:RDF``) element's bytes, found with two ``find`` calls (a
    regex with ``.*`` here was quadratic on packets full of openings and no close)."""
    for opening, closing in ((b"<x:xmpmeta", b"</x:xmpmeta>"), (b"<rdf:RDF", b"</rdf:RDF>")):
        start, end = packet.find(opening), packet.rfind(closing)
        if start >= 0 and end > start:
            return packet[start:end + len(closing)]
    return packet


def parse_xmp(packet: bytes) -> etree._Element:
    """The root of an XMP packet (``x:xmpmeta`` or ``rdf:RDF``). Raises MetadataError if malformed."""
    if len(packet) > MAX_XMP_BYTES:
        raise MetadataError(f"XMP packet of {len(packet):,} bytes is over the {MAX_XMP_BYTES:,}-byte limit")
    try:
        return etree.fromstring(_outer_markup(packet), _safe_parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise MetadataError(f"malformed XMP: {str(exc)[:200]}") from None


def _drop_property(root: etree._Element, local_name: str) -> None:
    """Remove every property called ``local_name``, in any namespace, element or attribute form."""
    for element in list(root.iter()):
        if _local(element.tag) == local_name and element.getparent() is not None:
            element.getparent().remove(element)
        for attribute in list(element.attrib):
            if _local(attribute) == local_name:
                del element.attrib[attribute]


def merged_xmp(existing: bytes | None, label: AigcLabel, source_type: str = TRAINED) -> tuple[bytes, list[str]]:
    """An XMP packet holding ``label`` and the IPTC source type, keeping everything else of ``existing``.

    Any AIGC property already present, in any namespace, is replaced: a file carries exactly one label
    (§6.1 c). Returns the packet and notes on what was done to the existing XMP.
    """
    notes: list[str] = []
    root = None
    if existing:
        try:
            root = parse_xmp(existing)
        except MetadataError as exc:
            notes.append(f"existing XMP could not be parsed and was replaced ({exc})")
    if root is None:
        root = etree.Element(f"{{{X_NS}}}xmpmeta", nsmap={"x": X_NS})
        etree.SubElement(root, f"{{{RDF_NS}}}RDF", nsmap={"rdf": RDF_NS})
    elif _local(root.tag) == "RDF":
        wrapper = etree.Element(f"{{{X_NS}}}xmpmeta", nsmap={"x": X_NS})
        wrapper.append(root)
        root = wrapper
    rdf = next(root.iter(f"{{{RDF_NS}}}RDF"), None)
    if rdf is None:
        rdf = etree.SubElement(root, f"{{{RDF_NS}}}RDF", nsmap={"rdf": RDF_NS})
    for name in ("AIGC", "DigitalSourceType"):
        _drop_property(rdf, name)
    description = etree.SubElement(rdf, f"{{{RDF_NS}}}Description",
                                   nsmap={TC260_PREFIX: TC260_NS, IPTC_EXT_PREFIX: IPTC_EXT_NS})
    description.set(f"{{{RDF_NS}}}about", "")
    etree.SubElement(description, f"{{{TC260_NS}}}AIGC").text = label.to_json()
    etree.SubElement(description, f"{{{IPTC_EXT_NS}}}DigitalSourceType").text = source_type
    body = etree.tostring(root, encoding="utf-8")
    packet = (b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n' + body + b"\n"
              + b" " * XMP_PADDING + b'\n<?xpacket end="w"?>')
    return packet, notes


IN_PLACE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")  # formats whose XMP is set without re-encoding


def label_packet(source: bytes, label: AigcLabel, source_type: str = TRAINED) -> tuple[bytes, list[str]]:
    """The XMP packet to write for ``label``: the source file's own XMP kept, with our label merged in."""
    label.validate()
    existing, _ = carriers.read_xmp(source)
    packet, notes = merged_xmp(existing[0] if existing else None, label, source_type)
    if len(existing) > 1:
        notes.append(f"{len(existing)} XMP packets merged into one")
    if carriers.sniff_format(source) == "JPEG" and len(packet) + len(carriers.JPEG_XMP_HEADER) > \
            carriers.JPEG_MAX_SEGMENT_PAYLOAD:
        packet, _ = merged_xmp(None, label, source_type)
        notes.append("the source's XMP is too large for one JPEG segment: only the label's packet was written")
    return packet, notes


def set_xmp(data: bytes, packet: bytes, *, canvas: tuple[int, int] | None = None,
            has_alpha: bool = False) -> bytes:
    """``data`` (an encoded JPEG, PNG, WebP or GIF) with ``packet`` as its one XMP packet; pixels untouched.

    ``canvas``/``has_alpha`` describe the image, needed only for a simple WebP that must become extended."""
    fmt = carriers.sniff_format(data)
    if fmt == "JPEG":
        return carriers.jpeg_set_xmp(data, packet)
    if fmt == "PNG":
        return carriers.png_set_xmp(data, packet)
    if fmt == "GIF":
        return carriers.gif_set_xmp(data, packet)
    if fmt == "WEBP":
        if canvas is None:
            import io

            from PIL import Image

            with Image.open(io.BytesIO(data)) as image:
                canvas, has_alpha = image.size, image.mode == "RGBA"
        return carriers.webp_set_xmp(data, packet, canvas, has_alpha)
    raise MetadataError(f"the metadata label of a {fmt or 'file of unknown format'} is written when it is encoded, "
                        "not in place; " + "write " + ", ".join(IN_PLACE_FORMATS) + " to update it in place")


def write_label(data: bytes, label: AigcLabel, source_type: str = TRAINED, *,
                canvas: tuple[int, int] | None = None, has_alpha: bool = False) -> tuple[bytes, list[str]]:
    """``data`` (an encoded JPEG, PNG, WebP or GIF) with its XMP label set, other XMP kept; pixels untouched."""
    packet, notes = label_packet(data, label, source_type)
    return set_xmp(data, packet, canvas=canvas, has_alpha=has_alpha), notes


def stamp_exif(exif: dict | None, *, artist: str | None, software: str) -> dict:
    """EXIF with Artist and Software set (and an AIGC UserComment removed: the label lives in XMP)."""
    exif = {key: dict(value) if isinstance(value, dict) else value for key, value in (exif or {}).items()}
    zeroth = exif.setdefault("0th", {})
    zeroth[piexif.ImageIFD.Software] = software.encode("ascii", "replace")
    if artist:
        zeroth[piexif.ImageIFD.Artist] = artist.encode("utf-8")
    comment = exif.get("Exif", {}).get(piexif.ExifIFD.UserComment, b"")
    if not isinstance(comment, bytes) or b"AIGC" in comment or "AIGC".encode("utf-16-be") in comment:
        exif.get("Exif", {}).pop(piexif.ExifIFD.UserComment, None)
    return exif


# --- reading --------------------------------------------------------------------------------------------
#
# Where labels are found, as a reader of real downloads finds them (issue 12). The TC260 image guide's
# carrier is XMP ``TC260:AIGC``; the others are carriers services and other tools use. Each found label says
# where it was, in which form, and whether it conforms; a vendor's own disclosure (not TC260 JSON) is kept
# apart as a disclosure, named after its vendor.

@dataclass(frozen=True)
class FoundLabel:
    """One AIGC label found in a file: where, in which form, what it says, and what is wrong with it."""

    carrier: str
    form: str  # "inner", "wrapped", "properties" or "unparsed"
    namespace: str | None
    raw: str
    values: dict
    problems: tuple[str, ...]

    @property
    def conforming(self) -> bool:
        return not self.problems

    @property
    def label(self) -> AigcLabel | None:
        """The label as our type when every key is a string, else None."""
        if all(isinstance(self.values.get(k), str) for k in KEYS):
            return AigcLabel.from_dict(self.values)
        return None

    def as_record(self) -> dict:
        return {"carrier": self.carrier, "form": self.form, "namespace": self.namespace,
                "conforming": self.conforming, "values": self.values, "problems": list(self.problems)}


@dataclass
class MetadataReport:
    """Every metadata label, vendor disclosure and related field found in a file."""

    labels: list[FoundLabel] = field(default_factory=list)
    disclosures: list[Disclosure] = field(default_factory=list)
    digital_source_type: str | None = None
    artist: str | None = None
    software: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """``conforming`` (one good label), ``non-conforming`` (a label with problems, or several) or ``none``."""
        if not self.labels:
            return "none"
        if len(self.labels) == 1 and self.labels[0].conforming:
            return "conforming"
        return "non-conforming"

    @property
    def label(self) -> AigcLabel | None:
        for found in self.labels:
            if found.label is not None:
                return found.label
        return None

    def as_record(self) -> dict:
        return {"status": self.status, "labels": [f.as_record() for f in self.labels],
                "disclosures": [d.as_record() for d in self.disclosures],
                "digital_source_type": self.digital_source_type, "artist": self.artist,
                "software": self.software, "problems": self.problems}


def _json(text: str):
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # ValueError: also a number of over 4,300 digits
        return None


def parse_label_json(raw: str) -> tuple[dict | None, str, list[str]]:
    """Parse a label value: inner or wrapped JSON, possibly ``&quot;``-escaped or behind an ``AIGC=`` or
    ``AIGC`` prefix. (values, form, problems)"""
    text = raw.strip()
    if "&quot;" in text or "&amp;" in text:
        text = html.unescape(text)
    for prefix in ("AIGC=", "AIGC:", "AIGC"):
        if text.startswith(prefix) and text[len(prefix):].lstrip().startswith("{"):
            text = text[len(prefix):].lstrip()
            break
    value = _json(text)
    if value is None:
        return None, "unparsed", ["the label is not valid JSON"]
    if not isinstance(value, dict):
        return None, "unparsed", ["the label is JSON but not an object"]
    if set(value) == {"AIGC"} and isinstance(value["AIGC"], dict):
        return value["AIGC"], "wrapped", []
    return value, "inner", []


def is_label_json(raw: str) -> bool:
    """Whether ``raw`` is JSON holding a label (some of the seven keys): unrelated JSON is no label."""
    values, _, _ = parse_label_json(raw)
    return values is not None and any(key in values for key in KEYS)


def judge_values(values: dict) -> list[str]:
    """Problems with a parsed label's keys and values (empty when it conforms)."""
    problems = []
    missing = [k for k in KEYS if k not in values]
    extra = [k for k in values if k not in KEYS]
    if missing:
        problems.append("missing keys: " + ", ".join(missing))
    if extra:
        problems.append("unexpected keys: " + ", ".join(map(str, extra)))
    problems += [p for k in KEYS if k in values and (p := value_problem(k, values[k]))]
    return problems


def _found(carrier: str, raw: str, namespace: str | None, extra_problems: list[str]) -> FoundLabel:
    values, form, problems = parse_label_json(raw)
    if values is not None:
        problems = judge_values(values)
    return FoundLabel(carrier=carrier, form=form, namespace=namespace, raw=raw[:4096], values=values or {},
                      problems=tuple(extra_problems + problems))


XMPKV_NAME = "XmpKvBase64"  # Volcano Engine's base64 copy of the label, beside the per-key properties


def _labels_in_xmp(root: etree._Element, carrier: str) -> tuple[list[FoundLabel], str | None]:
    labels, source_type = [], None
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        candidates = [(element.tag, element.text or "")] if _local(element.tag) in ("AIGC", "DigitalSourceType",
                                                                                    XMPKV_NAME) else []
        candidates += [(name, value) for name, value in element.attrib.items()
                       if _local(name) in ("AIGC", "DigitalSourceType", XMPKV_NAME)]
        for name, value in candidates:
            namespace = etree.QName(name).namespace
            if _local(name) == "DigitalSourceType":
                source_type = value.strip() or source_type
            elif _local(name) == XMPKV_NAME:
                labels += _xmpkv_label(value, carrier)
            else:
                problems = [] if namespace == TC260_NS else [
                    f"label in namespace {namespace or '(none)'} instead of {TC260_NS}"]
                labels.append(_found(carrier, value, namespace, problems))
        keyed = _keyed_label(element, carrier)
        if keyed is not None:
            labels.append(keyed)
    return labels, source_type


def _keyed_label(element: etree._Element, carrier: str) -> FoundLabel | None:
    """The seven keys as separate properties in the TC260 namespace (``AIGC:Label="1" ...``), as Volcano
    Engine writes them: a label, but not in the one ``TC260:AIGC`` JSON value the guide asks for."""
    values = {}
    for name, value in element.attrib.items():
        if etree.QName(name).namespace == TC260_NS and _local(name) in KEYS:
            values[_local(name)] = value
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child.tag).namespace == TC260_NS and _local(child.tag) in KEYS:
            values[_local(child.tag)] = child.text or ""
    if not values:
        return None
    problems = ("the keys are separate XMP properties (Volcano Engine's form), not the one TC260:AIGC JSON "
                "value the TC260 guide asks for",) + tuple(judge_values(values))
    return FoundLabel(carrier=f"{carrier} TC260 properties", form="properties", namespace=TC260_NS,
                      raw=json.dumps(values), values=values, problems=problems)


def _xmpkv_label(value: str, carrier: str) -> list[FoundLabel]:
    import base64
    import binascii

    try:
        decoded = base64.b64decode(value.strip(), validate=False).decode("utf-8")
    except (binascii.Error, ValueError):
        return []
    if not is_label_json(decoded):
        return []
    return [_found(f"{carrier} xmpKV:{XMPKV_NAME} (base64)", decoded, None,
                   ["a base64 copy in a vendor property (Volcano Engine's xmpKV), not TC260:AIGC"])]


# EXIF: UserComment and ImageDescription carry TC260 JSON for some services, and vendor disclosures for others.

def _labels_in_exif(exif_block: bytes) -> tuple[list[FoundLabel], list[Disclosure], str | None, str | None]:
    if carriers.exif_problem(exif_block):
        return [], [], None, None
    try:
        exif = piexif.load(b"Exif\x00\x00" + exif_block)
    except Exception:  # noqa: BLE001 - piexif raises many types on malformed data
        return [], [], None, None
    zeroth = exif.get("0th", {})
    texts = {"EXIF UserComment": _decode_user_comment(exif.get("Exif", {}).get(piexif.ExifIFD.UserComment, b"")),
             "EXIF ImageDescription": _text(zeroth.get(piexif.ImageIFD.ImageDescription))}
    labels = []
    disclosures = parameters.found_in([
        ("UserComment", texts["EXIF UserComment"], "EXIF UserComment"),
        ("Description", texts["EXIF ImageDescription"] or "", "EXIF ImageDescription")])
    for carrier, text in texts.items():
        if not text:
            continue
        if is_label_json(text):
            labels.append(_found(carrier, text, None, []))
        disclosures += vendor_disclosures(text, carrier)
    return labels, disclosures, _text(zeroth.get(piexif.ImageIFD.Artist)), _text(zeroth.get(piexif.ImageIFD.Software))


def _text(value) -> str | None:
    return value.decode("utf-8", "replace").strip("\x00 ") if isinstance(value, bytes) else None


def _decode_user_comment(comment) -> str:
    if not isinstance(comment, bytes):
        return ""
    prefix, body = comment[:8], comment[8:]
    if prefix.startswith(b"UNICODE"):
        # the byte order is the writer's (piexif, as AUTOMATIC1111 uses it: big-endian; Windows: little):
        # the reading with more printable characters is the one
        readings = [body.decode(codec, "ignore").strip("\x00 ") for codec in ("utf-16-be", "utf-16-le")]
        return max(readings, key=lambda text: sum(ch.isprintable() and ord(ch) < 0x3000 or ch == "\n"
                                                  for ch in text))
    return (body if prefix.rstrip(b"\x00") in (b"ASCII", b"") else comment).decode("utf-8", "replace").strip("\x00 ")


# Vendor disclosures (their own JSON, not TC260's).
TENCENT_KEYS = ("ServiceProvider", "ServiceUser", "Time", "ContentId")
DOUYIN_KEY = "aigc_info"


def vendor_disclosures(text: str, carrier: str) -> list[Disclosure]:
    """Tencent Cloud's ``ServiceProvider/ServiceUser/Time/ContentId`` JSON and Douyin's ``aigc_info``
    (``aigc_type``, ``aigc_label_type``), directly or nested as a JSON string one level down."""
    found = []
    for value in _json_objects(text):
        tencent = next((v for v in (value, value.get("AIGC")) if isinstance(v, dict)
                        and "ServiceProvider" in v and ("ContentId" in v or "Time" in v)), None)
        if tencent is not None:
            fields = {k: tencent.get(k) for k in TENCENT_KEYS if k in tencent}
            found.append(Disclosure("Tencent Cloud", carrier, fields,
                                    f"generated by an AI service of {fields.get('ServiceProvider')!s}"))
        info = value.get(DOUYIN_KEY)
        if isinstance(info, str):
            info = _json(info)
        if isinstance(info, dict) and _positive(info.get("aigc_label_type", info.get("aigc_type"))):
            fields = {k: info[k] for k in ("aigc_type", "aigc_label_type") if k in info}
            found.append(Disclosure("Douyin", carrier, fields,
                                    f"AI-generated content (aigc_label_type {fields.get('aigc_label_type')})"))
    return found


def _json_objects(text: str) -> list[dict]:
    """``text`` as a JSON object, plus any JSON object held as a string value one level down."""
    value = _json(text.strip())
    if not isinstance(value, dict):
        return []
    nested = [inner for inner in (_json(v) for v in value.values() if isinstance(v, str) and v.strip()[:1] == "{")
              if isinstance(inner, dict)]
    return [value] + nested


def _positive(value) -> bool:
    try:
        return int(str(value)) > 0
    except ValueError:
        return False


# PNG text chunks, JPEG APP segments, and XMP outside the container.

PNG_LABEL_KEYWORDS = {PNG_TEXT_KEYWORD: "", b"Description": "wrapped JSON in a PNG Description text chunk"}


def _labels_in_png_text(data: bytes) -> tuple[list[FoundLabel], list[Disclosure]]:
    try:
        texts = carriers.png_text_chunks(data)
    except MetadataError:
        return [], []
    named = [(keyword, text, f"PNG {kind.decode()} {keyword.decode('latin-1')}")
             for kind, keyword, text in texts]
    labels = []
    disclosures = parameters.found_in([(keyword.decode("latin-1"), text, carrier)
                                       for keyword, text, carrier in named])
    for keyword, text, carrier in named:
        if keyword == PNG_TEXT_KEYWORD and (is_label_json(text) or _json(text.strip()) is None):
            labels.append(_found(carrier, text, None, []))  # the keyword says label: broken JSON is a broken label
        elif keyword == b"Description" and is_label_json(text):
            labels.append(_found(carrier, text, None, []))
        if keyword in (b"Description", b"Comment", PNG_TEXT_KEYWORD):
            disclosures += vendor_disclosures(text, carrier)
    return labels, disclosures


def _labels_in_jpeg_app(data: bytes) -> list[FoundLabel]:
    """Bare ``AIGC{...}`` or ``{"AIGC":{...}}`` JSON in an APP9 or APP11 segment (APP11 also holds C2PA
    JUMBF, which starts otherwise)."""
    labels = []
    for segment in carriers.jpeg_segments(data, strict=False):
        if segment.marker in (0xE9, 0xEB) and segment.payload[:5].lstrip()[:4] in (b"AIGC", b'{"AI', b"{ \"A"):
            text = segment.payload.decode("utf-8", "replace").strip("\x00 ")
            if is_label_json(text):
                labels.append(_found(f"JPEG APP{segment.marker - 0xE0} segment", text, None,
                                     ["in a JPEG APP segment, where the TC260 guide does not put labels (XMP)"]))
    return labels


def _xmp_after_the_end(data: bytes, fmt: str | None) -> list[bytes]:
    """XMP packets appended after a PNG's IEND chunk or a JPEG's EOI marker: outside the image, where
    readers that follow the format never look."""
    end = None
    if fmt == "PNG":
        try:
            chunks = carriers.png_chunks(data)
        except MetadataError:
            chunks = []
        end = chunks[-1].end if chunks and chunks[-1].kind == b"IEND" else None
    elif fmt == "JPEG":
        eoi = data.rfind(b"\xff\xd9")
        end = eoi + 2 if eoi > 0 else None
    if end is None or end >= len(data):
        return []
    return carriers.scan_xmp(data[end:])


def read_labels(data: bytes, decoded=None) -> MetadataReport:
    """Every metadata label in ``data`` (any format), each judged, plus IPTC source type, EXIF fields and
    vendor disclosures. ``decoded``: a callable giving the decoded pixels, called only for a PNG, whose
    lowest bits may hide parameters (NovelAI's "stealth" form: only a lossless file keeps them) — so reading
    the metadata of any other file never decodes it."""
    report = MetadataReport()
    fmt = carriers.sniff_format(data)
    packets, carrier = carriers.read_xmp(data)
    trailing = _xmp_after_the_end(data, fmt)
    located = [(p, carrier, []) for p in packets]
    located += [(p, f"XMP after the end of the {fmt} image",
                 ["the XMP packet sits after the end of the image, where the TC260 guide does not put it"])
                for p in trailing if p not in packets]
    for packet, where, where_problems in located:
        try:
            root = parse_xmp(packet)
        except MetadataError as exc:
            report.problems.append(str(exc))
            report.labels += _labels_in_text(packet.decode("utf-8", "replace"), f"{where} (malformed)")
            continue
        labels, source_type = _labels_in_xmp(root, where)
        report.labels += [replace(f, problems=tuple(where_problems) + f.problems) for f in labels]
        report.digital_source_type = source_type or report.digital_source_type
    exif_block = carriers.read_exif(data)
    if exif_block:
        labels, disclosures, report.artist, report.software = _labels_in_exif(exif_block)
        report.labels += labels
        report.disclosures += disclosures
    if fmt == "PNG":
        labels, disclosures = _labels_in_png_text(data)
        report.labels += labels
        pixels = decoded() if decoded is not None else None
        report.disclosures += disclosures + (parameters.found_in(parameters.hidden_in_picture(pixels))
                                             if pixels is not None else [])
    elif fmt == "JPEG":
        report.labels += _labels_in_jpeg_app(data)
    if len(report.labels) > 1:
        report.problems.append(f"{len(report.labels)} labels in one file ("
                               + "; ".join(f.carrier for f in report.labels)
                               + "); GB 45438 §6.1 allows exactly one")
    return report


_LOOSE_LEAD = re.compile(r"[\"']?\s*[=:>]\s*[\"']?")


def _labels_in_text(text: str, carrier: str) -> list[FoundLabel]:
    """Labels in malformed XMP, found by their ``AIGC`` name and parsed where they start: better a flagged
    label than a missed one. Bounded: at most MAX_LOOSE_CANDIDATES spots, each read within LOOSE_WINDOW."""
    found, pos = [], 0
    decoder = json.JSONDecoder()
    for _ in range(MAX_LOOSE_CANDIDATES):
        spot = text.find("AIGC", pos)
        if spot < 0:
            break
        pos = spot + 4
        lead = _LOOSE_LEAD.match(text, pos, pos + 16)
        if lead is None or not text.startswith(("{", "&quot;", "{&quot;"), lead.end()):
            continue
        window = text[lead.end():lead.end() + LOOSE_WINDOW]
        raw = html.unescape(window) if window.startswith("{&quot;") else window
        try:
            _, length = decoder.raw_decode(raw)
        except (json.JSONDecodeError, RecursionError):
            continue
        found.append(_found(carrier, raw[:length], None, ["found in malformed XMP"]))
        pos = lead.end() + length
    return found
