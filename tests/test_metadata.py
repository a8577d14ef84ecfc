"""The TC260 metadata label: values, XMP bytes in each carrier, merging, and reading what the wild writes."""

import io
import json
import subprocess
from xml.etree import ElementTree

import numpy as np
import piexif
import pytest
from PIL import Image

from aimark.labeller import carriers, metadata
from aimark.labeller.errors import MetadataError
from aimark.labeller.metadata import AigcLabel

from .conftest import PRODUCER, SMALL_PHOTO, encode, require_tool

LABEL = AigcLabel.for_producer(PRODUCER, "a1b2c3")
EXPECTED_JSON = ('{"Label":"1","ContentProducer":"001191110102MACQD9K64010000","ProduceID":"a1b2c3",'
                 '"ReservedCode1":"","ContentPropagator":"001191110102MACQD9K64010000","PropagateID":"a1b2c3",'
                 '"ReservedCode2":""}')


def photo(fmt: str, **params) -> bytes:
    """A small real photo encoded as ``fmt``."""
    image = Image.open(SMALL_PHOTO).convert("RGB").resize((160, 107))
    return encode(image, fmt, **params)


def test_label_json_has_seven_string_keys_in_order_and_both_forms():
    assert LABEL.to_json() == EXPECTED_JSON
    assert json.loads(LABEL.to_json(wrapped=True)) == {"AIGC": json.loads(EXPECTED_JSON)}


@pytest.mark.parametrize("producer, problem", [
    ("My Studio", "printable ASCII"), ("工作室", "printable ASCII"), ('a"b', "printable ASCII"), ("a\\b", "printable ASCII"),
])
def test_values_outside_the_annex_e_characters_are_refused(producer, problem):
    with pytest.raises(MetadataError, match=problem):
        AigcLabel.for_producer(producer, "id1")


def test_escaped_quote_is_allowed_in_values():
    assert AigcLabel.for_producer('a\\"b', "id1").content_producer == 'a\\"b'


@pytest.mark.parametrize("fmt, params", [("JPEG", {}), ("PNG", {}), ("WEBP", {}), ("WEBP", {"lossless": True}),
                                         ("WEBP", {"exif": piexif.dump({"0th": {piexif.ImageIFD.Software: b"x"}})})])
def test_label_round_trips_in_each_carrier_without_touching_pixels(fmt, params):
    original = photo(fmt, **params)
    labelled, notes = metadata.write_label(original, LABEL)
    assert notes == []
    report = metadata.read_labels(labelled)
    assert report.status == "conforming"
    assert report.label == LABEL
    assert report.labels[0].form == "inner" and report.labels[0].namespace == metadata.TC260_NS
    assert report.digital_source_type == metadata.TRAINED
    before = np.asarray(Image.open(io.BytesIO(original)).convert("RGB"))
    after = np.asarray(Image.open(io.BytesIO(labelled)).convert("RGB"))
    assert np.array_equal(before, after)


def test_simple_webp_becomes_extended_with_the_xmp_flag():
    labelled, _ = metadata.write_label(photo("WEBP"), LABEL)
    chunks = carriers.webp_chunks(labelled)
    assert chunks[0].kind == b"VP8X" and chunks[0].body[0] & carriers.WEBP_XMP_FLAG
    assert chunks[-1].kind == b"XMP "
    assert Image.open(io.BytesIO(labelled)).size == (160, 107)


def test_writing_twice_keeps_exactly_one_label_and_the_other_xmp():
    existing = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
                b'xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/" TC260:AIGC="{&quot;Label&quot;:&quot;3&quot;}">'
                b'<dc:creator><rdf:Seq><rdf:li>Ada</rdf:li></rdf:Seq></dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>')
    data = carriers.jpeg_set_xmp(photo("JPEG"), existing)
    once, _ = metadata.write_label(data, LABEL)
    twice, _ = metadata.write_label(once, AigcLabel.for_producer(PRODUCER, "second"))
    packets = carriers.jpeg_xmp(twice)
    assert len(packets) == 1
    assert packets[0].count(b"AIGC>") == 2  # one element: an opening and a closing tag
    assert b"<rdf:li>Ada</rdf:li>" in packets[0] and b"xmlns:dc=" in packets[0]
    report = metadata.read_labels(twice)
    assert report.status == "conforming" and report.label.produce_id == "second"


