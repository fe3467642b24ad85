"""Safe YAML reading: line numbers, and refusal of aliases, tags, duplicates and big files."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mhep_model.errors import ScenarioError
from mhep_model.scenario.yamlio import MAX_BYTES, load_yaml, parse_value, parse_yaml

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_lines_of_keys_and_items() -> None:
    doc = parse_yaml("a:\n  b: 1\n  c: [1, 2]\nd:\n  - x: 3\n", "f.yaml")
    assert doc.data == {"a": {"b": 1, "c": [1, 2]}, "d": [{"x": 3}]}
    assert doc.lines[("a", "b")] == 2
    assert doc.lines[("d", 0, "x")] == 5
    assert doc.line_of(("a", "c", "missing")) == 3


def test_alias_bomb_is_refused_quickly() -> None:
    start = time.perf_counter()
    with pytest.raises(ScenarioError, match=r"aliases \(\*a\) are not allowed") as info:
        parse_yaml(BILLION_LAUGHS, "bomb.yaml")
    assert time.perf_counter() - start < 5  # it stops at the first alias; no expansion
    assert info.value.line == 2
    assert str(info.value).startswith("bomb.yaml:2")


def test_python_tag_is_refused_without_constructing() -> None:
    text = "name: !!python/object/apply:os.system ['touch /tmp/mhep-pwned']\n"
    with pytest.raises(
        ScenarioError, match=r"the tag !!python/object/apply:os.system is not allowed"
    ):
        parse_yaml(text, "evil.yaml")
    assert not Path("/tmp/mhep-pwned").exists()


def test_custom_tag_on_a_mapping_is_refused() -> None:
    with pytest.raises(ScenarioError, match="tag"):
        parse_yaml("a: !!python/object:os.stat {x: 1}\n", "evil.yaml")


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(ScenarioError, match=r"duplicate key 'b' \(first at line 2\)") as info:
        parse_yaml("a:\n  b: 1\n  b: 2\n", "dup.yaml")
    assert info.value.line == 3
    assert info.value.path == ("a", "b")


def test_merge_keys_are_refused() -> None:
    with pytest.raises(ScenarioError, match="merge keys"):
        parse_yaml("a:\n  <<: {b: 1}\n", "merge.yaml")


def test_keys_stay_text() -> None:
    assert parse_yaml("on: 1\n2: x\n", "k.yaml").data == {"on": 1, "2": "x"}


def test_dates_stay_text_and_scientific_notation_is_text() -> None:
    data = parse_yaml("start: 2016-04-01\nx: 1e5\ny: 1.0e+5\n", "d.yaml").data
    assert data == {"start": "2016-04-01", "x": "1e5", "y": 100000.0}


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: 1\n" + "#" * MAX_BYTES + "\n")
    with pytest.raises(ScenarioError, match="larger than"):
        load_yaml(path)


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(ScenarioError, match="nested more than"):
        parse_yaml("a: " + "[" * 40 + "]" * 40 + "\n", "deep.yaml")


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(ScenarioError, match="not valid YAML") as info:
        parse_yaml("a: 1\nb: [1, 2\n", "syntax.yaml")
    assert info.value.line is not None


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read file"):
        load_yaml(tmp_path / "nope.yaml")


def test_parse_value_reads_yaml_scalars_and_flow_collections() -> None:
    assert parse_value("0.6") == 0.6
    assert parse_value("[1, 24]") == [1, 24]
    assert parse_value("{a: 1}") == {"a": 1}
    assert parse_value("text") == "text"
