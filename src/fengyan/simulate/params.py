"""The simulator's parameters: ``params.yaml`` loaded into typed, validated objects.

Everything the generative model can vary lives in the YAML file; this module only gives it
types so that a typo in a user's copy fails at start-up with the path of the bad key.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fengyan.yamlstrict import load_yaml


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Calendar(_Model):
    """The simulated window and how often periodic data is delivered."""

    end_month: str = Field(pattern=r"^\d{4}-\d{2}$")
    months: int = Field(ge=1, le=240)
    delivery_months: int = Field(ge=1, le=12)


class Cluster(_Model):
    """集群注册 addresses."""

    firm_share: float = Field(ge=0, le=0.5)
    addresses_per_district: int = Field(ge=0)


class CityParams(_Model):
    """Geography: which city, how many buildings and of which kinds."""

    code: str = Field(pattern=r"^\d{2,6}$")
    buildings_per_1000_firms: float = Field(gt=0)
    building_kinds: dict[str, float]
    premium_office_share: float = Field(ge=0, le=1)
    cluster: Cluster
    address_with_province: float = Field(ge=0, le=1)
    floors: tuple[int, int]


class LegalForm(_Model):
    """A legal form: its name ending, registry text, credit-code class and owner count."""

    id: str
    weight: float = Field(ge=0)
    entity_form: str
    suffix: str
    code_class: str = Field(pattern=r"^9[123]$")
    owners: tuple[int, int]


class NameStyles(_Model):
    """Shares of the three ways a city appears in a firm name."""

    city_first: float
    city_in_brackets: float
    city_short: float


class EnterpriseParams(_Model):
    """Population of firms: size, age, forms, status, capital, staff, changes."""

    count: int = Field(ge=10)
    age_years_mean: float = Field(gt=0)
    age_years_max: float = Field(gt=0)
    forms: list[LegalForm]
    exit_rate_per_year: float = Field(ge=0, le=1)
    exit_kinds: dict[str, float]
    active_kinds: dict[str, float]
    capital_sigma: float = Field(ge=0)
    capital_steps_wan: list[float]
    paid_in_share: float = Field(ge=0, le=1)
    headcount_sigma: float = Field(ge=0)
    no_staff_share: float = Field(ge=0, le=1)
    name_styles: NameStyles
    rename_share: float = Field(ge=0, le=1)
    address_change_share: float = Field(ge=0, le=1)
    branch_share: float = Field(ge=0, le=1)
    branches: tuple[int, int]


class Industry(_Model):
    """One GB/T 4754-2017 class as firms of the city use it."""

    code: str = Field(pattern=r"^[A-T]\d{4}$")
    weight: float = Field(ge=0)
    label: str
    words: list[str] = Field(min_length=1)
    scope: list[str] = Field(min_length=1)
    capital_wan: float = Field(gt=0)
    headcount: float = Field(ge=0)
    premises: list[str] = Field(min_length=1)
    finance_like: bool = False


class LicensedType(_Model):
    """A licensed local financial organisation type (7+4)."""

    share: float = Field(ge=0)
    industry: str
    label: str
    words: list[str]
    capital_wan: tuple[float, float]
    rate: tuple[float, float]


class FinanceParams(_Model):
    """Licensed organisations, their filings and their lawful advertising."""

    licensed: dict[str, LicensedType]
    amac_share: float = Field(ge=0, le=1)
    report_type: str
    filing_lag_days: tuple[int, int]
    correction_share: float = Field(ge=0, le=1)
    ads_per_year: float = Field(ge=0)


class PersonParams(_Model):
    """The people behind the firms."""

    per_firm: float = Field(gt=0)
    activity_shape: float = Field(gt=0)
    local_share: float = Field(ge=0, le=1)
    origin_provinces: dict[str, float]
    birth_years: tuple[int, int]
    female_share: float = Field(ge=0, le=1)
    legacy_id_share: float = Field(ge=0, le=1)
    duplicate_share: float = Field(ge=0, le=1)
    phones_per_person: tuple[int, int]


class OwnershipParams(_Model):
    """Groups, layers, cross-holdings and cycles."""

    group_share: float = Field(ge=0, le=1)
    group_size: tuple[int, int]
    layer_probability: float = Field(ge=0, le=1)
    cross_holding_pairs_per_10000: float = Field(ge=0)
    cycles_per_10000: float = Field(ge=0)
    nominee_share: float = Field(ge=0, le=1)


class Typology(_Model):
    """One kind of scheme: what it sells, promises, whom it reaches and how it ends."""

    label: str
    weight: float = Field(ge=0)
    industry: str
    words: list[str]
    product: list[str]
    category: str
    yield_: tuple[float, float] = Field(alias="yield")
    formats: list[str]
    ticket_wan: tuple[float, float]
    victims: tuple[float, float]
    elderly: float = Field(ge=0, le=1)
    out_of_province: float = Field(ge=0, le=1)
    cross_border: float = Field(ge=0, le=1)
    media: dict[str, float]
    web: dict[str, float]
    server_abroad: float = Field(ge=0, le=1)
    collapse: dict[str, float]
    charges: list[str]
    causes: list[str]
    jobs: list[str]
    lends: bool = False

    @field_validator("formats")
    @classmethod
    def _known_formats(cls, value: list[str]) -> list[str]:
        known = {
            "annual",
            "monthly_fen",
            "monthly_pct",
            "daily_permille",
            "daily_pct",
            "multiple",
            "bonus",
            "referral",
        }
        unknown = set(value) - known
        if unknown:
            raise ValueError(f"unknown yield formats {sorted(unknown)}; known: {sorted(known)}")
        return value


class StageMonths(_Model):
    """Lognormal (median, sigma) lengths of the life-cycle stages, in months."""

    setup: tuple[float, float]
    acquisition: tuple[float, float]
    expansion: tuple[float, float]
    stress: tuple[float, float]


class SchemeParams(_Model):
    """Prevalence, life cycle and typologies of the schemes."""

    firm_share: float = Field(ge=0, le=0.2)
    shells: tuple[int, int]
    launch_before_window: int = Field(ge=0)
    loudness_sigma: float = Field(ge=0)
    migrate_share: float = Field(ge=0, le=1)
    rename_share: float = Field(ge=0, le=1)
    reregister_share: float = Field(ge=0, le=1)
    branch_share: float = Field(ge=0, le=1)
    similar_name_negatives: int = Field(ge=0)
    same_building_share: float = Field(ge=0, le=1)
    stage_months: StageMonths
    police_after: tuple[int, int]
    judgment_after: tuple[int, int]
    civil_suits_per_100_victims: float = Field(ge=0)
    payout_ratio: float = Field(ge=0, le=1)
    typologies: dict[str, Typology]
    brand_chars: str = Field(min_length=4)


class MentionParams(_Model):
    """How other sources write a firm's name."""

    credit_code_share: dict[str, float]
    forms: dict[str, float]


