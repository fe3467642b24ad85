"""Files a scenario file names: a portfolio's contracts, a batch's base, ``actuals.file``.

A file someone sends you can name any path on your machine, and a file that is not a
scenario comes back in messages. So a named path must resolve (links followed) to a file
inside the folder of the file naming it, unless the user opts in for a folder or file:
``--allow-outside PATH`` on the command line, :func:`allow_outside` in Python. Paths a
user types themselves (the command's own arguments, ``--actuals``) are theirs to choose.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from pathlib import Path

from mhep_model.errors import ScenarioError, excerpt

_ALLOWED: ContextVar[tuple[Path, ...]] = ContextVar("allowed_outside", default=())


def set_allowed(paths: tuple[str | os.PathLike[str], ...]) -> Token[tuple[Path, ...]]:
    """Allow files inside ``paths`` (folders or files) from now on in this context, until
    :func:`reset_allowed` with the token returned; the command line sets it for each
    command, before any work."""
    return _ALLOWED.set(tuple(Path(p).resolve() for p in paths))


def reset_allowed(token: Token[tuple[Path, ...]]) -> None:
    _ALLOWED.reset(token)


@contextmanager
def allow_outside(*paths: str | os.PathLike[str]) -> Iterator[None]:
    """Within the block, scenario files may also name files inside ``paths`` (folders or
    files), as ``--allow-outside PATH`` does::

        with mhep_model.allow_outside("/data/shared-contracts"):
            mhep_model.run("portfolio.yaml")
    """
    token = _ALLOWED.set(_ALLOWED.get() + tuple(Path(p).resolve() for p in paths))
    try:
        yield
    finally:
        _ALLOWED.reset(token)


def _within(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def named_file(naming_file: str, name: str) -> Path:
    """The path ``name`` (as written in ``naming_file``) stands for, relative to that file's
    folder; raises :class:`ScenarioError` (message only: the caller locates it) when it
    resolves outside that folder and outside every allowed path. Checked before the file
    is opened, so a refusal says nothing about what is there."""
    folder = Path(naming_file).parent
    path = folder / name
    real, home = path.resolve(), folder.resolve()
    if _within(real, home) or any(_within(real, root) for root in _ALLOWED.get()):
        return path
    how = "a link to a file outside" if path.is_symlink() else "outside"
    raise ScenarioError(
        f"'{excerpt(name, 120)}' is {how} {home}, the folder of {naming_file}: a file may only "
        "name files inside its own folder (so that a file you are sent cannot read others "
        f"on your machine); to allow it, pass --allow-outside {real.parent}"
    )
