"""One object per database engine and process: the audit writer, the public index.

A worker keeps such objects as long as the engine lives (a weak reference: an app made in a
test and dropped takes its objects with it); creating one is guarded by a lock, so two
threads asking at once get the same object.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy import Engine

T = TypeVar("T")


class PerEngine(Generic[T]):
    """``factory(engine)`` made once per engine, kept while the engine lives."""

    def __init__(self, factory: Callable[[Engine], T]) -> None:
        self._factory = factory
        self._made: weakref.WeakKeyDictionary[Engine, T] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def __call__(self, engine: Engine) -> T:
        with self._lock:
            made = self._made.get(engine)
            if made is None:
                made = self._made[engine] = self._factory(engine)
            return made
