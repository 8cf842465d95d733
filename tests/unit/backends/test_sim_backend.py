"""The simulated center: virtual clock, deterministic failures, capacity, runtime-style events."""

import pytest

from suanwang.backends.base import AttemptSpec, AttemptState
from suanwang.catalog import load_federation
from suanwang.sim.backend import SimBackend


def _spec(key, **kw):
    base = {"key": key, "job_id": 1, "n": 0, "kind": "training", "center": "shanghai-ai",
            "accelerator": "H800", "devices": 64, "nodes": 8, "predicted_run_s": 3600.0,
            "checkpoint_interval_s": 600.0}
    base.update(kw)
    return AttemptSpec(**base)


def test_runs_speedup_times_faster_and_meters_virtual_time():
    now = [1000.0]
    b = SimBackend(load_federation().center("shanghai-ai"), speedup=60, clock=lambda: now[0])
    h = b.submit(_spec("a"))
    assert b.submit(_spec("a")) is h
    assert b.capacity()[0].free_devices == 2048 - 64
    now[0] += 30
    assert b.poll([h])["a"].state is AttemptState.RUNNING
    now[0] += 31
    st = b.poll([h])["a"]
    assert st.state is AttemptState.SUCCEEDED and st.ended_at == 1060.0
    assert b.usage(h).device_seconds == 64 * 3600.0
    ev, cur = b.events(h, 0)
    assert [e["event"] for e in ev] == ["start"] + ["ckpt_persisted"] * 6 + ["end"]
    assert ev[-2]["progress"] == 1.0 and b.events(h, cur) == ([], cur)
    assert b.capacity()[0].free_devices == 2048


def test_injected_failure_keeps_checkpointed_progress():
    now = [0.0]
    b = SimBackend(load_federation().center("shanghai-ai"), speedup=60, clock=lambda: now[0])
    h = b.submit(_spec("f", fail_after_s=25.0, progress=0.5))  # 1500 virtual s
    now[0] = 26.0
    assert b.poll([h])["f"].state is AttemptState.NODE_FAIL
    ev, _ = b.events(h, 0)
    ck = [e["progress"] for e in ev if e["event"] == "ckpt_persisted"]
    assert ck == [0.5 + 0.5 * 600 / 3600, 0.5 + 0.5 * 1200 / 3600]


@pytest.mark.parametrize("kind", ["training", "batch"])
def test_a_preempted_training_attempt_saves_where_it_stopped(kind):
    """A cancel (the controller's preemption) of a training attempt ends it PREEMPTED with a
    final checkpoint at the stop, as the runtime's SIGTERM handler does (exit 75); a batch
    attempt ends CANCELLED with its periodic checkpoints only."""
    now = [0.0]
    b = SimBackend(load_federation().center("shanghai-ai"), speedup=60, clock=lambda: now[0])
    h = b.submit(_spec("p", progress=0.5, kind=kind))
    now[0] = 25.0  # 1500 virtual s: periodic checkpoints at 600 and 1200
    b.cancel(h)
    now[0] = 30.0
    st = b.poll([h])["p"]
    ev, _ = b.events(h, 0)
    ck = [e["progress"] for e in ev if e["event"] == "ckpt_persisted"]
    periodic = [0.5 + 0.5 * 600 / 3600, 0.5 + 0.5 * 1200 / 3600]
    if kind == "training":
        assert (st.state, st.exit_code) == (AttemptState.PREEMPTED, 75)
        assert ck == pytest.approx([*periodic, 0.5 + 0.5 * 1500 / 3600])
    else:
        assert st.state is AttemptState.CANCELLED
        assert ck == pytest.approx(periodic)
    assert ev[-1]["event"] == "end" and ev[-1]["t"] == 25.0


def test_a_cancel_after_a_failure_adds_no_checkpoint():
    """The cancel reaches an attempt that already failed (the controller cancels after its
    poll in the same tick): it stays NODE_FAIL and keeps its periodic checkpoints only."""
    now = [0.0]
    b = SimBackend(load_federation().center("shanghai-ai"), speedup=60, clock=lambda: now[0])
    h = b.submit(_spec("f", fail_after_s=25.0, progress=0.5))
    now[0] = 27.0
    b.cancel(h)
    now[0] = 28.0
    assert b.poll([h])["f"].state is AttemptState.NODE_FAIL
    ev, _ = b.events(h, 0)
    ck = [e["progress"] for e in ev if e["event"] == "ckpt_persisted"]
    assert ck == pytest.approx([0.5 + 0.5 * 600 / 3600, 0.5 + 0.5 * 1200 / 3600])


def test_failure_draw_is_a_function_of_the_key():
    fed = load_federation()
    ends = []
    for _ in range(2):
        b = SimBackend(fed.center("wuhan-ai"), speedup=1, failures=True, clock=lambda: 0.0)
        h = b.submit(_spec("same", center="wuhan-ai", accelerator="Ascend-910B", devices=2048,
                           nodes=256, predicted_run_s=1e7))
        ends.append((h.data["end"], h.data["outcome"]))
    assert ends[0] == ends[1] and ends[0][1] == "NODE_FAIL"
