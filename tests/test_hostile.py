"""Hostile and extreme input (issue 8): one exit-2 message with file and line, never a
traceback, nothing written outside --out, bounded work, names as data."""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from mhep_model.cli import app
from tests.conftest import MINIMAL, write

runner = CliRunner()
LOCATED = re.compile(r"error: \S+\.yaml:\d+")


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def _bad(tmp_path: Path, text: str, *args: str, command: str = "run") -> str:
    """Run a command on ``text``; assert exit 2 with file:line and nothing written."""
    path = write(tmp_path, text)
    before = _files(tmp_path)
    out = [] if command == "validate" else ["--out", str(tmp_path / "out")]
    result = runner.invoke(app, [command, str(path), *args, *out])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert LOCATED.search(result.output), result.output
    assert _files(tmp_path) == before
    return result.output


def _set(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


# --- the YAML reader --------------------------------------------------------------------


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\ufffe"])
def test_control_characters_in_the_file(tmp_path: Path, char: str) -> None:
    out = _bad(tmp_path, _set(MINIMAL, "name: Minimal", f"name: Mini{char}mal"))
    assert "scenario.yaml:1:" in out
    assert "not allowed" in out


@pytest.mark.parametrize("value", ["0.5\x00", "\x1b[2J", "0.\x7f5"])
def test_control_characters_in_a_set_value(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, MINIMAL)
    result = runner.invoke(app, ["run", str(path), "--set", f"referrals.scale={value}"])
    assert result.exit_code == 2, result.output
    assert "--set referrals.scale" in result.output
    assert "\x1b" not in result.output and "\x00" not in result.output


@pytest.mark.parametrize("escape", ["\\x01", "\\ud800", "\\e"])
def test_escaped_control_characters_and_lone_surrogates(tmp_path: Path, escape: str) -> None:
    text = MINIMAL + f'cases:\n  "low{escape}": {{}}\n'
    out = _bad(tmp_path, text)
    assert "scenario.yaml:21" in out


def test_deep_nesting_is_refused_before_recursion(tmp_path: Path) -> None:
    text = MINIMAL + "cases: " + "[" * 2000 + "]" * 2000 + "\n"
    assert "nested more than 32 levels" in _bad(tmp_path, text)


def test_a_value_its_tag_cannot_hold(tmp_path: Path) -> None:
    out = _bad(tmp_path, _set(MINIMAL, "monthly: 10", 'monthly: !!float "abc"'))
    assert "scenario.yaml:3 referrals.monthly" in out


def test_an_integer_of_thousands_of_digits(tmp_path: Path) -> None:
    out = _bad(tmp_path, _set(MINIMAL, "monthly: 10", "monthly: " + "9" * 5000))
    assert "scenario.yaml:3 referrals.monthly" in out


def test_a_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_bytes(MINIMAL.encode() + b"# \xff\n")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "scenario.yaml:20: file is not UTF-8" in result.output


# --- limits -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("monthly: 10}", "monthly: 10, ramp_up_months: 100000000000000000000}", "ramp_up_months"),
        ("rate: 0.5, lag: 1}", "rate: 0.5, lag: 100000000000000000000}", "lag"),
        ("rate: 0.5, lag: 1}", "rate: 0.5, lag: 1000000}", "lag"),
        (
            "investor: {",
            "settlement: {lag_months: 100000000000000000000}\ninvestor: {",
            "lag_months",
        ),
        ("equity_share: 0.25}", "equity_share: 0.25, sweep_from_month: 10000000000}", "sweep"),
        ("tariff: 500,", "tariff: 1.0e+308,", "tariff"),
        ("monthly: 10}", "monthly: 1.0e+308}", "referrals.monthly"),
        ("2020-01", "9999-01", "contract.start"),
    ],
)
def test_whole_numbers_and_magnitudes_are_bounded(
    tmp_path: Path, old: str, new: str, where: str
) -> None:
    text = _set(MINIMAL, old, new)
    assert where in _bad(tmp_path, text, command="validate")
    assert where in _bad(tmp_path, text)


