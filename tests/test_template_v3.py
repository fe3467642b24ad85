"""``init``'s template: its commented v3 examples are valid when written in (issue 21)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.conftest import run_data

TEMPLATE = Path(__file__).parent.parent / "mhep_model" / "templates" / "starter.yaml"


def _example(text: str, marker: str) -> Any:
    """The commented example that follows ``marker``, as YAML (its ``#`` taken off)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if marker in line)
    body = []
    for line in lines[start:]:
        if not line.startswith("#") or (body and line.strip() == "#"):
            break
        body.append(line[1:])
    return yaml.safe_load("\n".join(body))


def test_the_commented_v3_examples_run() -> None:
    text = TEMPLATE.read_text()
    data = yaml.safe_load(text)
    data["stages"]["engagement"] |= {"opening": 25}
    grants = _example(text, "# grants:")
    assert grants["grants"][0]["paid_by"]
    data |= grants
    data["outcomes"]["job_start"]["evidence"] = {"rejected": 0.05, "lag_months": 1}
    data["contract"]["stop"] = {"on_cap": True, "on_provider_insolvency": True, "notice_months": 2}
    data["provider"]["outcome_payments"]["annual_cap_basis"] = "achieved"
    data["spv"] |= {
        "pay_provider_when_able": True,
        "performance_fee": {"share": 0.2, "hurdle_multiple": 1.0},
    }
    data["investor"]["interest"] = "compound"
    for key in ("stop:", "opening:", "evidence:", "annual_cap_basis:", "interest: compound"):
        assert key in text  # each is shown, commented, in the template
    inputs, results = run_data(data)
    assert inputs.uses_v3
    assert results.summary["grants"].sum() > 0
