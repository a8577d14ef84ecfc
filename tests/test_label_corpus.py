"""Every real corpus photo, labelled at full size, checked with readers other than our writers:
rapidocr reads the visible marks, c2pa-python validates the manifest, exiftool reads the XMP label."""

import io
import json
import subprocess

import pytest
from PIL import Image

from aimark.labeller import c2pa, metadata, visible
from aimark.labeller.pipeline import Labeller, LabelOptions, label_batch, plan_batch

from .conftest import PRODUCER, require_tool

AUTHOR_ID = "1234567890"


@pytest.fixture(scope="module")
def labelled(corpus, signer, tmp_path_factory):
    out = tmp_path_factory.mktemp("labelled")
    labeller = Labeller(LabelOptions(producer=PRODUCER, generator="test-model", author_id=AUTHOR_ID,
                                     author_template="小红书号：{id}"), signer=signer)
    records = label_batch(labeller, plan_batch([str(p) for p in corpus], out))
    assert [r["status"] for r in records] == ["labelled"] * len(corpus), [r["error"] for r in records]
    return records


def test_ocr_reads_the_label_and_author_id_back_and_glyphs_are_five_percent(labelled, ocr):
    for record in labelled:
        image = Image.open(record["output"])
        marks = visible.read_marks(image, ocr)
        labels = [m for m in marks if m.kind == "ai-label"]
        assert labels, f"{record['input']}: OCR read {[m.text for m in marks]}"
        check = labels[0].check
        assert "AI生成" in labels[0].text
        assert check.glyph_height_px >= visible.required_glyph_height(image.size), record["input"]
        assert check.compliant and check.position == "bottom-left", (record["input"], check)
        authors = [m for m in marks if m.kind == "author-id"]
        assert any(m.author_id == AUTHOR_ID for m in authors), f"{record['input']}: {[m.text for m in marks]}"


def test_manifest_is_trusted_with_our_ca(labelled, keys):
    context = c2pa.read_context(keys.ca_cert.read_text())
    for record in labelled:
        data = open(record["output"], "rb").read()
        report = c2pa.read_c2pa(data, c2pa.MIME_TYPES[record["format"]], context)
        assert report.state == "Trusted", (record["input"], report.failures)
        assert report.aigc["ProduceID"] == record["produce_id"]


def test_exiftool_reads_each_label(labelled):
    exiftool = require_tool("exiftool")
    outputs = [r["output"] for r in labelled]
    tags = json.loads(subprocess.run([exiftool, "-j", "-G1", "-XMP:all", "-IFD0:Artist", *outputs],
                                     capture_output=True, check=True, text=True).stdout)
    by_file = {t["SourceFile"]: t for t in tags}
    for record in labelled:
        found = by_file[record["output"]]
        assert json.loads(found["XMP-TC260:Aigc"]) == record["marks"]["metadata"]["xmp"]["value"]
        assert found["XMP-iptcExt:DigitalSourceType"] == metadata.TRAINED


def test_outputs_keep_the_input_size_and_format(labelled):
    for record in labelled:
        source, output = Image.open(record["input"]), Image.open(record["output"])
        assert output.size == source.size and output.format == source.format


def test_labelled_output_is_not_labelled_again(labelled, signer, tmp_path):
    labeller = Labeller(LabelOptions(producer=PRODUCER), signer=signer)
    record = labeller.label_file(labelled[0]["output"], tmp_path / "again.jpg")
    assert record["status"] == "skipped" and "already carries a metadata label" in record["error"]
    assert not (tmp_path / "again.jpg").exists()


def test_stripped_copy_with_only_c2pa_is_still_recognised(labelled, signer, tmp_path):
    """A copy whose XMP was removed but whose manifest survives still counts as labelled."""
    from aimark.labeller import carriers

    record = next(r for r in labelled if r["input"].endswith("china.jpg"))
    data = open(record["output"], "rb").read()
    xmp_segment = next(s for s in carriers.jpeg_segments(data) if s.payload.startswith(carriers.JPEG_XMP_HEADER))
    stripped = data[:xmp_segment.start] + data[xmp_segment.end:]
    assert metadata.read_labels(stripped).labels == []
    source = tmp_path / "stripped.jpg"
    source.write_bytes(stripped)
    record = Labeller(LabelOptions(producer=PRODUCER), signer=signer).label_file(source, tmp_path / "out.jpg")
    assert record["status"] == "skipped" and "C2PA manifest" in record["error"]
    assert Image.open(io.BytesIO(stripped)).size == Image.open(record["input"]).size
