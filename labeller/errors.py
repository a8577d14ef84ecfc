"""Errors a user can act on.

Every failure that comes from one input (a bad file, a label that cannot fit) is an ``AimarkError`` whose
message is one line saying what is wrong and what to do, so a batch can report it and go on. Anything
else is a bug and is allowed to propagate.
"""


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
