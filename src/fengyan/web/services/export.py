"""CSV and Excel files of a list, defused against formula injection.

A spreadsheet runs a cell that begins with ``=``, ``+``, ``-`` or ``@`` (and some read a
leading tab or carriage return the same way) as a formula: a firm name written as
``=HYPERLINK(...)`` in a complaint would become a live link in the analyst's Excel
(OWASP "CSV Injection"). Every text cell beginning with one of those characters gets a
leading apostrophe, which spreadsheets show as text. Numbers stay numbers. The Excel
writer also stores every string as a string (``write_string``), never as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any, Final

import xlsxwriter  # type: ignore[import-untyped]

DANGEROUS_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")


def defuse(value: Any) -> Any:
    """A cell value safe to open in a spreadsheet (text starting like a formula is quoted)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(DANGEROUS_PREFIXES) else text


def to_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """UTF-8 CSV with a byte-order mark (so Excel reads Chinese correctly)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([defuse(h) for h in header])
    for r in rows:
        writer.writerow([defuse(v) for v in r])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(header: Sequence[str], rows: Sequence[Sequence[Any]], sheet: str = "data") -> bytes:
    """An .xlsx workbook with one sheet; strings are written as strings, never formulas."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    ws = book.add_worksheet(sheet[:31])
    bold = book.add_format({"bold": True})
    for c, h in enumerate(header):
        ws.write_string(0, c, str(defuse(h)), bold)
    for r, values in enumerate(rows, start=1):
        for c, v in enumerate(values):
            cell = defuse(v)
            if isinstance(cell, int | float):
                ws.write_number(r, c, cell)
            else:
                ws.write_string(r, c, cell)
    ws.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()
