"""Running a study's independent units of work on a Dask cluster (the optional ``dask``
extra): stress blocks become tasks. Each block draws from its own generator derived from
the seed, so the results are the same, byte for byte, wherever a block runs.
"""

from __future__ import annotations

import re
import threading
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


_ADDRESS = re.compile(
    r"(?:(?:tcp|tls)://)?"
    r"(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])"
    r":(?P<port>[0-9]{1,5})"
)


_INPROC = re.compile(r"inproc://[0-9.]+/[0-9]+/[0-9]+")


@dataclass(frozen=True)
class Cluster:
    """Where to run: a scheduler's address, or a local cluster of ``workers`` processes."""

    address: str | None = None
    workers: int | None = None

    def __post_init__(self) -> None:
        """Refuse a malformed ``--scheduler`` address before any work (exit status 2)."""
        if self.address is None:
            return
        if _INPROC.fullmatch(self.address):
            return  # a scheduler in this process (the tests' in-process clusters)
        found = _ADDRESS.fullmatch(self.address)
        if found is None or not 1 <= int(found["port"]) <= 65535:
            shown = self.address.encode("unicode_escape").decode("ascii")[:80]
            raise UsageError(
                f"--scheduler {shown!r} is not a Dask scheduler address: give tcp://HOST:PORT "
                "(or tls://HOST:PORT), a port from 1 to 65535, e.g. tcp://10.0.0.5:8786"
            )

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
        with _connected(Client, cluster.address) as client:
            yield client
        return
    local = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=cluster.workers, threads_per_worker=1, **LOCAL_OPTIONS
    )
    with local, Client(local) as client:  # type: ignore[no-untyped-call]
        yield client


@contextmanager
def _connected(client_type: Any, address: str) -> Iterator[Any]:
    """A client of the scheduler at ``address`` that has a worker, within
    :data:`CONNECT_TIMEOUT` seconds, else :class:`ClusterError` (a server that is not
    Dask's, a listener that never answers, a scheduler with no worker)."""
    import dask

    wait = f"{CONNECT_TIMEOUT}s"
    found: dict[str, Any] = {}

    def connect() -> None:
        try:
            with dask.config.set({"distributed.comm.timeouts.connect": wait}):
                found["client"] = client_type(address, timeout=wait)
        except BaseException as e:  # reported below, in the caller's thread
            found["error"] = e

    # a listener that accepts and never answers holds Dask's handshake past its own
    # timeout: the connection gets a deadline of its own, on a thread left behind
    attempt = threading.Thread(target=connect, name="dask-connect", daemon=True)
    attempt.start()
    attempt.join(CONNECT_TIMEOUT + 2)
    if "client" not in found:
        why = type(found["error"]).__name__ if "error" in found else "no answer"
        raise ClusterError(
            f"cannot reach a Dask scheduler at {address} within {CONNECT_TIMEOUT} s "
            f"({why}): is it running, and is the address tcp://HOST:PORT?"
        )
    client = found["client"]
    with client:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except Exception:
            raise ClusterError(
                f"the Dask scheduler at {address} has no worker after {CONNECT_TIMEOUT} s: "
                "start one (dask worker ADDRESS) or use --dask for a local cluster"
            ) from None
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
