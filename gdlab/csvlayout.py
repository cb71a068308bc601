"""A CSV dataset's layout, apart from its values: blank lines before the header, the header's names, a row's
file line and number of cells, so every error names the line an editor shows."""

from __future__ import annotations

from gdlab.errors import GdlabError


def leading_blank_lines(path: str) -> int:
    """Blank (or all-space) lines before the header: skipped, as blank lines between rows are."""
    n = 0
    with open(path, "rb") as fh:
        for line in fh:
            if line.strip(b" \t\r\n\xef\xbb\xbf"):
                break
            n += 1
    return n


def line_of(table, position: int) -> int:
    """The file line where the table's row `position` starts (only an error needs it)."""
    return _record(table, position)[0]


def short_row(table, position: int) -> str | None:
    """'line N has n field(s) where the header has m' when the table's row `position` has fewer cells than
    the header: pandas reads the missing ones as empty cells of columns the row never reached."""
    line, cells = _record(table, position)
    if cells is None or len(cells) >= table.shape[1]:
        return None
    return f"line {line} has {len(cells)} field(s) where the header has {table.shape[1]}"


def long_row(path: str, blank: int) -> str | None:
    """'line N has n field(s) where the header has m' for the first row with more cells than the header (pandas
    names no line for the first data row, and counts lines its own way for the others); None if none is found."""
    import csv

    try:
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
            for _ in range(blank):
                fh.readline()
            reader = csv.reader(fh)
            width = len(next(reader))
            previous = reader.line_num
            for cells in reader:
                if len(cells) > width:
                    return f"line {blank + previous + 1} has {len(cells)} field(s) where the header has {width}"
                previous = reader.line_num
    except (OSError, StopIteration, csv.Error):
        pass
    return None


def _record(table, position: int) -> tuple[int, list[str] | None]:
    """(file line, cells) of the table's row `position`: read by the csv module, so leading blank lines and
    quoted cells that span lines are counted as the file has them (cells None: the file could not be read)."""
    import csv

    row = int(table.index[position])  # 0: the first record after the header (blank lines are records too)
    try:
        path, blank = table.attrs["path"], table.attrs["blank"]
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
            for _ in range(blank):
                fh.readline()
            reader = csv.reader(fh)
            next(reader)  # the header
            previous = reader.line_num
            for record, cells in enumerate(reader):
                if record == row:
                    return blank + previous + 1, cells
                previous = reader.line_num
    except (OSError, KeyError, StopIteration, csv.Error):
        pass
    return row + 2, None  # line 1 is the header


def check_header_names(path: str, blank: int) -> None:
    """Every header name must be given and distinct: pandas would call a blank one `Unnamed: 1` and rename a
    second `x1` to `x1.1`, so data.target or the default features would silently pick other columns."""
    import pandas as pd

    try:
        header = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False, skip_blank_lines=False,
                             skiprows=blank)
    except (pd.errors.EmptyDataError, pd.errors.ParserError):
        return  # no header line to speak of: the table read reports what is wrong with the file
    names = [str(n) for n in header.iloc[0]] if len(header) else []
    for i, name in enumerate(names):
        if not name.strip():
            raise GdlabError(f"data.path: {path}: the header line's column {i + 1} has no name; give every column a name")
        if name in names[:i]:
            raise GdlabError(
                f"data.path: {path}: the header line names column '{name}' twice (columns {names.index(name) + 1} "
                f"and {i + 1}); give every column its own name"
            )
