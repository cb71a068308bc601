"""Reading a user's file as text, with every OS or decoding problem turned into one GdlabError line."""

from __future__ import annotations

import os
from pathlib import Path

from gdlab.errors import GdlabError


def umask_mode() -> int:
    """The mode a plain new file gets here (0o666 less the umask): temp files start at 0o600."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def read_user_text(path: Path, what: str, max_bytes: int | None = None) -> str:
    """The file's UTF-8 text; `what` says what was expected there, `max_bytes` caps its size."""
    try:
        if max_bytes is not None and (size := path.stat().st_size) > max_bytes:
            raise GdlabError(f"{path}: file is {size} bytes; {what} is limited to {max_bytes} bytes")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise GdlabError(f"{path}: no such file (expected {what})") from None
    except IsADirectoryError:
        raise GdlabError(f"{path}: is a directory (expected {what})") from None
    except PermissionError:
        raise GdlabError(f"{path}: permission denied") from None
    except OSError as exc:
        raise GdlabError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GdlabError(f"{path}: not UTF-8 text (bad byte at offset {exc.start}); expected {what}") from None
