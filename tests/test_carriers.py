"""Every label carrier real services write, each fixture written here with the project's own code (the
carriers module and Pillow), read back with where it was found, its form, its conformance and its fields;
vendor disclosures named; and the negatives that are no label."""

from __future__ import annotations

import base64
import gzip
import io
import json
import struct
import zlib

import numpy as np
import piexif
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from aimark.detectors import scan
from aimark.labeller import carriers, metadata
from aimark.labeller.metadata import AigcLabel

from .conftest import PRODUCER, SMALL_PHOTO, encode

LABEL = AigcLabel.for_producer(PRODUCER, "vendor-0001")
TC = "http://www.tc260.org.cn/ns/AIGC/1.0/"


def photo(fmt: str = "JPEG", **params) -> bytes:
    return encode(Image.open(SMALL_PHOTO).convert("RGB").resize((200, 133)), fmt, **params)


def jpeg_with_segment(marker: int, payload: bytes) -> bytes:
    data = photo()
    return data[:2] + bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload + data[2:]


def xmp(description: str, namespaces: str = "") -> bytes:
    return (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'<rdf:Description rdf:about="" {namespaces} {description}/></rdf:RDF></x:xmpmeta>').encode()


def exif_jpeg(description: str | None = None, comment: bytes | None = None) -> bytes:
    exif = {"0th": {}, "Exif": {}}
    if description is not None:
        exif["0th"][piexif.ImageIFD.ImageDescription] = description.encode()
    if comment is not None:
        exif["Exif"][piexif.ExifIFD.UserComment] = comment
    return photo("JPEG", exif=piexif.dump(exif))


def only(report) -> metadata.FoundLabel:
    assert len(report.labels) == 1, report.as_record()
    return report.labels[0]


@pytest.mark.parametrize("marker, text, form", [
    (0xE9, "AIGC" + LABEL.to_json(), "inner"),
    (0xEB, LABEL.to_json(wrapped=True), "wrapped"),
    (0xE9, LABEL.to_json(wrapped=True), "wrapped"),
])
def test_bare_json_in_a_jpeg_app9_or_app11_segment(marker, text, form):
    found = only(metadata.read_labels(jpeg_with_segment(marker, text.encode())))
    assert found.carrier == f"JPEG APP{marker - 0xE0} segment" and found.form == form
    assert found.values == LABEL.to_dict() and not found.conforming
    assert any("APP segment" in p for p in found.problems)


def test_wrapped_json_in_a_png_description_chunk():
    info = PngInfo()
    info.add_text("Description", LABEL.to_json(wrapped=True))
    found = only(metadata.read_labels(photo("PNG", pnginfo=info)))
    assert found.carrier == "PNG tEXt Description" and found.conforming and found.label == LABEL


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_xmp_appended_after_the_end_of_the_image(fmt):
    packet, _ = metadata.merged_xmp(None, LABEL)
    found = only(metadata.read_labels(photo(fmt) + packet))
    assert found.carrier == f"XMP after the end of the {fmt} image" and found.values == LABEL.to_dict()
    assert any("after the end of the image" in p for p in found.problems)


def test_the_attribute_form_with_escaped_quotes():
    """PicWish: TC260:AIGC="{&quot;Label&quot;:...}" as an attribute of the description."""
    value = LABEL.to_json().replace('"', "&quot;")
    found = only(metadata.read_labels(carriers.jpeg_set_xmp(photo(), xmp(f'TC260:AIGC="{value}"',
                                                                       f'xmlns:TC260="{TC}"'))))
    assert found.conforming and found.label == LABEL


def test_volcano_engine_properties_and_their_base64_copy():
    keys = " ".join(f'AIGC:{k}="{v}"' for k, v in LABEL.to_dict().items())
    copy = base64.b64encode(LABEL.to_json(wrapped=True).encode()).decode()
    packet = xmp(f'{keys} xmpKV:XmpKvBase64="{copy}"',
                 f'xmlns:AIGC="{TC}" xmlns:xmpKV="http://www.volcengine.com/ns/xmpKV/1.0/"')
    report = metadata.read_labels(carriers.jpeg_set_xmp(photo(), packet))
    carriers_found = {f.carrier: f for f in report.labels}
    properties = carriers_found["JPEG XMP TC260 properties"]
    assert properties.form == "properties" and properties.values == LABEL.to_dict()
    assert any("Volcano Engine" in p for p in properties.problems)
    copied = carriers_found["JPEG XMP xmpKV:XmpKvBase64 (base64)"]
    assert copied.values == LABEL.to_dict() and copied.form == "wrapped"
    assert report.status == "non-conforming" and any("2 labels in one file" in p for p in report.problems)


