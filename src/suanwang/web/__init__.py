"""suanwang.web: the dashboard (static HTML/CSS/JS served by the API; see docs/dashboard.md).

``mount(app)`` adds the dashboard's routes to a FastAPI app; the pages talk to ``/api/v1`` over
HTTP only.
"""

from suanwang.web.assets import mount

__all__ = ["mount"]
