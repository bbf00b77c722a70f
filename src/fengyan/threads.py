"""A second thread for work that overlaps the caller's, or none (``concurrent: false``).

Resolution and the graph overlap independent steps on the two cores (docs/graph.md,
"Two threads where steps are independent"); their settings' ``concurrent`` switch turns
that off, and the same code then runs each task at once, in the calling thread.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class InlineExecutor(Executor):
    """An executor that runs each task at once, in the calling thread."""

    def submit(self, fn: Callable[..., T], /, *args: object, **kwargs: object) -> Future[T]:
        """``fn(*args, **kwargs)`` now; its result (or exception) in a done future."""
        done: Future[T] = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except Exception as exc:  # handed to the caller by result(), as a thread would
            done.set_exception(exc)
        return done


def second_thread(concurrent: bool, name: str) -> Executor:
    """One worker thread for a task that overlaps the caller's own work, or — without
    ``concurrent`` — an executor that runs the task at once (less memory at a time)."""
    if concurrent:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
    return InlineExecutor()
