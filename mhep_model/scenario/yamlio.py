"""Safe YAML reading: the only module that parses YAML.

The data is built from the composed node tree rather than with ``yaml.safe_load`` so that

- every key and list item gets its line number (for error messages);
- aliases are refused (a few hundred bytes of "billion laughs" would otherwise expand into
  gigabytes before validation even starts), as are merge keys and duplicate keys (which
  ``safe_load`` silently resolves to the last one);
- only the standard YAML scalar tags are accepted (``!!python/...`` never constructs anything);
- keys are always text, whatever they look like (YAML 1.1 would read ``on:`` as ``True``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mhep_model.errors import Path, ScenarioError

MAX_BYTES = 1_000_000
"""Largest scenario file read [bytes]."""
MAX_DEPTH = 32
"""Deepest nesting of mappings and lists accepted."""

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null")}
_TEXT_TAGS = {f"{_TAG}timestamp", f"{_TAG}binary"}  # kept as the text written
_COLLECTION_TAGS = {f"{_TAG}map", f"{_TAG}seq"}


@dataclass(frozen=True)
class Document:
    """Plain data read from YAML with the 1-based line of every key and list item."""

    data: Any
    file: str
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int | None:
        """Line of ``path`` or of its nearest ancestor that was written in the file."""
        for n in range(len(path), -1, -1):
            line = self.lines.get(path[:n])
            if line is not None:
                return line
        return None


class _NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise ScenarioError(
                f"YAML aliases (*{event.anchor}) are not allowed: write the value out in full",
                line=event.start_mark.line + 1,
            )
        return super().compose_node(parent, index)


def parse_yaml(text: str, file: str) -> Document:
    """Parse YAML text into a :class:`Document`; raises :class:`ScenarioError`.

    Every failure of the loader (a character YAML does not allow, bad syntax, a value its
    tag cannot hold, nesting too deep) becomes one ScenarioError with the file and line.
    """
    if len(text.encode("utf-8", errors="replace")) > MAX_BYTES:
        raise ScenarioError(f"file is larger than {MAX_BYTES:,} bytes", file=file, line=1)
    _check_characters(text, file)
    loader: yaml.SafeLoader | None = None
    lines: dict[Path, int] = {}
    try:
        # libyaml (when PyYAML has it) scans and composes fast; the pure-Python loader is
        # kept for the files it finds wrong, whose messages it words better.
        fast = _FAST is not None and _check_events(text, _FAST)
        if not fast:
            _check_events(text, yaml.SafeLoader)
        loader = _FAST(text) if fast and _FAST is not None else _NoAliasLoader(text)
        node = loader.get_single_node()
        if node is not None:
            lines[()] = _line(node)
        data = _build(loader, node, (), lines, 0) if node is not None else None
    except ScenarioError as e:
        raise e.located(file=file) from None
    except yaml.MarkedYAMLError as e:
        raise _yaml_error(e, file) from None
    except yaml.YAMLError as e:
        raise ScenarioError(f"not valid YAML: {e}", file=file, line=1) from None
    finally:
        if loader is not None:
            loader.dispose()
    return Document(data=data, file=file, lines=lines)


def _yaml_error(e: yaml.MarkedYAMLError, file: str) -> ScenarioError:
    mark = e.problem_mark or e.context_mark
    line = mark.line + 1 if mark is not None else 1
    what = " ".join(str(p) for p in (e.context, e.problem) if p)
    return ScenarioError(f"not valid YAML: {what}", file=file, line=line)


# Characters a scenario may not hold: C0 and C1 controls other than tab, newline and
# carriage return, DEL, lone surrogates and the non-characters U+FFFE/U+FFFF. PyYAML
# refuses most of them deep inside its reader; finding them first gives the line.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _check_characters(text: str, file: str) -> None:
    bad = _BAD_CHARS.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        raise ScenarioError(
            f"the character U+{ord(bad.group()):04X} is not allowed in a scenario "
            "(control characters, DEL and lone surrogates): remove it",
            file=file,
            line=line,
        )


_FAST: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)
_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _check_events(text: str, loader: type[yaml.SafeLoader]) -> bool:
    """Refuse aliases and deep nesting before any node is composed (PyYAML's composer
    recurses, and expands aliases). The parser is a state machine, so its events can be
    counted safely. Returns False when ``loader`` finds the text not valid YAML."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.AliasEvent):
                mark = event.start_mark
                raise ScenarioError(
                    f"YAML aliases (*{event.anchor}) are not allowed: write the value out in full",
                    line=mark.line + 1 if mark is not None else 1,
                )
            if isinstance(event, _OPEN):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise ScenarioError(
                        f"nested more than {MAX_DEPTH} levels deep",
                        line=mark.line + 1 if mark is not None else 1,
                    )
            elif isinstance(event, _CLOSE):
                depth -= 1
    except yaml.YAMLError:
        if loader is yaml.SafeLoader:
            raise
        return False
    return True