def test_exiftool_reads_the_label_with_the_exact_namespace_and_json(tmp_path):
    """exiftool finds the packet in each carrier and reads the JSON; its packet, parsed by the standard
    library's XML parser (not lxml, which wrote it), has the property under the exact TC260 URI."""
    exiftool = require_tool("exiftool")
    for fmt in ("JPEG", "PNG", "WEBP"):
        path = tmp_path / f"labelled.{fmt.lower()}"
        path.write_bytes(metadata.write_label(photo(fmt), LABEL)[0])
        tags = json.loads(subprocess.run([exiftool, "-j", "-G1", "-XMP:all", str(path)], capture_output=True,
                                         check=True, text=True).stdout)[0]
        assert tags["XMP-TC260:Aigc"] == EXPECTED_JSON, fmt  # exiftool spells unknown tag names its own way
        assert tags["XMP-iptcExt:DigitalSourceType"] == metadata.TRAINED, fmt
        packet = subprocess.run([exiftool, "-xmp", "-b", str(path)], capture_output=True, check=True).stdout
        root = ElementTree.fromstring(packet[packet.index(b"<x:xmpmeta"):packet.index(b"</x:xmpmeta>") + 12])
        values = [e.text for e in root.iter("{http://www.tc260.org.cn/ns/AIGC/1.0/}AIGC")]
        assert values == [EXPECTED_JSON], fmt


def _xmp(description_inner: str, attributes: str = "", namespaces: str = "") -> bytes:
    return (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'<rdf:Description rdf:about="" {namespaces} {attributes}>{description_inner}</rdf:Description>'
            f"</rdf:RDF></x:xmpmeta>").encode()


TC = 'xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/"'
GOOD = json.loads(EXPECTED_JSON)


@pytest.mark.parametrize("packet, form", [
    (_xmp(f"<TC260:AIGC>{json.dumps(GOOD)}</TC260:AIGC>", namespaces=TC), "inner"),
    (_xmp(f"<TC260:AIGC>{json.dumps({'AIGC': GOOD})}</TC260:AIGC>", namespaces=TC), "wrapped"),
    (_xmp("", attributes="TC260:AIGC='" + json.dumps(GOOD) + "'", namespaces=TC), "inner"),
    (_xmp(f"<TC260:AIGC>{json.dumps(GOOD).replace(chr(34), '&amp;quot;')}</TC260:AIGC>", namespaces=TC), "inner"),
])
def test_reader_accepts_every_conforming_form(packet, form):
    report = metadata.read_labels(carriers.png_set_xmp(photo("PNG"), packet))
    assert report.status == "conforming", report.as_record()
    assert report.labels[0].form == form and report.label == LABEL


@pytest.mark.parametrize("packet, problem", [
    (_xmp(f"<tc:AIGC>{json.dumps(GOOD)}</tc:AIGC>", namespaces='xmlns:tc="http://ns.adobe.com/xap/1.0/tc/"'),
     "namespace http://ns.adobe.com/xap/1.0/tc/"),
    (_xmp(f"<dc:AIGC>{json.dumps(GOOD)}</dc:AIGC>", namespaces='xmlns:dc="http://purl.org/dc/elements/1.1/"'),
     "namespace http://purl.org/dc/elements/1.1/"),
    (_xmp(f"<TC260:AIGC>{json.dumps({**GOOD, 'Label': 1})}</TC260:AIGC>", namespaces=TC), "Label is a int"),
    (_xmp(f"<TC260:AIGC>{json.dumps({**GOOD, 'ContentProducer': 'My Studio'})}</TC260:AIGC>", namespaces=TC),
     "ContentProducer has characters"),
    (_xmp('<TC260:AIGC>{"Label":"1"}</TC260:AIGC>', namespaces=TC), "missing keys: ContentProducer"),
    (_xmp("<TC260:AIGC>not json</TC260:AIGC>", namespaces=TC), "not valid JSON"),
])
def test_reader_reports_non_conforming_labels_as_labels(packet, problem):
    report = metadata.read_labels(carriers.jpeg_set_xmp(photo("JPEG"), packet))
    assert report.status == "non-conforming"
    assert any(problem in p for p in report.labels[0].problems), report.labels[0].problems


