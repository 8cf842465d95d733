"""Group commit for submissions: one writer thread turns many concurrent POST /jobs into one
transaction.

Each submission is queued with a Future; the writer takes whatever is waiting (up to
``max_batch``), inserts all of it in one write transaction (``store.jobs.create_jobs``), commits
once and resolves every Future. Under load this divides the number of write-lock acquisitions
and commits by the batch size (SQLite serialises writers; its busy handler sleeps in steps of
up to 100 ms, which is what blows up tail latency when many threads contend), and it costs
nothing when idle: a lone request is committed as soon as it arrives. The classic group commit
of database logs (e.g. PostgreSQL's commit_delay, MySQL's binlog group commit).
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("suanwang.api")


@dataclass
class Submission:
    tenant_id: int
    spec: dict
    client_key: str | None
    future: Future


class SubmitBatcher:
    """A writer thread committing queued submissions in batches; results are JSON strings of
    ``JobPublic`` plus whether the job was created (False: same Idempotency-Key as before)."""

    def __init__(self, write: sessionmaker[Session], *, max_batch: int = 256) -> None:
        self.write = write
        self.max_batch = max_batch
        self.queue: queue.Queue[Submission | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="suanwang-submit", daemon=True)
        self.thread.start()

    def submit(self, tenant_id: int, spec: dict, client_key: str | None) -> Future:
        fut: Future = Future()
        self.queue.put(Submission(tenant_id, spec, client_key, fut))
        return fut

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self.queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self.queue.put(None)
                    break
                batch.append(item)
            try:
                self._commit(batch)
            except Exception as exc:  # the process boundary of the writer thread
                log.exception("submission batch of %d failed", len(batch))
                for sub in batch:
                    if not sub.future.done():
                        sub.future.set_exception(exc)

    def _commit(self, batch: list[Submission]) -> None:
        keyed = [s for s in batch if s.client_key is not None]
        plain = [s for s in batch if s.client_key is None]
        if plain:
            self._insert_many(plain)
        for sub in keyed:  # rare: one at a time, so a duplicate key fails alone
            self._insert_one(sub)

    def _insert_many(self, subs: list[Submission]) -> None:
        from suanwang.api.schemas.jobs import JobPublic
        from suanwang.store.jobs import create_jobs

        with self.write() as s:
            jobs = create_jobs(s, [(x.tenant_id, x.spec) for x in subs])
            s.commit()
            out = [JobPublic.model_validate(j).model_dump_json() for j in jobs]
        for sub, body in zip(subs, out, strict=True):
            sub.future.set_result((body, True))

    def _insert_one(self, sub: Submission) -> None:
        from suanwang.api.schemas.jobs import JobPublic
        from suanwang.store.jobs import by_client_key, create_job

        with self.write() as s:
            old = by_client_key(s, sub.tenant_id, sub.client_key)
            if old is not None:
                sub.future.set_result((JobPublic.model_validate(old).model_dump_json(), False))
                return
            try:
                job = create_job(s, tenant_id=sub.tenant_id, spec=sub.spec,
                                 client_key=sub.client_key)
                s.commit()
                created = True
            except IntegrityError:  # another worker process inserted the same key first
                s.rollback()
                job, created = by_client_key(s, sub.tenant_id, sub.client_key), False
            sub.future.set_result((JobPublic.model_validate(job).model_dump_json(), created))
