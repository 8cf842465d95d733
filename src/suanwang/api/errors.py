"""One place mapping errors to status codes.

* ConfigError -> 422 ``{"detail": [{"loc": [...], "msg", "type"}], "field": "a.b"}``
* request validation -> 422 with the same ``field`` (dotted key path, union tags dropped)
* NotFoundError -> 404; InfeasibleError -> 409; StaleTransition -> 409
* anything else -> 500, logged with its traceback (the process boundary)
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from suanwang.core.errors import ConfigError, InfeasibleError, NotFoundError
from suanwang.core.jobspec import error_location

log = logging.getLogger("suanwang.api")


def _field(loc: tuple) -> str:
    parts = tuple(p for p in loc if p not in ("body", "query", "path", "header"))
    return error_location(parts)


async def on_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    specific = [e for e in errors if e.get("type") not in
                ("string_type", "model_type", "model_attributes_type", "list_type")]
    first = (specific or errors)[0] if errors else {"loc": (), "msg": "invalid"}
    field = _field(tuple(first.get("loc", ())))
    if str(first.get("type", "")).startswith("union_tag"):
        field = "kind"
    body = {"detail": jsonable_encoder(errors, custom_encoder={ValueError: str}),
            "field": field, "message": f"field '{field}': {first.get('msg', 'invalid')}"}
    return JSONResponse(body, status_code=422)


async def on_config(_: Request, exc: ConfigError) -> JSONResponse:
    field = exc.field or "spec"
    return JSONResponse({"detail": [{"loc": field.split("."), "msg": exc.detail,
                                     "type": "config"}],
                         "field": field, "message": str(exc)}, status_code=422)


async def on_not_found(_: Request, exc: NotFoundError) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=404)


async def on_conflict(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=409)


async def on_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "internal error; see the server log"}, status_code=500)


def install(app: FastAPI) -> None:
    from suanwang.store.jobs import StaleTransition

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ConfigError, on_config)
    app.add_exception_handler(NotFoundError, on_not_found)
    app.add_exception_handler(InfeasibleError, on_conflict)
    app.add_exception_handler(StaleTransition, on_conflict)
    app.add_exception_handler(Exception, on_error)
