"""Lead transfer (线索移交): to the police or another region, inside or outside Fengyan.

* Inside this deployment (``internal=True``, a region): the receiving region gets a case
  of its own at once (source ``lead``), linked both ways.
* Outside it (the police, another city's system, a region without Fengyan): a signed
  package (:mod:`fengyan.workflow.package`) is built at transfer time, stored under its
  SHA-256 and handed out by :func:`export_lead_package`; the receiver checks it with
  :func:`~fengyan.workflow.package.verify_package` (``fengyan cases verify-lead``) and, if
  it runs Fengyan, opens a case from it with :func:`do_import_lead`.

The receipt (回执) and the feedback (反馈) are recorded on the lead; feedback may carry an
outcome label (a police case), written with the date it became known.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengyan.audit.keys import export_public_key, key_id, load_key, load_keyring
from fengyan.clock import now
from fengyan.db.cases import Case, CaseAttachment, CaseEvent, CaseLead
from fengyan.settings import Settings
from fengyan.standards.regions import significant_prefix
from fengyan.web.errors import NotFound
from fengyan.web.scope import Principal, in_scope
from fengyan.workflow.access import (
    check_scope_code,
    compatible,
    require,
    require_visible,
    require_worker,
)
from fengyan.workflow.attachments import AttachmentStore
from fengyan.workflow.audit import record
from fengyan.workflow.core import (
    ActionResult,
    dumps,
    idempotent,
    load_for_change,
    loads,
    target,
    touch,
    write_event,
)
from fengyan.workflow.errors import LeadPackageError, invalid
from fengyan.workflow.machine import load_machine
from fengyan.workflow.opening import add_new_case, new_case_values
from fengyan.workflow.outcomes import _known_at, add_outcome
from fengyan.workflow.package import build_package, verify_package

KINDS: Final = ("police", "region")
EvidenceLoader = Callable[[Sequence[str]], Mapping[str, Any]]


@dataclass(frozen=True)
class LeadKeys:
    """The signing key for outgoing packages and the keyring trusted for incoming ones.

    - ``FENGYAN_LEAD_KEY`` (default ``$FENGYAN_HOME/leads/signing.key``): Ed25519 private
      key, created with mode 0600 on first use (same handling as the audit key);
    - ``FENGYAN_LEAD_TRUSTED`` (default ``$FENGYAN_HOME/leads/trusted``): a folder whose
      ``keys/<key id>.pub`` are the senders whose packages we accept;
    - ``FENGYAN_LEAD_ORIGIN`` (default ``fengyan``): this deployment's name in packages.
    """

    key_path: Path
    trusted_dir: Path
    origin: str

    @classmethod
    def from_settings(
        cls, settings: Settings, environ: Mapping[str, str] | None = None
    ) -> LeadKeys:
        """Read the lead key settings from the environment, defaulting under the home."""
        env = os.environ if environ is None else environ
        base = settings.home / "leads"
        return cls(
            Path(env.get("FENGYAN_LEAD_KEY") or base / "signing.key").resolve(),
            Path(env.get("FENGYAN_LEAD_TRUSTED") or base / "trusted").resolve(),
            env.get("FENGYAN_LEAD_ORIGIN") or "fengyan",
        )

    def signing_key(self) -> Ed25519PrivateKey:
        """The private key (created on first use)."""
        return load_key(self.key_path, create=True)

    def trusted(self) -> dict[str, Ed25519PublicKey]:
        """Key id → trusted public key."""
        return load_keyring(self.trusted_dir)[0]

    def export_public(self, folder: Path) -> Path:
        """Write our public key as ``folder/keys/<key id>.pub`` (to send to partners)."""
        return export_public_key(self.signing_key().public_key(), folder)


def lake_evidence_loader(lake: Any) -> EvidenceLoader:
    """Evidence records from the lake by key (``<table>/<_id>``), for lead packages."""

    def load(keys: Sequence[str]) -> dict[str, Any]:
        by_table: dict[str, list[str]] = {}
        for key in keys:
            table, _, rid = key.partition("/")
            if table and rid:
                by_table.setdefault(table, []).append(rid)
        found: dict[str, Any] = {}
        tables = set(lake.tables())
        con = lake.connect()
        try:
            for table, ids in by_table.items():
                if table not in tables:
                    continue
                rows = (
                    con.execute(
                        # The table name is one of the lake's own tables (checked above).
                        f'SELECT * FROM "{table}" WHERE _id IN (SELECT unnest(?))',  # noqa: S608
                        [ids],
                    )
                    .fetch_arrow_table()
                    .to_pylist()
                )
                for row in rows:
                    found[f"{table}/{row['_id']}"] = row
        finally:
            con.close()
        return found

    return load


def _case_document(session: Session, case: Case) -> dict[str, Any]:
    events = session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    ).all()
    files = session.scalars(
        select(CaseAttachment).where(CaseAttachment.case_id == case.id).order_by(CaseAttachment.id)
    ).all()
    return {
        "uid": case.uid,
        "firm_id": case.firm_id,
        "firm_name": case.firm_name,
        "credit_code": case.credit_code,
        "region_code": case.region_code,
        "category": case.category,
        "grade": case.grade,
        "model": case.model,
        "score": case.score,
        "state": case.state,
        "mode": case.mode,
        "disposal": case.disposal,
        "determination": case.determination,
        "opened_at": case.opened_at.isoformat(),
        "source": case.source,
        "fields": loads(case.fields),
        "checklist": loads(case.checklist),
        "evidence": loads(case.evidence),
        "timeline": [
            {
                "at": e.at.isoformat(),
                "actor": e.actor,
                "kind": e.kind,
                "from": e.from_state,
                "to": e.to_state,
                "detail": loads(e.detail),
            }
            for e in events
        ],
        "attachments": [
            {
                "sha256": a.sha256,
                "size": a.size,
                "media_type": a.media_type,
                "file_name": a.file_name,
                "uploaded_by": a.uploaded_by,
                "uploaded_at": a.uploaded_at.isoformat(),
            }
            for a in files
        ],
    }


def _package(
    session: Session,
    actor: Principal,
    case: Case,
    lead: CaseLead,
    store: AttachmentStore,
    keys: LeadKeys,
    evidence_loader: EvidenceLoader | None,
) -> bytes:
    document = _case_document(session, case)
    wanted = document["evidence"].get("evidence_keys", [])
    records = dict(evidence_loader(wanted)) if evidence_loader and wanted else {}
    files = {
        "case.json": json.dumps(
            document, ensure_ascii=False, indent=1, sort_keys=True, default=str
        ).encode(),
        "evidence.json": json.dumps(
            records, ensure_ascii=False, indent=1, sort_keys=True, default=str
        ).encode(),
    }
    for a in document["attachments"]:
        files[f"attachments/{a['sha256']}"] = store.get(a["sha256"])
    meta = {
        "lead": {
            "uid": lead.uid,
            "kind": lead.kind,
            "target_region": lead.target_region,
            "target_agency": lead.target_agency,
            "note": lead.note,
            "sent_at": lead.sent_at.isoformat(),
        },
        "case_uid": case.uid,
        "origin": keys.origin,
        "sender": {"user": actor.username, "scope": actor.scope},
        "evidence_missing": sorted(set(wanted) - set(records)),
    }
    return build_package(meta, files, keys.signing_key(), lead.sent_at)


def do_transfer_lead(
    session: Session,
    actor: Principal,
    case_id: int,
    *,
    kind: str,
    target_region: str | None = None,
    target_agency: str | None = None,
    internal: bool = False,
    note: str | None = None,
    store: AttachmentStore | None = None,
    keys: LeadKeys | None = None,
    evidence_loader: EvidenceLoader | None = None,
    expected_version: int | None = None,
    idempotency_key: str | None = None,
) -> ActionResult:
    """Hand a case's lead to the police (``kind="police"``) or another region.

    ``internal`` (regions only): the region is served by this deployment; a case is opened
    for it. Otherwise ``store`` and ``keys`` are needed: the signed package is built now,
    frozen under its SHA-256 (``detail["package_sha256"]``) and fetched with
    :func:`export_lead_package`.
    """
    machine = load_machine()
    require(machine, actor, "transfer_lead")
    if kind not in KINDS:
        raise invalid("workflow_bad_lead_kind", value=kind, allowed=", ".join(KINDS))
    region = check_scope_code(target_region, "target_region") if target_region else None
    if kind == "region" and region is None:
        raise invalid("workflow_missing_field", field="target_region")
    if kind == "police" and not (target_agency or "").strip():
        raise invalid("workflow_missing_field", field="target_agency")
    if internal and kind != "region":
        raise invalid("workflow_internal_police")
    if not internal and (store is None or keys is None):
        raise invalid("workflow_lead_needs_keys")
    request = dict(
        case_id=case_id,
        kind=kind,
        target_region=region,
        target_agency=target_agency,
        internal=internal,
        note=note,
        expected_version=expected_version,
    )

    def apply() -> ActionResult:
        case = load_for_change(session, actor, case_id, expected_version)
        require_worker(actor, case)
        if machine.states[case.state].final:
            raise invalid("workflow_case_closed", case_id=case_id)
        if kind == "region" and region is not None and compatible(region, case.region_code):
            raise invalid("workflow_lead_same_region", region=region, case_region=case.region_code)
        moment = now()
        lead = CaseLead(
            uid=uuid.uuid4().hex,
            case_id=case.id,
            direction="out",
            kind=kind,
            target_region=region,
            target_agency=(target_agency or "").strip() or None,
            internal=internal,
            note=note,
            status="sent",
            sent_at=moment,
            sent_by=actor.username,
        )
        session.add(lead)
        touch(case, moment)
        session.flush()
        detail: dict[str, Any] = {
            "lead_id": lead.id,
            "lead_uid": lead.uid,
            "kind": kind,
            "target_region": region,
            "target_agency": lead.target_agency,
            "internal": internal,
            "note": note,
        }
        if internal:
            assert region is not None
            peer = _open_peer_case(session, actor, case, lead, region, moment)
            lead.peer_case_id = peer
            detail["peer_case_id"] = peer
        else:
            assert store is not None and keys is not None
            package = _package(session, actor, case, lead, store, keys, evidence_loader)
            lead.package_sha256 = store.put_blob(package)
            lead.key_id = key_id(keys.signing_key().public_key())
            detail.update(package_sha256=lead.package_sha256, key_id=lead.key_id)
        return write_event(
            session, actor, case, "lead_transfer", "lead.transfer", detail, moment=moment
        )

    return idempotent(session, actor, idempotency_key, "transfer_lead", request, apply)


def _open_peer_case(
    session: Session, actor: Principal, case: Case, lead: CaseLead, region: str, moment: datetime
) -> int:
    """The receiving region's own case for an internal transfer."""
    values = new_case_values(
        load_machine(),
        moment,
        actor.username,
        source="lead",
        source_ref=f"lead/{lead.uid}",
        firm_id=case.firm_id,
        firm_name=case.firm_name,
        credit_code=case.credit_code,
        region=region,
        category=case.category,
        grade=case.grade,
        model=case.model,
        score=case.score,
        evidence=case.evidence,
        holder=region,
    )
    peer = add_new_case(session, values, actor.username)
    session.add(
        CaseLead(
            uid=uuid.uuid4().hex,
            case_id=peer.id,
            direction="in",
            kind="region",
            target_region=region,
            internal=True,
            peer_case_id=case.id,
            peer_case_uid=case.uid,
            origin="internal",
            note=lead.note,
            status="received",
            sent_at=moment,
            sent_by=actor.username,
            receipt_at=moment,
        )
    )
    write_event(
        session,
        actor,
        peer,
        "open",
        "case.open",
        {
            "source": "lead",
            "source_ref": f"lead/{lead.uid}",
            "from_case": case.id,
            "region": region,
        },
        to_state=peer.state,
        moment=moment,
    )
    return peer.id


