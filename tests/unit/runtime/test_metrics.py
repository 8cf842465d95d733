from __future__ import annotations

import pytest

from suanwang.runtime.metrics import EventLog, loss_curve, read_events, summarize


def _step(t, attempt, step, dt=1.0, loss=1.0):
    return {"t": t, "event": "step", "attempt": attempt, "step": step, "step_time_s": dt,
            "loss": loss, "tokens_per_s": 100.0}


def test_ettr_lost_work_and_recovery_from_a_timeline():
    ev = [{"t": 0.0, "event": "start", "attempt": 0}]
    ev += [_step(1.0 + i, 0, i + 1) for i in range(5)]          # steps 1..5 at t=1..5
    ev += [{"t": 5.2, "event": "ckpt_persisted", "attempt": 0, "step": 4},
           {"t": 5.5, "event": "fault", "attempt": 0, "kind": "kill", "rank": 1},
           {"t": 5.6, "event": "failure", "attempt": 0, "kind": "killed", "rank": 1},
           {"t": 5.7, "event": "restart", "attempt": 1}]
    ev += [_step(7.0 + i, 1, 5 + i, loss=0.5) for i in range(3)]  # resumed from 4: 5..7
    ev += [{"t": 10.0, "event": "end", "attempt": 1, "ok": True}]
    s = summarize(ev)
    assert s["steps"] == 7 and s["lost_steps"] == 1 and s["failures"] == 1
    assert s["restarts"] == 1 and s["checkpoints"] == 1
    assert s["ettr"] == pytest.approx(7 / 10)
    assert s["recovery_s"] == [pytest.approx(1.5)]  # from the injected kill at 5.5
    assert loss_curve(ev)[5] == 0.5  # the completion that counted


def test_event_log_appends_jsonl(tmp_path):
    log = EventLog(tmp_path / "e.jsonl", attempt=2, source="t")
    log.emit("start", x=1)
    log.close()
    (tmp_path / "e.jsonl").open("a").write('{"torn": ')  # a killed writer's half line
    ev = read_events(tmp_path / "e.jsonl")
    assert len(ev) == 1 and ev[0]["attempt"] == 2 and ev[0]["x"] == 1
