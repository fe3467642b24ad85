"""Output sets: every file of one command, swapped into ``--out`` whole.

A command writes its files into a hidden staging folder beside ``--out``
(``.<name>.tmp-XXXX``); when every file is written and flushed to disk, ``run.json`` is
rewritten last with the SHA-256 of every file, and the staging folder is exchanged with
``--out`` in one atomic rename. A run killed at any moment leaves ``--out`` holding the
previous set or the new one, never a mix; its staging folder is removed by the next run.

A lock file beside ``--out`` (``.<name>.lock``, held with ``flock``, so a killed run never
leaves it held) refuses a second writer to the same folder while one is at work. A folder
that holds files mhep-model did not write (any file its ``run.json`` does not list) is
never replaced unless the user says ``--force``.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import glob
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mhep_model.errors import MhepError

MANIFEST = "run.json"


class OutputError(MhepError):
    """The output folder cannot take this run's set (busy, or holds other files)."""


class OutputSet:
    """The staging folder of one command's outputs; see :func:`output_set`."""

    def __init__(self, out_dir: Path, staging: Path) -> None:
        self.out_dir = out_dir
        """``--out`` as the user gave it (for messages)."""
        self.dir = staging
        self.dropped: list[str] = []
        """Files of the previous set in ``--out`` that this set does not have."""

    def final(self, paths: list[Path]) -> list[Path]:
        """Where staged ``paths`` will be once the set is in place."""
        return [self.out_dir / p.relative_to(self.dir) for p in paths]


class ForeignFilesError(OutputError):
    """``--out`` holds files mhep-model did not write (bad usage: exit status 2)."""


def _manifest_files(folder: Path) -> set[str] | None:
    """The files the set in ``folder`` lists in its ``run.json`` (None: no mhep-model set)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("tool") != "mhep-model":
        return None
    files = manifest.get("files")
    if not isinstance(files, dict):  # a set sealed before run.json listed its files
        return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir()}
    return {str(f) for f in files}


def foreign_files(folder: Path) -> list[str]:
    """The files in ``folder`` that no mhep-model run wrote there: everything when it holds
    no output set; else whatever its ``run.json`` does not list (a note a user saved
    beside the outputs, say)."""
    try:
        present = sorted(
            p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir()
        )
    except OSError:
        return ["(unreadable)"]
    listed = _manifest_files(folder)
    if listed is None:
        return present
    ours = listed | {MANIFEST} | {f for f in present if f.endswith(f"/{MANIFEST}")}
    return [f for f in present if f not in ours]


def _fsync(path: Path, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot sync a directory; the data is still written
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _seal(staging: Path) -> None:
    """Flush every file to disk, then write ``run.json`` last with each file's SHA-256."""
    files = sorted(p for p in staging.rglob("*") if p.is_file() and p.name != MANIFEST)
    files += [p for p in staging.rglob(MANIFEST) if p.parent != staging]
    for p in files:
        _fsync(p)
    manifest_path = staging / MANIFEST
    manifest: dict[str, object] = {}
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["tool"] = "mhep-model"
    manifest["files"] = {p.relative_to(staging).as_posix(): _sha256(p) for p in sorted(files)}
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    with manifest_path.open("w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    for d in sorted({p.parent for p in staging.rglob("*")} | {staging}, reverse=True):
        _fsync(d, directory=True)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2``); False where that is not possible."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(
        _AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), ctypes.c_uint(_RENAME_EXCHANGE)
    )
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Put the staged set at ``out_dir``; the previous set (if any) is removed after."""
    if not out_dir.exists():
        os.rename(staging, out_dir)
        return
    if _exchange(staging, out_dir):
        shutil.rmtree(staging, ignore_errors=True)  # now the previous set
        return
    # Without an atomic exchange: move the old set aside first; a run killed between the
    # two renames leaves it at .<name>.old-*, which the next run puts back (_recover).
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
    os.rmdir(old)
    os.rename(out_dir, old)
    os.rename(staging, out_dir)
    shutil.rmtree(old, ignore_errors=True)


def _recover(out_dir: Path) -> None:
    """Under the lock: drop stale staging folders; restore a set moved aside by a run that
    was killed mid-swap."""
    parent = out_dir.parent
    name = glob.escape(out_dir.name)  # "a[1]" must not match another folder's sets
    for stale in parent.glob(f".{name}.tmp-*"):
        if _real_folder(stale):  # a FIFO or a link planted under the name: left alone
            shutil.rmtree(stale, ignore_errors=True)
    olds = sorted(p for p in parent.glob(f".{name}.old-*") if _real_folder(p))
    if olds and not out_dir.exists():
        os.rename(olds.pop(), out_dir)
    for old in olds:
        shutil.rmtree(old, ignore_errors=True)


def _real_folder(path: Path) -> bool:
    """A folder itself: not a symbolic link, a FIFO, a device or a file."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _lock(parent: Path, name: str) -> int:
    """Open the lock file beside ``--out``: a regular file, never through a link (a
    planted link would make the run write where it points)."""
    path = parent / f".{name}.lock"
    flags = os.O_CREAT | os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.EMLINK):
            raise OutputError(
                f"{path} is a symbolic link, not mhep-model's lock file: remove it"
            ) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OutputError(f"{path} is not a regular file, so it cannot be the lock: remove it")
    return fd


@contextlib.contextmanager
def output_set(out_dir: Path, force: bool = False) -> Iterator[OutputSet]:
    """Stage a command's outputs for ``out_dir``; swapped in whole when the block ends
    without error, discarded otherwise. Raises :class:`OutputError` when another run holds
    the folder, :class:`ForeignFilesError` when it holds files mhep-model did not write
    (unless ``force``), ``OSError`` when it cannot be written. Afterwards the set's
    ``dropped`` lists the previous set's files this one does not have (e.g. a workbook of
    an earlier ``--xlsx`` run): the caller says so."""
    shown = out_dir
    if out_dir.is_symlink():
        out_dir = out_dir.resolve()
    out_dir = Path(os.path.abspath(out_dir))
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir} is a file, not a folder: choose another --out")
    if os.path.ismount(out_dir):
        raise OutputError(
            f"{out_dir} is a mount point, and a run replaces its --out folder whole (a "
            "rename, which a mount point refuses): give a folder inside it, e.g. "
            f"--out {out_dir / 'results'}"
        )
    parent = out_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    lock_fd = _lock(parent, out_dir.name)
    try:
        try:
            import fcntl

            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # not a POSIX system: no lock, the swap is still whole
            pass
        except OSError as e:
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise OutputError(
                    f"another mhep-model run is writing to {out_dir}: wait for it to finish "
                    "or choose another --out"
                ) from None
            raise
        _recover(out_dir)
        foreign = foreign_files(out_dir) if out_dir.exists() else []
        if foreign and not force:
            shown_files = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
            raise ForeignFilesError(
                f"{out_dir} holds files that mhep-model did not write ({shown_files}), and a "
                "run replaces its --out folder whole: move them, choose a new or empty "
                "folder with --out, or give --force to replace the folder anyway"
            )
        before = (_manifest_files(out_dir) or set()) if out_dir.exists() else set()
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=parent))
        try:
            os.chmod(staging, 0o777 & ~_umask())
            staged = OutputSet(shown, staging)
            yield staged
            _seal(staging)
            staged.dropped = sorted(before - (_manifest_files(staging) or set()))
            _swap_in(staging, out_dir)
            _fsync(parent, directory=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    finally:
        os.close(lock_fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
