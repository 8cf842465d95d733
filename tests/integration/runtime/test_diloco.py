"""DiLoCo and sync DDP across centers, run for real under the supervisor (2 ranks, gloo)."""

from __future__ import annotations

import pytest

from tests.integration.runtime.conftest import run_job, small_job

# 2 centers x 2 ranks: gradients all-reduced inside each center, leaders over the WAN
SYNC = {"mode": "diloco", "centers": [0, 0, 1, 1], "outer_every_steps": 4, "outer_lr": 0.7,
        "outer_momentum": 0.9}
RUN = {"nproc": 4}


def _job(path, **sections):
    return small_job(path, sync={**SYNC, **sections.pop("sync", {})},
                     run={**RUN, **sections.pop("run", {})}, **sections)


@pytest.fixture(scope="module")
def diloco_ref(tmp_path_factory) -> dict:
    return run_job(_job(tmp_path_factory.mktemp("dl") / "run"))


def test_diloco_runs_and_syncs_every_h_steps(diloco_ref):
    assert diloco_ref["summary"]["ok"]
    steps = [e for e in diloco_ref["events"] if e["event"] == "step"]
    outer = [e["step"] for e in steps if e.get("window_loss") is not None]
    assert outer == [4, 8, 10]  # every H = 4 steps, and the last step merges the replicas
    assert all(steps[i]["wan_bytes"] == 0 for i in range(len(steps)) if steps[i]["step"]
               not in outer)
    assert all(e["wan_bytes"] > 0 for e in steps if e["step"] in outer)


def test_diloco_resume_mid_window_is_bit_identical(tmp_path, diloco_ref):
    """Stop at step 6 (2 inner steps after an outer step, momentum non-zero), resume to 10:
    same weights, outer anchor and momentum as the uninterrupted run."""
    job = _job(tmp_path / "run", run={"until_step": 6}, checkpoint={"every_steps": 0})
    first = run_job(job)
    assert first["summary"]["final_step"] == 6
    job["run"]["until_step"] = 0
    second = run_job(job)
    assert second["weights"] == diloco_ref["weights"]
    assert second["losses"][10] == diloco_ref["losses"][10]


def test_diloco_bf16_deltas_halve_wan_bytes(tmp_path, diloco_ref):
    run = run_job(_job(tmp_path / "run", sync={"outer_bf16": True}, train={"steps": 4}))
    sent = [e["wan_bytes"] for e in run["events"] if e["event"] == "step" and e["wan_bytes"]]
    fp32 = [e["wan_bytes"] for e in diloco_ref["events"] if e["event"] == "step"
            and e["wan_bytes"]]
    # bf16 deltas + the 3 control floats in a message of their own
    assert sent[0] == pytest.approx(fp32[0] / 2 + 6, rel=1e-6)


def test_sync_ddp_across_centers_tracks_single_center_ddp(tmp_path, reference):
    """Gradients averaged over the cross-center path equal DDP's average (up to fp32 order):
    the same job as the runtime's reference run, with its two ranks in two centers."""
    xc = run_job(small_job(tmp_path / "xc", sync={"mode": "ddp", "centers": [0, 1]}))
    assert xc["summary"]["ok"]
    for step in range(1, 11):
        assert xc["losses"][step] == pytest.approx(reference["losses"][step], rel=1e-4)
