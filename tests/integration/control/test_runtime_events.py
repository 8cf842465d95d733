"""The controller reads the reworked runtime's event log: the events are written with the
runtime's own EventLog (names and fields as in docs/runtime.md), read through the real local
backend, and ingested into the store: steps -> metrics (with stragglers), one checkpoint per
committed step, and preemption, checkpoint fallback/damage, rollback and stragglers -> job
events. A second read ingests nothing twice."""

import time
from pathlib import Path

from suanwang.backends.base import Handle
from suanwang.control.finish import AttemptInfo, ingest_events
from suanwang.core.jobspec import load_job_spec, spec_to_dict
from suanwang.runtime.metrics import EventLog
from suanwang.store import jobs as repo
from suanwang.store.models import Attempt

ROOT = Path(__file__).resolve().parents[3]


def _runtime_log(run_dir: Path) -> None:
    sup = EventLog(run_dir / "events.jsonl", attempt=0, source="supervisor")
    rank = EventLog(run_dir / "events.jsonl", attempt=0, source="rank0")
    persist = EventLog(run_dir / "events.jsonl", attempt=0, source="persist0")
    sup.emit("start", world=2, run_dir=str(run_dir), pid=1, previous_step=None, token="x")
    rank.emit("ckpt_damaged", step=20, path="ckpt/step_00000020", reason="size mismatch",
              moved_to="ckpt/damaged_step_00000020")
    rank.emit("ckpt_fallback", step=10, path="ckpt/step_00000010", skipped=[20])
    rank.emit("resume", step=10, world=2, counts=[2, 2])
    for step in (11, 12):
        rank.emit("step", step=step, loss=5.0, step_time_s=0.2, tokens_per_s=100.0, mfu=0.01,
                  lr=1e-3, ckpt_stall_s=0.0, rank_mb_s=[0.05, 0.2], stragglers=[1])
    rank.emit("straggler", step=12, rank=1, ratio=4.0, s_per_micro_batch=[0.05, 0.2], window=2)
    persist.emit("ckpt_persisted", step=12, bytes_rank0=10, persist_s=0.1)
    persist.emit("ckpt_committed", step=12, path="ckpt/step_00000012", bytes=10, files=3)
    sup.emit("rollback", attempt=1, rollbacks=1, to_step=12)
    sup.emit("preempt_signal", signal="SIGTERM", at=time.time(), grace_s=60.0)
    rank.emit("step", step=13, loss=4.9, step_time_s=0.2, tokens_per_s=100.0, mfu=0.01,
              lr=1e-3, ckpt_stall_s=0.0, rank_mb_s=[0.05, 0.05], stragglers=[])
    persist.emit("ckpt_persisted", step=13, bytes_rank0=10, persist_s=0.1)
    persist.emit("ckpt_committed", step=13, path="ckpt/step_00000013", bytes=10, files=3)
    rank.emit("preempted", step=13, signal="SIGTERM", ranks=[0, 1], committed=13)
    sup.emit("end", ok=False, state="PREEMPTED", reason="SIGTERM", rc=75)


def test_reworked_runtime_events_become_metrics_and_job_events(platform):
    p = platform
    spec = spec_to_dict(load_job_spec(ROOT / "examples/jobs/tiny-local.yaml"))
    run_dir = p.dir / "runs" / "job-x"
    with p.write() as s:
        jid = repo.create_job(s, tenant_id=p.tenant, spec=spec).id
        s.add(Attempt(job_id=jid, n=0, center="local", backend="local",
                      accelerator="CPU-local", devices=2, state="RUNNING", detail={}))
        s.commit()
        aid = repo.attempts(s, jid)[0].id
    _runtime_log(run_dir)
    backend = p.ctl.centers.backends["local"]
    h = Handle(backend="local", center="local", key="k", native_id="0",
               data={"kind": "training", "run_dir": str(run_dir), "started_at": 0.0})
    a = AttemptInfo(id=aid, job_id=jid, n=0, center="local", handle=h, detail={})
    with p.write() as s:
        assert ingest_events(s, backend, a, total_steps=60, job_state="RUNNING")
        assert not ingest_events(s, backend, a, total_steps=60, job_state="RUNNING")
        s.commit()
    with p.read() as s:
        events = repo.events(s, jid)
        metrics = repo.metrics(s, jid)
        att = repo.attempts(s, jid)[0]
    by = {}
    for e in events:
        by.setdefault(e.reason, []).append(e.detail)
    assert [d["step"] for d in by["checkpoint"]] == [12, 13]  # persisted+committed = one each
    assert by["checkpoint_fallback"] == [{"step": 10, "skipped": [20], "attempt": 0,
                                          "center": "local", "runtime_attempt": 0}]
    assert by["checkpoint_damaged"][0]["reason"] == "size mismatch"
    assert by["straggler"][0]["rank"] == 1 and by["straggler"][0]["ratio"] == 4.0
    assert by["runtime_rollback"][0]["to_step"] == 12
    assert by["runtime_preempt_signal"][0]["grace_s"] == 60.0
    assert by["runtime_preempted"][0]["committed"] == 13
    notes = [e for e in events if e.from_state is not None]
    assert notes and all(e.from_state == e.to_state == "RUNNING" for e in notes)
    assert [m.step for m in metrics] == [11, 12, 13]
    assert metrics[0].detail["stragglers"] == [1] and metrics[2].detail["stragglers"] == []
    assert att.detail["stragglers"] == [1] and att.detail["ckpt_step"] == 13
    assert att.detail["checkpoints"] == 2 and abs(att.detail["progress"] - 13 / 60) < 1e-9
