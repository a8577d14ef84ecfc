"""The ``aimark`` command line: one thin module per command over the library.

It lives in ``detectors`` because that package sits on top: it already uses the labeller's writers and
readers and the models, so the command line adds no new dependency between packages.
"""

from __future__ import annotations

import click

from aimark.labeller.pipeline import VERSION

from .inspect import inspect
from .keys import keys
from .label import label
from .propagate import propagate
from .registry import registry
from .scan import scan


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(VERSION, "-V", "--version", prog_name="aimark")
def main():
    """Label AI-generated images the way GB 45438-2025 asks, and check what reposts kept of the labels.

    \b
    Start with:  aimark keys init --org "Your Studio"
    Then:        aimark label images/ -o labelled/ -p CODE -a ID --registry originals.sqlite
    Check:       aimark inspect labelled/images/photo.jpg
    Reposts:     aimark scan downloads/ --registry originals.sqlite -o scan/
    Platforms:   aimark propagate uploads/ -o published/ --platform YOUR_PLATFORM
    Share:       aimark registry export originals.sqlite -o originals.pdq.txt

    \b
    Every command: -h for help, -q quiet, -v verbose, '-' for standard input/output where one image
    is read or written. Batches run on all cores (-j), each image isolated, and resume when re-run.
    """


for command in (label, inspect, scan, propagate, keys, registry):
    main.add_command(command)


if __name__ == "__main__":
    main()
