"""The shape of the code, as tests: arrows that must never exist, a scan that decodes and converts a frame
once, readers and judges that plug in."""

import ast
import io
from collections import Counter
from pathlib import Path

import cv2
import pytest
from PIL import Image, ImageFile

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"labeller": "aimark.labeller", "detectors": "aimark.detectors", "models": "aimark.models"}


def imports_of(path: Path) -> set[str]:
    """Absolute names every module in ``path`` imports (relative imports resolved to their package)."""
    names = set()
    for file in path.rglob("*.py"):
        package = file.relative_to(ROOT).parent.parts
        tree = ast.parse(file.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = list(package[:len(package) - node.level + 1])
                    top = PACKAGES.get(base[0], base[0]) if base else ""
                    module = ".".join([top] + base[1:] + ([node.module] if node.module else []))
                    names.add(module)
                    names |= {f"{module}.{alias.name}" for alias in node.names}
                else:
                    names.add(node.module or "")
    return names


def test_the_formats_package_never_imports_detectors_models_or_click():
    found = imports_of(ROOT / "labeller")
    assert not {n for n in found if n.startswith(("aimark.detectors", "aimark.models", "click", "bench"))}


def test_models_know_no_domain():
    found = imports_of(ROOT / "models")
    assert not {n for n in found if n.startswith(("aimark.labeller", "aimark.detectors", "bench"))}


def test_nothing_installed_imports_bench():
    for package in ("labeller", "detectors", "models"):
        assert not {n for n in imports_of(ROOT / package) if n.startswith("bench")}, package


def test_readers_never_import_judges():
    found = imports_of(ROOT / "detectors" / "readers")
    assert not {n for n in found if "judges" in n or n.endswith((".scan", ".matching"))}


def test_every_registered_reader_and_judge_is_one_small_plug_in():
    from aimark.detectors.judges import JUDGES, Judge
    from aimark.detectors.readers import READERS, Reader

    assert all(isinstance(reader, Reader) and reader.key and reader.title for reader in READERS)
    assert len({reader.key for reader in READERS}) == len(READERS)
    assert all(isinstance(judge, Judge) for judge in JUDGES)


def test_a_new_reader_is_one_class_and_one_line(monkeypatch):
    """The worked example of docs/architecture.md: a reader of the image's size class, plugged in."""
    from aimark.detectors import inspect, readers
    from aimark.detectors.cli.inspect import table
    from aimark.detectors.readers import Reader
    from aimark.labeller.vocabulary import MarkKind

    class Megapixels(Reader):
        mark, key, title = MarkKind.METADATA, "megapixels", "size"

        def read(self, image, context):
            return self.evidence(image.size, {"mp": round(image.size[0] * image.size[1] / 1e6, 2)})

        @staticmethod
        def lines(record):
            return [f"{record['mp']} MP"]

    monkeypatch.setattr(readers, "READERS", readers.READERS + (Megapixels(),))  # the one line
    from .conftest import SMALL_PHOTO

    record = inspect(SMALL_PHOTO).as_record()
    assert record["megapixels"] == {"mp": 0.14}
    assert "size        0.14 MP" in table(record)


@pytest.fixture()
def counted(monkeypatch):
    """Counts whole-frame decodes and luminance conversions of a picture of ``size``."""
    counts = Counter()
    state = {"size": None}
    real_load, real_convert, real_cvt = ImageFile.ImageFile.load, Image.Image.convert, cv2.cvtColor

    def load(self):
        if self.size == state["size"] and self.tile:  # tiles left to decode: this is the decode
            counts["decode"] += 1
        return real_load(self)

    def convert(self, mode=None, *args, **kwargs):
        if self.size == state["size"]:
            counts[f"convert {self.mode}->{mode}"] += 1
        return real_convert(self, mode, *args, **kwargs)

    def cvt(array, code, *args, **kwargs):
        if array.shape[:2] == tuple(reversed(state["size"] or (0, 0))):
            counts[f"cv2 {code}"] += 1
        return real_cvt(array, code, *args, **kwargs)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    monkeypatch.setattr(Image.Image, "convert", convert)
    monkeypatch.setattr(cv2, "cvtColor", cvt)
    return counts, state


def test_a_scan_decodes_once_and_converts_to_luminance_once(counted, signer, tmp_path, ocr):
    from aimark.detectors import ScanOptions, scan
    from aimark.detectors.registry import Registry
    from aimark.labeller.pipeline import Labeller, LabelOptions
    from aimark.labeller.watermark import TiledSpreadSpectrum

    from .conftest import PHOTO

    labeller = Labeller(LabelOptions(producer="P", author_id="1234567890"), signer=signer,
                        watermark=TiledSpreadSpectrum())
    result = labeller.label_bytes(PHOTO.read_bytes())
    registry = Registry(tmp_path / "r.sqlite")
    registry.add(result.record, result.pixels, "1234567890")
    repost = result.pixels.convert("RGB").resize((1080, 942))
    buffer = io.BytesIO()
    repost.save(buffer, "JPEG", quality=85)
    counts, state = counted
    state["size"] = (1080, 942)
    scanned = scan(buffer.getvalue(), ScanOptions(ocr=ocr, registry=registry, trust_anchors=None))
    assert scanned.match is not None and scanned.match.placed, (scanned.error, scanned.inspection.as_record()["notes"])
    luminance = {k: v for k, v in counts.items() if k.endswith("->L") or k in (f"cv2 {cv2.COLOR_RGB2GRAY}",
                                                                                f"cv2 {cv2.COLOR_BGR2GRAY}")}
    assert counts["decode"] == 1, counts
    assert sum(luminance.values()) == 1, counts
    assert not {k for k in counts if k.startswith("convert RGB->RGB")}, counts  # no whole-frame RGB copies