def test_a_cv_too_large_for_the_gamma_draw(tmp_path: Path) -> None:
    text = MINIMAL + "uncertainty: {referrals: {level_cv: 1.0e+300}}\n"
    out = _bad(tmp_path, text, "--paths", "10", command="stress")
    assert "uncertainty.referrals.level_cv: must be 10 or less" in out


def test_no_cases_is_an_error_in_validate_and_run(tmp_path: Path) -> None:
    text = MINIMAL + "cases: {}\n"
    assert "scenario.yaml:20 cases: names no case" in _bad(tmp_path, text, command="validate")
    _bad(tmp_path, text)


def test_thousands_of_cases_are_refused_at_once(tmp_path: Path) -> None:
    cases = "".join(f"  c{i}: {{referrals.scale: 1}}\n" for i in range(5000))
    start = time.perf_counter()
    out = _bad(tmp_path, MINIMAL + "cases:\n" + cases)
    assert time.perf_counter() - start < 10
    assert "the most allowed is 50" in out


def test_thousands_of_bands_are_refused(tmp_path: Path) -> None:
    bands = ", ".join(f"b{i}: 0" for i in range(4095)) + ", last: 1"
    text = _set(MINIMAL, "split: {under_16: 0.5, over_16: 0.5}", f"split: {{{bands}}}")
    assert "stages.job_start.split" in _bad(tmp_path, text)


def test_thousands_of_amendments_are_refused(tmp_path: Path) -> None:
    rows = "".join("  - {month: 2, set: {referrals.scale: 1}}\n" for _ in range(20000))
    start = time.perf_counter()
    path = write(tmp_path, MINIMAL + "amendments:\n" + rows)
    result = runner.invoke(
        app,
        ["solve", str(path), "--vary", "referrals.scale", "--target", "provider_surplus=0"],
    )
    assert result.exit_code == 2
    assert "scenario.yaml:20 amendments" in result.output
    assert time.perf_counter() - start < 20


def test_too_many_amended_versions(tmp_path: Path) -> None:
    cases = "".join(f"  c{i}: {{}}\n" for i in range(50))
    amendments = "".join(f"  - {{month: {m}, set: {{referrals.scale: 1}}}}\n" for m in range(2, 12))
    out = _bad(tmp_path, MINIMAL + "cases:\n" + cases + "amendments:\n" + amendments)
    assert "amended versions" in out


