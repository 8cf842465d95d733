"""The runtime's event vocabulary as the controller reads it (``RUN_DIR/events.jsonl``, written by
:mod:`suanwang.runtime.metrics`; names and fields listed in docs/runtime.md, "Supervisor").

Three kinds of records matter to the platform:

* ``step`` -> one ``job_metrics`` row (loss, tokens/s, MFU; step time, checkpoint stall and the
  straggler ranks in its detail);
* checkpoints -> the attempt's progress and a ``checkpoint`` job event: ``ckpt_committed`` (the
  runtime's commit marker is written; the authoritative one) and ``ckpt_persisted`` (the
  simulated center's form, which carries ``progress``; the real runtime writes it next to
  ``ckpt_committed`` for the same step, so a step already recorded is not counted twice);
* notable happenings -> job events with from = to = the job's state (the job's reason is left
  alone), named by :data:`NOTES` with the fields in :data:`FIELDS` kept in their detail.

Unknown events are ignored (the runtime may add more without breaking ingestion).
"""

from __future__ import annotations

from typing import Any

CHECKPOINT_EVENTS = ("ckpt_committed", "ckpt_persisted")

# runtime event -> job event reason (JobEvent.reason, <= 64 characters)
NOTES = {
    "failure": "runtime_failure",
    "restart": "runtime_restart",
    "preempt_signal": "runtime_preempt_signal",
    "preempted": "runtime_preempted",
    "ckpt_fallback": "checkpoint_fallback",
    "ckpt_damaged": "checkpoint_damaged",
    "ckpt_refused": "checkpoint_refused",
    "persist_timeout": "checkpoint_persist_timeout",
    "rollback": "runtime_rollback",
    "nonfinite": "runtime_nonfinite",
    "batch_skipped": "runtime_batch_skipped",
    "config_change": "runtime_config_change",
    "straggler": "straggler",
    "straggler_cleared": "straggler_cleared",
    "split_adapted": "split_adapted",
}

# fields of a runtime event kept in the job event's detail (besides attempt/center)
FIELDS = ("step", "reason", "rank", "kind", "in_a_row", "signal", "grace_s", "ranks",
          "committed", "skipped", "to_step", "rollbacks", "field", "old", "new", "action",
          "ratio", "counts", "first_sample", "pids")

# fields of a ``step`` event kept in the metric row's detail
STEP_DETAIL = ("step_time_s", "ckpt_stall_s", "stragglers", "lr")


def note_detail(e: dict[str, Any]) -> dict[str, Any]:
    """The kept fields of runtime event ``e`` (JSON values as written by the runtime)."""
    return {k: e[k] for k in FIELDS if k in e and e[k] is not None}


def checkpoint_step(e: dict[str, Any]) -> int | None:
    """The step a checkpoint event saved (None when it carries none: the sim's form)."""
    step = e.get("step")
    return None if step is None else int(step)


def is_new_checkpoint(e: dict[str, Any], last_step: int | None) -> bool:
    """Whether checkpoint event ``e`` records a step not yet counted (``last_step``: the newest
    step counted for this attempt, None before the first). Events without a step count."""
    step = checkpoint_step(e)
    return step is None or last_step is None or step > last_step
