"""Slurm and the runtime's preemption: the script asks Slurm to warn the runtime before the
time limit, and the runtime's exit 75 (final checkpoint committed) is reported PREEMPTED."""

from suanwang.backends.base import AttemptSpec, AttemptState, Handle
from suanwang.backends.slurm import attempt_state, runtime_preempted
from suanwang.backends.slurm_script import render, signal_lead_s
from suanwang.core.federation import SlurmSite


def _attempt(**kw):
    base = dict(key="sw-j7-a2", job_id=7, n=2, kind="training", center="hpc",
                accelerator="H100-SXM", devices=8, nodes=1, walltime_s=3600,
                runtime_config={"train": {"steps": 5}})
    return AttemptSpec(**{**base, **kw})


def _lines(a):
    return render(a, SlurmSite(), attempt_dir="/r/a", run_dir="/r", python="py").splitlines()


def test_training_script_signals_the_steps_ahead_of_the_time_limit():
    assert "#SBATCH --signal=TERM@90" in _lines(_attempt())  # 60 s grace + 30 s margin
    short = _attempt(runtime_config={"run": {"preempt_grace_s": 20}})
    assert signal_lead_s(short) == 50 and "#SBATCH --signal=TERM@50" in _lines(short)
    batch = _attempt(kind="batch", runtime_config=None, command="echo hi")
    assert not [x for x in _lines(batch) if "--signal" in x]


def test_exit_75_of_a_training_attempt_is_preempted():
    train = Handle(backend="slurm", center="hpc", key="k", native_id="1",
                   data={"kind": "training"})
    batch = Handle(backend="slurm", center="hpc", key="k", native_id="1", data={"kind": "batch"})
    failed = attempt_state("FAILED")
    assert runtime_preempted(train, failed, 75)
    assert runtime_preempted(train, attempt_state("TIMEOUT"), 75)
    assert not runtime_preempted(train, failed, 1)
    assert not runtime_preempted(batch, failed, 75)
    assert not runtime_preempted(train, AttemptState.SUCCEEDED, 75)
