"""Failures under the supervisor: kill -9, crash mid-checkpoint, hang. Resume is bit-identical."""

from __future__ import annotations

import math

from tests.integration.runtime.conftest import run_job, small_job


def test_reference_run_completes(reference):
    s = reference["summary"]
    assert s["ok"] and s["final_step"] == 10 and s["failures"] == 0
    # steps 3, 6, 9 and the final 10; a periodic one is skipped (never two in flight) when the
    # previous one is still being persisted on this loaded machine
    assert s["checkpoints"] + s["ckpt_skipped"] == 4 and s["saved_step"] == 10
    losses = reference["losses"]
    assert losses[10] < losses[1] - 0.5  # it learns


def test_kill9_resume_is_bit_identical(tmp_path, reference):
    # killed before step 9: resumes from the newest checkpoint committed by then (6 unless it
    # was skipped while 3 was still persisting), so the cached-state-dict path (lr refreshed
    # per save) is exercised too
    out = run_job(small_job(tmp_path / "run", faults={"kill_at_step": 8, "kill_rank": 1}))
    s = out["summary"]
    assert s["ok"] and s["failures"] == 1 and s["restarts"] == 1
    failed = next(e["t"] for e in out["events"] if e["event"] == "failure")
    newest = max(e["step"] for e in out["events"]
                 if e["event"] == "ckpt_committed" and e["t"] < failed)
    resumed = [e for e in out["events"] if e["event"] == "resume"]
    assert resumed[0]["step"] == newest in (3, 6)
    assert s["lost_steps"] == 8 - newest  # the steps after it were redone
    assert out["losses"] == reference["losses"]  # exact float equality, every step
    assert out["weights"] is not None and out["weights"] == reference["weights"]  # bit-exact


def test_crash_during_checkpoint_write_keeps_previous(tmp_path, reference):
    # Rank 0's persist process SIGKILLs itself after writing its shard of checkpoint 6, before
    # the commit (sync saves: checkpoint 6 is certainly attempted); the trainers see it fail.
    out = run_job(small_job(tmp_path / "run", checkpoint={"async_save": False},
                            faults={"crash_in_ckpt_step": 6, "kill_rank": 0}))
    s = out["summary"]
    assert s["ok"] and s["failures"] == 1
    assert [e["step"] for e in out["events"] if e["event"] == "resume"] == [3]
    assert out["losses"] == reference["losses"]
    assert out["weights"] == reference["weights"]
    persisted = [(e["attempt"], e["step"]) for e in out["events"] if e["event"] == "ckpt_persisted"]
    assert (0, 3) in persisted and (0, 6) not in persisted  # the crash hit checkpoint 6's write
    assert (1, 6) in persisted  # and attempt 1 wrote (and committed) it again


def test_hang_is_detected_by_heartbeat_with_a_stack_dump(tmp_path, reference):
    # the hung rank sleeps forever: a short heartbeat timeout cannot misfire here
    out = run_job(small_job(tmp_path / "run", run={"heartbeat_timeout_s": 5},
                            faults={"hang_rank": 1, "hang_at_step": 4}))
    s = out["summary"]
    failures = [e for e in out["events"] if e["event"] == "failure"]
    assert s["ok"] and [f["kind"] for f in failures] == ["hang"]
    assert out["losses"] == reference["losses"]
    stack = failures[0]["stack"]  # every live rank's faulthandler dump, rank 1's included
    assert "--- rank 1" in stack and "before_step" in stack and "most recent call first" in stack


def test_gives_up_after_max_restarts(tmp_path):
    # Rank 1 dies after 2 steps of every attempt, before the first checkpoint (step 3): no
    # progress, so one restart is allowed and the second failure ends the run.
    out = run_job(small_job(tmp_path / "run", run={"max_restarts": 1},
                            faults={"kill_after_steps": 2, "kill_rank": 1}))
    assert out["rc"] == 1 and not out["summary"]["ok"]
    assert out["summary"]["failures"] == 2 and out["summary"]["restarts"] == 1


def test_restart_budget_resets_after_a_new_checkpoint(tmp_path, reference):
    # Rank 1 dies after 4 steps of every attempt; each attempt commits a new checkpoint first
    # (sync saves: committed before the kill), so max_restarts 1 still finishes, 2 restarts.
    out = run_job(small_job(tmp_path / "run", run={"max_restarts": 1},
                            checkpoint={"async_save": False},
                            faults={"kill_after_steps": 4, "kill_rank": 1}))
    s = out["summary"]
    assert s["ok"] and s["failures"] == 2 and s["restarts"] == 2, s
    assert [e["step"] for e in out["events"] if e["event"] == "resume"] == [3, 6]
    assert out["losses"] == reference["losses"]


def test_two_threads_per_rank_with_fork_server(tmp_path, reference):
    # GNU OpenMP is not fork-safe: the zygote must stay single-threaded (this used to hang)
    out = run_job(small_job(tmp_path / "run", train={"steps": 4},
                            run={"threads_per_rank": 2, "startup_timeout_s": 20}), timeout_s=60)
    assert out["summary"]["ok"] and out["summary"]["failures"] == 0
    for step in range(1, 5):
        assert math.isclose(out["losses"][step], reference["losses"][step], rel_tol=1e-4)


def test_resume_into_another_model_shape_is_refused(tmp_path):
    ckpt = {"dir": str(tmp_path / "ckpt")}
    first = run_job(small_job(tmp_path / "a", train={"steps": 3}, checkpoint=ckpt))
    assert first["summary"]["ok"]
    out = run_job(small_job(tmp_path / "b", model={"layers": 2}, checkpoint=ckpt), codes=(2,))
    s = out["summary"]
    assert not s["ok"] and s["failures"] == 1 and s["restarts"] == 0  # not retried
    assert "model.layers" in s["config_error"] and "model.layers" in out["stderr"]
    failure = next(e for e in out["events"] if e["event"] == "failure")
    assert failure["kind"] == "config" and failure["rc"] == 2


def test_fsdp2_kill9_resume_tracks_ddp(tmp_path, reference):
    out = run_job(small_job(tmp_path / "run", train={"parallel": "fsdp"},
                            faults={"kill_at_step": 5, "kill_rank": 0}))
    assert out["summary"]["ok"] and out["summary"]["failures"] == 1
    assert next(e for e in out["events"] if e["event"] == "begin")["parallel"] == "fsdp"
    # FSDP2's reduce-scatter rounds differently from DDP's all-reduce: close, not equal.
    for step, ref in reference["losses"].items():
        assert math.isclose(out["losses"][step], ref, rel_tol=1e-4), step


def test_cold_start_launcher_recovers_too(tmp_path, reference):
    # run.fork_server: false starts every rank as a fresh `python -m suanwang.runtime worker`
    out = run_job(small_job(tmp_path / "run", run={"fork_server": False},
                            faults={"kill_at_step": 4, "kill_rank": 0}))
    assert out["summary"]["ok"] and out["summary"]["failures"] == 1
    assert out["losses"] == reference["losses"]
    assert out["weights"] == reference["weights"]
