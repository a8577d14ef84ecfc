"""Does ``aimark scan`` ever accuse an honest reposter? And does it still find every real removal?

Every picture of the corpus is labelled (visible label, author ID, watermark, metadata, C2PA) into a
registry, then reposted every way an honest person or platform does — each benign attack of
``bench/reposts.py`` at each strength, metadata kept or stripped, C2PA kept over a re-encode, our own
``propagate`` output, the same source labelled twice, another author's payload forged onto an unrelated
photo with the open key, a labelled picture's high-pass residue copied onto another — and the ways
someone removes the author's ID or the label. Each repost is scanned with the registry and OCR.

The truth comes from the attack, never from the scanner: a geometric attack says where the original's
pixels went, so how much of a mark's box is still in the frame is known independently (at least 70%: the
mark is there; under 30%: cropped out; in between the frame cuts through it and neither answer is wrong);
a byte-level variant says which metadata survived. A *false removal* is a removal finding about a mark or
layer that is still there (or about an unrelated photo); it counts at the confidence it was given — only
medium and high are accusations. *Recall* is the share of real removals found at high confidence.

    python bench/false_accusations.py [--corpus ../shared/corpus] [--jobs 2] [--images a.jpg,b.jpg]
        [--cases grid,overlay,outside,servers] [--then platform_webp@80] [--author xhs_ada_88]
        [--author-template '@{id}']
        [--label-text 'AI生成 · AI illustration'] [--label-position right] [--author-position top-right]
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from multiprocessing import Pool
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.cases import CATALOGUE, parse_cases  # noqa: E402
from bench.reposts import REMOVALS, Attacked  # noqa: E402

AUTHOR = "1234567890"
PRODUCER = "001191110102MACQD9K64010000"
MARKS = ("visible-label", "author-id")
KEPT = 0.7  # a mark with at least this share of its box in the frame is there
_state: dict = {}


# --- labelling the corpus -------------------------------------------------------------------------------

def label_corpus(files: list[Path], work: Path, author: str, watermark: bool = True, **layout):
    """Label every picture (and one picture twice: the same source registered twice), with the watermark
    unless ``watermark`` is False (``aimark label --no-watermark``)."""
    from aimark.detectors.registry import Registry
    from aimark.labeller.c2pa import CredentialSigner
    from aimark.labeller.keys import init_keys
    from aimark.labeller.pipeline import Labeller, LabelOptions
    from aimark.labeller.watermark import TiledSpreadSpectrum

    keys = init_keys(work / "keys", "Bench Studio")
    signer = CredentialSigner.from_files(keys.signer_chain, keys.signer_key)
    # layout: the marks' words and places (author_template, label_text, label_position, author_position)
    labeller = Labeller(LabelOptions(producer=PRODUCER, author_id=author, **layout),
                        signer=signer, watermark=TiledSpreadSpectrum() if watermark else None)
    labelled = []
    with Registry(work / "registry.sqlite") as registry:
        for index, path in enumerate(files):
            result = labeller.label_bytes(path.read_bytes(), path.name)
            out = work / f"{index:03d}-{path.stem}.{result.plan.suffix_for('.x')[1:]}"
            out.write_bytes(result.data)
            registry.add(result.record, result.pixels, author, str(out))
            labelled.append({"path": str(out), "source": str(path), "boxes": {
                mark: list(result.record.box(kind)) for mark, kind in
                (("visible-label", _kind("visible-label")), ("author-id", _kind("author-id")))}})
            if index == 0:  # the same source labelled a second time: a second original of the same picture
                again = labeller.label_bytes(path.read_bytes(), path.name)
                twice = work / f"{index:03d}-{path.stem}-again.{again.plan.suffix_for('.x')[1:]}"
                twice.write_bytes(again.data)
                registry.add(again.record, again.pixels, author, str(twice))
                labelled[-1]["again"] = str(twice)
    return labelled, keys.ca_cert.read_text()


def _kind(name):
    from aimark.labeller.vocabulary import MarkKind

    return MarkKind(name)


# --- the cases ------------------------------------------------------------------------------------------

def cases_for(entry: dict, others: list[str], benign: list[tuple[str, object]], then=None) -> list[dict]:
    """Every repost of one labelled picture: (case, strength, family, what truly happened). ``benign``:
    the honest reposts' attacks, (name, strength) (``bench.cases.parse_cases``); ``then``: an attack
    (name, strength) every removal is passed through afterwards, as a platform would serve it."""
    jobs = []
    for name, strength in benign:
        jobs.append({"entry": entry, "attack": name, "strength": strength, "benign": True})
    variants = ["keep_metadata", "keep_c2pa", "propagated", "propagated_stripped", "forged_mark", "copied_mark",
                "copied_onto_dark", "copied_onto_sky"]
    for variant in variants + (["labelled_twice"] if "again" in entry else []):
        jobs.append({"entry": entry, "attack": variant, "strength": None, "benign": True, "other": others[0]})
    # the picture before it was labelled, served as the removals are: it looks like the original and never
    # showed the marks, so no removal may be claimed (what an informed read of the watermark must not find)
    jobs.append({"entry": entry, "attack": "unlabelled_source", "strength": None, "benign": True, "then": then})
    for attack in REMOVALS:
        for _, strength in attack.cases():
            jobs.append({"entry": entry, "attack": attack.name, "strength": strength, "benign": False,
                         "removes": attack.removes, "then": then})
    for name in ("erase_label", "cover_label"):
        jobs.append({"entry": entry, "attack": name, "strength": None, "benign": False, "removes": "visible-label",
                     "then": then})
    return jobs


def _encode(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def make_repost(job: dict) -> tuple[bytes, dict]:
    """The repost's bytes and the truth about it: for each mark how much of its box is still in the frame,
    and which metadata layers survived."""
    from aimark.labeller import carriers

    entry = job["entry"]
    data = Path(entry["path"]).read_bytes()
    image = Image.open(io.BytesIO(data)).convert("RGB")
    boxes = entry["boxes"]
    truth = {"metadata": False, "c2pa": False, "unrelated": False, "removed": job.get("removes")}
    name = job["attack"]
    if name in CATALOGUE or name in ("erase_label", "cover_label"):
        if name in CATALOGUE:
            attacked = CATALOGUE[name].apply(image, job["strength"], box=tuple(boxes["author-id"]), seed=len(name))
        else:
            fn = CATALOGUE["erase_id" if name == "erase_label" else "cover_id"].fn
            attacked = fn(image, 2, None, tuple(boxes["visible-label"]))
        if job.get("then"):  # a removal, then reposted through a platform's path
            then, strength = job["then"]
            after = CATALOGUE[then].apply(attacked.image, strength, seed=len(then))
            attacked = Attacked(after.image, after.matrix @ attacked.matrix)
        truth["kept"] = {mark: attacked.kept(boxes[mark]) for mark in MARKS}
        return _bytes_of(attacked.image), truth
    truth["kept"] = dict.fromkeys(MARKS, 1.0)
    if name == "keep_metadata":  # re-encoded by a tool that copies XMP across (exiftool -tagsFromFile)
        from aimark.labeller import metadata

        packets, _ = carriers.read_xmp(data)
        reencoded = _reencode(image, data)
        truth["metadata"] = True
        return (metadata.set_xmp(reencoded, packets[0]) if packets else reencoded), truth
    if name == "keep_c2pa":  # pixels re-encoded, every metadata segment (XMP, C2PA) copied across
        truth.update(metadata=True, c2pa=True)
        return _with_metadata_of(_reencode(image, data), data), truth
    if name == "propagated":
        truth.update(metadata=True, c2pa=True)
        return _propagate(data).data, truth
    if name == "propagated_stripped":
        # the platform labels the stripped upload only where its own scan finds an AI trace (a visible label
        # its OCR reads, a corroborated watermark); where it finds none it passes the file through untouched,
        # and the file then truly carries no label: saying the original's was stripped is then right
        done = _propagate(_encode(image, 85))
        labelled = done.level != "none"
        truth.update(metadata=labelled, c2pa=labelled)
        return done.data, truth
    if name == "labelled_twice":
        truth.update(metadata=True, c2pa=True)
        return Path(entry["again"]).read_bytes(), truth
    truth["unrelated"] = True
    if name == "unlabelled_source":
        source = Image.open(entry["source"]).convert("RGB")
        if job.get("then"):
            then, strength = job["then"]
            source = CATALOGUE[then].apply(source, strength, seed=len(then)).image
        return _bytes_of(source), truth
    if name in ("copied_onto_dark", "copied_onto_sky"):  # the residue on a flat picture: it is all one sees there
        from bench import pictures

        draw = pictures.near_black if name == "copied_onto_dark" else pictures.gradient_sky
        other = draw(np.random.default_rng(0)).resize(image.size)
        name = "copied_mark"
    else:
        other = Image.open(job["other"]).convert("RGB").resize(image.size)
    if name == "forged_mark":  # the open key, another author's payload, an unrelated honest photo
        from aimark.labeller import watermark

        payload = watermark.WatermarkPayload(author_id=job["author"], content_id=123456)
        return _encode(watermark.embed(other, payload)), truth
    if name == "copied_mark":  # a labelled picture's high-pass residue added to an unrelated photo
        residue = np.asarray(image, np.float32) - np.asarray(image.filter(ImageFilter.GaussianBlur(3)), np.float32)
        mixed = np.clip(np.asarray(other, np.float32) + residue, 0, 255).astype(np.uint8)
        return _encode(Image.fromarray(mixed)), truth
    raise ValueError(name)


def _reencode(image: Image.Image, like: bytes) -> bytes:
    """``image`` re-encoded in the format of ``like`` (JPEG q85 or PNG), with no metadata."""
    from aimark.labeller import carriers

    buffer = io.BytesIO()
    if carriers.sniff_format(like) == "PNG":
        image.save(buffer, "PNG")
    else:
        image.convert("RGB").save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def _with_metadata_of(pixels: bytes, source: bytes) -> bytes:
    """``pixels`` (an encoded file) with the XMP and C2PA carriers of ``source`` copied in, as a tool that
    keeps metadata across a re-encode does."""
    from aimark.labeller import carriers

    if carriers.sniff_format(source) == "PNG":
        kept = [source[c.start:c.end] for c in carriers.png_chunks(source)
                if c.kind == b"caBX" or (c.kind == b"iTXt" and c.body.startswith(carriers.PNG_XMP_KEYWORD))]
        return carriers.png_insert_before_data(pixels, kept)
    kept = [s for s in carriers.jpeg_segments(source) if s.marker in (0xE1, 0xEB)]
    return pixels[:2] + b"".join(source[s.start:s.end] for s in kept) + pixels[2:]


def _bytes_of(image: Image.Image) -> bytes:
    """The attack's own encoding where it made one (they end in jpeg/png/webp), else JPEG q90."""
    fmt = getattr(image, "format", None)
    buffer = io.BytesIO()
    if fmt == "PNG":
        image.save(buffer, "PNG")
    else:
        image.convert("RGB").save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def _propagate(data: bytes):
    """What the bench's platform makes of an upload (``propagate.Propagation``: its file and its level)."""
    from aimark.detectors.propagate import propagate

    return propagate(data, platform="PLATFORMX", propagate_id="post-1", signer=_state["platform"],
                     options=_state["plain"])


