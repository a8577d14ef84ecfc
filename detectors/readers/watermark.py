"""aimark's invisible watermark, read blind from the pixels."""

from __future__ import annotations

from dataclasses import replace

from aimark.labeller import localise, watermark
from aimark.labeller.vocabulary import MarkKind

from .base import Reader


class WatermarkReader(Reader):
    mark = MarkKind.WATERMARK
    key = "watermark"
    title = "watermark"

    def read(self, image, context):
        detection = watermark.detect_image(image, context.watermark_key)
        found = localise.decoded_mark(watermark.view_read(image, detection), detection, context.watermark_key)
        if found is not None:
            # whether the mark was embedded in this picture or copied onto it: what every judge that leans on
            # the payload needs to know
            detection = replace(detection, binding=found.binding())
            if context.ocr is not None:
                # where the mark still is: blind evidence of a local edit, which only a judge that also reads
                # the visible marks uses (a --fast scan skips it: ~40 ms on a 1080-px repost)
                where = localise.localise(found, image.size, localise.canvas_area(image.grey, detection))
                detection = replace(detection, localisation=where)
        return self.evidence(detection, detection.as_record())

    @staticmethod
    def lines(record):
        if not record["found"]:
            return ["no aimark watermark"]
        payload = record["payload"]
        lines = [f"aimark payload: author {payload['author_id']}, content {payload['content_id']} "
                 f"(pilot z {record['pilot_z']}, false-positive bound {record['false_positive_bound']:.0e})"]
        if record.get("inset"):
            x0, y0, x1, y1 = record["inset"]
            lines.append(f"read in a picture pasted into this one at ({x0}, {y0})-({x1}, {y1}): "
                         "a screenshot, a card or a pad")
        binding = record.get("binding")
        if binding is not None:
            lines.append({"bound": "bound to this picture", "foreign": "NOT embedded in this picture: copied from "
                          "another", "cannot tell": "cannot tell whether it was embedded in this picture"}
                         [binding["verdict"]] + f" (binding z {binding['z']}, a mark embedded here: ~"
                         f"{binding['expected_z']}, {binding['cells']} cells)")
        lines += [f"a second aimark payload under it: author {other['author_id']}, content {other['content_id']} "
                  "(the picture was marked twice)" for other in record.get("other_payloads") or []]
        return lines
