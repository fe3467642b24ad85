"""Errors the library raises for bad input; the CLI turns them into messages and exit codes."""

from __future__ import annotations

from collections.abc import Sequence

PathPart = str | int
Path = tuple[PathPart, ...]


EXCERPT = 40
"""Most characters of a key a message quotes: a file that is not a scenario (named by a
portfolio, a batch or actuals) shows no more of itself than that."""


def excerpt(text: object, limit: int = EXCERPT) -> str:
    """``text`` cut to ``limit`` characters (``...`` after), control characters escaped."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text)[: limit + 1])
    return shown if len(str(text)) <= limit else shown[:limit] + "..."


def dotted(path: Sequence[PathPart]) -> str:
    """Render a path as the user writes it: ``stages.job_start.rate``, ``amendments[0].month``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + excerpt(part)
    return out


class MhepError(Exception):
    """Base class of every error the library reports to users."""


class ScenarioError(MhepError):
    """Bad input: names the file, the line, the dotted path and, when it comes from one, the case.

    Rendered as ``staffordshire.yaml:41 stages.job_start.rate: must be between 0 and 1, got 1.3``.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        path: Sequence[PathPart] = (),
        context: str | None = None,
        others: Sequence[ScenarioError] = (),
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.path: Path = tuple(path)
        self.context = context
        self.others: tuple[ScenarioError, ...] = tuple(others)
        """Further errors found in the same pass (``validate`` lists them all)."""
        super().__init__(str(self))

    def all(self) -> list[ScenarioError]:
        """This error, then the others found with it."""
        return [self, *self.others]

    def located(
        self,
        *,
        file: str | None = None,
        line: int | None = None,
        context: str | None = None,
    ) -> ScenarioError:
        """A copy with the location filled in where it is still unknown."""
        return ScenarioError(
            self.message,
            file=self.file or file,
            line=self.line or line,
            path=self.path,
            context=self.context or context,
            others=tuple(o.located(file=file, context=context) for o in self.others),
        )

    def prefixed(self, prefix: str) -> ScenarioError:
        """A copy whose message starts with ``prefix`` (e.g. the grid point it came from)."""
        return ScenarioError(
            f"{prefix}: {self.message}",
            file=self.file,
            line=self.line,
            path=self.path,
            context=self.context,
        )

    def __str__(self) -> str:
        where = self.file or ""
        if self.line is not None:
            where += f":{self.line}"
        what = dotted(self.path)
        if self.context:
            what = f"{what} ({self.context})" if what else f"({self.context})"
        head = " ".join(p for p in (where, what) if p)
        return f"{head}: {self.message}" if head else self.message


class UsageError(MhepError):
    """A command-line request that cannot be met (unknown case, bad --set syntax...)."""
