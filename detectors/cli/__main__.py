"""``python -m aimark.detectors.cli``: the same as the ``aimark`` command."""

from . import main

main(prog_name="aimark")
