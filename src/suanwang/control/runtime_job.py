"""The runtime job document (``python -m suanwang.runtime run JOB.json``) for a training spec.

Only inline models run for real (the runtime trains byte-level GPTs of the given dimensions); a
catalog preset such as ``llama3-70b`` can be scheduled on simulated centers but not on ``local``.
Steps = ``runtime.steps``, else tokens / (global_batch x seq_len). The global batch of
``global_batch`` sequences is ``global_micro_batches`` x ``micro_batch_seqs`` (defaults: 4
sequences per micro-batch). ``checkpoint.interval_s`` is the plan's failure-aware interval for the
chosen center unless the spec fixes it; the runtime keeps checkpointing every ``every_steps`` too.
"""

from __future__ import annotations

from typing import Any

from suanwang.core.errors import ConfigError
from suanwang.core.jobspec import InlineModel, TrainingSpec


def total_steps(spec: TrainingSpec) -> int:
    """Optimizer steps of the run (>= 1)."""
    rt = spec.runtime
    if rt is not None and rt.steps:
        return rt.steps
    seq = spec.seq_len or (spec.model.seq_len if isinstance(spec.model, InlineModel) else 2048)
    return max(1, int(spec.tokens // (spec.global_batch * seq)))


def runtime_config(spec: TrainingSpec, *, devices: int, checkpoint_interval_s: float
                   ) -> dict[str, Any]:
    """The runtime's job dict (sections model/data/train/checkpoint/run/faults; run_dir is set
    by the backend). Raises ConfigError when the model is not inline."""
    if not isinstance(spec.model, InlineModel):
        raise ConfigError(f"model '{spec.model}' is a catalog preset; only inline models run on "
                          "a real local center (give layers/hidden/heads/vocab)", field="model")
    m, rt, ck = spec.model, spec.runtime, spec.checkpoint
    micro = (rt.micro_batch_seqs if rt and rt.micro_batch_seqs else 4)
    gmb = (rt.global_micro_batches if rt and rt.global_micro_batches
           else max(devices, spec.global_batch // micro))
    doc: dict[str, Any] = {
        "name": spec.name,
        "model": {"vocab": m.vocab, "layers": m.layers, "hidden": m.hidden, "heads": m.heads,
                  "ffn_hidden": m.ffn_hidden or 4 * m.hidden,
                  "seq_len": spec.seq_len or m.seq_len},
        "data": {"micro_batch_seqs": micro, "global_micro_batches": gmb},
        "train": {"steps": total_steps(spec)},
        "checkpoint": {"interval_s": round(float(ck.every_s if ck and ck.every_s
                                                 else checkpoint_interval_s), 3)},
        "run": {"nproc": devices},
        "faults": {},
    }
    if ck is not None:
        if ck.every_steps:
            doc["checkpoint"]["every_steps"] = ck.every_steps
        if ck.keep:
            doc["checkpoint"]["keep"] = ck.keep
    if rt is not None:
        for name, section in (("lr", "train"), ("parallel", "train"), ("max_seconds", "run"),
                              ("max_restarts", "run"), ("threads_per_rank", "run")):
            value = getattr(rt, name)
            if value is not None:
                doc[section][name] = value
        if rt.kill_every_s:
            doc["faults"]["kill_every_s"] = rt.kill_every_s
    return doc
