#!/usr/bin/env bash
# Measure one GPU's efficiency profile for suanwang's performance model (issue #18).
#
#   scripts/gpu-calibrate.sh [OUT.yaml]      (default: gpu-profile-<gpu>-<date>.yaml)
#
# Measures, in <= 10 minutes on one GPU (each sweep point is timed with CUDA events, median of
# several runs after warm-up):
#   1. GEMM (bf16, and fp8 via torch._scaled_mm when the GPU has it): TFLOP/s by size, fitted to
#      the model's curve e_max * F / (F + F_half)  ->  gemm_max_fraction, gemm_half_tflop,
#      fp8_gemm_relative.
#   2. FlashAttention (torch SDPA, causal, bf16, forward + backward) by sequence length:
#      causal FLOPs / time / bf16 peak  ->  attention_max_fraction.
#   3. HBM copy bandwidth  ->  hbm_fraction.
#   4. all-reduce bus bandwidth by message size (NCCL, all GPUs of this node when more than one
#      is visible; skipped on one GPU)  ->  intra_link_fraction.
# Writes an efficiency-profile entry (catalog/data/efficiency.yaml format) with provenance
# (GPU name, driver, torch/CUDA versions, date, the raw sweeps). Peaks come from the catalog
# (--accelerator NAME, default: matched from the device name).
#
# NOT RUN in the session that wrote it (no GPU was lent to that task): it has been checked only
# for syntax. Fields the micro-benchmarks cannot see (element-wise bytes of a real layer, TP
# overlap share, score bytes) are copied from the catalog profile and marked as such.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
OUT="${1:-}"
exec timeout 600 "$PY" - "$OUT" <<'PYEOF'
import datetime, json, os, statistics, subprocess, sys

import torch
import torch.nn.functional as F

out = sys.argv[1] if len(sys.argv) > 1 else ""
if not torch.cuda.is_available():
    sys.exit("gpu-calibrate: no CUDA device visible")
dev = torch.device("cuda")
name = torch.cuda.get_device_name(0)

from suanwang.catalog import load_accelerators
from suanwang.catalog.efficiency import get_efficiency

accs = load_accelerators()
acc_name = os.environ.get("SUANWANG_ACCELERATOR") or next(
    (a for a in accs if a.split("-")[0].lower() in name.lower()), None)
if acc_name is None:
    sys.exit(f"gpu-calibrate: cannot match '{name}' to the catalog; set SUANWANG_ACCELERATOR")
acc = accs[acc_name]
peak16 = acc.peak("bf16")


def timed(fn, reps=10, warm=3):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); fn(); b.record(); torch.cuda.synchronize()
        times.append(a.elapsed_time(b) / 1e3)
    return statistics.median(times)


def fit_curve(points):
    """Least squares of 1/rate = (1 + F_half/F) / (peak e_max): linear in 1/F."""
    xs = [1.0 / f for f, _ in points]
    ys = [1.0 / r for _, r in points]
    n = len(xs); mx = sum(xs) / n; my = sum(ys) / n
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    inter = my - slope * mx
    e_rate = 1.0 / inter  # FLOP/s at infinite size
    return e_rate, slope * e_rate  # (peak*e_max, F_half)


gemm = []
for m in (512, 1024, 2048, 4096, 8192, 16384):
    a = torch.randn(m, 8192, device=dev, dtype=torch.bfloat16)
    b = torch.randn(8192, m, device=dev, dtype=torch.bfloat16)
    t = timed(lambda: a @ b)
    flops = 2.0 * m * 8192 * m
    gemm.append((flops, flops / t))
rate, half = fit_curve(gemm)
prof = {"gemm_max_fraction": round(rate / peak16, 4), "gemm_half_tflop": round(half / 1e12, 5)}

fp8 = []
if "fp8" in acc.peak_flops_per_s and hasattr(torch, "_scaled_mm"):
    try:
        for m in (4096, 8192, 16384):
            a = torch.randn(m, 8192, device=dev).to(torch.float8_e4m3fn)
            b = torch.randn(m, 8192, device=dev).to(torch.float8_e4m3fn).t()
            one = torch.ones((), device=dev)
            t = timed(lambda: torch._scaled_mm(a, b, scale_a=one, scale_b=one,
                                               out_dtype=torch.bfloat16))
            flops = 2.0 * m * 8192 * m
            fp8.append((flops, flops / t))
        frac8 = max(r for _, r in fp8) / acc.peak("fp8")
        frac16 = max(r for _, r in gemm) / peak16
        prof["fp8_gemm_relative"] = round(min(frac8 / frac16, 1.0), 4)
    except Exception as exc:  # noqa: BLE001 - report and go on
        print(f"fp8 GEMM skipped: {exc}", file=sys.stderr)

