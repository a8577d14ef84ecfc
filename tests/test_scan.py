"""Scanning reposts: each finding on small real photos, the verdicts, the platform flow end to end, the
report, and hostile inputs. Reposts come from the shared suite (bench/reposts.py)."""

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from aimark.detectors import ScanOptions, scan, windows
from aimark.detectors.cli import main
from aimark.detectors.propagate import propagate
from aimark.labeller import c2pa, carriers, visible, watermark
from aimark.labeller.keys import init_keys
from aimark.labeller.vocabulary import MarkKind
from bench.reposts import SUITE

from .conftest import PHOTO, SMALL_PHOTO, header_only_bomb, image_data_start, label_and_register, photo

AUTHOR = "1234567890"
TEXT_AUTHOR = "xhs_ada_88"


@pytest.fixture(scope="module")
def labelled(signer, tmp_path_factory):
    """The project's photo labelled and registered."""
    # a fixed ProduceID: the mark (and so each region's chance correlation on the map) is the same every run
    result, registry = label_and_register(signer, tmp_path_factory.mktemp("registry"), PHOTO.read_bytes(),
                                          PHOTO.name, AUTHOR, "test-scan-0001")
    yield result, registry
    registry.close()


def repost(result, case: str) -> bytes:
    box = result.record.box(MarkKind.AUTHOR_ID).as_tuple()
    buffer = io.BytesIO()
    SUITE[case].apply(result.pixels, box=box).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def kinds(scanned) -> set[str]:
    return {f.kind for f in scanned.findings}


@pytest.fixture(scope="module")
def options(labelled, ocr, keys):
    return ScanOptions(ocr=ocr, registry=labelled[1], trust_anchors=keys.ca_cert.read_text())


def test_intact_labelled_image_keeps_every_label(labelled, options):
    scanned = scan(labelled[0].data, options)
    assert {"metadata-present", "c2pa-valid", "watermark-present", "visible-label-present",
            "author-id-present"} <= kinds(scanned)
    assert not scanned.removals and scanned.verdict.level == "1"
    assert scanned.match.agreements == ["label", "watermark", "geometry"] and scanned.match.alignment.confirmed


@pytest.mark.parametrize("case", ["png", "jpeg75", "caption_bar"])
def test_reposts_that_keep_the_marks_say_so(labelled, options, case):
    scanned = scan(repost(labelled[0], case), options)
    assert {"visible-label-present", "author-id-present"} <= kinds(scanned)
    assert not any(f.removal and f.kind.startswith(("author", "visible")) for f in scanned.findings)
    assert "metadata-stripped" in kinds(scanned)  # an image library re-save drops XMP: that is real
    assert scanned.verdict.level == "3"


@pytest.mark.parametrize("case", ["erase_id", "blur_id", "cover_id"])
def test_removed_author_id_inside_the_frame_is_found(labelled, options, case):
    scanned = scan(repost(labelled[0], case), options)
    removed = [f for f in scanned.findings if f.kind == "author-id-removed"]
    assert removed and removed[0].confidence == "high" and removed[0].box is not None
    assert "visible-label-present" in kinds(scanned)


@pytest.fixture(scope="module", params=["小红书号：{id}", "by {id}"])
def labelled_text_id(signer, tmp_path_factory, request):
    """The project's photo labelled with a platform ID spelt in letters, as most are, in a named template and
    one without a name: the watermark carries the ID as a hash, OCR reads it as words, and both must still
    name the same author."""
    result, registry = label_and_register(signer, tmp_path_factory.mktemp("registry_text_id"), PHOTO.read_bytes(),
                                          PHOTO.name, TEXT_AUTHOR, "test-scan-0003", template=request.param)
    yield result, registry
    registry.close()


