"""Files written atomically: each goes to a temporary file beside it, then is renamed."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

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
    """``frame`` with every float below :data:`RESIDUE` in absolute value written as 0."""
    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    if not floats:
        return frame
    out = frame.copy()
    for c in floats:
        values = out[c].to_numpy(dtype=float, copy=True)
        values[np.abs(values) < RESIDUE] = 0.0
        out[c] = values
    return out


def _atomic_write(path: Path, content: str | pd.DataFrame) -> None:
    """Text, or a frame as CSV streamed to the file (no copy of it all in memory)."""
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as f:
        if isinstance(content, pd.DataFrame):
            without_residues(content).to_csv(f, **_CSV)
        else:
            f.write(content)


# Full float precision (shortest round-trip), blanks for missing values.
_CSV: dict[str, Any] = {"index": False, "na_rep": "", "lineterminator": "\n"}


def csv_text(frame: pd.DataFrame) -> str:
    """A frame as CSV text, as the files hold it."""
    return str(frame.to_csv(**_CSV))


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
