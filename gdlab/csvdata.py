"""A user's CSV file as a dataset: a header line, a numeric target column and feature columns. Every
problem (a missing column, an empty or non-numeric cell) is one GdlabError line naming the file line."""

from __future__ import annotations

import os
import stat
import warnings

import numpy as np

from gdlab.config import did_you_mean
from gdlab.csvlayout import check_header_names, leading_blank_lines, line_of, long_row, short_row
from gdlab.datasets import RawData
from gdlab.errors import GdlabError

NAN_WORDS = {"nan", "na", "n/a", "null", "none"}
SHOWN_COLUMNS = 20  # header names a "no column" error lists
# A label above this is a typo or a regression target, not a class: CrossEntropyLoss needs one output unit per
# class, and a label such as 1e12 would ask for a last layer of a trillion units.
MAX_CLASSES = 100_000


def read_csv(data, labels: bool, loss_name: str) -> RawData:
    """Read `data.path` with a numeric target column and feature columns; every problem is one GdlabError line."""
    path = data.path
    table = _read_table(path)
    columns = list(table.columns)
    _need_column(path, "data.target", data.target, columns)
    features = data.features if data.features is not None else [c for c in columns if c != data.target]
    for name in features:
        _need_column(path, "data.features", name, columns)
        if name == data.target:
            raise GdlabError(f"data.features: '{name}' is the target column (data.target) of {path}; list only inputs")
    if not features and data.features is not None:
        others = [c for c in columns if c != data.target]
        raise GdlabError(f"data.features: an empty list; name the input columns ({', '.join(others)}) of {path} "
                         "or leave the key out to use every column but the target")
    if not features:
        raise GdlabError(f"data.target: {path} has no column besides the target '{data.target}' to learn from")
    x = np.column_stack([_numeric_column(path, table, name) for name in features])
    y = _numeric_column(path, table, data.target)
    if not labels:
        return RawData(x, y.reshape(-1, 1), list(features), None)
    classes = _class_labels(path, table, data.target, y, loss_name)
    if np.unique(classes).size < 2:  # the loss is 0 whatever the weights: likely the wrong target column
        raise GdlabError(f"data.target: column '{data.target}' of {path} holds one class only ({int(classes[0])}); "
                         f"{loss_name} needs at least two (is data.target the label column?)")
    return RawData(x, classes, list(features), int(classes.max()) + 1)


def _read_table(path: str):
    import pandas as pd

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise GdlabError(f"data.path: {path}: no such file") from None
    except OSError as exc:  # a name too long for the file system, a file inside the path, a loop of links
        raise GdlabError(f"data.path: {path}: cannot read it ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode):
        raise GdlabError(f"data.path: {path}: not a file; data.path names a CSV file")
    try:
        blank = leading_blank_lines(path)  # inside: a file we may not read is reported below
        # Strings everywhere, blank lines kept: gdlab checks each cell itself and reports its file line.
        # index_col=False stops pandas from silently taking the first column as an index when rows are long.
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            table = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False, index_col=False,
                                skiprows=blank)
    except pd.errors.ParserWarning:  # pandas' own wording names no line for the first data row
        raise GdlabError(f"data.path: {path}: {long_row(path, blank) or 'a row has more cells than the header'}; "
                         "every row needs a cell per column") from None
    except pd.errors.EmptyDataError:
        raise GdlabError(
            f"data.path: {path}: the file is empty; expected a header line of column names, then rows"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        if isinstance(exc, pd.errors.ParserError) and (long := long_row(path, blank)):  # its line, counted as editors do
            raise GdlabError(f"data.path: {path}: {long}; every row needs a cell per column") from None
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise GdlabError(f"data.path: {path}: not a readable CSV file: {detail}") from None
    check_header_names(path, blank)
    table.attrs.update(path=path, blank=blank)  # for line_of, which finds a row's line only when an error needs it
    table = table.fillna("")
    table = table[~table.apply(lambda col: col.str.strip() == "").all(axis=1)]  # blank (or all-space) lines
    if table.empty:
        raise GdlabError(f"data.path: {path}: no data rows; expected rows of numbers below the header line")
    return table


def _need_column(path: str, key: str, name: str, columns: list[str]) -> None:
    if name not in columns:  # the key first: the CLI then names the config (and the override) that set it
        raise GdlabError(f"{key}: no column '{name}'{did_you_mean(name, columns)}; columns: {_listed(columns)} (in {path})")


def _listed(columns: list[str]) -> str:
    """The header's names quoted, so a leading space or an empty name shows; the first few of a wide file."""
    shown = ", ".join(repr(str(c)) for c in columns[:SHOWN_COLUMNS])
    return shown + (f", … ({len(columns)} columns)" if len(columns) > SHOWN_COLUMNS else "")


def _numeric_column(path: str, table, name: str) -> np.ndarray:
    """Column `name` as float64, or a GdlabError naming the first empty, NaN, infinite or non-numeric cell."""
    import pandas as pd

    text = table[name].str.strip()
    values = pd.to_numeric(text, errors="coerce").to_numpy(np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size == 0:
        return values
    cell = text.iloc[bad[0]]
    if cell == "" and (short := short_row(table, bad[0])):  # not an empty cell: the row ends before the column
        raise GdlabError(f"data.path: {path}: {short}; every row needs a cell per column")
    if cell == "":
        problem = "empty cell"
    elif cell.lower().lstrip("+-") in NAN_WORDS:
        problem = f"missing value '{cell}'"
    elif np.isnan(values[bad[0]]):
        problem = f"non-numeric value '{cell}'"
    else:
        problem = f"infinite value '{cell}'"
    raise _cell_error(path, table, name, bad[0], f"{problem}; every cell must be a finite number")


def _class_labels(path: str, table, name: str, y: np.ndarray, loss_name: str) -> np.ndarray:
    """`y` as int64 class labels, or a GdlabError naming the first cell that is not a whole number
    0 .. MAX_CLASSES - 1."""
    # The range is checked before the cast: a float beyond int64 casts to garbage with a numpy RuntimeWarning.
    bad = np.flatnonzero((y < 0) | (y >= MAX_CLASSES) | (y != np.floor(y)))
    if bad.size:
        got = table[name].iloc[bad[0]].strip()
        raise _cell_error(path, table, name, bad[0], f"{loss_name} needs integer class labels 0, 1, 2, ... up to "
                                                     f"{MAX_CLASSES - 1} (at most {MAX_CLASSES} classes); got {got}")
    return y.astype(np.int64)


def _cell_error(path: str, table, name: str, position: int, problem: str) -> GdlabError:
    return GdlabError(f"data.path: {path}: column '{name}', line {line_of(table, position)}: {problem}")
