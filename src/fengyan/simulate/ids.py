"""Record ids in each source's own style, assigned after sorting records by time.

Articles ``XW20240502000123``, ads ``GG…``, complaint work orders ``12345-20240502-000123``,
job posts ``ZP…``, court documents ``WS…`` (one id per document, shared by its parties),
enforcement ``ZX…`` and 失信 listings ``SX…``.
"""

from __future__ import annotations

import numpy as np

from fengyan.simulate.core import STR

# type: (id field, date field, prefix, separator)
_STYLE = {
    "Article": ("article_id", "published_at", "XW", ""),
    "Advertisement": ("ad_id", "published_at", "GG", ""),
    "Complaint": ("complaint_id", "received_at", "12345-", "-"),
    "RecruitmentPost": ("post_id", "posted_at", "ZP", ""),
    "Judgment": ("judgment_id", "judgment_date", "WS", ""),
    "Enforcement": ("enforcement_id", "filing_date", "ZX", ""),
    "DishonestDebtor": ("dishonest_id", "publish_date", "SX", ""),
}


def assign_ids(kind: str, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Sort ``columns`` by date (stable) and fill the type's id field."""
    if kind not in _STYLE or not columns:
        return columns
    id_field, date_field, prefix, sep = _STYLE[kind]
    dates = np.asarray([str(v) for v in columns[date_field]], dtype=STR)
    order = np.argsort(dates, kind="stable")
    out = {k: v[order] for k, v in columns.items()}
    day = [str(v)[:10].replace("-", "") for v in out[date_field]]
    if kind == "Judgment":  # parties of one document share its id
        cases = out["_case"]
        seen: dict[str, str] = {}
        ids = []
        for d, case in zip(day, cases.tolist(), strict=True):
            if case not in seen:
                seen[case] = f"{prefix}{d}{len(seen) + 1:07d}"
            ids.append(seen[case])
    else:
        ids = [f"{prefix}{d}{sep}{i + 1:07d}" for i, d in enumerate(day)]
    out[id_field] = np.asarray(ids, dtype=object)
    return out