Source = str | os.PathLike[str] | Mapping[str, Any] | Document
"""What a scenario, portfolio or batch may be given as: a file, its contents as a mapping
(the Python API's ``scenario`` argument) or a document already read."""

MAPPING_FILE = "<mapping>"
"""The file name messages give for a scenario passed as a mapping."""


def load_yaml(source: Source) -> Document:
    """Read and parse a YAML file, refusing files over :data:`MAX_BYTES`; a mapping is
    checked as its YAML text would be (the same limits and key rules, no line numbers);
    a :class:`Document` is returned as it is."""
    if isinstance(source, Document):
        return source
    if isinstance(source, Mapping):
        return _from_mapping(source)
    path = source
    p = FsPath(path)
    name = str(path)
    try:
        size = p.stat().st_size
    except OSError as e:
        raise ScenarioError(f"cannot read file: {e.strerror}", file=name) from None
    if not p.is_file():
        raise ScenarioError("not a file", file=name)
    if size > MAX_BYTES:
        raise ScenarioError(f"file is larger than {MAX_BYTES:,} bytes", file=name)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise ScenarioError(f"cannot read file: {e.strerror}", file=name) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise ScenarioError("file is not UTF-8 text", file=name, line=line) from None
    if text.startswith("\ufeff"):  # a byte-order mark, as some Windows editors write
        text = text[1:]
    return parse_yaml(text, name)


def _from_mapping(data: Mapping[str, Any]) -> Document:
    """A mapping as the document its YAML text reads as: dumped and read back, so that it
    meets the file's limits and rules; the lines of the dumped text mean nothing to the
    user and are dropped."""
    try:
        text = yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True)
    except yaml.YAMLError as e:
        raise ScenarioError(
            f"the mapping holds a value YAML cannot write ({str(e)[:80]}): use plain "
            "numbers, text, lists and mappings",
            file=MAPPING_FILE,
        ) from None
    doc = parse_yaml(text, MAPPING_FILE)
    return Document(data=doc.data, file=MAPPING_FILE)


def parse_value(text: str) -> Any:
    """Read a command-line VALUE as a YAML scalar or flow collection (``0.6``, ``[1, 24]``)."""
    return parse_yaml(text, "<value>").data


def _build(
    loader: yaml.SafeLoader, node: Node, path: Path, lines: dict[Path, int], depth: int
) -> Any:
    if depth > MAX_DEPTH:
        raise ScenarioError(
            f"nested more than {MAX_DEPTH} levels deep", line=_line(node), path=path
        )
    if isinstance(node, ScalarNode):
        return _scalar(loader, node, path)
    if node.tag not in _COLLECTION_TAGS:
        raise ScenarioError(
            f"the tag {_short(node.tag)} is not allowed", line=_line(node), path=path
        )
    if isinstance(node, SequenceNode):
        items = []
        for i, child in enumerate(node.value):
            lines[(*path, i)] = _line(child)
            items.append(_build(loader, child, (*path, i), lines, depth + 1))
        return items
    assert isinstance(node, MappingNode)
    out: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if key_node.tag == f"{_TAG}merge":
            raise ScenarioError("merge keys (<<) are not allowed", line=_line(key_node), path=path)
        if not isinstance(key_node, ScalarNode) or key_node.tag not in _SCALAR_TAGS | _TEXT_TAGS:
            raise ScenarioError("keys must be plain text", line=_line(key_node), path=path)
        key = key_node.value
        if _BAD_CHARS.search(key):
            raise ScenarioError(
                "keys may not hold control characters or lone surrogates",
                line=_line(key_node),
                path=path,
            )
        if key in out:
            raise ScenarioError(
                f"duplicate key '{key}' (first at line {lines[(*path, key)]})",
                line=_line(key_node),
                path=(*path, key),
            )
        lines[(*path, key)] = _line(key_node)
        out[key] = _build(loader, value_node, (*path, key), lines, depth + 1)
    return out


def _scalar(loader: yaml.SafeLoader, node: ScalarNode, path: Path) -> Any:
    if node.tag in _TEXT_TAGS:
        return node.value
    if node.tag not in _SCALAR_TAGS:
        raise ScenarioError(
            f"the tag {_short(node.tag)} is not allowed", line=_line(node), path=path
        )
    try:
        value = loader.construct_object(node)
    except (ValueError, OverflowError, ConstructorError) as e:
        # e.g. !!float "abc", or an integer of more digits than Python converts
        raise ScenarioError(
            f"cannot read {node.value[:40]!r} as {_short(node.tag)}: {e}"[:200],
            line=_line(node),
            path=path,
        ) from None
    if isinstance(value, str) and _BAD_CHARS.search(value):
        # an escape in a quoted string ("\x01", "\ud800") gets past the check on the text
        raise ScenarioError(
            "text may not hold control characters or lone surrogates: remove the escape",
            line=_line(node),
            path=path,
        )
    return value


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _short(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag
