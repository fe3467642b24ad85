"""Files a scenario file names stay inside its folder unless the user opts in (issue 26).

A portfolio's contracts, a batch's base and ``actuals.file`` could name any file on the
machine (absolute, ``../``, a link), and a file that is not a scenario came back in the
messages. Now each must resolve inside the folder of the file naming it, or inside a path
given with ``--allow-outside`` (``mhep_model.allow_outside`` in Python).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import mhep_model
from mhep_model.cli import app
from mhep_model.errors import ScenarioError
from mhep_model.scenario import paths
from tests.conftest import EXAMPLES, MINIMAL, write

runner = CliRunner()
PORTFOLIO = """\
name: P
contracts:
  a: {contract}
spv: {{management_fee_annual: 0}}
investor: {{commitment: 100000, equity_share: 0.25}}
"""
BATCH = "base: {contract}\nvariants:\n  a: {{}}\n  b: {{set: {{referrals.scale: 0.5}}}}\n"
SECRET = "root-password-" + "x" * 60


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """``mine/`` (where the naming files go), ``shared/scenario.yaml`` beside it and a
    secret file that is not a scenario."""
    (tmp_path / "mine").mkdir()
    (tmp_path / "shared").mkdir()
    write(tmp_path / "shared", MINIMAL)
    (tmp_path / "secret.txt").write_text(f"{SECRET}: 1\nline-two: 2\n")
    return tmp_path


def _naming_file(layout: Path, kind: str, target: str) -> tuple[Path, str]:
    """A file of ``kind`` in ``mine/`` naming ``target``; returns it and its command."""
    mine = layout / "mine"
    if kind == "portfolio":
        return write(mine, PORTFOLIO.format(contract=target), "p.yaml"), "run"
    if kind == "batch":
        return write(mine, BATCH.format(contract=target), "b.yaml"), "compare"
    e07 = EXAMPLES / "e07_actuals" / "scenario.yaml"
    text = e07.read_text().replace("actuals: {file: actuals.csv}", f"actuals: {{file: {target}}}")
    assert target in text
    shutil.copy(EXAMPLES / "e07_actuals" / "actuals.csv", layout / "shared" / "actuals.csv")
    return write(mine, text, "s.yaml"), "run"


def _target(layout: Path, kind: str, form: str) -> str:
    name = "actuals.csv" if kind == "actuals" else "scenario.yaml"
    if form == "absolute":
        return str(layout / "shared" / name)
    if form == "parent":
        return f"../shared/{name}"
    (layout / "mine" / "link").symlink_to(layout / "shared" / name)
    return "link"


@pytest.mark.parametrize("form", ["absolute", "parent", "link"])
@pytest.mark.parametrize("kind", ["portfolio", "batch", "actuals"])
def test_a_named_file_outside_the_folder_is_refused_then_allowed(
    layout: Path, kind: str, form: str
) -> None:
    path, command = _naming_file(layout, kind, _target(layout, kind, form))
    out = layout / "out"
    before = _files(layout)
    refused = runner.invoke(app, [command, str(path), "--out", str(out), "-q"])
    assert refused.exit_code == 2, refused.output
    text = " ".join(refused.output.split())
    where = {"portfolio": "contracts.a", "batch": "base", "actuals": "actuals.file"}[kind]
    assert f"{path}:" in text and f" {where}: " in text, text
    assert "outside" in text and f"--allow-outside {(layout / 'shared').resolve()}" in text
    assert ("a link to a file outside" in text) == (form == "link")
    assert _files(layout) == before
    allowed = runner.invoke(
        app,
        [command, str(path), "--out", str(out), "-q", "--allow-outside", str(layout / "shared")],
    )
    assert allowed.exit_code == 0, allowed.output
    assert (out / "run.json").is_file()
    # the opt-in was for that command only: undone when it ended
    assert paths._ALLOWED.get() == ()
    again = runner.invoke(app, ["validate", str(path)])
    assert again.exit_code == 2 and "outside" in again.output


@pytest.mark.parametrize("target", ["{secret}", "../secret.txt", "../../../../../{secret}"])
def test_a_secret_file_is_never_opened_without_the_opt_in(layout: Path, target: str) -> None:
    """The refusal comes before the file is read: none of it reaches the message, and a
    file that does not exist is refused the same way (nothing said of what is there)."""
    secret = str(layout / "secret.txt")
    for name in (target.format(secret=secret), target.format(secret=secret) + ".missing"):
        path, _ = _naming_file(layout, "portfolio", name)
        result = runner.invoke(app, ["validate", str(path)])
        assert result.exit_code == 2
        assert "root-password" not in result.output and "line-two" not in result.output
        assert "outside" in result.output and "cannot read file" not in result.output
    # opted in, the file is read: not a scenario, said once, quoting none of it
    path, _ = _naming_file(layout, "portfolio", secret)
    result = runner.invoke(app, ["validate", str(path), "--allow-outside", secret])
    assert result.exit_code == 2
    assert "secret.txt:1" in result.output and "is not a scenario file" in result.output
    assert "root-password" not in result.output and "line-two" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_files_in_subfolders_are_inside(tmp_path: Path) -> None:
    (tmp_path / "contracts" / "deep").mkdir(parents=True)
    write(tmp_path / "contracts" / "deep", MINIMAL)
    path = write(tmp_path, PORTFOLIO.format(contract="contracts/deep/../deep/scenario.yaml"))
    assert runner.invoke(app, ["validate", str(path)]).exit_code == 0


def test_named_files_must_be_regular_files(layout: Path) -> None:
    mine = layout / "mine"
    os.mkfifo(mine / "fifo.yaml")
    (mine / "folder.yaml").mkdir()
    for name in ("fifo.yaml", "folder.yaml"):
        path, _ = _naming_file(layout, "portfolio", name)
        result = runner.invoke(app, ["validate", str(path)])
        assert result.exit_code == 2
        assert "contracts.a: contract 'a':" in result.output and "not a file" in result.output


def test_the_python_api_opts_in_with_a_context_manager(layout: Path) -> None:
    path, _ = _naming_file(layout, "portfolio", "../shared/scenario.yaml")
    with pytest.raises(ScenarioError, match="outside"):
        mhep_model.run(path)
    with mhep_model.allow_outside(layout / "shared"):
        assert len(mhep_model.run(path).summary) == 1
    with pytest.raises(ScenarioError, match="outside"):
        mhep_model.validate(path)


def test_the_shipped_portfolios_and_batches_name_only_files_beside_them() -> None:
    """They run with no opt-in: each sits in the folder of the files it names."""
    from tests.conftest import SHIPPED_BATCHES, SHIPPED_PORTFOLIOS

    assert len(SHIPPED_PORTFOLIOS) == 2 and len(SHIPPED_BATCHES) == 3
    result = runner.invoke(app, ["validate", *map(str, SHIPPED_PORTFOLIOS + SHIPPED_BATCHES)])
    assert result.exit_code == 0, result.output