def test_reader_finds_labels_in_exif_user_comment_and_png_text():
    wrapped = LABEL.to_json(wrapped=True)
    comment = b"ASCII\x00\x00\x00" + wrapped.encode()
    jpeg = photo("JPEG", exif=piexif.dump({"Exif": {piexif.ExifIFD.UserComment: comment}}))
    exif_report = metadata.read_labels(jpeg)
    assert exif_report.labels[0].carrier == "EXIF UserComment" and exif_report.label == LABEL
    assert exif_report.labels[0].form == "wrapped"

    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("AIGC", wrapped)
    png_report = metadata.read_labels(photo("PNG", pnginfo=info))
    assert png_report.labels[0].carrier == "PNG tEXt AIGC" and png_report.status == "conforming"


def test_malformed_xmp_is_reported_and_its_label_still_found():
    broken = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><TC260:AIGC>' + EXPECTED_JSON.encode() + b"</x:xmpmeta>"
    report = metadata.read_labels(carriers.jpeg_set_xmp(photo("JPEG"), broken))
    assert any("malformed XMP" in p for p in report.problems)
    assert report.status == "non-conforming" and report.labels[0].values == GOOD


def test_entity_expansion_in_hostile_xmp_is_not_performed():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            b'<rdf:Description xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/"><TC260:AIGC>&b;</TC260:AIGC>'
            b"</rdf:Description></rdf:RDF></x:xmpmeta>")
    report = metadata.read_labels(carriers.png_set_xmp(photo("PNG"), bomb))
    assert any("malformed XMP" in problem for problem in report.problems)  # the DTD is never honoured
    assert all("aaaaaaaaaa" not in json.dumps(f.values) + f.raw for f in report.labels)


def test_two_labels_in_one_file_are_flagged():
    packet = _xmp(f"<TC260:AIGC>{EXPECTED_JSON}</TC260:AIGC>", namespaces=TC)
    comment = b"ASCII\x00\x00\x00" + LABEL.to_json(wrapped=True).encode()
    data = carriers.jpeg_set_xmp(photo("JPEG", exif=piexif.dump({"Exif": {piexif.ExifIFD.UserComment: comment}})), packet)
    report = metadata.read_labels(data)
    assert report.status == "non-conforming" and any("exactly one" in p for p in report.problems)


def test_jpeg_xmp_too_large_for_one_segment_is_refused():
    with pytest.raises(MetadataError, match="APP1 segment holds at most"):
        carriers.jpeg_set_xmp(photo("JPEG"), b" " * 70000)


def test_reader_finds_labels_in_tiff_tag_700_and_gif_xmp_data():
    packet, _ = metadata.merged_xmp(None, LABEL)
    image = Image.open(SMALL_PHOTO).convert("RGB").resize((64, 43))
    tiff = encode(image, "TIFF", tiffinfo={700: packet})
    gif = bytearray(encode(image.quantize(32), "GIF"))
    magic_trailer = bytes([1]) + bytes(range(255, -1, -1)) + b"\x00"
    gif[-1:] = b"\x21\xff\x0bXMP DataXMP" + packet + magic_trailer + b"\x3b"
    for data in (tiff, bytes(gif)):
        report = metadata.read_labels(data)
        assert report.status == "conforming" and report.label == LABEL
