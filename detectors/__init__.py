"""Analysing images: every mark a file carries, reposts matched to their originals, findings and a verdict.

The library call moderation systems embed::

    from aimark.detectors import ScanOptions, scan
    from aimark.detectors.registry import Registry
    from aimark.models import OcrEngine

    with Registry("originals.sqlite") as registry:
        result = scan("upload.jpg", ScanOptions(ocr=OcrEngine(), registry=registry))
    result.verdict.level, [f.as_record() for f in result.removals], result.as_record()
"""

from .findings import Finding, Verdict
from .inspect import Inspection, inspect, inspect_bytes, inspect_file
from .scan import ScanOptions, ScanResult, scan

__all__ = ["Finding", "Inspection", "ScanOptions", "ScanResult", "Verdict", "inspect", "inspect_bytes", "inspect_file",
           "scan"]
