"""Resume on a different world size: 2 ranks -> 1 rank -> 2 ranks over one checkpoint dir."""

from __future__ import annotations

import math

from tests.integration.runtime.conftest import run_job, small_job


def test_resume_2_to_1_to_2(tmp_path, reference):
    ckpt = str(tmp_path / "ckpt")
    legs = [(2, 4), (1, 7), (2, 10)]
    losses: dict[int, float] = {}
    for i, (nproc, steps) in enumerate(legs):
        out = run_job(small_job(tmp_path / f"leg{i}", checkpoint={"dir": ckpt},
                                run={"nproc": nproc, "until_step": steps}))
        assert out["summary"]["ok"]
        begin = next(e for e in out["events"] if e["event"] in ("begin", "resume"))
        assert begin["world"] == nproc
        assert begin["step"] == (0 if i == 0 else legs[i - 1][1])
        losses.update(out["losses"])
    assert sorted(losses) == list(range(1, 11))
    # Same samples, same math; only the reduction order differs (1 vs 2 ranks).
    for step, ref in reference["losses"].items():
        assert math.isclose(losses[step], ref, rel_tol=1e-4), (step, losses[step], ref)