def test_an_aigc_prefixed_base64_copy_is_read_too():
    copy = base64.b64encode(("AIGC=" + LABEL.to_json()).encode()).decode()
    packet = xmp(f'xmpKV:XmpKvBase64="{copy}"', 'xmlns:xmpKV="http://www.volcengine.com/ns/xmpKV/1.0/"')
    found = only(metadata.read_labels(carriers.png_set_xmp(photo("PNG"), packet)))
    assert found.values == LABEL.to_dict()


def test_tencent_cloud_json_in_exif_image_description_is_a_vendor_disclosure():
    tencent = {"ServiceProvider": "Tencent Hunyuan", "ServiceUser": "user-1", "Time": "2025-09-01T10:00:00+08:00",
               "ContentId": "abc-123"}
    report = metadata.read_labels(exif_jpeg(description=json.dumps(tencent)))
    assert report.labels == [] and report.status == "none"
    [disclosure] = report.disclosures
    assert disclosure.vendor == "Tencent Cloud" and disclosure.carrier == "EXIF ImageDescription"
    assert disclosure.fields["ContentId"] == "abc-123"
    scanned = scan(exif_jpeg(description=json.dumps(tencent)))
    assert scanned.verdict.level == "3" and "Tencent Cloud" in scanned.verdict.reason
    assert "metadata-vendor" in {f.kind for f in scanned.findings}


@pytest.mark.parametrize("where", ["description", "comment"])
def test_douyin_aigc_info_in_image_description_or_nested_in_user_comment(where):
    info = {"aigc_info": {"aigc_type": "ai_generated", "aigc_label_type": 1}}
    if where == "description":
        data = exif_jpeg(description=json.dumps(info))
    else:
        nested = {"source": "douyin", "extra": json.dumps(info)}  # the disclosure as a JSON string inside
        data = exif_jpeg(comment=b"ASCII\x00\x00\x00" + json.dumps(nested).encode())
    [disclosure] = metadata.read_labels(data).disclosures
    assert disclosure.vendor == "Douyin" and disclosure.fields["aigc_label_type"] == 1


A1111 = ("a lighthouse at dusk\nNegative prompt: blurry\nSteps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, "
         "Seed: 1234567, Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, "
         'Lora hashes: "a: 1, b: 2", Version: v1.6.0')
