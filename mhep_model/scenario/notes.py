"""The source notes of a scenario file: the YAML comment written beside or above each
value, so that a workbook's Inputs sheet can say where every assumption comes from.

PyYAML drops comments, so they are read from the text by line: a value's note is the
comment at the end of its line, after the comment lines directly above its key (at the
key's own indentation).
"""

from __future__ import annotations

import re
from pathlib import Path

from mhep_model.scenario.yamlio import Document

_QUOTED = re.compile(r"'[^']*'|\"(?:[^\"\\]|\\.)*\"")
_TRAILING = re.compile(r"\s#\s?(.*)$")


def _trailing_comment(line: str) -> str:
    """The ``# comment`` at the end of a line of YAML, outside quoted text."""
    blanked = _QUOTED.sub(lambda m: "x" * len(m.group()), line)
    found = _TRAILING.search(blanked)
    return line[found.start(1) :].strip() if found else ""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def source_notes(doc: Document, text: str) -> dict[str, str]:
    """``{dotted path: note}`` for every key of ``doc`` that has a comment (``text`` is the
    file's YAML; the dotted paths join keys with ``.`` and list items as ``[i]``)."""
    lines = text.splitlines()
    notes: dict[str, str] = {}
    for path, number in doc.lines.items():
        if not path or not 1 <= number <= len(lines) or isinstance(path[-1], int):
            continue
        line = lines[number - 1]
        parts = [_trailing_comment(line)]
        above: list[str] = []
        n = number - 2
        while n >= 0 and lines[n].lstrip().startswith("#") and _indent(lines[n]) == _indent(line):
            above.insert(0, lines[n].strip().lstrip("#").strip())
            n -= 1
        note = " ".join(p for p in [*above, *parts] if p)
        if note:
            notes[".".join(str(p) for p in path)] = note
    return notes


def file_notes(doc: Document) -> dict[str, str]:
    """:func:`source_notes` of the file ``doc`` was read from ({} when it cannot be read
    again; its size was checked when it was first read)."""
    try:
        text = Path(doc.file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return {}
    return source_notes(doc, text)


def note_for(notes: dict[str, str], path: str) -> str:
    """The note of ``path``, else of its nearest ancestor (a flow mapping's line)."""
    while path:
        if path in notes:
            return notes[path]
        path = path.rpartition(".")[0]
    return ""