def test_stress_paths_are_bounded(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    for paths in ("10000000", "0"):
        result = runner.invoke(app, ["stress", str(path), "--paths", paths])
        assert result.exit_code == 2
        assert "--paths must be between 1 and 1,000,000" in result.output
    result = runner.invoke(app, ["stress", str(path), "--chunk", "0"])
    assert result.exit_code == 2


# --- names are data ---------------------------------------------------------------------

HOSTILE_NAME = '[/x][bold]=HYPERLINK("http://x")$\\x$ :smile:'


def _hostile_names() -> str:
    text = _set(MINIMAL, "name: Minimal", f"name: '{HOSTILE_NAME}'")
    text = _set(text, "council: {name: Council,", "council: {name: '=1+1 [/x]',")
    text = _set(text, "{start: 2020-01,", "{start: 2020-01, currency: '[/c]',")
    return text + (
        f"cases:\n  '{HOSTILE_NAME}': {{}}\n  '_low': {{referrals.scale: 0.5}}\n"
        "amendments:\n  - {month: 3, note: '=cmd|calc', set: {referrals.scale: 0.9}}\n"
    )


def test_markup_formulas_and_math_in_names_are_shown_as_written(tmp_path: Path) -> None:
    path = write(tmp_path, _hostile_names())
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(path), "--out", str(out), "--xlsx", "--charts"])
    assert result.exit_code == 0, result.output
    assert "[/x][bold]=HYPERLINK" in result.output
    assert ":smile:" in result.output
    assert "=1+1 [/x]" in result.output
    wb = load_workbook(out / "results.xlsx")
    cells = [cell for ws in wb.worksheets for row in ws.iter_rows() for cell in row]
    texts = [c for c in cells if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert texts, "the names should be in the workbook"
    assert all(cell.data_type == "s" for cell in texts)  # text, never a formula
    formulas = [c.value for c in cells if c.data_type == "f"]
    assert formulas, "the model's own formulas are live"
    assert not any("HYPERLINK" in f or "cmd" in f for f in formulas)
    assert len(list(out.glob("*.png"))) == 3


def test_markup_in_names_through_every_command(tmp_path: Path) -> None:
    path = write(tmp_path, _hostile_names())
    batch = write(
        tmp_path,
        "base: scenario.yaml\nvariants:\n  a: {}\n  b: {set: {referrals.scale: 2}}\n",
        "batch.yaml",
    )
    commands = [
        ["compare", str(batch)],
        ["sweep", str(path), "--param", "referrals.scale=0.5:1:0.5", "--charts"],
        ["stress", str(path), "--paths", "50", "--charts", "--xlsx"],
        ["solve", str(path), "--vary", "referrals.scale", "--target", "provider_surplus=0"],
        ["explain", str(path), "--diagram"],
    ]
    for i, command in enumerate(commands):
        out = [] if command[0] == "solve" else ["--out", str(tmp_path / f"o{i}")]
        result = runner.invoke(app, [*command, *out])
        # solve: the surplus never reaches 0 here (exit 1), and says so for the case named
        # as written, never read as markup
        expected = 1 if command[0] == "solve" else 0
        assert result.exit_code == expected, (command, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), command
        if command[0] == "solve":
            assert '[/x][bold]=HYPERLINK("http://x")' in result.output
            assert ":: provider_surplus is [/c] 10,440 at 0" in result.output
    flows = (tmp_path / "o4" / "flows.md").read_text()
    assert flows.count("```") == 2
    assert 'P_council["=1+1 [/x]<br/>' in flows
    assert "Payment flows: \\[/x\\]\\[bold\\]=HYPERLINK\\(" in flows


# --- where things are written -----------------------------------------------------------


@pytest.mark.parametrize("name", ["../../x", "/tmp/mhep-x", "./a", "a b", "-rf"])
def test_variant_names_cannot_leave_out(tmp_path: Path, name: str) -> None:
    write(tmp_path, MINIMAL)
    text = f"base: scenario.yaml\nvariants:\n  '{name}': {{}}\n  b: {{}}\n"
    path = write(tmp_path, text, "batch.yaml")
    before = _files(tmp_path)
    for command in ("validate", "compare"):
        args = [command, str(path)] + (
            ["--out", str(tmp_path / "o" / "p")] if command == "compare" else []
        )
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "batch.yaml:3 variants: variant names are folder names" in result.output
    assert _files(tmp_path) == before
    assert not Path("/tmp/mhep-x").exists()


def test_variants_differing_only_in_case(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL)
    path = write(tmp_path, "base: scenario.yaml\nvariants:\n  a: {}\n  A: {}\n", "batch.yaml")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "batch.yaml:4 variants.A: variants 'a' and 'A' differ only in case" in result.output


def test_a_batch_whose_base_is_a_batch(tmp_path: Path) -> None:
    path = write(tmp_path, "base: batch.yaml\nvariants:\n  a: {}\n", "batch.yaml")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "batch.yaml:1 base: batch.yaml is a batch file" in result.output


def test_a_missing_required_key_names_the_line_of_its_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, _set(MINIMAL, "name: Minimal\n", "# no name\n"))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "scenario.yaml:2 name: is required" in result.output


