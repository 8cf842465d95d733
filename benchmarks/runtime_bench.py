"""Run every runtime benchmark of issue #5 and write one JSON file (CPU, 2 ranks, default model).

    .venv/bin/python benchmarks/runtime_bench.py [OUT.json] [--quick]

``--quick`` shortens the ETTR run to 1 minute with a failure every 20 s. Equivalent CLI:
``suanwang bench checkpoint|recovery|ettr|overhead|torture --json``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from suanwang.runtime.bench import bench_checkpoint, bench_ettr, bench_overhead, bench_recovery


def main() -> None:
    quick = "--quick" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--quick"]
    out = Path(args[0]) if args else Path("runtime_bench.json")
    work = Path(tempfile.mkdtemp(prefix="suanwang-runtime-bench-"))
    try:
        results = {
            "checkpoint": bench_checkpoint(work),
            "recovery": bench_recovery(work),
            "ettr": bench_ettr(work, minutes=1 if quick else 5,
                               fail_every_s=20 if quick else 60),
            "overhead": bench_overhead(work, rounds=2 if quick else 3),
        }
        torture = subprocess.run([sys.executable, "-m", "suanwang.runtime", "torture", "--dir",
                                  str(work / "torture"), "--kills", "20" if quick else "100"],
                                 capture_output=True, text=True, timeout=900)
        results["torture"] = json.loads(torture.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out.write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
