"""C2PA Content Credentials: state, failure codes, signer, AI source type."""

from __future__ import annotations

from aimark.labeller import c2pa, carriers
from aimark.labeller.vocabulary import MarkKind

from .base import Reader


class C2paReader(Reader):
    mark = MarkKind.C2PA
    key = "c2pa"
    title = "c2pa"
    needs_pixels = False

    def read(self, image, context):
        mime = c2pa.MIME_TYPES.get(carriers.sniff_format(image.data) or "")
        if mime is None:
            return self.evidence(None, None)
        report = c2pa.read_c2pa(image.data, mime, c2pa.read_context(context.trust_anchors))
        return self.evidence(report, report.as_record())

    @staticmethod
    def lines(record):
        detail = ", ".join(record["failures"]) or ("untrusted signer" if record["untrusted"] else "")
        detail = detail or record["error"] or ""
        lines = [record["state"] + (f" ({detail})" if detail else "")
                 + (f", signed by {record['signer']}" if record["signer"] else "")]
        if record.get("digital_source_type"):
            lines.append(f"source type {record['digital_source_type'].rsplit('/', 1)[-1]}"
                         + (f" (in {record['source_type_found_in']})" if record.get("source_type_found_in") else ""))
        for identity in record.get("identity") or []:
            lines.append("creator identity " + ("verifies" if identity["valid"] else
                                                "does NOT verify: " + ", ".join(identity["failures"])))
        for ingredient in record.get("ingredients") or []:
            if ingredient["failures"]:
                lines.append(f"ingredient {ingredient['title']!r}: " + ", ".join(ingredient["failures"]))
        return lines
