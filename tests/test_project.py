"""The project's own set-up, as issue 13 found it wanting: pinned versions, licence
metadata without warnings, a benchmark that says how long it takes, README figures that
are today's."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from typer.testing import CliRunner

from mhep_model.cli import app
from tests.conftest import ROOT


def _requirement_name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ;]", spec, maxsplit=1)[0].lower().replace("_", "-")


def test_lock_file_pins_every_dependency_make_installs() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["dev"]
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    pins = {
        _requirement_name(line): line.split("==", 1)[1]
        for line in lines
        if line and not line.startswith("#")
    }
    assert all("==" in line for line in lines if line and not line.startswith("#"))
    missing = [spec for spec in wanted if _requirement_name(spec) not in pins]
    assert not missing, f"not pinned in requirements.lock: {missing} (run make lock)"
    makefile = (ROOT / "Makefile").read_text()
    assert makefile.count("-c requirements.lock") == 2  # make run and make test both use it
    assert "\nlock:" in makefile


def test_licence_is_an_spdx_string_and_bench_says_how_long() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "MIT"  # a TOML table warns on every build
    assert "setuptools>=77" in pyproject["build-system"]["requires"]
    bench = (ROOT / "Makefile").read_text().split("\nbench:", 1)[1].split("\n\n", 1)[0]
    assert re.search(r"echo .*about \d+ minutes", bench)


def test_readme_stress_figures_are_todays(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    shown = next(
        line for line in readme.splitlines() if line.startswith("│ Provider insolvent (reserves")
    )
    result = CliRunner().invoke(
        app, ["stress", str(ROOT / "scenarios" / "staffordshire.yaml"), "--out", str(tmp_path)]
    )
    printed = [
        line for line in result.output.splitlines() if line.startswith("│ Provider insolvent (res")
    ]
    assert printed == [shown]


def test_what_starts_the_tool_writes_its_bytecode_first() -> None:
    """Where PYTHONDONTWRITEBYTECODE is set, an editable install would compile every module
    at every start: make writes the bytecode before running, testing or timing it."""
    makefile = (ROOT / "Makefile").read_text()
    rules = {
        line.split(":", 1)[0]: line.split(":", 1)[1].split()
        for line in makefile.splitlines()
        if re.match(r"^[a-z-]+:", line)
    }
    for target in ("run", "pytest", "bench", "bench-full", "conformance"):
        assert "bytecode" in rules[target], target
    recipe = makefile.split("\nbytecode:", 1)[1].split("\n\n", 1)[0]
    assert "-m compileall -q mhep_model" in recipe


def test_the_declared_minimums_are_the_versions_tested() -> None:
    """Issue 24: typer 0.12 (the old minimum) with the click pip resolved made every command
    print the version and exit 0; the minimums are the versions the suite runs with."""
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lock = dict(
        line.split("==", 1)
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    wanted = {d.split(">=")[0]: d.split(">=")[1] for d in pyproject["project"]["dependencies"]}
    for name in ("typer", "click"):
        declared = tuple(int(x) for x in wanted[name].split("."))
        tested = tuple(int(x) for x in lock[name].split(".")[: len(declared)])
        assert declared[:2] == tested[:2], (name, declared, tested)
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert pyproject["project"]["license"] == "MIT"


def test_users_are_sent_to_the_shipped_format_reference() -> None:
    """Issue 24: README, --help and init pointed at ../shared/spec/MODEL.md, which is not
    in the repository; the reference ships as docs/format.md."""
    from typer.testing import CliRunner

    from mhep_model.cli import app

    reference = (ROOT / "docs" / "format.md").read_text()
    assert "## 13. Actuals and variance" in reference and "## 12. Portfolios" in reference
    readme = (ROOT / "README.md").read_text()
    assert "../shared/spec" not in readme and "docs/format.md" in readme
    starter = (ROOT / "mhep_model" / "templates" / "starter.yaml").read_text()
    assert "docs/format.md" in starter and "spec/MODEL.md" not in starter
    help_text = CliRunner().invoke(app, ["run", "--help"]).output
    assert "docs/format.md" in help_text
