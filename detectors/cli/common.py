"""What every ``aimark`` command shares: exit codes, options, the console, and standard input/output.

Conventions follow the tools these users already know (exiftool, c2patool, ImageMagick): ``-`` is standard
input or output, ``-q``/``-v`` set how much is said, ``-o``/``-f``/``-n``/``-j`` are the short options for
the common flags, messages go to standard error and data to standard output, and nothing is overwritten
without ``--force``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import click

from aimark.labeller import image_io, keys as keys_module
from aimark.labeller.batch import Discovery
from aimark.labeller.errors import AimarkError
from aimark.labeller.workers import DEFAULT_MEMORY, DEFAULT_TIMEOUT, Limits, default_jobs

EXIT_OK = 0
EXIT_FAILED = 1  # some input failed (label, inspect, propagate) / a mark was removed (scan)
EXIT_USAGE = 2
EXIT_UNREADABLE = 3  # scan: nothing removed, but some input could not be read
EXIT_STOPPED = 4  # the batch stopped early (disk full); re-run the same command to finish it
EXIT_INTERRUPTED = 130

BATCH_EXIT_CODES = """\b
Exit codes:
  0  every input was done (or already carried a label)
  1  some input failed; the others were done (each failure is listed)
  2  the command line is wrong
  4  the batch stopped early (disk full); run the same command again to finish it
"""


@dataclass
class Console:
    """Messages for people, on standard error: ``quiet`` keeps only errors, ``verbose`` adds detail."""

    quiet: bool = False
    verbose: int = 0

    def info(self, text: str) -> None:
        if not self.quiet:
            click.echo(text, err=True)

    def detail(self, text: str) -> None:
        if self.verbose and not self.quiet:
            click.echo(text, err=True)

    def error(self, text: str) -> None:
        click.echo(text, err=True)

    def progress(self, length: int, label: str):
        return click.progressbar(length=length, label=label, file=sys.stderr, show_pos=True,
                                 hidden=self.quiet or length <= 1 or not sys.stderr.isatty())


def console_options(command):
    command = click.option("-v", "--verbose", count=True, help="Say more (repeat for more).")(command)
    return click.option("-q", "--quiet", is_flag=True, help="Print only errors.")(command)


def parse_size(text: str) -> int | None:
    """'4G', '512M', '300000K' or bytes; '0' means no limit."""
    value = text.strip().upper().rstrip("B")
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    factor = units.get(value[-1:], 1)
    number = value[:-1] if value[-1:] in units else value
    try:
        size = int(float(number) * factor)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a size like 4G or 512M") from None
    return size or None


def batch_options(command):
    """--jobs, --timeout, --max-memory, --ray: how the per-image work runs in isolated worker processes, here
    or on a cluster."""
    for option in reversed([
        click.option("-j", "--jobs", type=click.IntRange(min=0), default=default_jobs(), show_default="all cores",
                     help="Worker processes (0: in this process, without isolation; for debugging)."),
        click.option("--timeout", type=click.FloatRange(min=0), default=DEFAULT_TIMEOUT, show_default=True,
                     help="Seconds one image may take before it is stopped and reported (0: no limit)."),
        click.option("--max-memory", default=f"{DEFAULT_MEMORY >> 30}G", show_default=True, metavar="SIZE",
                     help="Memory each worker may use (e.g. 2G); an image that needs more fails alone (0: no limit)."),
        click.option("--ray", "ray_address", metavar="ADDRESS",
                     help="Run the per-image work on a Ray cluster ('auto', HOST:PORT, ray://HOST:10001; 'local' "
                          "starts one here with --jobs cores). Needs aimark[ray] on every node and the inputs "
                          "at the same paths there. Records and report are written here, as in a local run."),
    ]):
        command = option(command)
    return command


def limits(jobs: int, timeout: float, max_memory: str, ray_address: str | None = None) -> Limits:
    if ray_address:
        from aimark.labeller import cluster

        usage_errors(lambda: cluster.connect(ray_address, cpus=jobs or None))
    return Limits(jobs=jobs, timeout=timeout or None, memory=parse_size(max_memory),
                  max_pixels=image_io.pixel_limit() or 0, ray=ray_address)


def discovery_options(command):
    for option in reversed([
        click.option("--recursive/--no-recursive", default=True, show_default=True,
                     help="Search subfolders of folder arguments."),
        click.option("--include-hidden", is_flag=True, help="Take hidden files and folders (names starting with '.')."),
        click.option("--follow-symlinks", is_flag=True,
                     help="Follow symbolic links found inside folders (off: they are listed as skipped)."),
    ]):
        command = option(command)
    return command


def discovery(recursive: bool, include_hidden: bool, follow_symlinks: bool) -> Discovery:
    return Discovery(recursive=recursive, include_hidden=include_hidden, follow_symlinks=follow_symlinks)


def _set_pixel_limit(ctx, param, value):
    if value is not None:
        image_io.set_pixel_limit(value or None)
    return value


max_pixels_option = click.option(
    "--max-pixels", type=click.IntRange(min=0), default=None, expose_value=False, callback=_set_pixel_limit,
    help=f"Refuse images with more pixels than this, before decoding (default {image_io.DEFAULT_MAX_PIXELS:,}; "
         "raise it for larger photos you trust; 0: no limit).")

watermark_key_option = click.option(
    "--watermark-key", "watermark_key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="AIMARK_WATERMARK_KEY_FILE",
    help="File holding a private watermark key: only holders of it can read or forge the mark "
         "(default: the open key anyone can read). Env: AIMARK_WATERMARK_KEY_FILE.")


def signing_options(command):
    """The C2PA signing credentials, shared by every command that signs."""
    for option in reversed([
        click.option("--keys", "key_dir", type=click.Path(file_okay=False, path_type=Path),
                     help="Folder from 'aimark keys init' (default: $AIMARK_KEYS or ~/.config/aimark/keys)."),
        click.option("--cert", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Your own signer certificate chain (PEM, leaf first)."),
        click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Private key for --cert (PEM)."),
        click.option("--tsa-url", help="RFC 3161 timestamp authority, so signatures outlive the certificate."),
        click.option("--no-c2pa", is_flag=True, help="Do not sign Content Credentials."),
    ]):
        command = option(command)
    return command


def trust_option(help_text: str = "PEM trust anchors for C2PA (default: your own ca.pem from 'aimark keys init', "
                                  "if any). Repeatable."):
    return click.option("-T", "--trust", "trust_files", multiple=True,
                        type=click.Path(exists=True, dir_okay=False, path_type=Path), help=help_text)


def usage_errors(function):
    """Run ``function`` turning ``AimarkError`` into a usage error (exit 2) with its one-line message."""
    try:
        return function()
    except AimarkError as exc:
        raise click.UsageError(str(exc)) from None


def read_watermark_key(path: Path | None) -> bytes | None:
    if path is None:
        return None
    key = path.read_bytes().strip()
    if len(key) < 16:
        raise AimarkError(f"the watermark key in {path} is {len(key)} bytes; use at least 16 random bytes")
    return key


def trust_anchors(trust_files) -> str | None:
    return keys_module.trust_anchors(trust_files)


def registry_location(value: str | None, *, must_exist: bool) -> str | Path | None:
    """A ``--registry`` value: a ``postgresql://`` URL as given, else a path (which must exist for lookups)."""
    from ..registry_store import is_url

    if value is None or is_url(value):
        return value
    path = Path(value)
    if must_exist and not path.is_file():
        raise click.UsageError(f"no registry at {path}: make one with 'aimark label --registry {path}'")
    if path.is_dir():
        raise click.UsageError(f"--registry {path} is a folder; give a file (or a postgresql:// URL)")
    return path


