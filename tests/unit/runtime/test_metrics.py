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


def test_net_and_gross_ettr_and_counts_come_from_the_events():
    ev = [{"t": 0.0, "event": "start", "attempt": 0}]
    ev += [_step(1.0 + i, 0, i + 1) for i in range(4)]
    ev[2]["ckpt_stall_s"] = 0.5  # step 2 carried a checkpoint stall: not a clean step
    ev[2]["step_time_s"] = 1.5
    ev += [{"t": 4.1 + i / 10, "event": "ckpt_committed", "attempt": 0, "step": s}
           for i, s in enumerate((2, 4))]
    ev += [{"t": 6.0, "event": "end", "attempt": 0, "ok": True, "state": "SUCCEEDED"}]
    s = summarize(ev)
    assert s["checkpoints"] == 2 and s["saved_step"] == 4 and s["state"] == "SUCCEEDED"
    assert s["clean_step_s"] == 1.0
    assert s["ettr"] == pytest.approx(4 * 1.0 / 6, abs=1e-4)  # clean step x steps kept / wall
    assert s["ettr_gross"] == pytest.approx(4.5 / 6, abs=1e-4)  # summed step times / wall


def test_resume_past_the_end_reports_where_the_model_stands():
    # issue #16 item 7: a resumed run that had nothing left to train reported final_step 0
    ev = [{"t": 0.0, "event": "start", "attempt": 0, "previous_step": 110},
          {"t": 1.0, "event": "resume", "attempt": 0, "step": 110},
          {"t": 1.1, "event": "finish", "attempt": 0, "step": 110},
          {"t": 1.2, "event": "end", "attempt": 0, "ok": True, "state": "SUCCEEDED"}]
    s = summarize(ev)
    assert s["final_step"] == 110 and s["resumed_from"] == 110 and s["lost_steps"] == 0


def test_steps_lost_before_a_resume_count_across_invocations():
    # the earlier invocation reached step 12; this one resumed from the checkpoint at 10
    ev = [{"t": 0.0, "event": "start", "attempt": 0, "previous_step": 12},
          {"t": 1.0, "event": "resume", "attempt": 0, "step": 10},
          _step(2.0, 0, 11), _step(3.0, 0, 12),
          {"t": 3.5, "event": "end", "attempt": 0, "ok": True, "state": "SUCCEEDED"}]
    assert summarize(ev)["lost_steps"] == 2


def test_config_error_state_and_reason():
    ev = [{"t": 0.0, "event": "start", "attempt": 0},
          {"t": 1.0, "event": "failure", "attempt": 0, "kind": "config", "rank": 0},
          {"t": 1.1, "event": "end", "attempt": 0, "ok": False, "state": "CONFIG_ERROR",
           "reason": "train.seed changed"}]
    s = summarize(ev)
    assert s["state"] == "CONFIG_ERROR" and s["config_error"] == "train.seed changed"
    assert s["restarts"] == 0 and not s["ok"]