def _load_lead(session: Session, actor: Principal, lead_id: int) -> tuple[CaseLead, Case]:
    lead = session.get(CaseLead, lead_id)
    if lead is None:
        raise NotFound("workflow_lead_not_found", lead_id=lead_id)
    try:
        case = require_visible(actor, session.get(Case, lead.case_id), lead.case_id)
    except NotFound:
        raise NotFound("workflow_lead_not_found", lead_id=lead_id) from None
    return lead, case


def export_lead_package(
    session: Session, actor: Principal, lead_id: int, store: AttachmentStore
) -> bytes:
    """The signed package of an outgoing lead, as built at transfer (audited as an export)."""
    require(load_machine(), actor, "transfer_lead")
    lead, case = _load_lead(session, actor, lead_id)
    if lead.direction != "out" or lead.package_sha256 is None:
        raise invalid("workflow_lead_no_package", lead_id=lead_id)
    data = store.get(lead.package_sha256)
    record(
        session,
        actor.username,
        "personal.export",
        target(case.id),
        {"lead_uid": lead.uid, "package_sha256": lead.package_sha256},
    )
    return data


def do_record_lead_receipt(
    session: Session,
    actor: Principal,
    lead_id: int,
    *,
    receipt_ref: str | None = None,
    received_at: datetime | None = None,
    idempotency_key: str | None = None,
) -> ActionResult:
    """Record that the receiver acknowledged the lead (回执), with its reference."""
    require(load_machine(), actor, "transfer_lead")
    request = dict(lead_id=lead_id, receipt_ref=receipt_ref, received_at=received_at)

    def apply() -> ActionResult:
        lead, case = _load_lead(session, actor, lead_id)
        if lead.direction != "out" or lead.status != "sent":
            raise invalid("workflow_lead_state", lead_id=lead_id, status=lead.status)
        lead.status, lead.receipt_at, lead.receipt_ref = (
            "received",
            _known_at(received_at),
            receipt_ref,
        )
        detail = {
            "lead_id": lead.id,
            "lead_uid": lead.uid,
            "receipt_ref": receipt_ref,
            "received_at": lead.receipt_at.isoformat(),
        }
        return write_event(session, actor, case, "lead_receipt", "lead.receipt", detail)

    return idempotent(session, actor, idempotency_key, "lead_receipt", request, apply)