def test_compare_labels_from_odd_file_names_stay_under_out(tmp_path: Path) -> None:
    a = write(tmp_path, MINIMAL, "..yaml")
    b = write(tmp_path, MINIMAL, "a b;c.yaml")
    out = tmp_path / "out"
    result = runner.invoke(app, ["compare", str(a), str(b), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["a_b_c", "scenario"]


# --- output sets ------------------------------------------------------------------------


def test_an_output_set_is_replaced_whole_and_listed(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    out = tmp_path / "out"
    assert runner.invoke(app, ["run", str(path), "--out", str(out), "--xlsx"]).exit_code == 0
    assert (out / "results.xlsx").exists()
    assert runner.invoke(app, ["run", str(path), "--out", str(out)]).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["monthly.csv", "run.json", "summary.csv"]
    manifest = json.loads((out / "run.json").read_text())
    assert sorted(manifest["files"]) == ["monthly.csv", "summary.csv"]
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.tmp")]
    assert leftovers == []


def test_a_concurrent_writer_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    out = tmp_path / "out"
    fd = os.open(tmp_path / ".out.lock", os.O_CREAT | os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = runner.invoke(app, ["run", str(path), "--out", str(out)])
    finally:
        os.close(fd)
    assert result.exit_code == 1
    assert "another mhep-model run is writing to" in result.output
    assert not out.exists()


def test_a_folder_of_other_files_is_never_replaced(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "holds files that mhep-model did not write" in result.output
    assert path.exists()


def test_a_file_a_user_adds_to_an_output_set_is_kept(tmp_path: Path) -> None:
    """Issue 24: a note saved beside the outputs was deleted by the next run (exit 0)."""
    path = write(tmp_path, MINIMAL)
    out = tmp_path / "out"
    assert runner.invoke(app, ["run", str(path), "--out", str(out), "-q"]).exit_code == 0
    (out / "my notes.txt").write_text("the board liked the medium case")
    result = runner.invoke(app, ["run", str(path), "--out", str(out), "-q"])
    assert result.exit_code == 2
    assert "my notes.txt" in result.output and "--force" in result.output
    assert (out / "my notes.txt").read_text() == "the board liked the medium case"
    forced = runner.invoke(app, ["run", str(path), "--out", str(out), "-q", "--force"])
    assert forced.exit_code == 0 and not (out / "my notes.txt").exists()


def test_a_workbook_the_new_run_does_not_write_is_named_as_gone(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    out = tmp_path / "out"
    first = runner.invoke(app, ["run", str(path), "--out", str(out), "--xlsx", "-q"])
    assert first.exit_code == 0 and (out / "results.xlsx").exists()
    again = runner.invoke(app, ["run", str(path), "--out", str(out), "-q"])
    assert again.exit_code == 0
    assert "note: results.xlsx of the previous run" in again.output and "is gone" in again.output


# --- a killed run -----------------------------------------------------------------------


def _whole_set(out: Path) -> str:
    """The set in ``out`` is whole: run.json lists exactly its files, with their hashes."""
    import hashlib

    manifest = json.loads((out / "run.json").read_text())
    present = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert present == {*manifest["files"], "run.json"}
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, name
    return str(manifest["paths"])


def test_a_killed_stress_run_leaves_one_whole_set(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    path = write(tmp_path, MINIMAL + "cases: {low: {referrals.scale: 0.5}, high: {}}\n")
    out = tmp_path / "out"

    def start(paths: int) -> subprocess.Popen[bytes]:
        code = "from mhep_model.cli import main; main()"
        args = ["stress", str(path), "--paths", str(paths), "--out", str(out), "-q"]
        return subprocess.Popen([sys.executable, "-c", code, *args])

    began = time.perf_counter()
    assert start(30_000).wait() == 0
    duration = time.perf_counter() - began
    assert _whole_set(out) == "30000"
    for fraction in (0.35, 0.7, 0.85, 0.95):
        proc = start(30_001)
        time.sleep(duration * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert _whole_set(out) in ("30000", "30001")
    # the next run clears what the killed ones left beside --out
    assert start(10).wait() == 0
    assert _whole_set(out) == "10"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out", "scenario.yaml"]


def test_a_batch_base_outside_its_folder_is_named_in_run_json(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL)
    (tmp_path / "batches").mkdir()
    batch = write(
        tmp_path / "batches", "base: ../scenario.yaml\nvariants:\n  a: {}\n  b: {}\n", "b.yaml"
    )
    out = tmp_path / "out"
    # outside its folder, the base needs the user's opt-in (issue 26)
    assert runner.invoke(app, ["compare", str(batch), "--out", str(out), "-q"]).exit_code == 2
    ok = ["compare", str(batch), "--out", str(out), "-q", "--allow-outside", str(tmp_path)]
    assert runner.invoke(app, ok).exit_code == 0
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["batch_base_outside_its_folder"] is True
    assert manifest["batch_base"].endswith("scenario.yaml")


def test_the_latest_start_draws_its_charts(tmp_path: Path) -> None:
    text = _set(
        MINIMAL,
        "{start: 2020-01, term_months: 12, tail_months: 6}",
        "{start: 2200-12, term_months: 500, tail_months: 100}",
    )
    path = write(tmp_path, text)
    out = tmp_path / "out"
    for command in (["run"], ["stress", "--paths", "20"]):
        result = runner.invoke(
            app, [command[0], str(path), *command[1:], "--out", str(out), "--charts", "-q"]
        )
        assert result.exit_code == 0, result.output
        assert list(out.glob("*.png"))


def test_set_and_case_errors_name_a_line(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "cases: {low: {}}\n")
    result = runner.invoke(app, ["run", str(path), "--set", "stages.engagement.rate=2"])
    assert result.exit_code == 2
    assert "scenario.yaml:5 stages.engagement.rate (from --set" in result.output
    result = runner.invoke(app, ["run", str(path), "--case", "nope"])
    assert result.exit_code == 2
    assert "scenario.yaml:20: no case named 'nope'" in result.output


def test_compare_folders_never_clash_with_the_outputs_files(tmp_path: Path) -> None:
    """Issue 26: a scenario named run.json.yaml became a folder run.json/ beside the
    comparison's own run.json."""
    a = write(tmp_path, MINIMAL, "run.json.yaml")
    b = write(tmp_path, MINIMAL, "comparison.csv.yaml")
    out = tmp_path / "out"
    result = runner.invoke(app, ["compare", str(a), str(b), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["comparison_csv", "run_json"]
    assert (out / "run.json").is_file() and (out / "comparison.csv").is_file()


def test_file_names_never_drive_the_terminal(tmp_path: Path) -> None:
    """Issue 26: ESC and BEL in a file name reached the terminal raw on success paths
    ("Wrote ...", validate's "ok")."""
    path = write(tmp_path, MINIMAL, "esc\x1b[31mred\x07.yaml")
    out = tmp_path / "out\x1b]0;title\x07"
    result = runner.invoke(app, ["run", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "\\x1b" in result.output.replace("\n", "")  # a visible escape (lines wrap)
    checked = runner.invoke(app, ["validate", str(path)])
    assert checked.exit_code == 0 and "\x1b" not in checked.output and "\x07" not in checked.output


def test_a_currency_with_quotes_keeps_every_money_format(tmp_path: Path) -> None:
    """Issue 26: a currency text with a quote broke every money number format."""
    import openpyxl

    path = write(tmp_path, MINIMAL.replace("contract: {", "contract: {currency: 'A\"B', ", 1))
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(path), "--out", str(out), "--xlsx", "-q"])
    assert result.exit_code == 0, result.output
    formats = {
        c.number_format
        for ws in openpyxl.load_workbook(out / "results.xlsx").worksheets
        for row in ws.iter_rows()
        for c in row
        if isinstance(c.value, int | float) and not isinstance(c.value, bool)
    }
    assert '"AB "#,##0;-"AB "#,##0;"AB "0' in formats
    assert not any('A"B' in f for f in formats)


def test_staging_recovery_touches_only_its_own_real_folders(tmp_path: Path) -> None:
    """Issue 26: an --out name with glob characters made the recovery step delete other
    folders' staging sets; a FIFO named like a stale staging folder made runs hang; a link
    planted as the lock file was followed."""
    import os
    import subprocess
    import sys

    path = write(tmp_path, MINIMAL)
    other = tmp_path / ".a1.tmp-busy"  # another folder's set, being written
    other.mkdir()
    (other / "summary.csv").write_text("x")
    result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "a[1]"), "-q"])
    assert result.exit_code == 0, result.output
    assert (other / "summary.csv").exists()
    os.mkfifo(tmp_path / ".f.tmp-stale")
    os.mkfifo(tmp_path / ".f.old-stale")
    cli = [sys.executable, "-c", "from mhep_model.cli import main; main()"]
    done = subprocess.run(
        [*cli, "run", str(path), "--out", str(tmp_path / "f"), "-q"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "f" / "summary.csv").is_file()
    target = tmp_path / "precious.txt"
    target.write_text("keep")
    (tmp_path / ".g.lock").symlink_to(target)
    refused = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "g")])
    assert refused.exit_code == 1  # refused, as a folder another run holds is
    assert "is a symbolic link, not mhep-model's lock file" in " ".join(refused.output.split())
    assert target.read_text() == "keep" and not (tmp_path / "g").exists()


def test_the_workbooks_temporary_parts_stay_in_the_staging_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 26: a kill while writing results.xlsx left xlsxwriter's parts in /tmp."""
    import xlsxwriter

    seen: list[object] = []
    real = xlsxwriter.Workbook.__init__

    def spy(self: object, filename: object, options: dict[str, object] | None = None) -> None:
        seen.append((options or {}).get("tmpdir"))
        real(self, filename, options)  # type: ignore[arg-type]

    monkeypatch.setattr(xlsxwriter.Workbook, "__init__", spy)
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(write(tmp_path, MINIMAL)), "--xlsx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    # the staging folder beside --out, which the next run clears: never the system's temp
    assert seen and all(isinstance(d, str) and "/.out.tmp-" in d for d in seen), seen


def test_a_mount_point_as_out_is_refused_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 26: an --out that is a mount point could never be written ("Device or
    resource busy" at the swap, after all the work)."""
    import os.path

    out = tmp_path / "mnt"
    real = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda p: str(p) == str(out) or real(p))
    result = runner.invoke(app, ["run", str(write(tmp_path, MINIMAL)), "--out", str(out)])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "is a mount point" in text and f"--out {out}/results" in text


def test_a_file_that_is_not_a_scenario_shows_only_a_short_excerpt(tmp_path: Path) -> None:
    """Issue 26: a portfolio may name any file; its lines came back in the messages. A key
    is quoted to at most 40 characters, control characters escaped."""
    secret = tmp_path / "secret.txt"
    secret.write_text("name: x\nthe-password-is-" + "s3cret" * 40 + ": 1\n")
    portfolio = tmp_path / "p.yaml"
    portfolio.write_text(
        f"name: P\ncontracts:\n  a: {secret}\nspv: {{management_fee_annual: 0}}\n"
        "investor: {commitment: 100, equity_share: 0.25}\n"
    )
    result = runner.invoke(app, ["run", str(portfolio), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    text = "".join(result.output.split())
    assert "the-password-is-s3crets3crets3crets3cret..." in text
    assert "s3cret" * 6 not in text


def test_a_set_written_inside_another_is_never_deleted_with_it(tmp_path: Path) -> None:
    """Issue 26: an output set written inside another (--out A/inner) was deleted when A
    was run again; now A is refused (its folder holds files A did not write)."""
    path = write(tmp_path, MINIMAL)
    outer, inner = tmp_path / "A", tmp_path / "A" / "inner"
    assert runner.invoke(app, ["run", str(path), "--out", str(outer), "-q"]).exit_code == 0
    assert runner.invoke(app, ["run", str(path), "--out", str(inner), "-q"]).exit_code == 0
    again = runner.invoke(app, ["run", str(path), "--out", str(outer)])
    assert again.exit_code == 2
    assert "inner/" in again.output and (inner / "summary.csv").is_file()
