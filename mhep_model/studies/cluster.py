"""Running a study's independent units of work on a Dask cluster (the optional ``dask``
extra): stress blocks become tasks. Each block draws from its own generator derived from
the seed, so the results are the same, byte for byte, wherever a block runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from mhep_model.errors import MhepError, UsageError

U = TypeVar("U")
R = TypeVar("R")

CONNECT_TIMEOUT = 8
"""Seconds to wait for a scheduler before giving up (the message comes within 10 s) [s]."""


class ClusterError(MhepError):
    """The Dask cluster cannot be reached or used (exit status 1: not bad input)."""


@dataclass(frozen=True)
class Cluster:
    """Where to run: a scheduler's address, or a local cluster of ``workers`` processes."""

    address: str | None = None
    workers: int | None = None

    def describe(self) -> str:
        return self.address or f"a local Dask cluster of {self.workers or 'all'} workers"


LOCAL_OPTIONS: dict[str, Any] = {
    "dashboard_address": "127.0.0.1:0",
    "scheduler_kwargs": {"dashboard": False},
}
"""A local cluster on free loopback ports, without the dashboard: the scheduler's HTTP
server would otherwise take port 8787 (warning, and moving, when that is in use)."""


NO_DASK = (
    "--dask and --scheduler need Dask's distributed package, an optional extra: in a clone "
    "of mhep-model, pip install -e '.[dask]' (make test installs it)"
)


def require_dask() -> None:
    """Refuse, before any work, a run on a Dask cluster where Dask is not installed
    (bad usage: exit status 2, never a traceback)."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise UsageError(NO_DASK) from None


@contextmanager
def _client(cluster: Cluster) -> Iterator[Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise UsageError(NO_DASK) from None
    if cluster.address is not None:
        try:
            client = Client(cluster.address, timeout=f"{CONNECT_TIMEOUT}s")  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as e:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {cluster.address} within "
                f"{CONNECT_TIMEOUT} s ({type(e).__name__}): is it running, and is the "
                "address tcp://HOST:PORT?"
            ) from None
        with client:
            yield client
        return
    local = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=cluster.workers, threads_per_worker=1, **LOCAL_OPTIONS
    )
    with local, Client(local) as client:  # type: ignore[no-untyped-call]
        yield client


def map_ordered(
    cluster: Cluster,
    fn: Callable[[U], R],
    units: Sequence[U],
    done: Callable[[int], None] | None = None,
) -> list[R]:
    """``[fn(u) for u in units]`` as Dask tasks, in the order of ``units``; ``done(i)``
    as each task finishes (in any order), for progress."""
    from distributed import as_completed

    with _client(cluster) as client:
        futures = client.map(fn, units, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            if future.status == "error":
                future.result()  # raises the task's own error
            if done is not None:
                done(index[future.key])
        return list(client.gather(futures))
