"""The verdict in GB 45438 terms, and the doubts that lower removal findings to information."""

from __future__ import annotations

from collections.abc import Sequence

from aimark.labeller import metadata
from aimark.labeller.vocabulary import FindingKind

from ..findings import Finding, Verdict
from .base import Case, as_information
from .c2pa import modified_only
from .metadata import source_type_declared


def doubts(case: Case, findings: Sequence[Finding] = ()) -> list[str]:
    """Why removal findings resting on the match cannot be trusted: evidence that disagrees with it, or a
    match by appearance alone that the unlabelled source picture would give as well — the original looks
    the same but for its marks, so a picture showing none of them may be that source rather than a repost
    stripped of them:
    - to a watermarked original with no watermark here, unless the original's own mark was found by an
      informed read (``matching.confirm_mark``): the source picture never carried it;
    - to an original labelled without a watermark (``--no-watermark``), or whose watermark failed its
      labelling self-check (a repost of it is expected to carry no readable mark), where none of its
      visible marks is read present (``findings``): nothing else tells the two apart. Measured: the
      unlabelled source of a --no-watermark original was accused at high of its marks' removal
      (``bench/false_accusations.py --no-watermark``, docs/benchmarks.md); a repost that still shows one
      mark is not the source, and the other mark's removal stands. Asking a mark that failed its check to
      be there lowered every removal on such pictures (a dense gravel texture: 0 of 10) to information."""
    match = case.match
    found = list(match.disagreements) if match is not None else []
    if match is None or match.by != "hash" or case.payload is not None or match.mark_confirmed:
        return found  # a mark read blind, or the original's own found by an informed read: not the source
    original = match.original
    if original.watermarked and original.mark_survives_repost:
        found.append("matched by appearance only and no watermark was found, though the original carried "
                     "one: this may be the unlabelled source picture rather than a repost")
    elif not any(
            f.kind in (FindingKind.VISIBLE_LABEL_PRESENT, FindingKind.VISIBLE_LABEL_NONCOMPLIANT,
                       FindingKind.AUTHOR_ID_PRESENT) for f in findings):
        carried = ("carried a watermark too weak to survive a repost (its labelling self-check)"
                   if original.watermarked else "carried no watermark")
        found.append(f"matched by appearance only, the original {carried} and none of its visible marks is "
                     "here: this may be the unlabelled source picture rather than a repost")
    return found


def with_doubts(case: Case, findings: list[Finding]) -> list[Finding]:
    found = doubts(case, findings)
    return as_information(findings, "; ".join(found)) if found else findings


def watermark_corroborated(case: Case) -> bool:
    """Whether the aimark watermark may count as a trace of AI generation on its own: its original is
    confirmed by the picture, or it was read with a private key (forging it needs the key) and its binding
    shows it was embedded in this picture (a private-key mark can still be copied from a labelled picture
    onto another). An open-key mark nothing else confirms can be written by anyone onto any picture."""
    return case.payload is not None and (case.confirmed or (bool(case.options.watermark_key) and case.bound))


def modified_lineage(case: Case) -> bool:
    """A manifest whose pixels changed after signing counts for this picture only when the picture's own
    watermark is the one the manifest's soft binding names; otherwise it may be a manifest lifted from
    another image."""
    credentials = case.inspection.c2pa
    if credentials is None or credentials.state != "Invalid" or not modified_only(credentials.failures):
        return False
    binding = credentials.assertion("c2pa.soft-binding") or {}
    values = [block.get("value") for block in binding.get("blocks", []) if isinstance(block, dict)]
    return case.payload is not None and soft_binding_value(case.payload) in values


def soft_binding_value(payload) -> str:
    from aimark.labeller import ecc

    return ecc.bits_to_bytes(payload.to_bits()).hex()


def decide(case: Case, findings: list[Finding]) -> Verdict:
    inspection = case.inspection
    meta = inspection.metadata
    if meta is not None and meta.status == "conforming":
        label = meta.label
        return Verdict(label.label, f"the metadata label says {label.meaning} (Label={label.label})")
    credentials = inspection.c2pa
    ai_credentials = credentials is not None and credentials.digital_source_type in (metadata.TRAINED, metadata.COMPOSITE)
    if ai_credentials and credentials.state in ("Trusted", "Valid") and not credentials.failures:
        where = credentials.source_type_found_in
        return Verdict("1", "its C2PA credentials declare AI generation"
                       + (f" (in {where})" if where and where != "the active manifest" else ""))
    traces = []
    if ai_credentials and credentials.state == "Invalid" and credentials.integrity_intact:
        traces.append("C2PA credentials declaring AI generation, intact but signed with a certificate that does not "
                      "hold (" + ", ".join(credentials.failures) + ")")
    traces += [f"an AI disclosure by {d.vendor} ({d.says})" for d in (meta.disclosures if meta is not None else [])]
    declared = source_type_declared(meta)
    if declared:
        traces.append(f"an IPTC digital source type in XMP: {declared}")
    if watermark_corroborated(case):
        traces.append("an aimark watermark")
    if ai_credentials and modified_lineage(case):
        traces.append("C2PA credentials declaring AI generation (for the picture before an edit)")
    if any(f.kind in (FindingKind.VISIBLE_LABEL_PRESENT, FindingKind.VISIBLE_LABEL_NONCOMPLIANT) for f in findings):
        traces.append("a visible AI label")
    if meta is not None and meta.status == "non-conforming":
        traces.append("a non-conforming metadata label")
    traces += [f"a {m.generator} watermark" for m in (inspection.generators or [])
               if m.reported and m.confidence == "high"]
    key = "a private-key" if case.options.watermark_key else "an open-key"
    if case.foreign:
        unconfirmed = ("; an aimark watermark was read, but it was embedded in another picture and copied onto this "
                       "one (no trace of this picture's origin)")
    elif case.payload is not None and not watermark_corroborated(case):
        unconfirmed = f"; {key} aimark watermark was read, but nothing confirms it belongs to this picture"
    else:
        unconfirmed = ""
    if case.options.declared_ai:
        return Verdict("2", "the uploader declares it AI-generated" + (f"; it also carries {', '.join(traces)}"
                                                                        if traces else "") + unconfirmed)
    if traces:
        return Verdict("3", "no valid label, but it carries " + ", ".join(traces) + unconfirmed)
    return Verdict("none", "no label, watermark or visible AI mark was found" if not unconfirmed
                   else "no label or visible AI mark was found" + unconfirmed)