def open_registry(location: str | Path | None, *, read_only: bool = False, console: "Console | None" = None):
    """The registry at ``location``, or a one-line usage error. A registry file in aimark 0.1's layout is
    upgraded in place first (one transaction), with a note."""
    if location is None:
        return None
    from ..registry import Registry
    from ..registry_store import RegistryError, RegistryNeedsUpgrade

    try:
        if not read_only and isinstance(location, Path):
            location.parent.mkdir(parents=True, exist_ok=True)
        try:
            return Registry(location, read_only=read_only)
        except RegistryNeedsUpgrade:
            Registry(location).close()
            if console is not None:
                console.info(f"upgraded the registry {location} to the current layout (thumbnails apart, PDQ added)")
            return Registry(location, read_only=read_only)
    except RegistryError as exc:
        raise click.UsageError(str(exc)) from None
    except Exception as exc:  # sqlite3 and psycopg raise several types for a bad path or a non-database file
        raise click.UsageError(f"cannot open the registry {location}: {exc}") from None


def read_stdin() -> bytes:
    if sys.stdin.isatty():
        raise click.UsageError("'-' reads an image from standard input, but nothing is piped in")
    return sys.stdin.buffer.read(image_io.MAX_INPUT_BYTES + 1)


def write_stdout(data: bytes) -> None:
    if sys.stdout.isatty():
        raise click.UsageError("refusing to write image bytes to a terminal: redirect standard output "
                               "('> out.jpg') or give --out a folder")
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def refuse_report_on_input(report: Path, inputs: list[Path]) -> None:
    """A report path that names an input would truncate or corrupt it: refuse before anything runs."""
    target = report.resolve()
    for source in inputs:
        if source.resolve() == target:
            raise click.UsageError(f"--report {report} is one of the inputs; choose another report path")


def read_only_items(inputs, found_by: Discovery, exclude=()):
    """(items, skipped, unmatched) for a read-only command: '-' alone is standard input's one image."""
    from aimark.labeller.batch import STDIO, discover

    from ..tasks import Item

    if STDIO in inputs:
        if len(inputs) != 1:
            raise click.UsageError("'-' (standard input) works with exactly one input")
        return [Item(0, "-", read_stdin())], [], []
    found = discover(inputs, found_by, exclude=exclude)
    return [Item(i, str(path)) for i, (path, _) in enumerate(found.files)], found.skipped, found.unmatched


def list_skipped(console: Console, skipped, unmatched) -> None:
    for item in skipped:
        console.info(f"  SKIPPED  {item.path}: {item.reason}")
    for item in unmatched:
        console.error(f"  FAILED   {item}")
