"""Crash-consistency torture: SIGKILL a checkpoint writer at random moments, N times.

A forked child trains nothing; it fills every weight and optimizer tensor of the default GPT with
the step number and saves through the real async path (:class:`Checkpointer` staging into shared
memory, a forked persist process writing, checksumming and committing), back to back, so at
almost any instant some save is staging, writing shards, writing metadata or committing. The
parent kills the writer after a random delay, half the time together with the persist process
(a node crash), else alone (the persist process must still commit the save it was handed). Then
it checks that the newest committed checkpoint passes its checksums, loads and holds exactly its
own step's values, that ``latest`` names a committed checkpoint, and (writer-only kills) that
every save handed off before the kill was committed. The next child resumes after it.

Run: ``python -m suanwang.runtime torture --dir D --kills 100`` (one process tree, fork, so no
interpreter start-up per kill). Threads are pinned to one before any fork.
"""

from __future__ import annotations

import json
import os
import random
import signal
import struct
import time
import warnings
from pathlib import Path
from typing import Any

import torch

from suanwang.runtime.checkpoint import LATEST, MARKER, Resumer, committed, read_marker
from suanwang.runtime.checkpoint import verify as verify_files
from suanwang.runtime.config import ModelConfig
from suanwang.runtime.model import GPT
from suanwang.runtime.persist import Persister, PersistSpec
from suanwang.runtime.procs import die_with_parent
from suanwang.runtime.saver import Checkpointer
from suanwang.runtime.staging import SHM_DIR, sweep_orphans


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


def _writer(root: Path, addr: str, ready_fd: int) -> None:
    """Child body: save steps last+1, last+2, ... forever (until SIGKILL), through the persist
    process at ``addr``. Writes each step to ``ready_fd`` once it is staged (handed off)."""
    model, optim = _model_and_optim()
    ck = Checkpointer(root, rank=0, world=1, pg=None, keep=2, async_save=True, addr=addr)
    done = committed(root)
    step = done[-1][0] + 1 if done else 1
    while True:
        ck.wait_staged()
        if step > 1 + (done[-1][0] if done else 0):
            os.write(ready_fd, struct.pack(">q", step - 1))  # the previous save is handed off
        _fill(model, optim, float(step))
        ck.save(step, model, optim, {"samples_seen": step})
        step += 1


def verify(root: Path) -> dict[str, Any]:
    """Is the newest committed checkpoint complete and self-consistent? Also count leftovers."""
    found = committed(root)
    partial = [d.name for d in root.glob("step_*") if not (d / MARKER).exists()]
    if not found:
        return {"ok": True, "step": None, "partial": partial}
    step, path = found[-1]
    model, optim = _model_and_optim()
    try:
        meta = Resumer(root, rank=0, pg=None).resume(model, optim)
    except Exception as exc:  # a corrupt checkpoint is the finding, not a crash of the tool
        return {"ok": False, "step": step, "error": repr(exc)[:300], "partial": partial}
    values = {float(p.detach().flatten()[0]) for p in model.parameters()}
    values |= {float(t.flatten()[0]) for s in optim.state.values() for t in s.values()}
    latest = (root / LATEST).read_text().strip() if (root / LATEST).exists() else None
    ok = (values == {float(step)} and meta is not None and meta["step"] == step
          and read_marker(path)["samples_seen"] == step and verify_files(path) is None
          and (latest is None or (root / latest / MARKER).exists()))
    return {"ok": ok, "step": step, "values": sorted(values)[:3], "latest": latest,
            "partial": partial}


def _fork(body, *args) -> int:
    me = os.getpid()
    pid = os.fork()
    if pid == 0:
        try:
            die_with_parent(me)  # a killed torture run must not leave children behind
            body(*args)
        finally:
            os._exit(1)
    return pid


def _persist(spec: PersistSpec) -> None:
    os._exit(Persister(spec).serve())


def _wait(pid: int, timeout_s: float) -> bool:
    """Reap ``pid``; False (and SIGKILL) if it did not exit within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if os.waitpid(pid, os.WNOHANG)[0]:
            return True
        time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return False


def torture(root: str | Path, *, kills: int, seed: int = 0, max_delay_s: float = 0.3
            ) -> dict[str, Any]:
    """Fork a persist process and a writer; a random 0..``max_delay_s`` after the writer's
    first hand-off, SIGKILL the writer alone (the persist process must still commit what it
    was handed) or both (a node crash); verify; ``kills`` times."""
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message="torch.distributed is disabled")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    sweep_orphans()  # staging files of writers an earlier, killed torture run left behind
    rng = random.Random(seed)
    bad, mid_write, steps, lost_handoffs, both = [], 0, [], [], 0
    t0 = time.perf_counter()
    for i in range(kills):
        addr = f"\0suanwang.torture.{os.getpid()}.{i}"
        persister = _fork(_persist, PersistSpec(root=str(root), addr=addr, keep=2,
                                                timeout_s=30))
        r, w = os.pipe()
        writer = _fork(_writer, root, addr, w)
        os.close(w)
        first = os.read(r, 8)
        time.sleep(rng.uniform(0, max_delay_s))
        crash = rng.random() < 0.5
        if crash:  # node crash: the persist process dies too
            os.kill(persister, signal.SIGKILL)
            both += 1
        os.kill(writer, signal.SIGKILL)
        os.waitpid(writer, 0)
        handed = _last_handoff(first, r)
        os.close(r)
        _wait(persister, 30.0)
        for f in SHM_DIR.glob(f"suanwang.{writer}-*"):  # the killed writer's staging file
            f.unlink(missing_ok=True)
        res = verify(root)
        mid_write += bool(res["partial"])
        steps.append(res["step"])
        if not res["ok"]:
            bad.append({"kill": i, **res})
        if not crash and (res["step"] or 0) < handed:  # handed off, yet not committed
            lost_handoffs.append({"kill": i, "handed_off": handed, "committed": res["step"]})
    return {"kills": kills, "corrupt_latest": len(bad), "killed_mid_write": mid_write,
            "persist_killed_too": both, "lost_handoffs": len(lost_handoffs),
            "final_step": steps[-1] if steps else None, "failures": (bad + lost_handoffs)[:5],
            "wall_s": round(time.perf_counter() - t0, 2)}


def _last_handoff(first: bytes, fd: int) -> int:
    data = first
    os.set_blocking(fd, False)
    try:
        while chunk := os.read(fd, 4096):
            data += chunk
    except BlockingIOError:
        pass
    usable = len(data) // 8 * 8
    return struct.unpack(">q", data[usable - 8:usable])[0] if usable else 0


def main(args: Any) -> int:
    out = torture(args.dir, kills=args.kills, seed=args.seed)
    print(json.dumps(out))
    return 0 if out["corrupt_latest"] == 0 else 1
