"""Typed objects for the declarative schema.

The YAML files under ``schema/types/`` are the single source of truth for what an
entity, relation or event is; this module only gives them a typed shape and checks
that they are internally consistent (see :func:`EntityType.check`).
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class FieldType(StrEnum):
    """The value types a field can have. Each has one vectorised validator in ingest."""

    STRING = "string"  # short free text (≤ 1,000 chars unless max_length says otherwise)
    TEXT = "text"  # long free text: articles, judgment full texts, complaint bodies
    NAME = "name"  # an organisation or person name (whitespace-normalised)
    DATE = "date"
    DATETIME = "datetime"
    MONEY = "money"  # an amount in yuan (float64); accepts 万/亿 units and thousands commas
    NUMBER = "number"
    INTEGER = "integer"
    PERCENT = "percent"  # 0–100 (accepts "35%" and "0.35" with unit: fraction)
    BOOLEAN = "boolean"
    ENUM = "enum"
    CREDIT_CODE = "credit_code"  # 统一社会信用代码, GB 32100-2015
    ORG_CODE = "org_code"  # 组织机构代码, GB 11714-1997
    REG_NO = "reg_no"  # 15-digit 工商注册号
    ID_NUMBER = "id_number"  # 居民身份证号码, GB 11643-1999
    BANK_CARD = "bank_card"
    PHONE = "phone"  # normalised to E.164
    EMAIL = "email"
    URL = "url"
    DOMAIN = "domain"
    IP = "ip"
    COUNTRY = "country"  # ISO 3166-1 alpha-2
    REGION_CODE = "region_code"  # GB/T 2260 / NBS code, 6, 9 or 12 digits
    INDUSTRY_CODE = "industry_code"  # GB/T 4754-2017: section letter + up to 4 digits
    CURRENCY = "currency"  # ISO 4217
    REF = "ref"  # the key of another record (see FieldSpec.range)


class EntityKind(StrEnum):
    """Entities are things with a state over time; relations link two records; events happen."""

    ENTITY = "entity"
    RELATION = "relation"
    EVENT = "event"


PersonalClass = Literal["C1", "C2", "C3"]
MaskKind = Literal["name", "id_number", "phone", "bank_card", "address", "email"]


class Label(BaseModel):
    """A label in Simplified Chinese (shown first) and English."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    zh: str
    en: str


class FieldSpec(BaseModel):
    """One field of an entity type, with its validator and data-security labels."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = ""
    type: FieldType
    label: Label
    description: str = ""
    required: bool = False
    multiple: bool = False
    # JR/T 0197-2020 data-security level, 1 (public) … 5 (important data).
    security_level: int = Field(ge=1, le=5)
    # JR/T 0171-2020 personal financial information class, or None if not personal.
    personal: PersonalClass | None = None
    mask: MaskKind | None = None
    # Store a keyed hash (and a masked form) instead of the raw value.
    pseudonymise: bool = False
    values: tuple[str, ...] | None = None  # for enum fields
    min: float | None = None
    max: float | None = None
    not_future: bool = False  # dates: reject values after the ingest date
    max_length: int | None = None
    range: tuple[str, ...] | None = None  # for ref fields: the entity types referred to
    unit: str | None = None  # documentation and parsing hint: yuan, percent, fraction, count

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        if self.type is FieldType.ENUM and not self.values:
            raise ValueError("an enum field needs `values`")
        if self.type is not FieldType.ENUM and self.values:
            raise ValueError("`values` is only for enum fields")
        if self.type is FieldType.REF and not self.range:
            raise ValueError("a ref field needs `range` (the entity types it refers to)")
        # JR/T 0197-2020: data containing C3 is at least level 4, C2 level 3, C1 level 2.
        floor = {"C3": 4, "C2": 3, "C1": 2}.get(self.personal or "", 1)
        if self.security_level < floor:
            raise ValueError(
                f"personal class {self.personal} needs security_level >= {floor} (JR/T 0197-2020)"
            )
        if self.personal == "C3":
            # Authentication data (passwords, CVN, biometrics) is never stored (JR/T 0171 §6).
            raise ValueError("C3 authentication data must never be stored")
        if self.pseudonymise and self.multiple:
            raise ValueError("pseudonymised fields cannot be multi-valued")
        return self


class EntityType(BaseModel):
    """An entity, relation or event type: its fields, key and lake table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: EntityKind
    label: Label
    description: str
    table: str
    key: tuple[str, ...]
    # The field that says from when a record is known (events: their date). When absent,
    # a record is known from its batch's as-of date.
    known_from: str | None = None
    # The field holding the region code used to scope access by jurisdiction.
    region_field: str | None = None
    fields: dict[str, FieldSpec]

    @model_validator(mode="after")
    def _consistent(self) -> EntityType:
        for fname, spec in self.fields.items():
            if spec.name and spec.name != fname:
                raise ValueError(f"field {fname!r} declares a different name {spec.name!r}")
            object.__setattr__(spec, "name", fname)
        for k in self.key:
            if k not in self.fields:
                raise ValueError(f"key field {k!r} is not a field of {self.name}")
            if self.fields[k].multiple:
                raise ValueError(f"key field {k!r} cannot be multi-valued")
        for attr in ("known_from", "region_field"):
            ref = getattr(self, attr)
            if ref is not None and ref not in self.fields:
                raise ValueError(f"{attr} {ref!r} is not a field of {self.name}")
        if self.known_from is not None and self.fields[self.known_from].type not in (
            FieldType.DATE,
            FieldType.DATETIME,
        ):
            raise ValueError(f"known_from {self.known_from!r} must be a date or datetime field")
        return self

    @property
    def required_fields(self) -> list[str]:
        """Names of the fields that must be present in every record (keys included)."""
        return [n for n, f in self.fields.items() if f.required or n in self.key]

    def personal_fields(self) -> list[FieldSpec]:
        """The fields holding personal information (JR/T 0171-2020 C1/C2)."""
        return [f for f in self.fields.values() if f.personal is not None]


class Schema(BaseModel):
    """All entity types, by name."""

    model_config = ConfigDict(frozen=True)

    types: dict[str, EntityType]

    def get(self, name: str) -> EntityType:
        """The type called ``name`` (CamelCase type name or snake_case table name)."""
        found = self.types.get(name) or self._by_alias.get(name) or self._by_alias.get(name.lower())
        if found is None:
            raise KeyError(name)
        return found

    @cached_property
    def _by_alias(self) -> dict[str, EntityType]:
        # Pages ask for a type by table name once per record they list: a dict, not a scan.
        aliases: dict[str, EntityType] = {}
        for t in self.types.values():
            aliases.setdefault(t.name.lower(), t)
        for t in self.types.values():
            aliases[t.table] = t  # a table name wins over another type's lower-cased name
        return aliases

    # BaseModel.__iter__ yields (field, value) pairs; a Schema iterates over its types.
    def __iter__(self) -> Iterator[EntityType]:  # type: ignore[override]
        """Iterate over the entity types."""
        return iter(self.types.values())
