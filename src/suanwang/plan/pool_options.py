"""Options beside a pooled data-parallel plan (``plan/pooled.py``): DiLoCo when the parts sit in
several centers, and a heterogeneous pipeline with one stage per part; which wins and why.

* Cross-center sync (``plan/crosscenter.py``): the pooled plan's compute step with the gradient
  sync over the WAN every step (sync DDP) or the parameter deltas every ``H`` steps (DiLoCo).
* Pipeline (``plan/hetero_pipeline.py``): the parts, in the order given, are the stages. Part
  ``i``'s speed is taken from its own best plan in the pooled split: ``tau_i`` = its step time
  per sequence of the whole model (``step_time_s / batch_seqs``), so one layer costs
  ``tau_i / L`` per sequence there. A stage holds at most ``devices * hbm_bytes / (16 bytes *
  params per layer)`` layers (mixed-precision Adam keeps 16 bytes per parameter: Rajbhandari et
  al. 2020, ZeRO, Section 3.1; activations are not counted); a micro-batch holds at least as many
sequences as any part's data-parallel degree. Consecutive stages exchange
  ``seq_len * hidden * 2`` bytes (bf16) per sequence each way over their link: the WAN link
  between centers, or the smaller part's aggregate NIC bandwidth inside one center.

An alternative is named the winner only when it beats the DP split's tokens/s by more than 5%.
"""

from __future__ import annotations

from suanwang.core.errors import InfeasibleError
from suanwang.core.federation import Federation
from suanwang.core.model import ModelSpec
from suanwang.plan.crosscenter import plan_sync
from suanwang.plan.hetero_pipeline import LayerCosts, StageDevice, plan_pipeline
from suanwang.plan.pooled import GRAD_BYTES_PER_PARAM, Part, PooledPlan, _link

STATE_BYTES_PER_PARAM = 16.0  # fp16 weights + grads, fp32 master + Adam moments (ZeRO, 3.1)
INTRA_CENTER_LATENCY_S = 10e-6
MARGIN = 1.05


def _hop(fed: Federation, a: Part, b: Part) -> tuple[float, float]:
    """(bytes/s, latency s) of the link from part ``a`` to part ``b``."""
    if a.center == b.center:
        pa, pb = fed.center(a.center).pool(a.accelerator), fed.center(b.center).pool(b.accelerator)
        bits = min(a.devices * pa.inter_node_bits_per_s_per_device,
                   b.devices * pb.inter_node_bits_per_s_per_device)
        return bits / 8, INTRA_CENTER_LATENCY_S
    link = fed.link(a.center, b.center)
    if link is None:
        raise InfeasibleError(f"no link between {a.center} and {b.center}")
    return link.bits_per_s / 8, link.latency_s


def pipeline_option(fed: Federation, model: ModelSpec, plan: PooledPlan) -> dict:
    """The parts as pipeline stages (module doc); its plan, tokens/s and vs the DP split."""
    parts = [pp.part for pp in plan.parts]
    stages = []
    for i, pp in enumerate(plan.parts):
        acc = fed.center(pp.part.center).pool(pp.part.accelerator).accelerator
        bw, lat = _hop(fed, parts[i], parts[i + 1]) if i + 1 < len(parts) else (float("inf"),
                                                                               0.0)
        stages.append(StageDevice(name=pp.part.label, speed=pp.batch_seqs / pp.plan.step_time_s,
                                  memory_bytes=pp.part.devices * acc.hbm_bytes,
                                  link_bytes_per_s=bw, link_latency_s=lat))
    costs = LayerCosts(layers=model.layers, layer_s=1.0 / model.layers,
                       bytes_per_layer=STATE_BYTES_PER_PARAM * model.params_per_layer,
                       activation_bytes_per_seq=plan.seq_len * model.hidden * 2.0)
    try:
        pipe = plan_pipeline(stages, costs, global_batch_seqs=plan.global_batch_seqs,
                             min_micro_batch_seqs=max(pp.plan.parallelism.dp
                                                      for pp in plan.parts))
    except InfeasibleError as exc:
        return {"feasible": False, "why": str(exc)}
    tps = plan.global_batch_seqs * plan.seq_len / pipe.step_time_s
    return {"feasible": True, **pipe.to_dict(), "tokens_per_s": tps,
            "stages": [s.name for s in stages]}


def crosscenter_option(fed: Federation, model: ModelSpec, plan: PooledPlan, *,
                       outer_every_steps: int) -> dict:
    """Sync DDP vs DiLoCo over the pooled plan's slowest link (parts in >= 2 centers)."""
    centers = len({pp.part.center for pp in plan.parts})
    bits, latency = _link(fed, tuple(pp.part for pp in plan.parts))
    xc = plan_sync(params=model.params, compute_s=plan.step_time_s - plan.sync_s,
                   tokens_per_step=plan.global_batch_seqs * plan.seq_len, centers=centers,
                   link_bits_per_s=bits, latency_s=latency, outer_every_steps=outer_every_steps,
                   grad_bytes_per_param=GRAD_BYTES_PER_PARAM, delta_bytes_per_param=4.0)
    return xc.to_dict()


def pool_options(fed: Federation, model: ModelSpec, plan: PooledPlan, *,
                 outer_every_steps: int = 20) -> dict:
    """Every option beside the DP split, and a verdict: the highest tokens/s and why."""
    out: dict = {"pipeline": pipeline_option(fed, model, plan)}
    rates = {"data-parallel split": plan.tokens_per_s}
    if out["pipeline"]["feasible"]:
        rates["pipeline"] = out["pipeline"]["tokens_per_s"]
    if len({pp.part.center for pp in plan.parts}) > 1:
        out["crosscenter"] = crosscenter_option(fed, model, plan,
                                               outer_every_steps=outer_every_steps)
        rates["DiLoCo"] = out["crosscenter"]["diloco"]["tokens_per_s"]
    best = max(rates, key=lambda k: rates[k])
    # an alternative must beat the DP split by more than the model's own error to be worth it
    winner = best if rates[best] > MARGIN * plan.tokens_per_s else "data-parallel split"
    out["rates"] = rates
    out["winner"] = winner
    out["why"] = _why(winner, plan, out)
    return out


def _why(winner: str, plan: PooledPlan, out: dict) -> str:
    sync_share = plan.sync_s / plan.step_time_s
    pipe = out["pipeline"]
    bubble = (f"the pipeline idles {pipe['bubble_fraction']:.0%} of its step in fill/drain "
              f"with {pipe['micro_batches']} micro-batches" if pipe["feasible"]
              else f"the pipeline does not fit ({pipe['why']})")
    if winner == "DiLoCo":
        return (f"the gradient sync is {sync_share:.0%} of the DP step; DiLoCo sends deltas "
                f"once every {out['crosscenter']['outer_every_steps']} steps (mind the "
                "convergence caveat)")
    if winner == "pipeline":
        return (f"the DP split spends {sync_share:.0%} of its step syncing gradients over the "
                f"link, while stages only pass activations; {bubble}")
    return (f"gradient sync is {sync_share:.0%} of the DP step and no alternative is more "
            f"than {MARGIN - 1:.0%} faster; {bubble}")
