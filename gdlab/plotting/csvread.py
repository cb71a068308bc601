"""A tolerant CSV reader for files that gdlab appends to while it runs: it keeps the rows it can trust
and says what it dropped, so a run killed mid-write never turns into a silently wrong value."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from gdlab.errors import GdlabError
from gdlab.files import read_user_text

Row = tuple[int, list[str]]  # (1-based line number, cells)


def read_text(path: Path, what: str) -> str:
    """Read a whole file as UTF-8; every OS or decoding problem becomes one GdlabError naming the file."""
    return read_user_text(path, what)


def describe_lines(numbers: list[int], limit: int = 5) -> str:
    """`3, 7, 9 and 2 more`: a short list of line numbers for a warning."""
    shown = ", ".join(str(n) for n in numbers[:limit])
    return shown + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")


def read_rows(path: Path, required: tuple[str, ...], what: str) -> tuple[list[str], list[Row], list[str]]:
    """Return (header, rows, warnings). Drops a torn last line, repeated header rows and rows with the
    wrong number of fields, with a warning each; raises GdlabError for an empty or foreign file."""
    text = read_user_text(path, what, torn_tail=True).removeprefix("\ufeff")  # a spreadsheet's byte-order mark is not part of 'step'
    if not text.strip():
        raise GdlabError(f"{path}: empty file (expected {what})")
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[Row] = []
    try:
        for cells in reader:
            if cells and any(c.strip() for c in cells):
                records.append((reader.line_num, [c.strip() for c in cells]))
    except csv.Error as exc:
        raise GdlabError(f"{path}: line {reader.line_num}: not valid CSV ({exc})") from None

    if not records:  # ',,,' lines: CSV, but not one cell says what the file is
        raise GdlabError(f"{path}: every line is empty cells, no header row (expected {what})")
    header, rows = records[0][1], records[1:]
    missing = [c for c in required if c not in header]
    if missing:
        raise GdlabError(
            f"{path}: not {what}: no {', '.join(repr(c) for c in missing)} column "
            f"(its header is: {', '.join(header[:12])}{', ...' if len(header) > 12 else ''})"
        )
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise GdlabError(f"{path}: the header names column(s) {', '.join(duplicated)} more than once")

    warnings: list[str] = []
    # Every writer ends a row with a newline, so an unterminated last line is a partial write:
    # its last cell may be cut short and still parse (0.12 -> 0.1), so it cannot be trusted.
    if rows and not text.endswith(("\n", "\r")):
        line, _ = rows.pop()
        warnings.append(f"{path}: dropped the torn last line {line} (the writer was stopped mid-line)")

    kept: list[Row] = []
    repeated: list[int] = []
    malformed: list[int] = []
    for line, cells in rows:
        if cells == header:
            repeated.append(line)  # two writers appended to one file, or a resumed writer re-wrote it
        elif len(cells) != len(header):
            malformed.append(line)
        else:
            kept.append((line, cells))
    if repeated:
        warnings.append(f"{path}: skipped a repeated header row at line {describe_lines(repeated)}")
    if malformed:
        warnings.append(
            f"{path}: skipped {len(malformed)} row(s) whose field count differs from the header's "
            f"{len(header)} (line {describe_lines(malformed)})"
        )
    return header, kept, warnings

