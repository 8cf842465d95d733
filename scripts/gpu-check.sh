#!/usr/bin/env bash
# GPU check of the training runtime (issue #17). Run on a CUDA machine from the repo root:
#   scripts/gpu-check.sh            # <= 10 minutes on one or two GPUs
# It trains the ckpt-256mb preset with NCCL (DDP, bf16 autocast where supported) and async
# checkpoints (pinned-host staging path + persist process), three times:
#   1. reference: 40 steps, a checkpoint every 5 steps;
#   2. kill/resume: the same with the last rank SIGKILLed before step 23 -> resume from 20;
#   3. preemption: SIGTERM to rank 0 mid-run -> exit 75, then a resume that loses no step.
# Prints tokens/s, MFU, checkpoint stall (every rank) and persist time; exits non-zero on any
# mismatch: a run not ok, losses of the resumed run off the reference by more than 1e-3
# (relative; CUDA embedding backward is not bitwise deterministic), a preemption that is not
# exit 75 or that loses steps. PEAK_FLOPS (per GPU, FLOP/s, bf16 dense) sets the MFU
# denominator; default 989e12 (H100/H200 SXM datasheet).
# GPU_CHECK_DEVICE=cpu GPU_CHECK_PRESET=tiny runs the same checks on CPU (a dry run of this
# script's logic; it says nothing about the GPU path).
set -euo pipefail
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
exec timeout 600 "$PY" - "$@" <<'PYEOF'
import json, os, signal, subprocess, sys, tempfile, time
from pathlib import Path

import torch

from suanwang.runtime.bench import PRESETS
from suanwang.runtime.metrics import loss_curve, read_events, summarize

device = os.environ.get("GPU_CHECK_DEVICE", "cuda")
preset = os.environ.get("GPU_CHECK_PRESET", "ckpt-256mb")
if device == "cuda" and not torch.cuda.is_available():
    print("gpu-check: no CUDA device visible; nothing checked"); sys.exit(2)
nproc = min(2, torch.cuda.device_count()) if device == "cuda" else 2
peak = float(os.environ.get("PEAK_FLOPS", "989e12"))
work = Path(tempfile.mkdtemp(prefix="suanwang-gpu-check-"))
problems = []


def job(name, **sections):
    raw = {"name": name, **{k: dict(v) for k, v in PRESETS[preset].items()}}
    raw.setdefault("data", {}).update({"global_micro_batches": 2 * nproc,
                                       "micro_batch_seqs": 8 if device == "cuda" else 2})
    raw["train"] = {"steps": 40, "warmup_steps": 5, "device": device, "precision": "auto"}
    raw["checkpoint"] = {"every_steps": 5, "keep": 2}
    raw["run"] = {"nproc": nproc, "run_dir": str(work / name), "peak_flops_per_s": peak,
                  "heartbeat_timeout_s": 60, "startup_timeout_s": 120}
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    path = work / f"{name}.json"
    path.write_text(json.dumps(raw))
    return path


def run(path, signal_rank=None):
    proc = subprocess.Popen([sys.executable, "-m", "suanwang.runtime", "run", str(path),
                             "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    run_dir = Path(json.loads(path.read_text())["run"]["run_dir"])
    if signal_rank is not None:
        while True:
            ev = read_events(run_dir / "events.jsonl")
            if sum(e["event"] == "step" for e in ev) >= 12:
                break
            if proc.poll() is not None:
                break
            time.sleep(0.2)
        launch = [e for e in ev if e["event"] == "launch"]
        if launch:
            os.kill(launch[-1]["pids"][signal_rank], signal.SIGTERM)
    out, err = proc.communicate(timeout=400)
    ev = read_events(run_dir / "events.jsonl")
    return proc.returncode, summarize(ev), ev, err


def report(name, s, ev):
    steps = [e for e in ev if e["event"] == "step"]
    stalls = [max(e.get("rank_ckpt_stall_s") or [0]) for e in steps]
    persist = [e["persist_s"] for e in ev if e["event"] == "ckpt_persisted"]
    mfu = sorted(e["mfu"] for e in steps[3:] if e.get("mfu")) or [0.0]
    print(f"{name:12s} state {s['state']:9s} steps {s['final_step']:3d}  tokens/s "
          f"{s['tokens_per_s_median']}  MFU {mfu[len(mfu) // 2]:.1%}  stall max "
          f"{max(stalls, default=0) * 1e3:.1f} ms  persist median "
          f"{sorted(persist)[len(persist) // 2] if persist else float('nan'):.2f} s  "
          f"ckpts {s['checkpoints']}  failures {s['failures']}  lost {s['lost_steps']}")


rc, ref, ev_ref, err = run(job("reference"))
report("reference", ref, ev_ref)
if rc != 0 or not ref["ok"]:
    problems.append(f"reference run rc {rc}: {err[-500:]}")

rc, kill, ev_kill, err = run(job("kill", faults={"kill_at_step": 22, "kill_rank": nproc - 1}))
report("kill/resume", kill, ev_kill)
if rc != 0 or kill["failures"] != 1:
    problems.append(f"kill/resume run rc {rc}, failures {kill['failures']}: {err[-500:]}")
a, b = loss_curve(ev_ref), loss_curve(ev_kill)
off = [s for s in a if s not in b or abs(a[s] - b[s]) > 1e-3 * abs(a[s])]
if off:
    problems.append(f"resumed losses differ from the reference at steps {off[:5]}")

pre = job("preempt", train={"steps": 400})
rc, s1, ev1, err = run(pre, signal_rank=0)
report("preempted", s1, ev1)
if rc != 75 or s1["state"] != "PREEMPTED" or s1["saved_step"] != s1["final_step"]:
    problems.append(f"preemption: rc {rc}, state {s1['state']}, saved {s1['saved_step']} vs "
                    f"final {s1['final_step']}: {err[-500:]}")
raw = json.loads(pre.read_text())
raw["train"]["steps"] = (s1["final_step"] or 0) + 3
pre.write_text(json.dumps(raw))
rc, s2, ev2, err = run(pre)
report("resumed", s2, ev2)
if rc != 0 or s2["lost_steps"] != 0 or s2["resumed_from"] != s1["final_step"]:
    problems.append(f"resume after preemption: rc {rc}, lost {s2['lost_steps']}, resumed from "
                    f"{s2['resumed_from']} (preempted at {s1['final_step']})")

print(f"work dir: {work}")
for p in problems:
    print("MISMATCH:", p)
print("gpu-check:", "FAILED" if problems else "ok")
sys.exit(1 if problems else 0)
PYEOF
