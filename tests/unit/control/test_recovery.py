import pytest

from suanwang.backends.base import AttemptState as A
from suanwang.control.recovery import RetryPolicy, decide
from suanwang.core.errors import ConfigError

POOLS = ("local/CPU-local", "shanghai-ai/H800", "wuhan-ai/Ascend-910B")


def _d(policy=RetryPolicy(), **kw):
    args = {"kind": "training", "state": A.NODE_FAIL, "exit_code": None, "reason": "",
            "cancel_requested": False, "preempted": False, "failures_before": 0,
            "center": "shanghai-ai", "plan_pools": POOLS}
    args.update(kw)
    return decide(policy, **args)


def test_node_fail_retries_on_same_center():
    out = _d()
    assert (out.job_state, out.pools, out.counts) == ("RETRYING", ("shanghai-ai/H800",), True)


def test_failover_excludes_failed_center():
    out = _d(RetryPolicy(mode="failover"))
    assert out.pools == ("local/CPU-local", "wuhan-ai/Ascend-910B")


def test_max_attempts_then_failed():
    assert _d(failures_before=2).job_state == "FAILED"
    assert _d(failures_before=1).job_state == "RETRYING"


def test_batch_exit_code_is_final_and_config_error_too():
    assert _d(kind="batch", state=A.FAILED, exit_code=7).reason == "exit code 7"
    assert _d(state=A.FAILED, exit_code=2).job_state == "FAILED"
    assert _d(state=A.FAILED, exit_code=1).job_state == "RETRYING"


def test_preemption_and_cancel():
    pre = _d(state=A.CANCELLED, preempted=True, failures_before=5)
    assert (pre.job_state, pre.counts) == ("RETRYING", False)
    assert _d(state=A.CANCELLED).job_state == "CANCELLED"
    assert _d(state=A.NODE_FAIL, cancel_requested=True).job_state == "CANCELLED"
    assert _d(state=A.SUCCEEDED, cancel_requested=True).job_state == "SUCCEEDED"


def test_bad_policy_names_field():
    with pytest.raises(ConfigError, match="retry"):
        RetryPolicy(mode="sometimes")
