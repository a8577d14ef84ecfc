"""The TC260 metadata label (and IPTC source type, EXIF author fields), from every carrier."""

from __future__ import annotations

import json

from aimark.labeller import metadata
from aimark.labeller.vocabulary import MarkKind

from .base import Reader


class MetadataReader(Reader):
    mark = MarkKind.METADATA
    key = "metadata"
    title = "metadata"
    needs_pixels = False

    def read(self, image, context):
        report = metadata.read_labels(image.data, lambda: image.pixels)  # a PNG's, decoded once for all
        return self.evidence(report, report.as_record())

    @staticmethod
    def lines(record):
        lines = [] if record["labels"] else ["no AIGC label"]
        for found in record["labels"]:
            state = "conforming" if found["conforming"] else "NON-CONFORMING: " + "; ".join(found["problems"])
            lines.append(f"{found['carrier']}: {json.dumps(found['values'], ensure_ascii=False)} ({state})")
        lines += [f"problem: {problem}" for problem in record["problems"]]
        lines += [f"AI disclosure by {d['vendor']} ({d['carrier']}): {d['says']} {json.dumps(d['fields'], ensure_ascii=False)}"
                  for d in record.get("disclosures", [])]
        lines.append(f"IPTC DigitalSourceType: {record['digital_source_type'] or 'none'}")
        if record["artist"] or record["software"]:
            lines.append(f"EXIF Artist: {record['artist'] or '-'}  Software: {record['software'] or '-'}")
        return lines
