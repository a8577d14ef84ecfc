"""Errors a user can act on.

Every failure that comes from one input (a bad file, a label that cannot fit) is an ``AimarkError`` whose
message is one line saying what is wrong and what to do, so a batch can report it and go on. Library entry
points that read untrusted bytes raise nothing else: ``input_guard`` turns any other exception a hostile
file provokes (a parser's ``KeyError``, a ``MemoryError``...) into an ``UnexpectedInput`` with the reason,
keeping the original as its cause for whoever debugs it.
"""

from __future__ import annotations

from contextlib import contextmanager


class AimarkError(Exception):
    """A problem with one input or option, explained in one line."""


class BadImage(AimarkError):
    """The file is not an image we can decode safely (truncated, not an image, bomb, animated...)."""


class ImageTooSmall(AimarkError):
    """The image cannot hold a compliant, legible label."""


class NonCompliantLabelText(AimarkError):
    """The visible label text lacks an AI element or a generation element (GB 45438 §5.2)."""


class AlreadyLabelled(AimarkError):
    """The input already carries an AI label; labelling again would stack a second one."""


class MetadataError(AimarkError):
    """A metadata label cannot be written (bad value characters, carrier too large...)."""


class SigningError(AimarkError):
    """C2PA signing failed (credentials, timestamp authority...)."""


class OutputError(AimarkError):
    """The output cannot be written (directory not writable, disk full...)."""


class DiskFull(OutputError):
    """No space left where outputs go: a batch stops here rather than fail every remaining image."""


class UnexpectedInput(AimarkError):
    """The file provoked an error no check foresaw; the message names it so it can be reported."""


def one_line(text: str, limit: int = 300) -> str:
    """``text`` on one line, at most ``limit`` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


@contextmanager
def input_guard(what: str = "this file"):
    """Turn any non-``AimarkError`` exception raised while handling untrusted input into ``UnexpectedInput``.

    ``KeyboardInterrupt`` and ``SystemExit`` pass through: they are the user's, not the file's."""
    try:
        yield
    except AimarkError:
        raise
    except MemoryError:
        raise UnexpectedInput(f"{what} needs more memory than allowed: refused as hostile or too large") from None
    except RecursionError:
        raise UnexpectedInput(f"{what} is nested too deeply to read: refused as hostile") from None
    except Exception as exc:  # noqa: BLE001 - the point of the guard
        raise UnexpectedInput(one_line(f"could not process {what} ({type(exc).__name__}: {exc}); "
                                       "if the file opens elsewhere, please report it with the file")) from exc
