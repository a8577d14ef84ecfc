"""Analysing images: reading every mark a file carries, and (later) judging reposts against originals."""

from .inspect import Inspection, inspect_bytes, inspect_file

__all__ = ["Inspection", "inspect_bytes", "inspect_file"]
