"""Term tests over a column of distinct texts with one Aho-Corasick automaton (Arrow in/out).

The plan's term steps (``Step.terms``) say "for each distinct text, which lists hit (0/1)
and how many distinct terms of each list it contains"; an engine adapter may compute them
with the step's SQL (regex + ``strpos``) or hand the texts to :func:`term_hits`, which gives
the same numbers much faster: all lists' terms go into one automaton (ahocorasick-rs, bytes
mode, overlapping matches) that scans the UTF-8 buffer of a whole Arrow string array at
once; match offsets map back to rows with numpy. No Python loop over the rows.

A match that runs across the boundary of two neighbouring texts in the buffer is dropped,
so each text is searched on its own. UTF-8 is self-synchronising: a term's bytes found in a
text's bytes are that term's characters found in the text.
"""

from __future__ import annotations

from collections.abc import Sequence

import ahocorasick_rs
import numpy as np
import pyarrow as pa

from fengyan.arrays import distinct
from fengyan.indicators.plan import TEXT_COLUMN, TermTest


class TermMatcher:
    """The automaton of a term step's tests (built once, applied to batch after batch)."""

    def __init__(self, tests: Sequence[TermTest]) -> None:
        self.tests = list(tests)
        patterns = sorted({t for test in self.tests for t in test.terms})
        index = {t: i for i, t in enumerate(patterns)}
        self.automaton = ahocorasick_rs.BytesAhoCorasick(
            [p.encode() for p in patterns], matchkind=ahocorasick_rs.MATCHKIND_STANDARD
        )
        self.n_patterns = len(patterns)
        # Per test: which patterns belong to its list.
        self.member = []
        for test in self.tests:
            mask = np.zeros(len(patterns), dtype=bool)
            mask[[index[t] for t in test.terms]] = True
            self.member.append(mask)

    def hits(self, texts: pa.Array | pa.ChunkedArray) -> pa.Table:
        """``texts`` (strings; NULLs allowed) with one int32 column per test."""
        if isinstance(texts, pa.ChunkedArray):
            texts = texts.combine_chunks() if texts.num_chunks else pa.array([], pa.string())
        if texts.type != pa.string():
            texts = texts.cast(pa.string())
        n = len(texts)
        columns: dict[str, pa.Array] = {TEXT_COLUMN: texts}
        row, pattern = self._matches(texts)
        for test, mask in zip(self.tests, self.member, strict=True):
            keep = mask[pattern]
            r, p = row[keep], pattern[keep]
            if test.count:
                # Distinct (row, pattern) pairs, counted per row.
                pairs = distinct(r.astype(np.int64) * self.n_patterns + p)
                out = np.bincount(pairs // self.n_patterns, minlength=n)
            else:
                out = (np.bincount(r, minlength=n) > 0).astype(np.int32)
            columns[test.column] = pa.array(out.astype(np.int32), pa.int32())
        return pa.table(columns)

    def _matches(self, texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """(row, pattern index) of every match that lies inside one text."""
        n = len(texts)
        if n == 0 or self.n_patterns == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        # A NULL's bytes are empty: offsets[i] == offsets[i + 1]; nothing can match in it.
        offsets_buf, data_buf = texts.buffers()[1], texts.buffers()[2]
        offsets = np.frombuffer(offsets_buf, dtype=np.int32)[texts.offset : texts.offset + n + 1]
        if data_buf is None or offsets[-1] == offsets[0]:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        haystack = memoryview(data_buf).cast("B")[offsets[0] : offsets[-1]]
        found = self.automaton.find_matches_as_indexes(haystack, overlapping=True)
        if not found:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        m = np.asarray(found, dtype=np.int64)
        starts = m[:, 1] + offsets[0]
        ends = m[:, 2] + offsets[0]
        # The row whose bytes hold the match's first and last byte.
        first = np.searchsorted(offsets, starts, side="right") - 1
        last = np.searchsorted(offsets, ends - 1, side="right") - 1
        inside = first == last
        return first[inside], m[inside, 0]


def term_hits(texts: pa.Array | pa.ChunkedArray, tests: Sequence[TermTest]) -> pa.Table:
    """Convenience: :meth:`TermMatcher.hits` with a new automaton."""
    return TermMatcher(tests).hits(texts)
