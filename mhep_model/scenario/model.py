"""The scenario format of spec/MODEL.md sections 2-9 as frozen, strict pydantic models.

Field-level rules (types, ranges, required keys, unknown keys) live here; the rules that
relate one part of a scenario to another live in :mod:`mhep_model.scenario.checks`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from mhep_model.scenario import limits as L

Rate = Annotated[float, Field(ge=0, le=1, description="share in [0, 1]")]
Money = Annotated[float, Field(ge=0, le=L.MAX_MONEY, description="currency units, >= 0")]
Count = Annotated[
    float, Field(ge=0, le=L.MAX_PEOPLE, description="people or full-time equivalents, >= 0")
]
Scale = Annotated[float, Field(ge=0, le=L.MAX_SCALE, description="multiplier, >= 0")]


def _whole(value: Any) -> Any:
    """Whole numbers may be written ``12`` or ``12.0`` (spec section 11)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


Whole = BeforeValidator(_whole)
Months = Annotated[int, Whole, Field(ge=0, le=L.MAX_HORIZON, description="whole months, >= 0")]
MonthNumber = Annotated[
    int, Whole, Field(ge=1, le=L.MAX_MONTH, description="contract month, 1 = contract.start")
]
Text = Annotated[str, Field(max_length=L.MAX_TEXT)]
People = Annotated[int, Whole, Field(ge=0, le=L.MAX_PEOPLE, description="whole people, >= 0")]
Bands = Annotated[dict[str, Rate], Field(max_length=L.MAX_BANDS)]


class StrictModel(BaseModel):
    """The base of every part of a scenario, portfolio or batch file: strict types, no
    unknown keys, frozen, finite numbers."""

    model_config = ConfigDict(
        strict=True, extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=False
    )


class Stop(StrictModel):
    """When the service stops early (v3, spec sections 1 and 6)."""

    on_cap: bool = False
    """Stop once every external payer's cap is exhausted (or its window has ended)."""
    on_provider_insolvency: bool = False
    """Stop once the provider's reserves go below zero."""
    notice_months: Months = 0
    """Months of service after the stop month S; none from S + notice + 1."""


class Contract(StrictModel):
    """Timing: month 1 is ``start``; service months 1..N; outcomes until H = N + tail."""

    start: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
    term_months: Annotated[int, Whole, Field(ge=1, le=L.MAX_HORIZON)]
    tail_months: Months = 12
    currency: Annotated[str, Field(min_length=1, max_length=12)] = "GBP"
    stop: Stop | None = None
    """v3: the service stops after caps are exhausted or the provider fails."""

    @property
    def horizon(self) -> int:
        """H = term_months + tail_months [months]."""
        return self.term_months + self.tail_months


class Referrals(StrictModel):
    """Referral volume [people/month]: ``monthly`` or ``workers * per_worker_per_year / 12``."""

    monthly: Count | Annotated[list[Count], Field(max_length=L.MAX_HORIZON)] | None = None
    workers: Count | None = None
    per_worker_per_year: Count | None = None
    ramp_up_months: Months = 0
    scale: Scale = 1.0


class Stage(StrictModel):
    """One step of the participant funnel (spec section 4)."""

    name: Text | None = None
    from_: str = Field(alias="from")
    rate: Rate | Bands
    lag: Months | Annotated[list[Rate], Field(max_length=L.MAX_LAG_WEIGHTS)] = 0
    split: Bands | None = None
    after_term: bool = False
    capacity_per_fte: Annotated[float, Field(gt=0, le=L.MAX_PEOPLE)] | None = None
    """People a month one FTE can take on at this stage (v2); only on an unbanded stage."""
    opening: People | Annotated[dict[str, People], Field(max_length=L.MAX_BANDS)] | None = None
    """v3: people in this stage when the service starts (a continuation service)."""


class Payer(StrictModel):
    """Who pays the SPV for outcomes (spec section 5)."""

    name: Text | None = None
    cap: Money | None = None
    window: Annotated[list[MonthNumber], Field(min_length=2, max_length=2)] | None = None
    tariff_factor: Annotated[float, Field(gt=0, le=L.MAX_SCALE)] = 1.0
    self_: bool = Field(default=False, alias="self")


class Evidence(StrictModel):
    """An evidence check on an outcome's invoices (v3, spec section 5)."""

    rejected: Annotated[float, Field(ge=0, lt=1, description="share in [0, 1)")] = 0.0
    """Share of each invoice rejected: never paid, nor owed to the provider."""
    lag_months: Months = 0
    """Months the check adds to the payment month of the accepted part."""