# --- scanning and scoring -------------------------------------------------------------------------------

def start_worker(registry_path: str, anchors: str, work: str, keep: str | None = None):
    from aimark.detectors import ScanOptions
    from aimark.detectors.registry import Registry
    from aimark.labeller.c2pa import CredentialSigner
    from aimark.labeller.keys import init_keys
    from aimark.models import OcrEngine

    ocr = OcrEngine()
    _state["options"] = ScanOptions(ocr=ocr, registry=Registry(registry_path, read_only=True), trust_anchors=anchors)
    _state["plain"] = ScanOptions(ocr=ocr, trust_anchors=anchors)
    keys = init_keys(Path(tempfile.mkdtemp(dir=work)) / "platform", "Platform")
    _state["platform"] = CredentialSigner.from_files(keys.signer_chain, keys.signer_key, trust_anchors=anchors)
    _state["keep"] = Path(keep) if keep else None


def run_job(job: dict) -> dict:
    from aimark.detectors import scan

    try:
        repost, truth = make_repost(job)
    except Exception as exc:  # noqa: BLE001 - a broken case is reported, it does not end the run
        return {"case": job["attack"], "strength": job["strength"], "benign": job["benign"], "findings": [],
                "image": Path(job["entry"]["source"]).name, "truth": None, "error": f"case failed: {exc!r}",
                "seconds": 0.0}
    result = scan(repost, _state["options"], name=job["attack"])
    findings = [(f.kind.value, f.kind.mark.value, f.confidence.value, f.removal) for f in result.findings]
    row = {"case": job["attack"], "strength": job["strength"], "benign": job["benign"],
           "image": Path(job["entry"]["source"]).name, "truth": truth, "findings": findings,
           "likeness": [(f.kind.mark.value, *map(float, m.groups())) for f in result.findings
                        for m in [next(filter(None, map(LIKENESS.search, f.rests_on)), None)] if m],
           "error": result.error, "seconds": result.seconds}
    if _state["keep"] is not None:
        _keep(row, repost, result)
    return row