def do_record_lead_feedback(
    session: Session,
    actor: Principal,
    lead_id: int,
    *,
    feedback: str,
    outcome: str | None = None,
    known_at: datetime | None = None,
    idempotency_key: str | None = None,
) -> ActionResult:
    """Record what the receiver did with the lead (反馈); an ``outcome`` becomes a label."""
    require(load_machine(), actor, "transfer_lead")
    if not feedback.strip():
        raise invalid("workflow_missing_field", field="feedback")
    request = dict(lead_id=lead_id, feedback=feedback, outcome=outcome, known_at=known_at)

    def apply() -> ActionResult:
        lead, case = _load_lead(session, actor, lead_id)
        if lead.direction != "out" or lead.status not in ("sent", "received"):
            raise invalid("workflow_lead_state", lead_id=lead_id, status=lead.status)
        when = _known_at(known_at)
        lead.status, lead.feedback_at = "answered", when
        lead.feedback, lead.feedback_outcome = feedback.strip(), outcome
        if lead.receipt_at is None:
            lead.receipt_at = when
        detail = {
            "lead_id": lead.id,
            "lead_uid": lead.uid,
            "feedback": lead.feedback,
            "outcome": outcome,
            "known_at": when.isoformat(),
        }
        result = write_event(session, actor, case, "lead_feedback", "lead.feedback", detail)
        if outcome is not None:
            add_outcome(session, actor, case, outcome, when, "lead_feedback", lead.feedback)
        return result

    return idempotent(session, actor, idempotency_key, "lead_feedback", request, apply)


