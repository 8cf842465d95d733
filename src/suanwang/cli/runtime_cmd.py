"""``suanwang train JOB.yaml`` and ``suanwang bench checkpoint|recovery|ettr|overhead|torture``.

The runtime ships to compute nodes and is launched by module path: ``train`` parses the job once
(so a bad file fails here with a ``ConfigError``), writes the resolved job as JSON into the run
directory and starts ``python -m suanwang.runtime run`` as a subprocess, drawing a Rich progress
bar from the run's JSONL event timeline. Benchmarks import the runtime lazily, inside the command.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from suanwang.cli.output import print_json, table
from suanwang.runtime.procs import PREEMPT_SIGNALS, SUPERVISOR_PARENT_ENV

TARGETS = {  # issues #5 and #17 (checkpoint: >= 256 MB per save, 1 rank)
    "checkpoint": [("ratio", "<=", 0.05), ("effective_ratio", "<=", 0.5)],
    "recovery": [("recovery_s", "<=", 10.0)],
    "ettr": [("ettr", ">=", 0.92)],
    "overhead": [("ratio", ">=", 0.97)],
    "torture": [("corrupt_latest", "<=", 0), ("lost_handoffs", "<=", 0)],
    "preempt": [("lost_steps", "<=", 0)],
}


class EventFollower:
    """Tails ``events.jsonl`` of a run the CLI just started.

    The supervisor renames an earlier run's timeline away and starts a new file, so the
    follower tracks the file's inode: the file present before the launch is never read, and a
    new inode (or a file shorter than the offset) restarts at 0. Lines that are not complete
    JSON yet (a write in progress) are left for the next poll; undecodable ones are skipped.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stale_inode = path.stat().st_ino if path.exists() else None
        self.inode: int | None = None
        self.offset = 0

    def poll(self) -> list[dict[str, Any]]:
        try:
            f = open(self.path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            return []
        with f:
            st = os.fstat(f.fileno())
            if st.st_ino == self.stale_inode:
                return []  # the previous run's timeline, not rotated yet
            if st.st_ino != self.inode or st.st_size < self.offset:
                self.inode, self.offset = st.st_ino, 0
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        out = []
        for line in data[:end].splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out


def train(job: Path, *, nproc: int | None, ckpt_interval_s: float | None,
          ckpt_every_steps: int | None, steps: int | None, run_dir: str | None,
          max_seconds: float | None, fail_every_s: float | None, as_json: bool) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from suanwang.runtime.config import flag_overrides, load_job
    from suanwang.runtime.data import check_corpus

    cfg = load_job(job).with_overrides(**flag_overrides(
        nproc=nproc, ckpt_interval_s=ckpt_interval_s, ckpt_every_steps=ckpt_every_steps,
        steps=steps, run_dir=run_dir, max_seconds=max_seconds, fail_every_s=fail_every_s))
    check_corpus(cfg.data.paths, seq_len=cfg.model.seq_len)
    out_dir = Path(cfg.run.run_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    resolved = out_dir / "job.resolved.json"
    resolved.write_text(json.dumps(cfg.to_dict(), indent=1))
    follower = EventFollower(out_dir / "events.jsonl")
    # the supervisor gets SIGTERM (a graceful preemption) if this process dies, even by SIGKILL
    env = {**os.environ, SUPERVISOR_PARENT_ENV: str(os.getpid())}
    proc = subprocess.Popen([sys.executable, "-m", "suanwang.runtime", "run", str(resolved),
                             "--quiet"], stdout=subprocess.PIPE, text=True, env=env)
    with _forward_preemption(proc, cfg.run.preempt_grace_s):
        try:
            _progress(cfg, proc, follower, as_json, Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                console=Console(stderr=True), disable=as_json))
            out = proc.stdout.read() if proc.stdout else ""
            proc.wait()
        finally:
            if proc.poll() is None:  # a crash here: do not leave the supervisor running
                proc.terminate()
                try:
                    proc.wait(timeout=cfg.run.preempt_grace_s + 10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    lines = out.strip().splitlines()
    if not lines:  # the runtime printed its reason on stderr (a config error exits 2)
        raise typer.Exit(proc.returncode or 1)
    summary = json.loads(lines[-1])
    _show("train", summary, as_json)
    if proc.returncode:  # 1 failed, 2 refused, 75 preempted (suanwang.runtime.procs)
        raise typer.Exit(proc.returncode)


@contextlib.contextmanager
def _forward_preemption(proc: subprocess.Popen, grace_s: float):
    """While the supervisor runs, SIGTERM / SIGUSR1 / SIGINT to this command are passed on as
    SIGTERM (one coordinated final checkpoint, exit 75) instead of killing only the CLI."""
    def forward(signum: int, _frame: Any) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)

    old = {sig: signal.signal(sig, forward) for sig in PREEMPT_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _progress(cfg: Any, proc: subprocess.Popen, follower: EventFollower, as_json: bool,
              bar: Any) -> None:
    """Draw the progress bar from the event timeline until the supervisor exits.

    Counts on the bar come from ``summarize`` over the events read so far: the same function
    that makes the final summary, so the two cannot disagree.
    """
    from suanwang.runtime.metrics import summarize

    total = cfg.run.until_step or cfg.train.steps
    seen: list[dict[str, Any]] = []
    failures = 0
    with bar:
        task = bar.add_task(cfg.name, total=None if cfg.run.max_seconds else total, info="")
        while True:
            done = proc.poll() is not None
            new = follower.poll()
            seen.extend(new)
            if any(e["event"] == "failure" for e in new):  # re-derive only when it can change
                failures = summarize(seen)["failures"]
            for e in new:
                _progress_event(bar, task, e, total, failures)
            if done:
                break
            time.sleep(0.2)


def _progress_event(bar: Any, task: Any, e: dict[str, Any], total: int, failures: int) -> None:
    kind = e["event"]
    if kind == "step":
        mfu = f" mfu {e['mfu']:.1%}" if e.get("mfu") else ""
        bar.update(task, completed=e["step"], info=(
            f"loss {e['loss']:.3f}  {e['tokens_per_s']:,.0f} tok/s  "
            f"{e['step_time_s'] * 1e3:.0f} ms{mfu}  failures {failures}"))
    elif kind == "resume":
        if e["step"] >= total:
            bar.update(task, total=e["step"], completed=e["step"],
                       info=f"resumed at step {e['step']} >= {total}: nothing left to train")
        else:
            bar.update(task, completed=e["step"], info=f"resumed at step {e['step']}")
    elif kind == "failure":
        then = {"config": "not restarted (the job is wrong)",
                "nonfinite": "rolling back to the last finite checkpoint"}.get(
                    e["kind"], "the supervisor decides whether to restart")
        bar.console.print(f"[red]failure[/] attempt {e['attempt']}: {e['kind']} on rank "
                          f"{e['rank']}; {then}")
    elif kind in ("restart", "rollback"):
        bar.console.print(f"[yellow]{kind}[/]: attempt {e['attempt']} resumes from the newest "
                          "intact checkpoint")
    elif kind in ("ckpt_damaged", "straggler", "preempt_signal", "preempted", "config_change"):
        detail = {k: v for k, v in e.items() if k not in ("t", "event", "attempt", "source")}
        bar.console.print(f"[yellow]{kind}[/] {json.dumps(detail)[:200]}")


def _show(name: str, result: dict[str, Any], as_json: bool) -> None:
    targets = [t for t in TARGETS.get(name, []) if result.get(t[0]) is not None]
    if targets:
        result["target"] = " and ".join(f"{key} {op} {bound}" for key, op, bound in targets)
        result["meets_target"] = all(
            bool(result[key] <= bound if op == "<=" else result[key] >= bound)
            for key, op, bound in targets)
    if as_json:
        print_json(result)
        return
    table(f"suanwang {name}", ["metric", "value"],
          [[k, json.dumps(v) if isinstance(v, list | dict) else v] for k, v in result.items()])


@contextlib.contextmanager
def _work(work_dir: Path | None):
    """The bench's work directory: the one given (kept), or a temporary one (removed after)."""
    if work_dir is not None:
        yield work_dir
        return
    tmp = Path(tempfile.mkdtemp(prefix="suanwang-bench-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def register(app: typer.Typer, bench: typer.Typer) -> None:
    @app.command("train")
    def train_cmd(
        job: Path = typer.Argument(
            ..., help="job file (.yaml or .json), e.g. examples/train-tiny.yaml"),
        nproc: int | None = typer.Option(None, "--nproc", help="ranks (processes) to launch"),
        ckpt_interval_s: float | None = typer.Option(
            None, "--checkpoint-interval-s", "--ckpt-interval-s",
            help="checkpoint every S seconds: checkpoint.interval_s, the planner's "
                 "checkpoint_interval_s (--ckpt-interval-s: old spelling)"),
        ckpt_every_steps: int | None = typer.Option(
            None, "--ckpt-every-steps", help="checkpoint every N steps (0 disables)"),
        steps: int | None = typer.Option(None, "--steps"),
        run_dir: str | None = typer.Option(None, "--run-dir"),
        max_seconds: float | None = typer.Option(None, "--max-seconds"),
        fail_every_s: float | None = typer.Option(
            None, "--fail-every-s", help="fault injection: SIGKILL a random rank every F s"),
        as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
    ) -> None:
        """Train with the supervisor: restarts from the latest checkpoint on failure."""
        train(job, nproc=nproc, ckpt_interval_s=ckpt_interval_s,
              ckpt_every_steps=ckpt_every_steps, steps=steps, run_dir=run_dir,
              max_seconds=max_seconds, fail_every_s=fail_every_s, as_json=as_json)

    @bench.command("checkpoint")
    def bench_checkpoint(
        as_json: bool = typer.Option(False, "--json"),
        work_dir: Path | None = typer.Option(None, "--work-dir"),
        nproc: int = typer.Option(1, "--nproc", help="training ranks (1 leaves a core free)"),
        preset: str = typer.Option("ckpt-256mb", "--preset",
                                   help="model: ckpt-256mb (295 MiB per save) or tiny (10 MB)"),
        checkpoints: int = typer.Option(4, "--checkpoints", help="checkpoints to time"),
    ) -> None:
        """Blocking torch.save vs async save (shared memory + persist process): stall ratio."""
        from suanwang.runtime.bench import PRESETS
        from suanwang.runtime.bench import bench_checkpoint as run

        if preset not in PRESETS:
            raise typer.BadParameter(f"one of {sorted(PRESETS)}", param_hint="--preset")
        with _work(work_dir) as work:
            _show("checkpoint", run(work, nproc=nproc, preset=preset,
                                    checkpoints=checkpoints), as_json)

    @bench.command("recovery")
    def bench_recovery(
        as_json: bool = typer.Option(False, "--json"),
        work_dir: Path | None = typer.Option(None, "--work-dir"),
        nproc: int = typer.Option(2, "--nproc"),
    ) -> None:
        """SIGKILL a rank mid-run: seconds to the first step after resume, steps lost."""
        from suanwang.runtime.bench import bench_recovery as run

        with _work(work_dir) as work:
            _show("recovery", run(work, nproc=nproc), as_json)

    @bench.command("ettr")
    def bench_ettr(
        minutes: float = typer.Option(5.0, "--minutes"),
        fail_every_s: float = typer.Option(60.0, "--fail-every-s"),
        ckpt_interval_s: float = typer.Option(
            5.0, "--checkpoint-interval-s", "--ckpt-interval-s"),
        as_json: bool = typer.Option(False, "--json"),
        work_dir: Path | None = typer.Option(None, "--work-dir"),
        nproc: int = typer.Option(2, "--nproc"),
    ) -> None:
        """Effective training time ratio under a SIGKILL every F seconds."""
        from suanwang.runtime.bench import bench_ettr as run

        with _work(work_dir) as work:
            _show("ettr", run(work, minutes=minutes, fail_every_s=fail_every_s,
                              ckpt_every_s=ckpt_interval_s, nproc=nproc), as_json)

    @bench.command("preempt")
    def bench_preempt(
        minutes: float = typer.Option(5.0, "--minutes", help="total wall time, minutes"),
        every_s: float = typer.Option(60.0, "--every-s", help="seconds between SIGTERMs"),
        ckpt_interval_s: float = typer.Option(
            5.0, "--checkpoint-interval-s", "--ckpt-interval-s"),
        as_json: bool = typer.Option(False, "--json"),
        work_dir: Path | None = typer.Option(None, "--work-dir"),
        nproc: int = typer.Option(2, "--nproc"),
    ) -> None:
        """SIGTERM the job every S seconds (supervisor, then each rank), relaunch: lost steps."""
        from suanwang.runtime.bench import bench_preempt as run

        with _work(work_dir) as work:
            _show("preempt", run(work, minutes=minutes, every_s=every_s, nproc=nproc,
                                 ckpt_every_s=ckpt_interval_s), as_json)

    @bench.command("overhead")
    def bench_overhead(
        steps: int = typer.Option(60, "--steps"),
        ckpt_interval_s: float = typer.Option(
            5.0, "--checkpoint-interval-s", "--ckpt-interval-s"),
        rounds: int = typer.Option(2, "--rounds"),
        as_json: bool = typer.Option(False, "--json"),
        work_dir: Path | None = typer.Option(None, "--work-dir"),
    ) -> None:
        """Tokens/s of the runtime vs a plain DDP loop of the same model, alternated."""
        from suanwang.runtime.bench import bench_overhead as run

        with _work(work_dir) as work:
            _show("overhead", run(work, steps=steps, rounds=rounds,
                                  ckpt_every_s=ckpt_interval_s), as_json)

    @bench.command("torture")
    def bench_torture(
        kills: int = typer.Option(100, "--kills"),
        as_json: bool = typer.Option(False, "--json"),
        work_dir: Path | None = typer.Option(None, "--work-dir"),
    ) -> None:
        """SIGKILL a checkpoint writer N times at random moments; count corrupt `latest`."""
        with _work(work_dir) as work:
            out = subprocess.run([sys.executable, "-m", "suanwang.runtime", "torture", "--dir",
                                  str(work / "ckpt"), "--kills", str(kills)],
                                 capture_output=True, text=True, timeout=60 + 5 * kills)
        _show("torture", json.loads(out.stdout.strip().splitlines()[-1]), as_json)