class Outcome(StrictModel):
    """A payable outcome: achieved when people reach ``stage``."""

    name: Text | None = None
    stage: str
    tariff: Money | Annotated[dict[str, Money], Field(max_length=L.MAX_BANDS)]
    paid_by: Annotated[dict[str, Rate], Field(max_length=L.MAX_PAYERS)]
    max_count: Count | None = None
    evidence: Evidence | None = None
    """v3: a share rejected at the evidence check, the rest paid later."""


class Grant(StrictModel):
    """Flat payments by payers for months ``[a, b]`` (v3, spec section 5)."""

    name: Text | None = None
    paid_by: Annotated[dict[str, Rate], Field(min_length=1, max_length=L.MAX_PAYERS)]
    months: Annotated[list[MonthNumber], Field(min_length=2, max_length=2)]
    amount: Money | Annotated[list[Money], Field(max_length=L.MAX_HORIZON)]
    """Per covered month, or a list of one amount per covered month [GBP/month]."""
    replaces_outcomes: bool = True
    counts_against_cap: bool = True


class Settlement(StrictModel):
    """When outcomes are invoiced and paid."""

    frequency: Literal["monthly", "quarterly"] = "monthly"
    lag_months: Months = 0


class Block(StrictModel):
    annual: Money


class OutcomePayments(StrictModel):
    """Outcome-linked payments from the SPV to the provider."""

    share_of_tariff: Rate | None = None
    tariffs: (
        Annotated[
            dict[str, Money | Annotated[dict[str, Money], Field(max_length=L.MAX_BANDS)]],
            Field(max_length=L.MAX_OUTCOMES),
        ]
        | None
    ) = None
    annual_cap: Money | None = None
    back_to_back: bool = False
    """Cut by the share of each month's invoices that the payers paid (v2)."""
    annual_cap_basis: Literal["paid", "achieved"] = "paid"
    """v3: count outcome payments against the cap of the year paid, or of the year achieved."""


class Advance(StrictModel):
    """Working capital the SPV lends the provider (v2, spec section 6)."""

    amount: Money
    month: MonthNumber = 1
    repay_from: MonthNumber
    repay_months: Annotated[int, Whole, Field(ge=1, le=L.MAX_HORIZON)]


class Costs(StrictModel):
    """Provider delivery costs: annual figures, paid monthly in months 1..N."""

    staff_fte: Count
    cost_per_fte: Money
    fixed_annual: Money = 0.0
    mobilisation: Money = 0.0


class Provider(StrictModel):
    name: Text | None = None
    block: Block
    outcome_payments: OutcomePayments | None = None
    advance: Advance | None = None
    costs: Costs
    opening_reserves: Money = 0.0


class PerformanceFee(StrictModel):
    """The intermediary's share of equity distributions above a hurdle (v3, spec 7)."""

    share: Rate
    hurdle_multiple: Annotated[float, Field(ge=0, le=L.MAX_SCALE)] = 1.0


class Spv(StrictModel):
    name: Text | None = None
    management_fee_annual: Money = 0.0
    opening_cash: Money = 0.0
    min_cash: Money = 0.0
    pay_provider_when_able: bool = False
    """v3: hold back what cash cannot pay the provider (arrears), not a funding gap."""
    performance_fee: PerformanceFee | None = None
    """v3: the intermediary's share of the distribution above the hurdle."""


class Investor(StrictModel):
    name: Text | None = None
    commitment: Money
    equity_share: Rate = 0.0
    loan_rate: Rate = 0.08
    repayment: Literal["end", "sweep"] = "end"
    sweep_from_month: MonthNumber = 1
    upfront: Money = 0.0
    """Capital drawn in month 1 whatever the cash (v2)."""
    interest: Literal["simple", "compound"] = "simple"
    """v3: ``compound``: unpaid interest joins the principal at each month end."""


class Amendment(StrictModel):
    """A change of terms from contract month ``month`` on (spec section 8)."""

    month: MonthNumber
    note: Text | None = None
    set_: Annotated[dict[str, Any], Field(max_length=L.MAX_AMENDMENT_KEYS)] = Field(
        default_factory=dict, alias="set"
    )
    scale: Annotated[
        dict[str, Annotated[float, Field(gt=0, le=L.MAX_SCALE)]],
        Field(max_length=L.MAX_AMENDMENT_KEYS),
    ] = Field(default_factory=dict)
    """Multiply the value in force in each case by a factor (v2)."""

    @model_validator(mode="after")
    def _something(self) -> Amendment:
        if not self.set_ and not self.scale:
            raise ValueError("an amendment needs a non-empty 'set', a non-empty 'scale', or both")
        return self