def test_a_text_author_id_is_read_kept_and_found_removed(labelled_text_id, ocr, keys):
    """Before IDs in letters were read, the kept ID was "no author ID visible" and its removal went unseen:
    OCR took the visible AI label at the edge for the missing ID."""
    result, registry = labelled_text_id
    with_registry = ScanOptions(ocr=ocr, registry=registry, trust_anchors=keys.ca_cert.read_text())
    for options in (with_registry, ScanOptions(ocr=ocr)):
        kept = scan(repost(result, "jpeg75"), options)
        assert "author-id-present" in kinds(kept), options.registry
        assert not any(f.removal and f.kind.startswith(("author", "visible")) for f in kept.findings)
    removed = [f for f in scan(repost(result, "cover_id"), with_registry).findings if f.kind == "author-id-removed"]
    assert removed and removed[0].confidence == "high"


@pytest.mark.parametrize("case", ["crop_corner10", "chain_social"])
def test_cropped_author_id_is_found(labelled, options, case):
    scanned = scan(repost(labelled[0], case), options)
    assert {"author-id-cropped", "visible-label-cropped"} <= kinds(scanned)


def test_a_different_id_painted_over_is_a_replacement(labelled, options):
    result = labelled[0]
    image = result.pixels.copy()
    mark = visible.place_mark(image.size, "小红书号：5550001111", "bottom-right", 15, kind=MarkKind.AUTHOR_ID)
    visible.draw_mark(image, mark)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    assert "author-id-replaced" in kinds(scan(buffer.getvalue(), options))


def test_without_a_registry_the_watermark_still_names_the_missing_author(labelled, ocr):
    scanned = scan(repost(labelled[0], "cover_id"), ScanOptions(ocr=ocr))
    removed = [f for f in scanned.findings if f.kind == "author-id-removed"]
    assert removed and removed[0].confidence == "low" and "1234567890" in removed[0].summary


def test_fast_mode_makes_no_claim_about_visible_marks(labelled, options):
    fast = ScanOptions(registry=options.registry, trust_anchors=options.trust_anchors)
    scanned = scan(repost(labelled[0], "cover_id"), fast)
    assert not any(f.kind.startswith(("author-id-removed", "visible-label-removed")) for f in scanned.findings)
    assert scanned.visible is None
    assert scanned.inspection.watermark.payload is not None and scanned.inspection.watermark.localisation is None


def test_pixel_edit_after_signing_is_reported_as_modified_not_as_a_removal(labelled, options):
    data = bytearray(labelled[0].data)
    data[image_data_start(data) + 500] ^= 0x33
    scanned = scan(bytes(data), options)
    modified = [f for f in scanned.findings if f.kind == "c2pa-modified"]
    assert modified and "assertion.dataHash.mismatch" in modified[0].summary and not modified[0].removal
    assert "pixels changed after signing" in modified[0].summary


def test_unlabelled_photo_gives_no_evidence(options):
    scanned = scan(SMALL_PHOTO.read_bytes(), options)
    assert scanned.findings == [] and scanned.verdict.level == "none"


def test_generator_watermark_without_a_label_is_suspected():
    data = (Path(__file__).parent / "fixtures" / "generators" / "sd1_coffee.png").read_bytes()
    scanned = scan(data)
    assert "generator-watermark" in kinds(scanned) and scanned.verdict.level == "3"


