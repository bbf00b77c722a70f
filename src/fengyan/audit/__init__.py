"""The tamper-evident audit log (RFC 6962 Merkle tree, Ed25519-signed checkpoints).

Every other part records its state changes, decisions, logins, permission changes and
views or exports of personal data with :func:`append`, inside its own transaction::

    from fengyan.audit import append

    with Session(engine) as session, session.begin():
        ...  # the change itself
        append(session, actor="li.na", action="case.transition", target="case/2026-0007",
               detail={"from": "核查中", "to": "研判"})

Action names are data (``audit/actions.yaml``). Read docs/audit.md for the format, the
hashing, checkpoints, keys, ``fengyan audit verify`` and operations.
"""

from fengyan.audit.catalogue import Action, get_action, load_actions
from fengyan.audit.checkpoint import Checkpoint
from fengyan.audit.config import AuditSettings
from fengyan.audit.errors import AuditError, Finding
from fengyan.audit.log import (
    AuditEntry,
    AuditItem,
    ConsistencyProof,
    InclusionProof,
    append,
    append_many,
    consistency_proof,
    get_entry,
    inclusion_proof,
    search,
    tree_size,
)
from fengyan.audit.verify import VerifyReport, create_checkpoint, verify_log

__all__ = [
    "Action",
    "AuditEntry",
    "AuditError",
    "AuditItem",
    "AuditSettings",
    "Checkpoint",
    "ConsistencyProof",
    "Finding",
    "InclusionProof",
    "VerifyReport",
    "append",
    "append_many",
    "consistency_proof",
    "create_checkpoint",
    "get_action",
    "get_entry",
    "inclusion_proof",
    "load_actions",
    "search",
    "tree_size",
    "verify_log",
]
