"""Planner benchmark: ``python benchmarks/planner.py`` = ``suanwang bench planner --json``.

Also times the whole ``suanwang plan`` process for MT-NLG 530B on 5,120 A100 (target <= 2 s on
2 cores, >= 10,000 configurations), median of 5 runs.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

PLAN = [sys.executable, "-m", "suanwang", "plan", "--model", "mt-nlg-530b", "--accelerator",
        "A100-SXM-80GB", "--gpus", "5120", "--global-batch", "1920", "--json"]


def main() -> None:
    bench = subprocess.run([sys.executable, "-m", "suanwang", "bench", "planner", "--json"],
                           capture_output=True, text=True, check=True)
    walls = []
    for _ in range(5):
        t0 = time.perf_counter()
        out = subprocess.run(PLAN, capture_output=True, text=True, check=True)
        walls.append(time.perf_counter() - t0)
    plan = json.loads(out.stdout)
    print(json.dumps({"bench": json.loads(bench.stdout),
                      "plan_process_wall_s_median": statistics.median(walls),
                      "plan_configs_evaluated": plan["configs_evaluated"]}, indent=2))


if __name__ == "__main__":
    main()