def test_an_ai_label_in_other_words_is_reported_as_not_complying_and_a_headline_is_no_label(ocr):
    """'AI generated' in a corner declares the picture AI-made, in words GB 45438 does not take: reported as a
    label that does not comply (a trace: suspected AI). A headline along the top edge that only mentions AI
    is no label, and an unlabelled picture stays without evidence."""
    from PIL import ImageDraw, ImageFont

    def with_text(text, where):
        image = Image.open(SMALL_PHOTO).convert("RGB")
        draw = ImageDraw.Draw(image)
        font = ImageFont.truetype(str(visible.DEFAULT_FONT), 24)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        x = 10 if where == "top" else image.width - (right - left) - 20
        y = 8 if where == "top" else image.height - (bottom - top) - 20
        draw.rectangle((x - 6, y - 6, x + right - left + 6, y + bottom + 6), fill=(30, 30, 30))
        draw.text((x - left, y), text, font=font, fill=(255, 255, 255))
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        return buffer.getvalue()

    # in the corner: a label that does not comply; a generator's own mark the same, naming the generator
    for text, said in (("AI generated", "generation element"), ("即梦AI", "Jimeng (ByteDance)")):
        declared = scan(with_text(text, "corner"), ScanOptions(ocr=ocr))
        [label] = [f for f in declared.findings if f.kind == "visible-label-noncompliant"]
        assert said in label.summary and declared.verdict.level == "3", text
    # along the top: a headline or a caption that only mentions AI or a generator
    for text, word in (("AI-generated images flood the feeds", "flood"), ("用即梦AI做的海报", "即梦")):
        headline = scan(with_text(text, "top"), ScanOptions(ocr=ocr))
        assert any(word in m.text for m in headline.visible)
        assert headline.findings == [] and headline.verdict.level == "none", text


def test_malformed_xmp_and_lying_label_values_are_reported_not_crashed():
    photo = io.BytesIO()
    Image.open(SMALL_PHOTO).convert("RGB").save(photo, "JPEG")
    packet = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><TC260:AIGC>{"Label":1,"ContentProducer":"x"}'
              b"</TC260:AIGC></x:xmpmeta")  # unclosed, numeric Label, keys missing
    scanned = scan(carriers.jpeg_set_xmp(photo.getvalue(), packet))
    assert "metadata-nonconforming" in kinds(scanned) and scanned.verdict.level == "3"


def test_manifest_of_another_image_does_not_count_as_a_label(labelled):
    """A valid C2PA manifest spliced from another file is a lie the hard binding catches."""
    other = io.BytesIO()
    Image.open(SMALL_PHOTO).convert("RGB").save(other, "JPEG", quality=90)
    segments = carriers.jpeg_segments(labelled[0].data)
    manifest = b"".join(labelled[0].data[s.start:s.end] for s in segments if s.marker == 0xEB)
    spliced = other.getvalue()[:2] + manifest + other.getvalue()[2:]
    scanned = scan(spliced)
    assert scanned.inspection.c2pa.state in ("Invalid", "unreadable")
    assert "c2pa-modified" in kinds(scanned) and scanned.verdict.level == "none" and not scanned.removals


def test_decompression_bomb_is_a_clear_error():
    scanned = scan(header_only_bomb())
    assert scanned.error and "decompression bomb" in scanned.error


def test_platform_flow_keeps_producer_fields_and_chains_credentials(labelled, ocr, keys, tmp_path):
    platform_keys = init_keys(tmp_path / "platform", "Platform")
    platform = c2pa.CredentialSigner.from_files(platform_keys.signer_chain, platform_keys.signer_key,
                                                trust_anchors=keys.ca_cert.read_text())
    done = propagate(labelled[0].data, platform="PLATFORMX", propagate_id="post-42", signer=platform,
                     options=ScanOptions(ocr=ocr))
    producer = labelled[0].record.mark(MarkKind.METADATA)["xmp"]["value"]
    assert done.level == "1" and done.prompt is None  # it already shows a compliant label
    assert done.label.to_dict() == {**producer, "ContentPropagator": "PLATFORMX", "PropagateID": "post-42"}
    anchors = keys.ca_cert.read_text() + platform_keys.ca_cert.read_text()
    report = c2pa.read_c2pa(done.data, "image/jpeg", c2pa.read_context(anchors))
    assert report.state == "Trusted"
    assert report.ingredients[0]["relationship"] == "parentOf" and report.ingredients[0]["has_manifest"]
    assert report.ingredients[0]["failures"] == [] and not report.ingredients[0]["untrusted"]
    rescan = scan(done.data, ScanOptions(trust_anchors=anchors))
    assert rescan.inspection.metadata.status == "conforming" and len(rescan.inspection.metadata.labels) == 1


