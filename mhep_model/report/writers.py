"""Files written atomically: each goes to a temporary file beside it, then is renamed."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed over ``path`` when the block
    ends without error, removed otherwise. The file gets ordinary permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


RESIDUE = 1e-9
"""Amounts smaller than this [currency units or people] are floating-point residues of
the cap arithmetic (spec section 11): written as 0, never as 1.8e-12 or "-0"."""


def without_residues(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every float below :data:`RESIDUE` in absolute value written as 0
    (``-0.0`` too); ``frame`` itself when it has none (no copy)."""
    out = frame
    for c in frame.columns:
        if not pd.api.types.is_float_dtype(frame[c]):
            continue
        values = frame[c].to_numpy(dtype=float)
        small = np.abs(values) < RESIDUE
        small &= (values != 0.0) | np.signbit(values)
        if not small.any():
            continue
        if out is frame:
            out = frame.copy()
        values = values.copy()
        values[small] = 0.0
        out[c] = values
    return out


def _atomic_write(path: Path, content: str | pd.DataFrame) -> None:
    """Text, or a frame as CSV streamed to the file (no copy of it all in memory)."""
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as f:
        if isinstance(content, pd.DataFrame):
            write_csv(without_residues(content), f)
        else:
            f.write(content)


# Full float precision (shortest round-trip), blanks for missing values.
_CSV: dict[str, Any] = {"index": False, "na_rep": "", "lineterminator": "\n"}
CSV_ROWS = 8192
"""Rows formatted at a time: memory stays bounded for a million-row paths.csv."""


def write_csv(frame: pd.DataFrame, f: TextIO) -> None:
    """``frame.to_csv(f, index=False, na_rep="", lineterminator="\\n")``, the same text,
    two to three times faster: each column is formatted as pandas formats it (``repr`` of a
    float) a block of rows at a time, text is quoted by the csv module (as pandas has it
    quoted), and the fields are joined. Columns of any other kind go to pandas."""
    columns = [_formatter(frame.iloc[:, j]) for j in range(frame.shape[1])]
    labels = list(frame.columns)
    if len(columns) < 2 or not all(isinstance(c, str) for c in labels) or None in columns:
        frame = frame.apply(lambda col: col.map(defused) if is_text(col) else col)
        frame.to_csv(f, **_CSV)  # (one column: the csv module quotes an empty row)
        return
    csv.writer(f, lineterminator="\n").writerow(labels)
    for start in range(0, len(frame), CSV_ROWS):
        stop = min(start + CSV_ROWS, len(frame))
        fields = (fmt(start, stop) for fmt in columns if fmt)
        f.writelines(",".join(row) + "\n" for row in zip(*fields, strict=True))


Formatter = Callable[[int, int], list[str]]


def _formatter(column: pd.Series) -> Formatter | None:
    """How to write rows ``start:stop`` of ``column`` as pandas would; None for a kind of
    column left to pandas."""
    dtype = column.dtype
    if dtype == np.float64:
        floats = column.to_numpy()
        return lambda a, b: _blank(list(map(repr, floats[a:b].tolist())), np.isnan(floats[a:b]))
    if dtype == np.bool_:
        flags = column.to_numpy()
        return lambda a, b: ["True" if x else "False" for x in flags[a:b].tolist()]
    if pd.api.types.is_signed_integer_dtype(dtype):  # numpy's, or pandas' Int64 with gaps
        missing = column.isna().to_numpy()
        ints = column.to_numpy(dtype=np.int64, na_value=0)
        return lambda a, b: _blank(list(map(str, ints[a:b].tolist())), missing[a:b])
    if dtype == np.dtype(object) or isinstance(dtype, pd.StringDtype):
        texts = column.to_numpy(dtype=object).tolist()
        for i in np.flatnonzero(column.isna().to_numpy()).tolist():
            texts[i] = ""  # None, NaN and pandas' NA: blank, as na_rep writes them
        if not all(isinstance(v, str) for v in texts):
            return None  # numbers among text: pandas knows how it writes those
        quoted = {v: _quoted(str(defused(v))) for v in set(texts)}
        return lambda a, b: [quoted[v] for v in texts[a:b]]
    return None


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet reads as the start of a formula in a CSV cell (OWASP, CSV injection)."""


def is_text(column: pd.Series) -> bool:
    """Whether a column holds text (object or string dtype)."""
    return column.dtype == np.dtype(object) or isinstance(column.dtype, pd.StringDtype)


def defused(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula (``=1+1``, ``+HYPERLINK(...)``,
    ``@cmd``) with a leading ``'``, as OWASP advises; other values as they are. Names are
    data: a case called ``=1+1`` is shown as written, never computed."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _quoted(text: str) -> str:
    """``text`` as the csv module writes it as one field of a row of several (quoted when
    it holds a comma, a quote or a line break)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([text, ""])
    return buf.getvalue()[:-2]  # less the empty last field's "," and the line's end


def _blank(texts: list[str], missing: np.ndarray) -> list[str]:
    for i in np.flatnonzero(missing).tolist():
        texts[i] = ""
    return texts


def write_outputs(
    out_dir: Path, frames: Mapping[str, pd.DataFrame], manifest: Mapping[str, object]
) -> list[Path]:
    """Write ``<name>`` CSVs and ``run.json`` into ``out_dir``; returns the paths written."""
    written = []
    for name, frame in frames.items():
        path = out_dir / name
        _atomic_write(path, frame)
        written.append(path)
    path = out_dir / "run.json"
    _atomic_write(path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    written.append(path)
    return written


def write_text(path: Path, text: str) -> Path:
    """Write one text file atomically; returns its path."""
    _atomic_write(path, text)
    return path
