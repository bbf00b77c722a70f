"""One audit writer per database with group commit, for the busiest audited reads.

A profile view that shows personal data must be in the audit log before the page goes out.
Appending it in the request's own transaction makes every such view a commit that queues on
the log's sequence counter (``audit_head``, locked until commit): at 50 concurrent readers
the requests spent most of their time waiting for each other's commits. Here each request
hands its entry to the process's writer for that database and waits; the writer takes
whatever has queued meanwhile and appends it with one counter bump and one commit
(:func:`fengyan.audit.log.append_many`) — DESIGN.md's "one writer with group commit". The
request still returns only after its entry is committed, and a failed write fails the
request, so no view goes unrecorded.

Per process: with several ``fengyan serve`` workers each has its own writer; the sequence
numbers still come from the database counter, so the log stays one gap-free chain.
The thread exits after ``IDLE_SECONDS`` without work and starts again on the next entry.

The writer has its own engine (one connection) on the same database: request threads
waiting for it hold pool connections, and a writer drawing from the same pool could wait
for them forever.
"""

from __future__ import annotations

import logging
import queue
import threading
import weakref
from concurrent.futures import Future

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from fengyan.audit.log import AuditItem, append_many
from fengyan.db.engine import make_engine
from fengyan.web.perengine import PerEngine

log = logging.getLogger("fengyan.web")

MAX_BATCH = 500
IDLE_SECONDS = 5.0
WAIT_SECONDS = 60.0


class GroupCommitWriter:
    """Appends queued entries to the audit log of ``engine``, many per transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = weakref.ref(engine)
        self._own: Engine | None = None
        self._conn: Connection | None = None
        self._queue: queue.SimpleQueue[tuple[AuditItem, Future[int]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.batches = 0  # transactions committed (tests and the benchmark read it)
        self.entries = 0

    def submit(self, item: AuditItem) -> Future[int]:
        """Queue ``item``; the future gives its sequence number once committed."""
        done: Future[int] = Future()
        self._queue.put((item, done))
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="fengyan-audit-writer", daemon=True
                )
                self._thread.start()
        return done

    def write(self, item: AuditItem, timeout: float = WAIT_SECONDS) -> int:
        """Queue ``item`` and wait until it is committed; its sequence number."""
        return self.submit(item).result(timeout)

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    # Anything queued after the timeout is taken by this thread still;
                    # otherwise stop and let the next submit start a new one.
                    if self._queue.empty():
                        self._thread = None
                        self._close()
                        return
                continue
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._commit(batch)

    def _writer_engine(self) -> Engine | None:
        if self._own is not None:
            return self._own
        engine = self._engine()
        if engine is None:
            return None
        if engine.url.database in (None, "", ":memory:"):
            return engine  # a private in-memory database: only this engine sees it
        self._own = make_engine(engine.url.render_as_string(hide_password=False))
        return self._own

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._own is not None:
            self._own.dispose()
            self._own = None

    def _commit(self, batch: list[tuple[AuditItem, Future[int]]], retry: bool = True) -> None:
        engine = self._writer_engine()
        if engine is None:
            for _item, done in batch:
                done.set_exception(RuntimeError("the database engine is gone"))
            return
        try:
            # One connection for the writer's life: no pool checkout (and ping) per batch.
            if self._conn is None or self._conn.closed or self._conn.invalidated:
                self._conn = engine.connect()
            with self._conn.begin():
                last = append_many(self._conn, [item for item, _ in batch])
        except Exception as exc:  # one bad entry must not lose the others: one by one
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if retry and isinstance(exc, DBAPIError) and exc.connection_invalidated:
                # The database went away (a PostgreSQL restart): once more, on a new
                # connection (the engine's pre-ping checks it).
                self._commit(batch, retry=False)
                return
            if len(batch) > 1:
                for one in batch:
                    self._commit([one], retry=False)
                return
            log.exception("audit entry could not be written")
            batch[0][1].set_exception(exc)
            return
        self.batches += 1
        self.entries += len(batch)
        first = last - len(batch) + 1
        for offset, (_item, done) in enumerate(batch):
            done.set_result(first + offset)


#: The process's writer for an engine (``audit_writer(engine)``).
audit_writer: PerEngine[GroupCommitWriter] = PerEngine(GroupCommitWriter)
