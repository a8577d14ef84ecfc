"""Generation parameters in files the tools themselves wrote, read as ``aimark scan`` reads them.

The tests build each tool's form from its documentation; this reads files the tools wrote. A folder per
tool, named as ``labeller/parameters.py`` names the tool (sd-parsers' test resources are laid out so:
``AUTOMATIC1111/``, ``ComfyUI/``, ``Fooocus/``, ``InvokeAI/``, ``NovelAI/``), and each file is counted as
read when a disclosure by that tool comes out of its text chunks, its EXIF or, for a PNG, its pixels'
lowest bits. Fetch them without installing anything:

    pip download --no-deps --no-binary :all: sd-parsers==0.6 -d /tmp/sdp
    tar xzf /tmp/sdp/sd_parsers-0.6.tar.gz -C /tmp/sdp
    .venv/bin/python bench/parameters_eval.py /tmp/sdp/sd_parsers-0.6/tests/resources/parsers
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from aimark.labeller import metadata  # noqa: E402
from aimark.labeller.source import DecodedImage  # noqa: E402

TOOLS = {"AUTOMATIC1111": "Stable Diffusion web UI", "ComfyUI": "ComfyUI", "Fooocus": "Fooocus",
         "InvokeAI": "InvokeAI", "NovelAI": "NovelAI"}
SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def disclosures(path: Path) -> list:
    """What the scan's metadata reader finds: the file's own carriers, and a PNG's pixels' lowest bits."""
    data = path.read_bytes()
    return metadata.read_labels(data, lambda: DecodedImage(data, path.name).pixels).disclosures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a folder holding one folder of files per tool")
    args = parser.parse_args(argv)
    read = total = 0
    for folder, tool in TOOLS.items():
        for path in sorted((args.folder / folder).glob("*")):
            if path.suffix.lower() not in SUFFIXES:
                continue
            found = disclosures(path)
            ok = any(d.vendor == tool for d in found)
            read, total = read + ok, total + 1
            said = "; ".join(f"{d.vendor} in {d.carrier}: {d.says}" for d in found) or "nothing"
            print(f"{'read' if ok else 'MISS':4s} {folder}/{path.name}: {said}")
    print(f"\nread as their tool: {read}/{total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