def do_import_lead(
    session: Session,
    actor: Principal,
    data: bytes,
    trusted: Mapping[str, Ed25519PublicKey],
    store: AttachmentStore,
    *,
    region_code: str | None = None,
    idempotency_key: str | None = None,
) -> ActionResult:
    """Open a case from a lead package another deployment sent us (after verifying it).

    The case lies in ``region_code`` (default: the package's target region, else the
    actor's scope), which must be inside the actor's scope. Attachments are re-checked
    and stored; the sender's origin, case uid and package hash are kept on the lead.
    """
    machine = load_machine()
    require(machine, actor, "open")
    report = verify_package(data, trusted)
    if not report.ok:
        raise LeadPackageError("workflow_lead_rejected", problems="; ".join(report.messages()))
    lead_meta = report.manifest.get("lead") or {}
    document = json.loads(report.files["case.json"])
    region = significant_prefix(region_code or lead_meta.get("target_region") or actor.scope)
    if region is None or not in_scope(actor, region):
        raise NotFound("workflow_firm_not_found", firm_id=document.get("firm_id"))
    request = {"package_sha256": report.sha256, "region": region}

    def apply() -> ActionResult:
        uid = str(lead_meta.get("uid") or "")
        if not uid or session.scalar(select(CaseLead.id).where(CaseLead.uid == uid)):
            raise invalid("workflow_lead_already_imported", lead_uid=uid)
        moment = now()
        values = new_case_values(
            machine,
            moment,
            actor.username,
            source="lead",
            source_ref=f"lead/{uid}",
            firm_id=str(document["firm_id"]),
            firm_name=document.get("firm_name"),
            credit_code=document.get("credit_code"),
            region=region,
            category=document.get("category"),
            grade=document.get("grade"),
            model=document.get("model"),
            score=document.get("score"),
            evidence=dumps(
                {
                    **(document.get("evidence") or {}),
                    "received_from": report.manifest.get("origin"),
                    "records": json.loads(report.files.get("evidence.json", b"{}")),
                }
            ),
            holder=actor.scope,
        )
        case = add_new_case(session, values, actor.username)
        for a in document.get("attachments", []):
            content = report.files.get(f"attachments/{a['sha256']}")
            if content is None:
                continue
            stored = store.put(content)
            session.add(
                CaseAttachment(
                    case_id=case.id,
                    sha256=stored.sha256,
                    size=stored.size,
                    media_type=stored.media_type,
                    file_name=str(a.get("file_name") or "file")[:200],
                    uploaded_by=actor.username,
                    uploaded_at=moment,
                )
            )
        session.add(
            CaseLead(
                uid=uid,
                case_id=case.id,
                direction="in",
                kind=str(lead_meta.get("kind")),
                target_region=region,
                target_agency=lead_meta.get("target_agency"),
                internal=False,
                origin=str(report.manifest.get("origin")),
                peer_case_uid=report.manifest.get("case_uid"),
                package_sha256=report.sha256,
                key_id=report.key_id,
                note=lead_meta.get("note"),
                status="received",
                sent_at=datetime.fromisoformat(lead_meta["sent_at"]),
                sent_by=str((report.manifest.get("sender") or {}).get("user")),
                receipt_at=moment,
            )
        )
        detail = {
            "source": "lead",
            "lead_uid": uid,
            "origin": report.manifest.get("origin"),
            "package_sha256": report.sha256,
            "key_id": report.key_id,
            "region": region,
        }
        return write_event(
            session, actor, case, "open", "case.open", detail, to_state=case.state, moment=moment
        )

    return idempotent(session, actor, idempotency_key, "import_lead", request, apply)
