"""Opening an evidence record (the news item, ad, complaint, judgment, filing) of a firm.

A record is opened through the firm it is evidence for: the firm must be visible to the
reader and the record must be one of the firm's — cited by one of its indicators or on its
timeline. Any other ``<table>/<_id>`` answers 404, so a reader cannot walk the lake by id.
Personal fields are masked for the role; the route records the view in the audit log.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from fengyan.i18n import t
from fengyan.schema import load_schema
from fengyan.web.audit_hook import record_view
from fengyan.web.errors import NotFound
from fengyan.web.masking import mask_record
from fengyan.web.scope import Principal
from fengyan.web.services.firms import FirmRef, visible_firm
from fengyan.web.services.lakecache import LakeCache
from fengyan.web.services.profile import table_label

SYSTEM = ("_id", "_hash", "_batch", "_seq", "_row", "_valid_to")


class RecordField(BaseModel):
    """One field of the record."""

    field: str
    label: str
    value: str | None
    personal: bool


class EvidenceRecord(BaseModel):
    """A lake record shown as evidence."""

    firm: FirmRef
    key: str
    table: str
    table_label: str
    record_id: str
    source: str | None
    known_from: str | None
    fields: list[RecordField]
    personal_shown: bool


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value if v is not None) or None
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def belongs_to(cache: LakeCache, firm_id: str, key: str) -> bool:
    """Whether ``key`` is evidence for, or on the timeline of, the firm."""
    values = cache.index("indicator_value")
    if values is not None and any(key in (r["evidence"] or []) for r in values.rows(firm_id)):
        return True
    records = cache.index("record_key")  # every firm the record is on the timeline of
    return records is not None and any(r["firm_id"] == firm_id for r in records.rows(key))


def evidence_record(
    session: Session,
    cache: LakeCache,
    principal: Principal,
    firm_id: str,
    table: str,
    record_id: str,
    lang: str,
) -> EvidenceRecord:
    """Record ``<table>/<record_id>`` of a visible firm, masked for the role (404 otherwise)."""
    firm = visible_firm(session, cache, principal, firm_id)
    key = f"{table}/{record_id}"
    if len(key) > 300 or not belongs_to(cache, firm_id, key):
        raise NotFound()
    record = cache.lake_record(table, record_id)
    if record is None:
        raise NotFound()
    entity = load_schema().get(table)
    masked = mask_record(principal, entity, record)
    fields, personal = [], False
    for name, spec in entity.fields.items():
        columns = [name] if name in masked else [f"{name}_masked"] if spec.pseudonymise else []
        for column in columns:
            if column not in masked:
                continue
            value = _text(masked[column])
            is_personal = spec.personal is not None
            if value is None and not is_personal:
                continue
            personal = personal or (is_personal and value is not None)
            fields.append(
                RecordField(
                    field=name,
                    label=str(spec.label.en if lang == "en" else spec.label.zh),
                    value=value if value is not None else t("web_hidden", lang),
                    personal=is_personal,
                )
            )
    known = record.get("_valid_from")
    return EvidenceRecord(
        firm=firm,
        key=key,
        table=table,
        table_label=table_label(table, lang),
        record_id=record_id,
        source=record.get("_source"),
        known_from=_text(known),
        fields=fields,
        personal_shown=personal,
    )


def view_evidence_record(
    session: Session,
    cache: LakeCache,
    principal: Principal,
    firm_id: str,
    table: str,
    record_id: str,
    lang: str,
) -> EvidenceRecord:
    """:func:`evidence_record` for display: a view of personal data is recorded and committed."""
    result = evidence_record(session, cache, principal, firm_id, table, record_id, lang)
    if result.personal_shown:
        record_view(session, principal, f"{table}/{record_id}", {"firm": firm_id})
        session.commit()
    return result