class EventParams(_Model):
    """Background event rates and scheme event rates by stage."""

    news_per_firm_year: float = Field(ge=0)
    ads_per_firm_year: float = Field(ge=0)
    posts_per_firm_year: float = Field(ge=0)
    complaints_per_firm_year: float = Field(ge=0)
    civil_suits_per_firm_year: float = Field(ge=0)
    enforcement_share: float = Field(ge=0, le=1)
    dishonest_share: float = Field(ge=0, le=1)
    one_bad_item_share: float = Field(ge=0, le=1)
    scheme_rates: dict[str, dict[str, float]]
    mention: MentionParams


class Bank(_Model):
    """A reporting bank."""

    name: str
    code: str = Field(pattern=r"^\d{6}$")


class FundFlowParams(_Model):
    """Which lawful firms' accounts are reported."""

    monitored_share: float = Field(ge=0, le=1)


class WebParams(_Model):
    """Web presence of lawful firms and where servers abroad sit."""

    lawful_site_share: float = Field(ge=0, le=1)
    countries_abroad: dict[str, float]


class DirtyParams(_Model):
    """Deliberately bad records and noise."""

    share: float = Field(ge=0, le=0.1)
    kinds: dict[str, float]
    fullwidth_share: float = Field(ge=0, le=1)


class Params(_Model):
    """All parameters of one simulation."""

    version: int
    calendar: Calendar
    city: CityParams
    enterprises: EnterpriseParams
    industries: list[Industry]
    finance: FinanceParams
    persons: PersonParams
    ownership: OwnershipParams
    schemes: SchemeParams
    events: EventParams
    banks: list[Bank] = Field(min_length=1)
    fund_flows: FundFlowParams
    web: WebParams
    dirty: DirtyParams


def default_params_path() -> Path:
    """The ``params.yaml`` shipped with the package."""
    return Path(str(resources.files("fengyan.simulate").joinpath("params.yaml")))


def load_params(path: Path | None = None, **overrides: Any) -> Params:
    """Read parameters from ``path`` (default: the shipped file), then apply overrides.

    Overrides are dotted keys, e.g. ``{"enterprises.count": 2000, "calendar.months": 12}``.
    """
    raw = load_yaml((path or default_params_path()).read_text(encoding="utf-8"))
    for dotted, value in overrides.items():
        if value is None:
            continue
        node = raw
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    return Params.model_validate(raw)