class ActualsRef(StrictModel):
    """Where a contract's recorded monthly counts are (spec section 13)."""

    file: Annotated[str, Field(min_length=1, max_length=L.MAX_TEXT)]
    """CSV file, relative to the scenario file."""


class ReferralUncertainty(StrictModel):
    level_cv: Annotated[float, Field(ge=0, le=L.MAX_CV)] = 0.0
    monthly_cv: Annotated[float, Field(ge=0, le=L.MAX_CV)] = 0.0


class RateUncertainty(StrictModel):
    concentration: Annotated[float, Field(gt=0, le=L.MAX_CONCENTRATION)]


class Uncertainty(StrictModel):
    """Used only by stochastic runs (spec section 9)."""

    referrals: ReferralUncertainty | None = None
    rates: RateUncertainty | None = None


class Scenario(StrictModel):
    """A whole scenario file, as validated."""

    name: Text
    contract: Contract
    referrals: Referrals
    stages: Annotated[dict[str, Stage], Field(max_length=L.MAX_STAGES)]
    payers: Annotated[dict[str, Payer], Field(max_length=L.MAX_PAYERS)]
    outcomes: Annotated[dict[str, Outcome], Field(max_length=L.MAX_OUTCOMES)]
    settlement: Settlement = Settlement()
    provider: Provider
    spv: Spv = Spv()
    investor: Investor
    cases: (
        Annotated[
            dict[str, Annotated[dict[str, Any], Field(max_length=L.MAX_AMENDMENT_KEYS)]],
            Field(max_length=L.MAX_CASES),
        ]
        | None
    ) = None
    amendments: Annotated[list[Amendment], Field(max_length=L.MAX_AMENDMENTS)] = []
    uncertainty: Uncertainty | None = None
    actuals: ActualsRef | None = None
    grants: Annotated[list[Grant], Field(max_length=L.MAX_GRANTS)] = []
    """v3: flat payments by payers in place of (or beside) outcome payments."""


def bands_of(scenario: Scenario) -> dict[str, tuple[str, ...]]:
    """Band names of every stage (``()`` for an unbanded stage), following ``split`` down."""
    bands: dict[str, tuple[str, ...]] = {}
    for name, stage in scenario.stages.items():
        if stage.split is not None:
            bands[name] = tuple(stage.split)
        else:
            bands[name] = bands.get(stage.from_, ())
    return bands


def uses_v3(sc: Scenario) -> bool:
    """Whether a scenario names any v3 key, even at its default (spec section 11): its
    outputs then carry the v3 columns."""
    op = sc.provider.outcome_payments
    return (
        "grants" in sc.model_fields_set
        or "stop" in sc.contract.model_fields_set
        or any("opening" in s.model_fields_set for s in sc.stages.values())
        or any("evidence" in o.model_fields_set for o in sc.outcomes.values())
        or (op is not None and "annual_cap_basis" in op.model_fields_set)
        or spv_uses_v3(sc.spv, sc.investor)
    )


def spv_uses_v3(spv: Spv, investor: Investor) -> bool:
    """Whether an SPV or its investor names a v3 key (a scenario's or a portfolio's)."""
    return bool({"pay_provider_when_able", "performance_fee"} & spv.model_fields_set) or (
        "interest" in investor.model_fields_set
    )


_V3_DEFAULTS = (
    ("grants",),
    ("provider", "outcome_payments", "annual_cap_basis"),
    ("spv", "pay_provider_when_able"),
    ("investor", "interest"),
)


def inputs_as_written(model: StrictModel) -> dict[str, Any]:
    """A scenario (or a portfolio file) as data for listings of its inputs (the workbook's
    Inputs and Assumptions sheets): one that names no v3 key lists what it did in v2,
    without the v3 defaults (spec section 11: v2 outputs unchanged)."""
    data = model.model_dump(by_alias=True)
    if isinstance(model, Scenario):
        named = uses_v3(model)
    else:
        spv, investor = getattr(model, "spv", None), getattr(model, "investor", None)
        named = isinstance(spv, Spv) and isinstance(investor, Investor)
        named = named and spv_uses_v3(spv, investor)  # type: ignore[arg-type]
    if named:
        return data
    for path in _V3_DEFAULTS:
        node = data
        for key in path[:-1]:
            node = node.get(key) or {}
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return data