def test_platform_flow_for_a_declared_upload_draws_the_possibly_prompt(ocr, signer):
    raw = SMALL_PHOTO.read_bytes()
    done = propagate(raw, platform="PLATFORMX", propagate_id="p-1", signer=signer, declared_ai=True,
                     options=ScanOptions(ocr=ocr))
    assert done.level == "2" and done.label.label == "2" and done.prompt == "可能为AI生成"
    marks = visible.read_marks(Image.open(io.BytesIO(done.data)), ocr)
    assert any("可能为AI生成" in m.text for m in marks)
    untouched = propagate(raw, platform="PLATFORMX", propagate_id="p-2", signer=signer, options=ScanOptions(ocr=ocr))
    assert untouched.level == "none" and untouched.data == raw


def test_scan_cli_writes_records_and_a_report_and_signals_removals(labelled, tmp_path, keys, monkeypatch):
    monkeypatch.setenv("AIMARK_KEYS", str(keys.folder))
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "cover.jpg").write_bytes(repost(labelled[0], "cover_id"))
    (inputs / "intact.jpg").write_bytes(labelled[0].data)
    result = CliRunner().invoke(main, ["scan", str(inputs), "--registry", str(labelled[1].path), "--out",
                                       str(tmp_path / "out"), "-j", "0"], catch_exceptions=False)
    assert result.exit_code == 1 and "1 with a mark removed" in result.output
    records = {json.loads(line)["path"].rsplit("/", 1)[-1]: json.loads(line)
               for line in (tmp_path / "out" / "scan.jsonl").read_text().splitlines()}
    assert records["cover.jpg"]["removal_found"] and not records["intact.jpg"]["removal_found"]
    page = (tmp_path / "out" / "report.html").read_text()
    assert page.count('src="data:image/jpeg;base64,') >= 4 and "author-id-removed" in page
    clean = CliRunner().invoke(main, ["scan", str(inputs / "intact.jpg"), "--out", str(tmp_path / "o2"), "-j", "0"])
    assert clean.exit_code == 0
    (inputs / "broken.jpg").write_bytes(b"\xff\xd8 nothing")
    broken = CliRunner().invoke(main, ["scan", str(inputs / "broken.jpg"), "--out", str(tmp_path / "o3"), "--fast",
                                       "-j", "0"])
    assert broken.exit_code == 3


