"""The live controller's job views: a running job's ``restarts`` counts the attempts before its
current one (so never-interrupted runs are ``restarts == 0``, as in the simulator, which the
overdue guard and victim choice rely on)."""

from __future__ import annotations

from datetime import UTC

from suanwang.control.views import JobInfo, ViewCache
from suanwang.sched.state import JobView


def _cache_with(next_n: int) -> ViewCache:
    cache = ViewCache(fed=None)
    view = JobView(job_id=7, user="t", tenant="t", num_devices=8, submit_s=0.0,
                   estimate_s=3600.0, restarts=next_n)
    cache._info[7] = JobInfo(job_id=7, tenant="t", kind="training", plan={}, view=view,
                             next_n=next_n, progress=0.0, failures=0)
    return cache


def test_first_attempt_running_has_no_restarts():
    cache = _cache_with(next_n=1)  # attempt 0 is the latest: it is the one running
    assert cache.queued_view(7).restarts == 1
    assert cache.running_view(7).restarts == 0


def test_third_attempt_running_counts_the_two_before():
    assert _cache_with(next_n=3).running_view(7).restarts == 2


def test_unknown_job_has_no_view():
    assert ViewCache(fed=None).running_view(99) is None


def _job(kind: str):
    from datetime import datetime
    from types import SimpleNamespace

    plan = {"pools": {"c/H100": {"checkpoint_interval_s": 1800.0}}, "estimate_s": 3600.0,
            "devices": 8}
    return SimpleNamespace(id=3, tenant_id=1, kind=kind, plan=plan, spec={}, priority=0,
                           created_at=datetime(2026, 1, 1, tzinfo=UTC))


def test_training_jobs_checkpoint_on_preemption_batch_jobs_do_not():
    """A training job's view carries the runtime's final-checkpoint bound (it commits one on
    SIGTERM within its grace), so a preemption costs it a save; a batch command does not."""
    cache = ViewCache(fed=None)
    cache._tenants = {1: "t"}
    training = cache._make(_job("training"), None).view
    batch = cache._make(_job("batch"), None).view
    assert training.preempt_save_s == 60.0 and training.checkpoint_interval_s == 1800.0
    assert batch.preempt_save_s is None
