"""The ``suanwang`` command.

Each capability registers its commands from its own module (``register(app, bench)``); heavy
imports (torch, fastapi, numpy-heavy planners) happen inside the command functions so
``suanwang --help`` stays instant. ``bench`` is the group of benchmarks (``suanwang bench ...``).
"""

from __future__ import annotations

import typer

from suanwang.cli import (
    calibration_cmd,
    catalog_cmd,
    client_cmd,
    control_cmd,
    crosscenter_cmd,
    market_cmd,
    perf_cmd,
    placement_cmd,
    reliability_cmd,
    runtime_cmd,
    serve_cmd,
    sim_cmd,
    slurm_cmd,
)

CONTEXT = {"help_option_names": ["-h", "--help"]}
"""Every command answers ``-h`` as well as ``--help``."""

app = typer.Typer(
    name="suanwang",
    help="算网 suanwang: plan, schedule, run and bill large-model training across "
    "computing centers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    context_settings=CONTEXT,
)
bench = typer.Typer(help="Benchmarks with named targets (medians, side-by-side ratios).",
                    no_args_is_help=True, context_settings=CONTEXT)
app.add_typer(bench, name="bench")



def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"suanwang {version('suanwang')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """算网 suanwang: plan, schedule, run and bill large-model training across computing centers."""
    from suanwang.cli.output import reset_modes

    reset_modes()


for _module in (catalog_cmd, perf_cmd, placement_cmd, reliability_cmd, sim_cmd, runtime_cmd,
                crosscenter_cmd, calibration_cmd, serve_cmd, client_cmd, control_cmd, slurm_cmd,
                market_cmd):
    _module.register(app, bench)


def main() -> None:
    """Entry point: runs the app and turns suanwang errors into one clear line and exit code 2."""
    from suanwang.cli.errors import run_app

    run_app(app)


if __name__ == "__main__":
    main()
