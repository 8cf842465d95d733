"""``python -m suanwang.runtime``: the entry point that ships to compute nodes.

    python -m suanwang.runtime run JOB.yaml [--nproc N] [--checkpoint-interval-s S] [--steps N] ...
    python -m suanwang.runtime worker          (started by the supervisor; reads a go line)
    python -m suanwang.runtime elastic JOB     (one rank under torchrun: multi-node jobs)
    python -m suanwang.runtime torture --dir D --kills 100   (checkpoint crash-consistency)

``run`` prints the run summary (derived from the event log: state, ETTR net and gross,
failures, restarts, checkpoints, lost steps) as JSON and exits 0 when training finished, 1 when
the supervisor gave up, 2 on a bad job file (also when a rank refused the job, e.g. a checkpoint
of another model shape, a refused hyper-parameter change, or the run dir is in use), 75 when
preempted (SIGTERM / SIGUSR1 / SIGINT: a final checkpoint was committed; requeue the job). See
:mod:`suanwang.runtime.procs` for the table. With ``SUANWANG_SUPERVISOR_PARENT_PID`` set (the
``suanwang train`` CLI sets it), the supervisor preempts itself if that process dies.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from typing import Any

from suanwang.core.errors import ConfigError


def overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Command-line flags as config sections (flags win over the job file)."""
    from suanwang.runtime.config import FLAGS, flag_overrides

    return flag_overrides(**{name: getattr(args, name) for name in FLAGS})


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m suanwang.runtime")
    sub = ap.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="supervise a training job")
    run.add_argument("job", help="job file (.yaml or .json)")
    run.add_argument("--nproc", type=int)
    run.add_argument("--checkpoint-interval-s", "--ckpt-interval-s", dest="ckpt_interval_s",
                     type=float, help="checkpoint every S seconds (the planner's "
                     "checkpoint_interval_s; --ckpt-interval-s is the old spelling)")
    run.add_argument("--ckpt-every-steps", type=int)
    run.add_argument("--steps", type=int)
    run.add_argument("--run-dir")
    run.add_argument("--max-seconds", type=float)
    run.add_argument("--fail-every-s", type=float, help="fault injection: SIGKILL a rank")
    run.add_argument("--quiet", action="store_true")
    sub.add_parser("worker", help="internal: one rank, started by the supervisor")
    ela = sub.add_parser("elastic", help="one rank started by torchrun (multi-node; elastic.py)")
    ela.add_argument("job", help="job file (.yaml or .json)")
    sub.add_parser("zygote", help="internal: the supervisor's fork server")
    tor = sub.add_parser("torture", help="SIGKILL a checkpoint writer N times; verify latest")
    tor.add_argument("--dir", required=True)
    tor.add_argument("--kills", type=int, default=100)
    tor.add_argument("--seed", type=int, default=0)
    plain = sub.add_parser("plain", help="plain DDP loop of the same job (overhead yardstick)")
    plain.add_argument("job")
    plain.add_argument("--steps", type=int)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.cmd == "worker":
        from suanwang.runtime.train import worker_main

        return worker_main()
    if args.cmd == "elastic":
        from suanwang.runtime.elastic import run_rank

        return run_rank(args.job)
    if args.cmd == "zygote":
        from suanwang.runtime.zygote import serve

        return serve()
    if args.cmd == "plain":
        from suanwang.runtime import baseline

        return baseline.main(args)
    if args.cmd == "torture":
        from suanwang.runtime import torture

        return torture.main(args)
    from suanwang.runtime.config import load_job
    from suanwang.runtime.data import check_corpus
    from suanwang.runtime.procs import (
        CONFIG_ERROR_RC,
        SUPERVISOR_PARENT_ENV,
        die_with_parent,
    )
    from suanwang.runtime.supervisor import STATE_RC, Supervisor

    parent = os.environ.pop(SUPERVISOR_PARENT_ENV, None)
    if parent:  # the CLI that started us died (even by SIGKILL): preempt, do not orphan
        die_with_parent(int(parent), signal.SIGTERM)

    try:
        cfg = load_job(args.job).with_overrides(**overrides(args))
        check_corpus(cfg.data.paths, seq_len=cfg.model.seq_len)  # here, not in every restart
        summary = Supervisor(cfg, quiet=args.quiet).run()
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return CONFIG_ERROR_RC
    print(json.dumps(summary))
    if summary["state"] == "CONFIG_ERROR":  # a rank refused the job (exit 2): not retried
        print(f"config error: {summary['reason']}", file=sys.stderr)
    elif summary["state"] == "FAILED":
        print(f"failed: {summary['reason']}", file=sys.stderr)
    return STATE_RC[summary["state"]]


if __name__ == "__main__":
    sys.exit(main())
