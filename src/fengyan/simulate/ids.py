"""Record ids in each source's own style, assigned after sorting records by time.

Articles ``XW20240502000123``, ads ``GG…``, complaint work orders ``12345-20240502-000123``,
job posts ``ZP…``, court documents ``WS…`` (one id per document, shared by its parties),
enforcement ``ZX…`` and 失信 listings ``SX…``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fengyan.simulate.records import TEXT, Column, Reordered, Source, digits_text, join, text

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


def assign_ids(kind: str, source: Source) -> Source:
    """``source`` sorted by date (stable), with the type's id field filled."""
    if kind not in _STYLE or not len(source):
        return source
    id_field, date_field, prefix, sep = _STYLE[kind]
    every = np.arange(len(source))
    dates = _text(source.take(every, [date_field])[date_field])
    order = pc.sort_indices(dates).to_numpy()  # a stable sort
    day = pc.replace_substring(pc.utf8_slice_codeunits(dates.take(pa.array(order)), 0, 10), "-", "")
    if kind == "Judgment":  # parties of one document share its id
        cases = _text(source.take(order, ["_case"])["_case"]).dictionary_encode()
        code = cases.indices.to_numpy()  # cases numbered in order of first appearance
        first = np.full(len(cases.dictionary), len(order), dtype=np.int64)
        np.minimum.at(first, code, np.arange(len(order)))
        day = day.take(pa.array(first[code]))
        seq = code + 1
    else:
        seq = np.arange(1, len(order) + 1)
    number = pc.utf8_lpad(digits_text(seq), width=7, padding="0")
    ids = join(prefix, day, sep, number)
    return Reordered(source, order, {id_field: ids})


def _text(values: Column) -> pa.Array:
    """Values as strings, as ``str()`` gives them."""
    if isinstance(values, pa.Array):
        return text(values)
    return pa.array([str(v) for v in values.tolist()], type=TEXT)
