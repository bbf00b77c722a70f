"""The one source of "now", so that runs can be made reproducible.

When ``SOURCE_DATE_EPOCH`` (the reproducible-builds convention) is set, every timestamp
Fengyan writes uses it; tests use this to compare a resumed run with a clean one byte
for byte.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta, timezone

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


def now() -> datetime:
    """The current time in UTC (or ``SOURCE_DATE_EPOCH`` when set)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.fromtimestamp(int(epoch), tz=UTC)
    return datetime.now(tz=UTC)


def today_china() -> date:
    """Today's date in China (UTC+8), which is what "a date in the future" is judged by."""
    return now().astimezone(CHINA_TZ).date()