def _keep(row: dict, repost: bytes, result) -> None:
    """With ``--keep``: a false accusation's or a missed removal's repost, as scanned, and the scan's
    findings beside it, so the case can be scanned again by hand (each run labels with fresh payloads)."""
    accused = any(confidence != "low" for _, confidence in false_removals(row))
    if not accused and (row["benign"] or found_removal(row)):
        return
    stem = f"{'accused' if accused else 'missed'}-{Path(row['image']).stem}-{row['case']}@{row['strength']}"
    suffix = {b"\xff\xd8": ".jpg", b"\x89P": ".png", b"RI": ".webp"}.get(repost[:2], ".bin")
    _state["keep"].mkdir(parents=True, exist_ok=True)
    (_state["keep"] / (stem + suffix)).write_bytes(repost)
    lines = [f"{f.kind.value} {f.confidence.value}: {f.summary}\n" for f in result.findings]
    (_state["keep"] / (stem + ".txt")).write_text("".join(lines), encoding="utf-8")


# the placed-marks judge's evidence: how alike a mark's region is to the original's, and the detail kept there
LIKENESS = re.compile(r"similarity to the original's pixels (-?[\d.]+), detail kept (-?[\d.]+)")


def false_removals(row: dict) -> list[tuple[str, str]]:
    """(kind, confidence) of each removal finding the truth contradicts."""
    truth, wrong = row["truth"], []
    if truth is None:
        return []
    for kind, mark, confidence, removal in row["findings"]:
        if not removal:
            continue
        if truth["unrelated"]:
            wrong.append((kind, confidence))  # nothing was ever removed from an unrelated photo
        elif mark in MARKS:
            if truth["removed"] == mark:
                continue
            if truth["kept"].get(mark, 1.0) >= KEPT:
                wrong.append((kind, confidence))
        elif mark == "metadata" and (truth["metadata"] or kind == "metadata-altered"):
            wrong.append((kind, confidence))
        elif mark == "c2pa" and truth["c2pa"]:
            wrong.append((kind, confidence))
    return wrong