COMFY = {"3": {"class_type": "KSampler", "inputs": {"seed": 5, "steps": 20, "sampler_name": "euler"}},
         "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}}}


def png_text(chunks: dict) -> bytes:
    info = PngInfo()
    for keyword, text in chunks.items():
        info.add_text(keyword, text)
    return photo("PNG", pnginfo=info)


@pytest.mark.parametrize("data, tool, model", [
    (lambda: png_text({"parameters": A1111}), "Stable Diffusion web UI", "v1-5-pruned-emaonly"),
    (lambda: exif_jpeg(comment=b"UNICODE\x00" + A1111.encode("utf-16-be")), "Stable Diffusion web UI",
     "v1-5-pruned-emaonly"),
    (lambda: exif_jpeg(comment=b"UNICODE\x00" + A1111.encode("utf-16-le")), "Stable Diffusion web UI",
     "v1-5-pruned-emaonly"),
    (lambda: png_text({"prompt": json.dumps(COMFY), "workflow": json.dumps({"nodes": [{"id": 3}]})}),
     "ComfyUI", "sd_xl_base_1.0.safetensors"),
    (lambda: png_text({"Software": "NovelAI", "Source": "NovelAI Diffusion V4.5 4BDE2A90",
                       "Comment": json.dumps({"steps": 28})}), "NovelAI", "NovelAI Diffusion V4.5"),
    (lambda: png_text({"invokeai_metadata": json.dumps({"model": {"name": "sdxl-base"}, "steps": 30})}),
     "InvokeAI", "sdxl-base"),
    (lambda: png_text({"fooocus_scheme": "fooocus", "parameters": json.dumps(
        {"Base Model": "juggernautXL_v8", "Sampler": "dpmpp_2m_sde_gpu", "Version": "Fooocus v2.5.5"})}),
     "Fooocus", "juggernautXL_v8"),
    (lambda: png_text({"Dream": '"a lighthouse" -s 50 -S 2980747362 -W 512 -H 768 -C 5 -A k_lms'}),
     "InvokeAI", None),
    (lambda: png_text({"Author": "ada", "Description": "a lighthouse --ar 2:1 --stylize 80 --v 6 "
                       "Job ID: a7421d2f-b262-44f9-977c-ac23e9c7d3e3"}), "Midjourney", "v6"),
    (lambda: exif_jpeg(description="a lighthouse --niji 6 Job ID: a7421d2f-b262-44f9-977c-ac23e9c7d3e3"),
     "Midjourney", "niji6")],
    ids=["a1111-png", "a1111-exif-be", "a1111-exif-le", "comfyui", "novelai", "invokeai", "fooocus",
         "invokeai-dream", "midjourney-png", "midjourney-exif"])
def test_a_generators_own_parameters_are_a_disclosure_naming_the_tool_and_model(data, tool, model):
    """Stable Diffusion's front ends save their settings with every picture (AUTOMATIC1111's ``parameters``,
    in a PNG chunk or, in a JPEG, EXIF UserComment in either byte order; ComfyUI's node graph; NovelAI's
    Software and Source; InvokeAI's and Fooocus's metadata): evidence of AI generation in the tool's own
    form."""
    [disclosure] = metadata.read_labels(data()).disclosures
    assert disclosure.vendor == tool, disclosure
    if model is None:  # InvokeAI 2.x's Dream line names no model: none is made up
        assert "model" not in disclosure.says and disclosure.fields["seed"] == "2980747362", disclosure
    else:
        assert f"model {model}" in disclosure.says, disclosure
    assert "lighthouse" not in json.dumps(disclosure.fields)  # the prompt: the uploader's text, not evidence


def test_a_generators_parameters_make_the_verdict_suspected_ai_and_lookalikes_disclose_nothing():
    scanned = scan(png_text({"parameters": A1111}))
    assert scanned.verdict.level == "3" and "Stable Diffusion web UI" in scanned.verdict.reason
    assert "metadata-vendor" in {f.kind for f in scanned.findings}
    lookalikes = ({"Description": "Steps: 3 to happiness, Seed: none"}, {"parameters": "exposure 1/250, f/8"},
                  {"Description": "Job ID: see the attached form"},
                  {"prompt": json.dumps({"question": "what is this?"})}, {"Software": "GIMP 2.10"})
    for chunks in lookalikes:
        assert metadata.read_labels(png_text(chunks)).disclosures == [], chunks


def stealth_png(text: str, name: bytes = b"stealth_pngcomp", alpha: bool = True) -> bytes:
    """A PNG with ``text`` hidden as NovelAI hides its metadata: the lowest bits of alpha (or of R, G, B),
    column by column, after a 15-byte name and the length in bits; gzipped in the "comp" forms."""
    payload = gzip.compress(text.encode()) if name.endswith(b"comp") else text.encode()
    bits = np.unpackbits(np.frombuffer(name + (8 * len(payload)).to_bytes(4, "big") + payload, np.uint8))
    pixels = np.asarray(Image.open(SMALL_PHOTO).convert("RGBA")).copy()
    plane = pixels[..., 3:4] if alpha else pixels[..., :3]
    height, width, depth = plane.shape
    flat = plane.transpose(1, 0, 2).reshape(-1).copy()
    flat[:bits.size] = (flat[:bits.size] & 0xFE) | bits
    plane[...] = flat.reshape(width, height, depth).transpose(1, 0, 2)
    return encode(Image.fromarray(pixels if alpha else pixels[..., :3]), "PNG")


NOVELAI = json.dumps({"Software": "NovelAI", "Source": "NovelAI Diffusion V4 F6302A9D",
                      "Comment": json.dumps({"prompt": "a lighthouse", "steps": 28})})


@pytest.mark.parametrize("name, alpha, text, tool", [
    (b"stealth_pngcomp", True, NOVELAI, "NovelAI"),
    (b"stealth_pnginfo", True, A1111, "Stable Diffusion web UI"),
    (b"stealth_rgbcomp", False, A1111, "Stable Diffusion web UI")])
def test_parameters_hidden_in_a_pngs_lowest_bits_are_read_and_a_lossy_copy_has_none(name, alpha, text, tool):
    """NovelAI's V3/V4 "stealth" PNG (and a web UI extension's) carries no text chunk: its metadata sits in
    the pixels' lowest bits, which only a lossless file keeps. The scan reads it from the decoded picture."""
    data = stealth_png(text, name, alpha)
    assert metadata.read_labels(data).disclosures == []  # nothing in the file's chunks
    scanned = scan(data)
    assert scanned.verdict.level == "3" and tool in scanned.verdict.reason, scanned.verdict
    assert scan(encode(Image.open(io.BytesIO(data)).convert("RGB"), "JPEG")).verdict.level == "none"
    assert scan(encode(Image.open(SMALL_PHOTO).convert("RGBA"), "PNG")).verdict.level == "none"


def test_the_metadata_reader_decodes_only_a_png_for_its_hidden_parameters():
    """Only a PNG's pixels can hide parameters; reading any other file's metadata never decodes it (a
    reader that needs no pixels must not cost a decode, nor meet a hostile file's pixels)."""
    from aimark.detectors.readers.base import ReadContext
    from aimark.detectors.readers.metadata import MetadataReader
    from aimark.labeller.source import DecodedImage

    jpeg = DecodedImage(encode(Image.open(SMALL_PHOTO).convert("RGB"), "JPEG"))
    MetadataReader().read(jpeg, ReadContext())
    assert jpeg.counts["decode"] == 0
    png = DecodedImage(stealth_png(NOVELAI))
    evidence = MetadataReader().read(png, ReadContext())
    assert png.counts["decode"] == 1 and [d.vendor for d in evidence.reading.disclosures] == ["NovelAI"]


CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"


@pytest.mark.parametrize("source_type, level", [(metadata.TRAINED, "3"), (metadata.COMPOSITE, "3"),
                                                (CAPTURE, "none")])
def test_an_iptc_source_type_declaring_ai_is_a_trace_where_no_tc260_label_speaks(source_type, level):
    """Google, Meta, Midjourney and Adobe write IPTC's digital source type in XMP, often with no TC260 label:
    "trained algorithmic media" is their AI disclosure (suspected AI), a camera's capture is none. Beside a
    conforming label (as aimark writes it) the label speaks and the source type adds no finding."""
    packet = xmp(f'Iptc4xmpExt:DigitalSourceType="{source_type}"',
                 f'xmlns:Iptc4xmpExt="{metadata.IPTC_EXT_NS}"')
    scanned = scan(carriers.jpeg_set_xmp(photo(), packet))
    assert scanned.verdict.level == level, scanned.verdict
    assert ("metadata-vendor" in {f.kind for f in scanned.findings}) == (level == "3")
    labelled, _ = metadata.write_label(photo(), LABEL, metadata.TRAINED)
    assert "metadata-vendor" not in {f.kind for f in scan(labelled).findings}


def test_a_png_of_many_text_bombs_inflates_no_more_than_its_budget_and_keeps_its_label():
    """Each zTXt chunk is held under MAX_INFLATED, but a file can carry hundreds: together they are held
    under MAX_TEXT_INFLATED, a refused bomb charged its whole limit, and the plain label chunk still reads."""
    bomb = zlib.compress(b"A" * (carriers.MAX_INFLATED + 1), 9)  # refused, charged its limit
    near = zlib.compress(b"Steps: 1, " * (carriers.MAX_INFLATED // 10 - 1), 9)  # inflated, just under it
    chunks = [carriers.png_chunk(b"tEXt", b"AIGC\x00" + LABEL.to_json().encode())]
    chunks += [carriers.png_chunk(b"zTXt", b"parameters\x00\x00" + body) for body in [bomb] * 2 + [near] * 50]
    data = photo("PNG")
    data = data[:33] + b"".join(chunks) + data[33:]
    texts = carriers.png_text_chunks(data)
    inflated = [text for kind, _, text in texts if kind == b"zTXt"]
    assert len(inflated) == 2 and sum(map(len, inflated)) <= carriers.MAX_TEXT_INFLATED
    assert only(metadata.read_labels(data)).conforming


def test_a_douyin_label_type_of_zero_discloses_nothing():
    data = exif_jpeg(description=json.dumps({"aigc_info": {"aigc_label_type": 0}}))
    assert metadata.read_labels(data).disclosures == []


def test_unrelated_json_in_a_png_aigc_chunk_or_an_exif_comment_is_no_label():
    info = PngInfo()
    info.add_text("AIGC", json.dumps({"model": "sd-xl", "steps": 30}))
    assert metadata.read_labels(photo("PNG", pnginfo=info)).labels == []
    comment = b"ASCII\x00\x00\x00" + json.dumps({"AIGC_workflow": "upscale", "seed": 42}).encode()
    assert metadata.read_labels(exif_jpeg(comment=comment)).labels == []
    described = exif_jpeg(description=json.dumps({"title": "AIGC art show", "year": 2025}))
    report = metadata.read_labels(described)
    assert report.labels == [] and report.disclosures == []


def test_several_labels_in_one_file_are_reported_as_such():
    info = PngInfo()
    info.add_text("AIGC", LABEL.to_json(wrapped=True))
    labelled, _ = metadata.write_label(photo("PNG", pnginfo=info), LABEL)
    report = metadata.read_labels(labelled)
    assert {f.carrier for f in report.labels} == {"PNG XMP", "PNG tEXt AIGC"}
    assert report.status == "non-conforming" and "GB 45438 §6.1 allows exactly one" in report.problems[-1]


# --- the same forms written by a tool the project does not contain (exiftool) ------------------------------

EXIFTOOL_TC260 = """%Image::ExifTool::UserDefined = (
    'Image::ExifTool::XMP::Main' => { TC260 => { SubDirectory => { TagTable => 'Image::ExifTool::UserDefined::TC260' } } },
);
%Image::ExifTool::UserDefined::TC260 = (
    GROUPS => { 0 => 'XMP', 1 => 'XMP-TC260', 2 => 'Image' },
    NAMESPACE => { 'TC260' => 'http://www.tc260.org.cn/ns/AIGC/1.0/' },
    AIGC => { Name => 'AIGC', Writable => 'string' },
);
1;
"""


def exiftool_writes(tmp_path, source: bytes, suffix: str, *assignments: str, config: str | None = None) -> bytes:
    import subprocess

    from .conftest import require_tool

    exiftool = require_tool("exiftool")
    runs = len(list(tmp_path.glob("in*")))  # exiftool, like aimark, never overwrites: one name per call
    src, out = tmp_path / f"in{runs}{suffix}", tmp_path / f"out{runs}{suffix}"
    src.write_bytes(source)
    command = [exiftool]
    if config:
        (tmp_path / "tc260.cfg").write_text(config)
        command += ["-config", str(tmp_path / "tc260.cfg")]
    done = subprocess.run(command + list(assignments) + ["-o", str(out), str(src)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out.read_bytes()


def test_exiftool_written_tc260_xmp_label_is_read_as_conforming(tmp_path):
    data = exiftool_writes(tmp_path, photo(), ".jpg", f"-XMP-TC260:AIGC={LABEL.to_json()}", config=EXIFTOOL_TC260)
    [found] = metadata.read_labels(data).labels
    assert found.conforming and found.values["ContentProducer"] == PRODUCER and found.namespace == TC


def test_exiftool_written_png_description_and_exif_vendor_forms(tmp_path):
    wrapped = json.dumps({"AIGC": LABEL.to_dict()})
    png = exiftool_writes(tmp_path, photo("PNG"), ".png", f"-PNG:Description={wrapped}")
    [found] = metadata.read_labels(png).labels
    assert found.values["ProduceID"] == "vendor-0001" and "Description" in found.carrier
    tencent = json.dumps({"ServiceProvider": "Tencent Cloud", "ServiceUser": "u-1", "Time": "1756684800",
                          "ContentId": "c-9"})
    jpeg = exiftool_writes(tmp_path, photo(), ".jpg", f"-EXIF:ImageDescription={tencent}")
    report = metadata.read_labels(jpeg)
    assert not report.labels and [d.vendor for d in report.disclosures] == ["Tencent Cloud"]
    douyin = json.dumps({"aigc_info": json.dumps({"aigc_type": 1, "aigc_label_type": 1})})
    jpeg = exiftool_writes(tmp_path, photo(), ".jpg", f"-EXIF:UserComment={douyin}")
    assert [d.vendor for d in metadata.read_labels(jpeg).disclosures] == ["Douyin"]


def test_exiftool_written_unrelated_json_is_no_label(tmp_path):
    other = json.dumps({"camera": "X100", "settings": {"iso": 200, "Label": "1"}})
    jpeg = exiftool_writes(tmp_path, photo(), ".jpg", f"-EXIF:ImageDescription={other}", f"-EXIF:UserComment={other}")
    report = metadata.read_labels(jpeg)
    assert not report.labels and not report.disclosures
