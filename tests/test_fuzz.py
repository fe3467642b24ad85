"""A seeded mutator over the shipped scenarios and the spec's examples (issue 8): every
mutant either runs or exits 2 with file:line; never a traceback, never a file outside
--out."""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mhep_model.cli import app
from tests.conftest import EXAMPLES, ROOT

runner = CliRunner()
SOURCES = sorted(
    (
        p
        for p in [*(ROOT / "scenarios").rglob("*.yaml"), *EXAMPLES.glob("*/*.yaml")]
        if not p.name.startswith("fuzz_")  # a mutant left by an interrupted older run
    ),
    key=lambda p: str(p),
)
MUTANTS_PER_FILE = 30
LOCATED = re.compile(r"error: \S+\.yaml:\d+[ :]")
NUMBER = re.compile(r"(?<![\w.])-?\d+(\.\d+)?(?![\w-])")
WEIRD_NUMBERS = [
    "-1", "0", "1.0e+308", "100000000000000000000", ".nan", ".inf", "1e5", "-0.0",
    "99999999999", "0.0000001", "601", "1.5", "true", "'12'", "[]", "{}", "null",
]  # fmt: skip
INSERTS = [
    "[/x]", "=HYPERLINK(\"x\")", "\x01", "*a", "&a x", "!!python/object:os.system {}",
    "<<: {}", "[" * 50, "\ud800", ": :", "- - -", "\t", "'", "\"\\e\"", "$\\x$", "{a: 1, a: 2}",
]  # fmt: skip


def mutate(text: str, rng: random.Random) -> str:
    """One to three random edits of a scenario's text."""
    lines = text.splitlines(keepends=True)
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(7)
        i = rng.randrange(len(lines))
        if kind == 0:
            del lines[i]
        elif kind == 1:
            lines.insert(i, lines[i])
        elif kind in (2, 3):
            numbers = list(NUMBER.finditer(lines[i]))
            if numbers:
                m = rng.choice(numbers)
                new = rng.choice(WEIRD_NUMBERS)
                lines[i] = lines[i][: m.start()] + new + lines[i][m.end() :]
        elif kind == 4:
            at = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:at] + rng.choice(INSERTS) + lines[i][at:]
        elif kind == 5:
            lines[i] = ("  " + lines[i]) if rng.random() < 0.5 else lines[i].lstrip()
        else:
            lines = lines[: i + 1]
        if not lines:
            lines = ["name: x\n"]
    return "".join(lines)


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.parent.name + "/" + p.name)
def test_mutants_run_or_exit_2_with_file_and_line(source: Path, tmp_path: Path) -> None:
    rng = random.Random(f"mhep-fuzz:{source.name}:{source.parent.name}")
    text = source.read_text(encoding="utf-8")
    # Mutants sit beside a copy of the original (its bases, contracts and actuals stay
    # reachable), never in the repository, where a parallel run would see them.
    tree = ROOT / "scenarios" if source.is_relative_to(ROOT / "scenarios") else EXAMPLES
    copy = tmp_path / "tree"
    shutil.copytree(tree, copy)
    home = copy / source.parent.relative_to(tree)
    for k in range(MUTANTS_PER_FILE):
        mutant = home / f"fuzz_{k}_{source.name}"
        mutant.write_text(mutate(text, rng), encoding="utf-8", errors="surrogatepass")
        before = _files(home)
        try:
            for command in ("validate", "run"):
                out = tmp_path / f"out{k}"
                args = [command, str(mutant)] + (
                    ["--out", str(out), "-q"] if command == "run" else []
                )
                result = runner.invoke(app, args)
                assert result.exit_code in (0, 2), (command, mutant.read_text(), result.output)
                assert result.exception is None or isinstance(result.exception, SystemExit), (
                    command,
                    mutant.read_text(errors="replace"),
                    result.exception,
                )
                if result.exit_code == 2:
                    assert LOCATED.search(result.output), (mutant.read_text(), result.output)
            assert _files(home) == before
        finally:
            mutant.unlink()
