"""Fault injection for tests, demos and benchmarks (chaos-engineering style, as DLRover tests).

Worker side (:class:`WorkerFaults`): hang a rank at a step, SIGKILL a rank at a step, crash a
persist process in the middle of a checkpoint write, slow one rank down by a calibrated delay
per micro-batch, poison one batch (NaN loss), slow storage (in the persist process).
Faults a restart would replay fire in attempt 0 only. Supervisor side (:class:`KillSchedule`):
SIGKILL a random rank every ``kill_every_s`` seconds of wall time, from a seeded RNG.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable

from suanwang.runtime.config import FaultConfig


class WorkerFaults:
    def __init__(self, cfg: FaultConfig, *, rank: int, attempt: int) -> None:
        self.cfg = cfg
        self.rank = rank
        self.first = attempt == 0

    def before_step(self, step: int, done_in_attempt: int = 0,
                    settle: Callable[[], None] | None = None) -> None:
        """Called before computing step ``step + 1`` (``step`` steps are done,
        ``done_in_attempt`` of them by this attempt).

        The step-triggered kills first call ``settle`` (the checkpointer's ``wait``: the save in
        flight is committed), so which checkpoint the restart resumes from does not depend on
        how fast the background persist ran. Random kills (``kill_every_s``) and
        ``crash_in_ckpt_step`` cover the in-flight cases.
        """
        kill = self.rank == self.cfg.kill_rank and (
            (self.cfg.kill_after_steps > 0 and done_in_attempt == self.cfg.kill_after_steps)
            or (self.first and step == self.cfg.kill_at_step))
        if kill:
            if settle is not None:
                settle()
            os.kill(os.getpid(), signal.SIGKILL)
        if self.first and self.rank == self.cfg.hang_rank and step == self.cfg.hang_at_step:
            while True:  # a hung collective or a stuck kernel: alive, silent, no progress
                time.sleep(3600)

    def before_micro_batch(self) -> None:
        """A slow rank: the delay lands before each micro-batch's compute, like a slower
        device (so it shows in the rank's time to reach the gradient sync)."""
        if self.rank == self.cfg.slow_rank and self.cfg.slow_delay_s > 0:
            time.sleep(self.cfg.slow_delay_s)

    @property
    def crash_in_ckpt_step(self) -> int:
        """The checkpoint step during whose write this rank's persist process kills itself."""
        return crash_in_ckpt_step(self.cfg, rank=self.rank, attempt=0 if self.first else 1)

    def poisoned(self, first_sample: int, global_batch: int) -> bool:
        """Is the batch starting at global sample ``first_sample`` the poisoned one (the batch
        step ``nan_at_step`` consumes in an uninterrupted run)? Every attempt: bad data."""
        return self.cfg.nan_at_step > 0 and first_sample == (self.cfg.nan_at_step - 1) * \
            global_batch



def crash_in_ckpt_step(cfg: FaultConfig, *, rank: int, attempt: int) -> int:
    """The checkpoint step during whose write rank ``rank``'s persist process kills itself
    (attempt 0 only), or -1."""
    return cfg.crash_in_ckpt_step if attempt == 0 and rank == cfg.kill_rank else -1


class KillSchedule:
    """Every ``every_s`` seconds after ``start_s``, name a random rank to SIGKILL (``max_kills``
    times; 0 = no limit)."""

    def __init__(self, every_s: float, *, seed: int, start_s: float, max_kills: int = 0) -> None:
        self.every_s = every_s
        self.left = max_kills if max_kills > 0 else -1
        self.rng = random.Random(seed)
        self.next_s = start_s + every_s if every_s > 0 else float("inf")

    def due(self, now_s: float, world: int) -> int | None:
        if now_s < self.next_s or self.left == 0:
            return None
        self.next_s += self.every_s
        self.left -= 1
        return self.rng.randrange(world)