att = []
for s in (2048, 4096, 8192, 16384, 32768):
    b = max(1, 32768 // s)
    q, k, v = (torch.randn(b, 32, s, 128, device=dev, dtype=torch.bfloat16, requires_grad=True)
               for _ in range(3))
    def step():
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        o.backward(torch.ones_like(o))
    t = timed(step, reps=5)
    flops = 3.0 * 4.0 * b * s * s * 32 * 128 * 0.5  # fwd + bwd (2x), causal half
    att.append((s, flops / t / peak16))
prof["attention_max_fraction"] = round(max(f for _, f in att), 4)

x = torch.empty(2**28, device=dev, dtype=torch.uint8)
y = torch.empty_like(x)
t = timed(lambda: y.copy_(x))
prof["hbm_fraction"] = round(min(2.0 * x.numel() / t / acc.hbm_bytes_per_s, 1.0), 4)

allreduce = []
ngpu = torch.cuda.device_count()
if ngpu > 1:
    script = ("import os,sys,time,torch,torch.distributed as d;d.init_process_group('nccl');"
              "r=d.get_rank();torch.cuda.set_device(r);n=d.get_world_size();res=[]\n"
              "for e in range(20,31,2):\n"
              " x=torch.ones(2**e//2,device='cuda',dtype=torch.bfloat16)\n"
              " [d.all_reduce(x) for _ in range(3)];torch.cuda.synchronize();t=time.time()\n"
              " [d.all_reduce(x) for _ in range(10)];torch.cuda.synchronize();dt=(time.time()-t)/10\n"
              " res.append((2**e,2*(n-1)/n*2**e/dt))\n"
              "print(res) if r==0 else None")
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(script)
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run",
                           f"--nproc-per-node={ngpu}", fh.name],
                          capture_output=True, text=True, timeout=180)
    for line in proc.stdout.splitlines():
        if line.startswith("[("):
            allreduce = eval(line)  # our own child's repr of a list of tuples
    if allreduce:
        prof["intra_link_fraction"] = round(
            min(max(bw for _, bw in allreduce) / acc.intra_node_bytes_per_s, 1.0), 4)

base = get_efficiency(acc_name).to_dict()
entry = {"name": acc_name, **{k: v for k, v in base.items()
                              if k in ("elementwise_bytes_per_token_hidden",
                                       "score_bytes_per_element", "inter_link_fraction",
                                       "intra_latency_s", "inter_latency_s",
                                       "tp_comm_overlap", "dp_comm_overlap",
                                       "tp_overlap_fraction", "attention_factor")},
         "intra_link_fraction": base["intra_link_fraction"], **prof}
entry["intra_latency_us"] = entry.pop("intra_latency_s") * 1e6
entry["inter_latency_us"] = entry.pop("inter_latency_s") * 1e6
entry["calibrated_on"] = [f"scripts/gpu-calibrate.sh micro-benchmarks on {name}"]
entry["notes"] = (
    f"measured {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')} on "
    f"{name} (driver {torch.cuda.driver_version() if hasattr(torch.cuda, 'driver_version') else '?'}"
    f", torch {torch.__version__}, CUDA {torch.version.cuda}); element-wise bytes, score bytes, "
    "overlap shares and inter-node fields copied from the catalog profile (not measured here); "
    f"raw: gemm {[(f, r / 1e12) for f, r in gemm]}, fp8 {[(f, r / 1e12) for f, r in fp8]}, "
    f"attention {att}, allreduce {allreduce}")
text = json.dumps({"profiles": [entry]}, indent=2)
path = out or f"gpu-profile-{acc_name}-{datetime.date.today()}.json"
with open(path, "w") as fh:
    fh.write(text + "\n")
print(text)
print(f"wrote {path}: merge its entry into src/suanwang/catalog/data/efficiency.yaml "
      "(JSON is YAML) and note the run in docs/perf-model.md")
PYEOF
