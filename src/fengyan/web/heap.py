"""Keep Python's cyclic garbage collector off the long-lived part of a server worker's heap.

A worker holds hundreds of thousands of long-lived container objects: the imported modules,
the policy and indicator specs, the lake copy's Python side, the i18n catalogues. Every
full (generation 2) collection walks all of them; under load that stopped a worker for
80–330 ms several times in ten seconds — most of the pages' p95 (docs/web.md, "Speed").
:func:`settle` collects once and then moves everything alive into the permanent generation
(:func:`gc.freeze`), so later collections walk only what was allocated afterwards. It is
called when a server worker has built its app and after each lake-copy build, and makes
full collections rarer (:data:`THRESHOLDS`); objects frozen and later
dropped are freed by reference counting as usual (only reference cycles among them stay
until the process ends — a lake copy per published run at most).
"""

from __future__ import annotations

import gc

# Young-generation collections every 10,000 net allocations instead of 700, and a full one
# after 100 of the middle generation's instead of 10: a request allocates thousands of
# short-lived objects that reference counting frees anyway.
THRESHOLDS = (10_000, 10, 100)


_SERVING = [False]


def serving() -> None:
    """Mark this process as a server worker (``fengyan serve``) and settle its heap now.

    Only then does :func:`settle` act: a process that creates and drops many apps (the test
    suite) would otherwise keep every frozen app whose objects form reference cycles.
    """
    _SERVING[0] = True
    settle()


def settle() -> None:
    """Collect what is garbage now, then exempt every surviving object from future scans
    (in a server worker only: :func:`serving`)."""
    if not _SERVING[0]:
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