EXPECTED = {"erase_id": "author-id-removed", "blur_id": "author-id-removed", "cover_id": "author-id-removed",
            "clone_id": "author-id-removed", "replace_id": "author-id-replaced", "crop_corner": "author-id-cropped",
            "erase_label": "visible-label-removed", "cover_label": "visible-label-removed"}


def found_removal(row: dict) -> bool:
    return any(kind == EXPECTED[row["case"]] and confidence == "high" for kind, _, confidence, _ in row["findings"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--images", default="", help="comma-separated file names (default: every picture)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--show", type=int, default=20, help="false removals listed in full")
    parser.add_argument("--cases", default="grid,overlay",
                        help="the honest reposts: comma-separated attacks, each optionally @strength; "
                             "'grid': those of bench/reposts.py, 'overlay': a platform's own watermark drawn "
                             "over the repost, 'outside': those of bench/outside_tools.py (ImageMagick, "
                             "cwebp, cjpeg), 'servers': its libvips and FFmpeg ones; the removals and the "
                             "metadata variants are always made")
    parser.add_argument("--then", default="",
                        help="an attack@strength every removal is passed through afterwards (e.g. platform_webp@80: "
                             "ImageMagick to 720 px, then cwebp), to measure recall on removals a platform served")
    parser.add_argument("--keep", type=Path, default=None,
                        help="a folder to write each false accusation's and missed removal's repost "
                             "into, with the scan's findings beside it; the originals and their registry are "
                             "then kept too, where the run says")
    parser.add_argument("--author", default=AUTHOR,
                        help="the author ID labelled (digits, or a platform ID in letters such as xhs_ada_88)")
    parser.add_argument("--author-template", default="小红书号：{id}", help="the author mark's words ({id}: ID)")
    parser.add_argument("--label-text", default="AI生成", help="the visible AI label's words")
    parser.add_argument("--label-position", default="bottom-left", help="the label's corner or edge")
    parser.add_argument("--author-position", default="bottom-right", help="the author mark's corner")
    parser.add_argument("--no-watermark", action="store_true",
                        help="label without the invisible watermark (aimark label --no-watermark): reposts are "
                             "then tied by their label, hashes and features alone")
    args = parser.parse_args()
    benign = [case for _, case in parse_cases(args.cases)]
    then = parse_cases(args.then)[0][1] if args.then else None
    every = sorted(p for p in args.corpus.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    files = [p for p in every if p.name in args.images.split(",")] if args.images else every
    # the unrelated photo a mark is forged or copied onto: the next picture of the whole folder, never the
    # picture itself (with --images naming one, the chosen list alone would offer only itself)
    other = {p: every[(every.index(p) + 1) % len(every)] for p in files}
    work = Path(tempfile.mkdtemp(prefix="aimark-fa-"))
    keep = str(args.keep.resolve()) if args.keep else None
    try:
        started = time.time()
        labelled, anchors = label_corpus(files, work, args.author, watermark=not args.no_watermark,
                                         author_template=args.author_template,
                                         label_text=args.label_text, label_position=args.label_position,
                                         author_position=args.author_position)
        jobs = [{**job, "author": args.author} for path, entry in zip(files, labelled)
                for job in cases_for(entry, [str(other[path])], benign, then)]
        with Pool(args.jobs, initializer=start_worker,
                  initargs=(str(work / "registry.sqlite"), anchors, str(work), keep)) as pool:
            rows = pool.map(run_job, jobs, chunksize=4)
        if then is not None:
            print(f"every removal then passed through {args.then}")
        report(rows, len(files), time.time() - started, args.show)
    finally:  # the labelled originals and their registry: kept only beside the reposts kept
        if keep:
            print(f"\nreposts kept in {keep}; their originals and registry in {work} "
                  f"(aimark scan -R {work / 'registry.sqlite'} ...)")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def report(rows: list[dict], images: int, seconds: float, show: int) -> None:
    benign = [r for r in rows if r["benign"]]
    removals = [r for r in rows if not r["benign"]]
    print(f"{images} pictures, {len(benign)} benign reposts, {len(removals)} removals; {seconds:.0f} s wall\n")
    print(f"{'case':28} {'n':>4} {'false high':>10} {'false med':>9} {'false low':>9} {'recall@high':>11}")
    by_case = defaultdict(list)
    for row in rows:
        label = row["case"] + (f"@{row['strength']:g}" if isinstance(row["strength"], float)
                               else f"@{row['strength']}" if row["strength"] is not None else "")
        by_case[label].append(row)
    totals = Counter()
    for label, group in by_case.items():
        wrong = Counter(confidence for row in group for _, confidence in false_removals(row))
        totals.update(wrong)
        recall = (f"{np.mean([found_removal(r) for r in group]):.0%}" if not group[0]["benign"] else "")
        print(f"{label:28} {len(group):>4} {wrong['high']:>10} {wrong['medium']:>9} {wrong['low']:>9} {recall:>11}")
    found = [found_removal(r) for r in removals]
    print(f"\nbenign reposts: {len(benign)}; false removal findings: high {totals['high']}, medium "
          f"{totals['medium']}, low {totals['low']} (target: 0 at medium/high)")
    print(f"removal recall at high confidence: {sum(found)}/{len(found)} = {np.mean(found):.1%} (target >= 99%)")
    wrong_rows = [(r, w) for r in rows for w in false_removals(r) if w[1] != "low"]
    for row, (kind, confidence) in wrong_rows[:show]:
        print(f"  FALSE {confidence:6} {kind:24} {row['case']}@{row['strength']} on {row['image']}")
    missed = [r for r in removals if not found_removal(r)]
    for row in missed[:show]:
        kinds = sorted({f"{k}/{c}" for k, _, c, _ in row["findings"] if k.startswith(('author', 'visible'))})
        print(f"  MISSED {row['case']}@{row['strength']} on {row['image']}: {', '.join(kinds)}")
    report_margins(rows)
    report_confirmed(rows)
    broken = [r for r in rows if r["truth"] is None]
    for row in broken[:show]:
        print(f"  CASE FAILED {row['case']} on {row['image']}: {row['error']}")
    print(f"scan seconds per image: median {np.median([r['seconds'] for r in rows]):.2f}")


def report_margins(rows: list[dict]) -> None:
    """The placed-marks judge's thresholds against what it measured: the lowest likeness and detail kept of
    a mark that is there (a benign repost that keeps it whole), the highest of an author ID taken away
    (erased, blurred, covered, cloned) — a mark is called altered below ALTERED_BELOW or BLURRED_BELOW."""
    from aimark.detectors.judges.visible import ALTERED_BELOW, BLURRED_BELOW

    kept, taken = [], []
    for row in rows:
        if row["truth"] is None or row["truth"]["unrelated"]:
            continue
        for mark, similarity, detail in row.get("likeness", []):
            label = f"{row['case']}@{row['strength']} on {row['image']} ({mark})"
            if row["benign"] and row["truth"]["kept"].get(mark, 1.0) >= KEPT:
                kept.append((similarity, detail, label))
            elif row["case"] in ("erase_id", "blur_id", "cover_id", "clone_id") and mark == "author-id":
                taken.append((similarity, detail, label))
    if not kept or not taken:
        return
    print(f"\nlikeness where the mark is there ({len(kept)}) and where the author ID was taken ({len(taken)}); "
          f"altered below similarity {ALTERED_BELOW} or detail kept {BLURRED_BELOW}:")
    for what, values, pick in (("there: lowest similarity", kept, lambda t: t[0]),
                               ("there: lowest detail kept", kept, lambda t: t[1]),
                               ("taken: highest similarity", taken, lambda t: -t[0]),
                               ("taken: highest detail kept", taken, lambda t: -t[1])):
        ranked = sorted(values, key=pick)[:3]
        print(f"  {what:27} " + "; ".join(f"{s:.2f} / {d:.2f} {label}" for s, d, label in ranked))
    both = sum(1 for s, d, _ in kept if s < ALTERED_BELOW or d < BLURRED_BELOW)
    print(f"  marks there that the pixels alone would call altered (OCR must then read them): {both} of {len(kept)}")


def report_confirmed(rows: list[dict]) -> None:
    """How often a placed mark that is there was confirmed by OCR (``<mark>-present`` at high) rather than by
    its pixels' likeness alone (at medium, "OCR could not read it"): OCR reading the mark is the strongest
    contradiction of a removal, and where it cannot read the pixels alone stand between a repost and an
    accusation. The cases with most marks left unconfirmed are listed."""
    confirmed, unread = 0, Counter()
    for row in rows:
        if not row["benign"] or row["truth"] is None or row["truth"]["unrelated"]:
            continue
        for kind, mark, confidence, _ in row["findings"]:
            if kind == f"{mark}-present" and row["truth"]["kept"].get(mark, 1.0) >= KEPT:
                if confidence == "high":
                    confirmed += 1
                else:
                    unread[f"{row['case']}@{row['strength']}"] += 1
    total = confirmed + sum(unread.values())
    if total:
        worst = ", ".join(f"{case} {n}" for case, n in unread.most_common(6))
        print(f"\nmarks there, found present at high (OCR read them): {confirmed} of {total}"
              + (f"; unconfirmed most in {worst}" if unread else ""))


if __name__ == "__main__":
    sys.exit(main())
