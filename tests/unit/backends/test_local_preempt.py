"""The local backend's stop path: SIGTERM to the attempt's whole process group, the runtime's
grace before SIGKILL, and the runtime's exit 75 reported as PREEMPTED."""

import json
import time

from suanwang.backends.base import AttemptSpec, AttemptState
from suanwang.backends.local import (
    PREEMPT_MARGIN_S,
    RUNTIME_PREEMPT_GRACE_S,
    LocalBackend,
    stop_grace_s,
)
from suanwang.catalog import load_federation


def _spec(key, **kw):
    base = dict(key=key, job_id=1, n=0, kind="batch", center="local", accelerator="CPU-local",
                devices=1, command="true")
    return AttemptSpec(**{**base, **kw})


def test_cancel_reaches_grandchildren_through_the_process_group(tmp_path):
    """A process the command started in the background traps SIGTERM: it gets the signal
    (before, only the direct child did, and the grandchild outlived the attempt)."""
    b = LocalBackend(load_federation().center("local"), tmp_path)
    cmd = ("sh -c 'trap \"echo got-term > term.txt; exit 0\" TERM; touch up; "
           "while :; do sleep 0.05; done' & wait")
    h = b.submit(_spec("g1", command=cmd))
    state = tmp_path / "attempts" / "g1"
    t0 = time.time()
    while not (state / "up").exists():
        assert time.time() - t0 < 20
        time.sleep(0.05)
    b.cancel(h)
    while not b.poll([h])["g1"].state.terminal:
        assert time.time() - t0 < 20
        time.sleep(0.05)
    assert b.poll([h])["g1"].state is AttemptState.CANCELLED
    for _ in range(100):
        if (state / "term.txt").exists():
            break
        time.sleep(0.05)
    assert (state / "term.txt").read_text() == "got-term\n"


def test_grace_follows_the_runtime_config():
    assert stop_grace_s(_spec("a")) == 0.0  # batch: the keeper's own default
    train = _spec("b", kind="training", command="", runtime_config={"run": {"nproc": 1}})
    assert stop_grace_s(train) == RUNTIME_PREEMPT_GRACE_S + PREEMPT_MARGIN_S
    short = _spec("c", kind="training", command="",
                  runtime_config={"run": {"preempt_grace_s": 5}})
    assert stop_grace_s(short) == 5 + PREEMPT_MARGIN_S


def test_runtime_exit_75_is_preempted_only_for_training(tmp_path):
    ex = {"exit_code": 75, "reason": "cancelled", "ended_at": 10.0}
    st = LocalBackend._exit_status(tmp_path, ex, 1.0, kind="training")
    assert st.state is AttemptState.PREEMPTED and st.exit_code == 75
    assert "final checkpoint" in st.reason
    assert LocalBackend._exit_status(tmp_path, ex, 1.0, kind="batch").state \
        is AttemptState.CANCELLED
    wall = {**ex, "reason": "walltime"}  # the user's bound: not a requeue
    assert LocalBackend._exit_status(tmp_path, wall, 1.0, kind="training").state \
        is AttemptState.FAILED
    crash = {"exit_code": 1, "reason": "", "ended_at": 10.0}
    assert LocalBackend._exit_status(tmp_path, crash, 1.0, kind="training").state \
        is AttemptState.FAILED
    assert json.loads(json.dumps(st.to_json()))["state"] == "PREEMPTED"
