"""``suanwang bench slurm``: submit -> RUNNING latency and node-failure recovery on a Slurm
cluster (start one with ``scripts/slurm-local.sh start NAME --nodes 3``)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer


def bench_slurm(
    slurm_conf: Annotated[Path, typer.Option(help="slurm.conf of the cluster (printed by "
                                                  "scripts/slurm-local.sh start).")],
    partition: Annotated[str, typer.Option(help="Partition to submit to.")] = "debug",
    jobs: Annotated[int, typer.Option(min=1, help="Batch jobs timed submit -> RUNNING.")] = 10,
    node_failure: Annotated[bool, typer.Option(help="Also down a node under a 2-node training "
                                                    "job and time requeue -> resume.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Slurm backend benchmark: submit -> RUNNING (median, p90; target <= 5 s) and node down ->
    training resumed after the requeue (target <= 30 s, no committed step lost)."""
    from suanwang.backends.slurm import SlurmBackend
    from suanwang.backends.slurm_bench import run_bench
    from suanwang.catalog.federation import parse_federation

    doc = {"centers": [{"name": "bench", "kind": "supercomputing", "city": "localhost",
                        "backend": "slurm", "storage_write_gb_per_s": 1, "pue": 1.0,
                        "pools": [{"accelerator": "CPU-local", "nodes": 1,
                                   "devices_per_node": 2, "price_per_device_hour": 0.0}],
                        "slurm": {"slurm_conf": str(slurm_conf), "partition": partition,
                                  "release_requeued": True}}]}
    fed = parse_federation(doc, "--slurm-conf")
    backend = SlurmBackend(fed.centers[0], Path(tempfile.mkdtemp(prefix="suanwang-bench-")))
    out = run_bench(backend, jobs=jobs, accelerator="CPU-local", node_failure=node_failure)
    if as_json:
        typer.echo(json.dumps(out, indent=1))
        return
    sub = out["submit_to_running"]
    typer.echo(f"cluster {out['cluster']} ({out['accounting']})")
    typer.echo(f"submit -> RUNNING  median {sub['median_s']} s  p90 {sub['p90_s']} s  "
               f"max {sub['max_s']} s  (n={len(sub['samples_s'])}; target <= 5 s)")
    if "node_failure" in out:
        nf = out["node_failure"]
        typer.echo(f"node {nf['node']} down -> requeued {nf['down_to_requeued_s']} s; "
                   f"requeued -> resumed {nf['requeued_to_resumed_s']} s (target <= 30 s); "
                   f"resumed at step {nf['resumed_step']}, newest committed "
                   f"{nf['committed_step']}, lost committed steps {nf['lost_committed_steps']}")


def register(app: typer.Typer, bench: typer.Typer) -> None:
    bench.command("slurm")(bench_slurm)
