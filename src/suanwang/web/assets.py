"""The dashboard's static assets and :func:`mount`, which serves them from a FastAPI app.

The dashboard is plain HTML/CSS/JS modules under ``web/static/`` (no build step). It talks to the
API over HTTP only (``/api/v1``, bearer token), so this module adds nothing but file routes:

* ``GET /`` -> ``static/index.html`` (the single page; pages are ``#/federation``, ``#/jobs`` ...)
* ``GET /ui/<file>`` -> the files of ``static/``
* ``GET /ui/plotly.min.js`` -> plotly.js as bundled in the ``plotly`` wheel
  (``plotly/package_data/plotly.min.js``), served from the installed package: no CDN, nothing
  outside the machine.

Every route is explicit (no catch-all mount at ``/``), so the order in which the app factory adds
its API routers and calls :func:`mount` does not matter.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from suanwang.core.errors import ConfigError

UI_PREFIX = "/ui"
PLOTLY_FILE = "plotly.min.js"


def static_dir() -> Path:
    """The folder of the dashboard's own files (index.html, *.js, app.css)."""
    return Path(__file__).resolve().parent / "static"


def plotly_js_path() -> Path:
    """Path of ``plotly.min.js`` inside the installed ``plotly`` package.

    Raises ConfigError (naming the dependency) when the plotly wheel is not installed.
    """
    try:
        root = resources.files("plotly")
    except ModuleNotFoundError as exc:
        raise ConfigError("the dashboard needs the 'plotly' package (pip install plotly); its "
                          "wheel ships plotly.min.js", field="plotly") from exc
    path = Path(str(root.joinpath("package_data", PLOTLY_FILE)))
    if not path.is_file():
        raise ConfigError(f"{path} is missing from the installed plotly package",
                          field="plotly")
    return path


def mount(app) -> None:
    """Serve the dashboard from ``app`` (a FastAPI/Starlette application).

    Adds ``GET /``, ``GET /ui/plotly.min.js`` and ``/ui`` static files. Raises ConfigError if
    plotly is not installed (checked now, not at the first page load).
    """
    from starlette.responses import FileResponse
    from starlette.staticfiles import StaticFiles

    plotly_js = plotly_js_path()
    index = static_dir() / "index.html"

    async def index_page(request):
        return FileResponse(index, media_type="text/html",
                            headers={"Cache-Control": "no-cache"})

    async def plotly_bundle(request):
        return FileResponse(plotly_js, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    app.add_route("/", index_page, methods=["GET"], include_in_schema=False)
    app.add_route(f"{UI_PREFIX}/{PLOTLY_FILE}", plotly_bundle, methods=["GET"],
                  include_in_schema=False)
    app.mount(UI_PREFIX, StaticFiles(directory=static_dir()), name="dashboard")
