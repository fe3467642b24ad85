"""Where an error's value was written: the scenario file, a batch file, ``--set`` or
``--param``, with the line, so every message names the file and line the user can fix."""

from __future__ import annotations

from dataclasses import dataclass

from mhep_model.errors import Path, ScenarioError
from mhep_model.scenario.yamlio import Document


@dataclass(frozen=True)
class Origin:
    """Where an overridden value was written: a file and either a line or a path in it."""

    file: str
    line: int | None = None
    doc: Document | None = None
    prefix: Path | None = None
    via: str | None = None
    rename: bool = False
    """Report errors under ``prefix`` (the path as written in that file)."""

    def line_for(self, rest: Path) -> int | None:
        if self.doc is not None and self.prefix is not None:
            return self.doc.line_of(self.prefix + rest)
        return self.line


class Locator:
    """Finds the file and line an error's path was written on: an override's, else the
    scenario file's."""

    def __init__(self, doc: Document, prefix: str | None = None) -> None:
        self.doc = doc
        self.prefix = prefix  # "variant X", put before every context
        self.origins: dict[Path, Origin] = {}

    def copy(self) -> Locator:
        other = Locator(self.doc, self.prefix)
        other.origins = dict(self.origins)
        return other

    def origin_at(self, path: Path) -> Origin:
        """Where the value at ``path`` of the document being resolved was written."""
        for n in range(len(path), 0, -1):
            origin = self.origins.get(path[:n])
            if origin is not None:
                return Origin(origin.file, line=origin.line_for(path[n:]))
        return Origin(self.doc.file, line=self.doc.line_of(path))

    def _context(self, *parts: str | None) -> str | None:
        return ", ".join(p for p in (self.prefix, *parts) if p) or None

    def error(self, e: ScenarioError, context: str | None) -> ScenarioError:
        """``e`` (and each of its others) with the file and line its path was written on."""
        if not e.others:
            return self._error_one(e, context)
        head = ScenarioError(e.message, file=e.file, line=e.line, path=e.path, context=e.context)
        located = self._error_one(head, context)
        located.others = tuple(self._error_one(o, context) for o in e.others)
        return located

    def _error_one(self, e: ScenarioError, context: str | None) -> ScenarioError:
        for n in range(len(e.path), 0, -1):
            origin = self.origins.get(e.path[:n])
            if origin is not None:
                if origin.rename and origin.prefix is not None:
                    e = ScenarioError(e.message, path=origin.prefix + e.path[n:])
                    located = e.located(
                        file=origin.file,
                        line=origin.line_for(e.path[len(origin.prefix) :]),
                        context=self._context(context, origin.via),
                    )
                    return located
                return e.located(
                    file=origin.file,
                    line=origin.line_for(e.path[n:]),
                    context=self._context(context, origin.via),
                )
        for path, origin in self.origins.items():  # an error about an ancestor of one
            if path[: len(e.path)] == e.path:
                return e.located(
                    file=origin.file,
                    line=origin.line_for(()),
                    context=self._context(context, origin.via),
                )
        return e.located(
            file=self.doc.file, line=self.doc.line_of(e.path), context=self._context(context)
        )
