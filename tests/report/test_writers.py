"""CSV files: our writer gives pandas' text, byte for byte, for every kind of column the
outputs hold (issue 15: it is two to three times faster), and leaves other kinds to pandas."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mhep_model.report import writers

FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e16, 1e-5, 123456789.0, 5e-324, 0.1, 2.5, 1e22]),
)
TEXT = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.sampled_from(["a,b", 'say "hi"', "two\nlines", "cr\rhere", " lead", "£1,000", ""]),
)


def _pandas(frame: pd.DataFrame) -> str:
    """pandas' CSV of ``frame``, its text cells defused as ours are (issue 26)."""
    frame = frame.apply(lambda col: col.map(writers.defused) if writers.is_text(col) else col)
    return str(frame.to_csv(index=False, na_rep="", lineterminator="\n"))


def _ours(frame: pd.DataFrame) -> str:
    buf = io.StringIO()
    writers.write_csv(frame, buf)
    return buf.getvalue()


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 30).flatmap(
        lambda n: st.tuples(
            st.lists(FLOATS, min_size=n, max_size=n),
            st.lists(st.one_of(st.none(), st.integers(-(2**62), 2**62)), min_size=n, max_size=n),
            st.lists(st.integers(-(2**62), 2**62), min_size=n, max_size=n),
            st.lists(st.booleans(), min_size=n, max_size=n),
            st.lists(TEXT, min_size=n, max_size=n),
        )
    ),
    st.permutations(range(6)),
)
def test_every_kind_of_column_is_written_as_pandas_writes_it(
    columns: tuple[list[float], list[int | None], list[int], list[bool], list[str | None]],
    order: list[int],
) -> None:
    floats, gappy, ints, flags, texts = columns
    data = {
        "income": np.array(floats, dtype=np.float64),
        "provider_insolvent_month": pd.array(gappy, dtype="Int64"),
        "path": np.array(ints, dtype=np.int64),
        "flag": np.array(flags, dtype=bool),
        'case, "named"': pd.array(texts, dtype="str"),  # pandas' text columns
        "label": np.array(texts, dtype=object),
    }
    names = list(data)
    frame = pd.DataFrame({names[i]: data[names[i]] for i in order})
    assert _ours(frame) == _pandas(frame)
    one = frame.iloc[:, :1]  # a single column: the csv module quotes an empty row
    assert _ours(one) == _pandas(one)


def test_a_large_frame_is_written_in_blocks_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writers, "CSV_ROWS", 7)
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"x": rng.normal(size=50), "case": ["low"] * 50, "n": np.arange(50, dtype=np.int64)}
    )
    frame.loc[3, "x"] = np.nan
    assert _ours(frame) == _pandas(frame)


def test_other_columns_go_to_pandas() -> None:
    frame = pd.DataFrame(
        {
            "mixed": np.array([1, "a", 2.5], dtype=object),
            "when": pd.to_datetime(["2016-04-01", "2016-05-01", "2016-06-01"]),
            "f32": np.array([0.1, 0.2, 0.3], dtype=np.float32),
        }
    )
    assert _ours(frame) == _pandas(frame)
    assert _ours(pd.DataFrame()) == _pandas(pd.DataFrame())
    assert _ours(pd.DataFrame({1: [1.5]})) == _pandas(pd.DataFrame({1: [1.5]}))


def test_cells_a_spreadsheet_would_run_are_prefixed_with_a_quote() -> None:
    """Issue 26: case, variant and contract names reached CSVs as written: ``=1+1``,
    ``+HYPERLINK(...)`` and ``@cmd`` run as formulas in a spreadsheet (OWASP CSV
    injection). Text starting with = + - @ tab or CR gets a leading ' (numbers do not)."""
    frame = pd.DataFrame(
        {
            "case": ["=1+1", '+HYPERLINK("http://x")', "@cmd", "-2", "\tx", "low"],
            "value": [-1.5, 2.0, 3.0, -4.0, 5.0, 6.0],
        }
    )
    lines = _ours(frame).splitlines()[1:]
    assert lines == [
        "'=1+1,-1.5",
        '"\'+HYPERLINK(""http://x"")",2.0',
        "'@cmd,3.0",
        "'-2,-4.0",
        "'\tx,5.0",
        "low,6.0",
    ]
    mixed = pd.DataFrame({"case": ["=A1", 1.0]})  # one column, mixed: pandas writes it
    assert _ours(mixed).splitlines()[1] == "'=A1"
