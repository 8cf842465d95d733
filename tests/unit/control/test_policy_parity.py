"""The live controller and the simulator hand the SAME policy equivalent states and get the
same decisions: control's pools are the simulator's pools keyed by name, and a job's allowed
pool set replaces "any accelerator"."""

from dataclasses import replace

import pytest

from suanwang.catalog import load_federation
from suanwang.control.views import MIN_POOL_SPEED, build_pools
from suanwang.sched.decisions import Start
from suanwang.sched.registry import POLICIES, get_policy
from suanwang.sched.state import ClusterState, JobView
from suanwang.sim.cluster import from_federation


def _jobs(keys: frozenset[str] | None) -> list[JobView]:
    sizes = [8, 64, 1, 512, 16, 2048, 4, 128, 32, 256]
    return [JobView(job_id=i, user=f"u{i % 3}", tenant=f"t{i % 3}", num_devices=n,
                    submit_s=float(i), estimate_s=600.0 * (i + 1), accelerators=keys,
                    priority=i % 2)
            for i, n in enumerate(sizes)]


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_same_decisions_on_same_state(policy):
    fed = load_federation()
    # the controller floors speeds at MIN_POOL_SPEED (pools the simulator's reference model
    # cannot use, e.g. CPU pools, have speed 0 there since pool speeds come from the planner)
    sim_pools = [replace(p, speed=max(p.speed, MIN_POOL_SPEED))
                 for p in from_federation(fed).pools]
    ctl_pools = build_pools(fed)
    assert [p.name for p in ctl_pools] == [p.name for p in sim_pools]
    assert [replace(p, accelerator=s.accelerator) for p, s in zip(ctl_pools, sim_pools,
                                                                 strict=True)] == sim_pools
    free = [max(0, p.devices - 300) for p in sim_pools]
    sim_state = ClusterState(pools=sim_pools, free=list(free), running={})
    ctl_state = ClusterState(pools=ctl_pools, free=list(free), running={})
    keys = frozenset(p.name for p in ctl_pools)
    sim_dec = get_policy(policy).decide(sim_state, _jobs(None), 100.0)
    ctl_dec = get_policy(policy).decide(ctl_state, _jobs(keys), 100.0)
    assert sim_dec == ctl_dec
    assert any(isinstance(d, Start) for d in sim_dec)


def test_pool_keys_restrict_like_accelerators():
    fed = load_federation()
    pools = build_pools(fed)
    only = frozenset({"wuhan-ai/Ascend-910B"})
    state = ClusterState(pools=pools, free=[p.devices for p in pools], running={})
    job = JobView(job_id=1, user="u", tenant="t", num_devices=8, submit_s=0.0, estimate_s=60.0,
                  accelerators=only)
    (d,) = get_policy("suanwang").decide(state, [job], 1.0)
    assert pools[d.pool].name == "wuhan-ai/Ascend-910B"