def test_propagate_cli_republishes_and_records(labelled, tmp_path, keys, monkeypatch):
    monkeypatch.setenv("AIMARK_KEYS", str(keys.folder))
    upload = tmp_path / "upload.jpg"
    upload.write_bytes(labelled[0].data)
    result = CliRunner().invoke(main, ["propagate", str(upload), str(SMALL_PHOTO), "--out",
                                       str(tmp_path / "out"), "--platform", "PLATFORMX", "--fast", "-j", "0"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (tmp_path / "out" / "aimark-propagate.jsonl").read_text().splitlines()]
    by_name = {Path(r["input"]).name: r for r in records if r["status"] != "pending"}
    assert by_name["upload.jpg"]["label"]["ContentPropagator"] == "PLATFORMX" and by_name["upload.jpg"]["level"] == "1"
    assert by_name[SMALL_PHOTO.name]["level"] == "none"
    assert (tmp_path / "out" / SMALL_PHOTO.name).read_bytes() == SMALL_PHOTO.read_bytes()
    assert upload.read_bytes() == labelled[0].data
    bad = CliRunner().invoke(main, ["propagate", str(upload), "--out", str(tmp_path / "o2"), "--platform", "has space"])
    assert bad.exit_code == 2 and "printable ASCII" in bad.output


def test_the_unlabelled_source_picture_is_not_called_a_stripped_repost(options):
    """The raw photo the original was made from looks like it (hash match) but has no watermark."""
    scanned = scan(PHOTO.read_bytes(), options)
    assert scanned.match is not None and scanned.match.by == "hash"
    # the original's own mark was looked for, knowing its payload, and is not there
    assert scanned.match.mark is not None and scanned.match.mark.hypotheses and not scanned.match.mark_confirmed
    assert scanned.removals and all(f.confidence == "low" and "unlabelled source" in f.summary
                                    for f in scanned.removals)
    assert scanned.verdict.level == "none"


def test_a_served_removal_too_faint_to_decode_blind_is_found_through_the_originals_own_mark(labelled, options):
    """A removal a platform served as a small, heavily compressed preview: too little of the mark is left to
    decode it blind, so the repost matches its original by appearance only — which alone cannot tell it from
    the unlabelled source picture (above). The original's own mark, looked for knowing its payload, can."""
    result = labelled[0]
    erased = SUITE["erase_id"].apply(result.pixels, box=result.record.box(MarkKind.AUTHOR_ID).as_tuple())
    erased.thumbnail((600, 600), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    erased.convert("RGB").save(buffer, "WEBP", quality=30)
    assert watermark.detect(Image.open(io.BytesIO(buffer.getvalue()))).payload is None  # the premise
    scanned = scan(buffer.getvalue(), options)
    assert scanned.match.by == "hash" and scanned.match.mark_confirmed
    removed = [f for f in scanned.findings if f.kind == "author-id-removed"]
    assert removed and removed[0].confidence == "high", scanned.findings
    assert any("informed read" in evidence for evidence in removed[0].rests_on)
    [present] = [f for f in scanned.findings if f.kind == "watermark-present"]  # the invisible label survives
    assert "informed read" in present.rests_on[-1] and "too faint" in present.summary


@pytest.fixture(scope="module")
def labelled_small(signer, tmp_path_factory):
    """The small photo labelled and registered alone: a 5% keystone of it defeats the blind decoder."""
    result, registry = label_and_register(signer, tmp_path_factory.mktemp("registry_small"),
                                          SMALL_PHOTO.read_bytes(), SMALL_PHOTO.name, AUTHOR, "test-scan-0002")
    yield result, registry
    registry.close()


def test_a_keystoned_removal_is_found_through_the_originals_mark_read_where_the_fit_placed_it(labelled_small, ocr,
                                                                                             keys):
    """A removal photographed off a screen (a 5% keystone): no blind synchronisation reads the mark, so the
    repost matches its original by appearance only — alone, not told from the unlabelled source. The
    perspective fit that placed it says where the mark lies; read there, the original's own mark is found."""
    from bench.reposts import ATTACKS

    result, registry = labelled_small
    options = ScanOptions(ocr=ocr, registry=registry, trust_anchors=keys.ca_cert.read_text())
    erased = SUITE["erase_id"].apply(result.pixels, box=result.record.box(MarkKind.AUTHOR_ID).as_tuple())
    keystoned = ATTACKS["keystone"].apply(erased.convert("RGB"), 0.05).image
    buffer = io.BytesIO()
    keystoned.save(buffer, "JPEG", quality=90)
    assert watermark.detect(Image.open(io.BytesIO(buffer.getvalue()))).payload is None  # the premise
    scanned = scan(buffer.getvalue(), options)
    assert scanned.match.by == "hash" and scanned.match.alignment.perspective and scanned.match.mark_confirmed
    removed = [f for f in scanned.findings if f.kind == "author-id-removed"]
    assert removed and removed[0].confidence == "high", scanned.findings
    assert any("informed read" in evidence for evidence in removed[0].rests_on)
    source = io.BytesIO()
    ATTACKS["keystone"].apply(Image.open(SMALL_PHOTO).convert("RGB"), 0.05).image.save(source, "JPEG", quality=90)
    honest = scan(source.getvalue(), options)  # the unlabelled source, keystoned: nobody is accused
    assert not (honest.match and honest.match.mark_confirmed)
    assert all(f.confidence == "low" for f in honest.removals)


def test_without_a_registry_the_watermark_map_says_where_the_id_corner_was_painted_over(labelled, ocr):
    from aimark.labeller import localise

    image = labelled[0].pixels.convert("RGB")
    x0, y0, x1, y1 = localise.position_box("bottom-right", image.size)
    w, h = x1 - x0, y1 - y0
    sx, sy = (image.width - w) // 2 + 7, (image.height - h) // 2 + 3
    image.paste(image.crop((sx, sy, sx + w, sy + h)), (x0, y0))  # a clone stamp over the whole corner
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    scanned = scan(buffer.getvalue(), ScanOptions(ocr=ocr))
    removed = [f for f in scanned.findings if f.kind == "author-id-removed"]
    assert removed and removed[0].confidence == "low" and "bottom-right corner" in removed[0].summary
    assert "watermark map" in removed[0].rests_on and removed[0].box is not None
    assert "there alone the watermark" in removed[0].summary
    assert not scanned.accusations  # information only: a watermark alone accuses nobody
    from aimark.detectors.report import render_item

    page = render_item(scanned)
    assert "watermark map" in page and "author-id at bottom-right" in page and "(gone there)" in page


def test_without_a_registry_an_honest_repost_shows_the_mark_in_both_corners(labelled, ocr):
    scanned = scan(repost(labelled[0], "jpeg75"), ScanOptions(ocr=ocr))
    record = scanned.inspection.watermark.localisation.as_record()
    assert [r["region"] for r in record["regions"]] == ["visible-label", "author-id"]
    assert not any(r["lost"] for r in record["regions"])
    assert {"visible-label-present", "author-id-present"} <= kinds(scanned)


@pytest.mark.parametrize("position", ["right", "bottom-right", "left", "top"])
@pytest.mark.parametrize("size", [(640, 427), (1600, 1067)])
def test_a_long_label_on_any_edge_is_read_whole_and_compliant(ocr, position, size):
    """A label longer than the edge's window lost its head "AI生成" on the right edge (the piece read was not
    a label, or a label off the edge: our own output called non-compliant), and OCR split it at its wide
    middle: a window a line runs out of is read across the picture, and the pieces of a line are joined."""
    picture = photo(size)
    label = visible.place_label(picture.size, "AI生成 · AI illustration", position)
    visible.draw_mark(picture, label)
    labels = [m for m in windows.read_edges(picture, ocr) if m.kind == MarkKind.VISIBLE_LABEL]
    assert len(labels) == 1 and labels[0].check.compliant and labels[0].check.position == position
    assert labels[0].box[0] <= label.box[0] + label.box[3] - label.box[1]  # its head is read


@pytest.mark.parametrize("read, different", [("xhs ada 8B", False), ("XHS_ADA_88", False),
                                             ("5550001111", True)])
def test_an_id_misread_with_its_underscores_lost_is_no_other_id(read, different):
    """Only a clearly different ID is a replacement: OCR loses underscores and confuses a letter's case."""
    from aimark.detectors.judges.visible import different_id

    mark = visible.FoundMark(MarkKind.AUTHOR_ID, f"ID: {read}", (0, 0, 90, 20), 0.95, author_id=read)
    assert different_id(mark, "xhs_ada_88") == different


def test_rows_read_across_the_picture_are_not_read_again_by_their_other_corner(ocr):
    """A long label at the bottom-left runs out of its corner's window, so those rows are read across the
    whole width; the bottom-right window lies within them and is not read a second time (it cost ~0.2 s)."""
    picture = photo((1600, 1067))
    visible.draw_mark(picture, visible.place_label(picture.size, "AI生成 · AI illustration", "bottom-left"))
    regions = []

    class Recording:
        def read(self, region):
            regions.append(region.size)
            return ocr.read(region)

    labels = [m for m in windows.read_edges(picture, Recording()) if m.kind == MarkKind.VISIBLE_LABEL]
    assert len(labels) == 1 and labels[0].check.compliant
    across = [size for size in regions if size[0] > regions[0][0] * 1.5]
    assert len(across) == 1 and len(regions) == 4  # two top corners, the bottom-left one, the bottom rows
