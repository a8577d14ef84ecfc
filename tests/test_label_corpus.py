"""Every corpus picture, labelled at its own size, checked with readers other than our writers: rapidocr
reads the visible marks, c2pa-python validates the manifest, exiftool reads the XMP label. The project's
own corpus runs by default; the full-size photos beside the checkout run as the ``slow`` variant."""

import io
import json
import subprocess

import pytest
from PIL import Image

from aimark.labeller import c2pa, carriers, metadata, visible
from aimark.labeller.batch import Journal, LabelTask, plan_batch, run_batch
from aimark.labeller.pipeline import Labeller, LabelOptions
from aimark.labeller.workers import Limits

from .conftest import PRODUCER, require_tool

AUTHOR_ID = "1234567890"


def label_all(labeller, paths, out) -> list[dict]:
    """Label ``paths`` into ``out`` through the batch machinery, in this process."""
    plan = plan_batch([str(p) for p in paths], out)
    outcome = run_batch(plan, LabelTask(labeller), fingerprint=labeller.fingerprint(), limits=Limits(jobs=0),
                        journal=Journal(None))
    return outcome.records


@pytest.fixture(scope="module", params=["project", pytest.param("shared", marks=pytest.mark.slow)])
def labelled(request, signer, tmp_path_factory):
    files = request.getfixturevalue("corpus" if request.param == "project" else "shared_corpus")
    out = tmp_path_factory.mktemp("labelled")
    labeller = Labeller(LabelOptions(producer=PRODUCER, generator="test-model", author_id=AUTHOR_ID,
                                     author_template="小红书号：{id}"), signer=signer)
    records = label_all(labeller, files, out)
    assert [r["status"] for r in records] == ["labelled"] * len(files), [r["error"] for r in records]
    return records


def test_ocr_reads_the_label_and_author_id_back_and_glyphs_are_five_percent(labelled, ocr):
    for record in labelled:
        image = Image.open(record["output"])
        marks = visible.read_marks(image, ocr)
        labels = [m for m in marks if m.kind == "visible-label"]
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


def test_outputs_keep_the_input_size_format_and_mode(labelled):
    for record in labelled:
        source, output = Image.open(record["input"]), Image.open(record["output"])
        assert output.size == source.size and output.format == source.format
        grey = source.mode in ("L", "I;16")
        assert (output.mode in ("L", "LA", "I;16")) == grey, (record["input"], source.mode, output.mode)


def test_labelled_output_is_not_labelled_again(labelled, signer, tmp_path):
    labeller = Labeller(LabelOptions(producer=PRODUCER), signer=signer)
    [record] = label_all(labeller, [labelled[0]["output"]], tmp_path)
    assert record["status"] == "skipped" and "already carries a metadata label" in record["error"]
    assert not list(tmp_path.rglob("*.jp*g"))


def test_stripped_copy_with_only_c2pa_is_still_recognised(labelled, signer, tmp_path):
    """A copy whose XMP was removed but whose manifest survives still counts as labelled."""
    record = next(r for r in labelled if r["format"] == "JPEG")
    data = open(record["output"], "rb").read()
    xmp_segment = next(s for s in carriers.jpeg_segments(data) if s.payload.startswith(carriers.JPEG_XMP_HEADER))
    stripped = data[:xmp_segment.start] + data[xmp_segment.end:]
    assert metadata.read_labels(stripped).labels == []
    source = tmp_path / "stripped.jpg"
    source.write_bytes(stripped)
    [again] = label_all(Labeller(LabelOptions(producer=PRODUCER), signer=signer), [source], tmp_path / "out")
    assert again["status"] == "skipped" and "C2PA manifest" in again["error"]
    assert Image.open(io.BytesIO(stripped)).size == Image.open(record["input"]).size


def test_a_producers_own_produce_id_names_the_content_in_the_label_and_the_mark(signer):
    """A generation service passes its own number for the content: the metadata label carries it, the
    watermark's content ID derives from it, and the same ID gives the same mark run after run."""
    from aimark.labeller.errors import AimarkError
    from aimark.labeller.watermark import TiledSpreadSpectrum, WatermarkPayload, detect

    from .conftest import SMALL_PHOTO

    labeller = Labeller(LabelOptions(producer=PRODUCER, author_id=AUTHOR_ID), signer=signer,
                        watermark=TiledSpreadSpectrum())
    data = SMALL_PHOTO.read_bytes()
    first, second = (labeller.label_bytes(data, SMALL_PHOTO.name, produce_id="svc-2026-000042") for _ in range(2))
    assert first.record.produce_id == second.record.produce_id == "svc-2026-000042"
    assert metadata.read_labels(first.data).labels[0].values["ProduceID"] == "svc-2026-000042"
    payload = detect(first.pixels).payload
    assert payload is not None and WatermarkPayload.content_matches("svc-2026-000042", payload.content_id)
    assert detect(second.pixels).payload == payload
    assert labeller.label_bytes(data, SMALL_PHOTO.name).record.produce_id != "svc-2026-000042"  # default: random
    for bad in ("", "has space", "引号"):
        with pytest.raises(AimarkError, match="ProduceID"):
            labeller.label_bytes(data, SMALL_PHOTO.name, produce_id=bad)
