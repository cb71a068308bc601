"""Appending rows to a CSV (metrics.csv, lr_find.csv, sweep.csv): header once, cells that read back
exactly, flushed per row or per block, fsynced on close; a full disk is one line naming the file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gdlab.errors import GdlabError
from gdlab.files import cannot_write


def format_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # shortest round-trip text: deterministic, and read back exactly
    text = str(value)
    if any(c in text for c in ',"\n\r'):  # RFC 4180 quoting, only where a cell needs it
        return '"' + text.replace('"', '""') + '"'
    return text


class CsvAppender:
    """Appends rows to a CSV, header once; each row is flushed as written (or every `flush_every`)."""

    def __init__(self, path: Path, columns: list[str], flush_every: int = 1):
        self.path, self.columns, self.flush_every = path, columns, flush_every
        new = not path.exists() or path.stat().st_size == 0
        try:
            self._fh = open(path, "a", encoding="utf-8", newline="")
        except OSError as exc:
            raise cannot_write(path, exc) from None
        self._pending = 0
        self.failed = False
        if new:  # a full disk fails here already: one line naming the file, as for any row
            try:
                self.write_block(",".join(columns) + "\n")
            except GdlabError:
                self.close()  # the failure is reported once, and the file handle is not left open
                raise

    def write_line(self, line: str) -> None:
        """Append one already formatted row."""
        try:
            self._fh.write(line + "\n")
            self._pending += 1
            if self._pending >= self.flush_every:
                self.flush()
        except OSError as exc:  # a full disk: say which file, keep what is already written
            self.failed = True
            raise cannot_write(self.path, exc) from None

    def write_block(self, text: str) -> None:
        """Append several already formatted rows (`text` ends with a newline) and flush them."""
        try:
            self._fh.write(text)
        except OSError as exc:
            self.failed = True
            raise cannot_write(self.path, exc) from None
        self.flush()

    def write(self, row: dict) -> None:
        # cells quote themselves where needed (format_cell), so a plain join is valid CSV and cheap
        self.write_line(",".join([format_cell(row.get(c)) for c in self.columns]))

    def flush(self) -> None:
        try:
            self._fh.flush()
        except OSError as exc:
            self.failed = True
            raise cannot_write(self.path, exc) from None
        self._pending = 0

    def close(self, durable: bool = True) -> None:
        """Flush, fsync unless not `durable`, and close."""
        if self._fh.closed:
            return
        try:
            self._fh.flush()
            if durable:
                os.fsync(self._fh.fileno())
        except OSError as exc:
            if not self.failed:  # after a first failure, closing quietly keeps that error the one reported
                raise cannot_write(self.path, exc) from None
        finally:
            try:
                self._fh.close()
            except OSError:
                pass
