"""Crash-consistency torture: SIGKILL a checkpoint writer at random moments, N times.

A forked child trains nothing; it fills every weight and optimizer tensor of the default GPT with
the step number and saves through the real async path (:class:`Checkpointer`), back to back, so
at almost any instant some save is staging, writing shards, writing metadata or committing.
The parent kills it after a random delay, then checks that the newest committed checkpoint loads
and holds exactly its own step's values, and that ``latest`` names a committed checkpoint.
The next child resumes after it, so the step keeps growing across kills.

Run: ``python -m suanwang.runtime torture --dir D --kills 100`` (one process tree, fork, so no
interpreter start-up per kill). Threads are pinned to one before any fork.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
import warnings
from pathlib import Path
from typing import Any

import torch

from suanwang.runtime.checkpoint import LATEST, MARKER, Checkpointer, committed, read_marker
from suanwang.runtime.config import ModelConfig
from suanwang.runtime.model import GPT
from suanwang.runtime.train import die_with_parent


def _model_and_optim() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    model = GPT(ModelConfig())
    optim = torch.optim.AdamW(model.parameters())
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optim.step()  # materialise exp_avg / exp_avg_sq
    return model, optim


def _fill(model: torch.nn.Module, optim: torch.optim.Optimizer, value: float) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(value)
            for t in optim.state[p].values():
                t.fill_(value)


def _writer(root: Path, ready_fd: int) -> None:
    """Child body: save steps last+1, last+2, ... forever (until SIGKILL).

    Writes one byte to ``ready_fd`` once the first save is under way (set-up is over).
    """
    model, optim = _model_and_optim()
    ck = Checkpointer(root, rank=0, world=1, pg=None, keep=2, async_save=True)
    done = committed(root)
    step = done[-1][0] + 1 if done else 1
    while True:
        ck.wait_staged()
        _fill(model, optim, float(step))
        ck.save(step, model, optim, {"samples_seen": step})
        if ready_fd >= 0:
            os.write(ready_fd, b"1")
            os.close(ready_fd)
            ready_fd = -1
        step += 1


def verify(root: Path) -> dict[str, Any]:
    """Is the newest committed checkpoint complete and self-consistent? Also count leftovers."""
    found = committed(root)
    partial = [d.name for d in root.glob("step_*") if not (d / MARKER).exists()]
    if not found:
        return {"ok": True, "step": None, "partial": partial}
    step, path = found[-1]
    model, optim = _model_and_optim()
    ck = Checkpointer(root, rank=0, world=1, pg=None, keep=2)
    try:
        meta = ck.resume(model, optim)
    except Exception as exc:  # a corrupt checkpoint is the finding, not a crash of the tool
        return {"ok": False, "step": step, "error": repr(exc)[:300], "partial": partial}
    values = {float(p.detach().flatten()[0]) for p in model.parameters()}
    values |= {float(t.flatten()[0]) for s in optim.state.values() for t in s.values()}
    latest = (root / LATEST).read_text().strip() if (root / LATEST).exists() else None
    ok = (values == {float(step)} and meta is not None and meta["step"] == step
          and read_marker(path)["samples_seen"] == step
          and (latest is None or (root / latest / MARKER).exists()))
    return {"ok": ok, "step": step, "values": sorted(values)[:3], "latest": latest,
            "partial": partial}


def torture(root: str | Path, *, kills: int, seed: int = 0, max_delay_s: float = 0.3
            ) -> dict[str, Any]:
    """Fork a writer, SIGKILL it a random 0..``max_delay_s`` after its first save began
    (a save takes ~60 ms here, so kills land in every phase), verify; ``kills`` times."""
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message="torch.distributed is disabled")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    bad, mid_write, steps = [], 0, []
    t0 = time.perf_counter()
    for i in range(kills):
        r, w = os.pipe()
        me = os.getpid()
        pid = os.fork()
        if pid == 0:  # child
            try:
                die_with_parent(me)  # a killed torture run must not leave writers behind
                os.close(r)
                _writer(root, w)
            finally:
                os._exit(1)
        os.close(w)
        os.read(r, 1)
        os.close(r)
        time.sleep(rng.uniform(0, max_delay_s))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        res = verify(root)
        mid_write += bool(res["partial"])
        steps.append(res["step"])
        if not res["ok"]:
            bad.append({"kill": i, **res})
    return {"kills": kills, "corrupt_latest": len(bad), "killed_mid_write": mid_write,
            "final_step": steps[-1] if steps else None, "failures": bad[:5],
            "wall_s": round(time.perf_counter() - t0, 2)}


def main(args: Any) -> int:
    out = torture(args.dir, kills=args.kills, seed=args.seed)
    print(json.dumps(out))
    return 0 if out["corrupt_latest"] == 0 else 1
