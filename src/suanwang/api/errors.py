"""One place mapping errors to status codes.

* ConfigError -> 422 ``{"detail": [{"loc": [...], "msg", "type"}], "field": "a.b"}``
* request validation -> 422 with the same ``field`` (dotted key path, union tags dropped);
  a body that is not JSON (malformed, or bytes that are not UTF-8) -> 422 with field ``body``
  and ``malformed JSON at offset N: <reason>``; ``period`` -> ``must be YYYY-MM with month 01–12``
* NotFoundError -> 404; InfeasibleError -> 409; StaleTransition -> 409
* anything else -> 500, logged with its traceback (the process boundary)
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from suanwang.core.errors import ConfigError, InfeasibleError, NotFoundError
from suanwang.core.jobspec import error_location

log = logging.getLogger("suanwang.api")


def _field(loc: tuple) -> str:
    parts = tuple(p for p in loc if p not in ("body", "query", "path", "header"))
    return error_location(parts)


# Query parameters whose pattern is a regex nobody should have to read: the message instead.
_PATTERN_MESSAGES = {"period": "must be YYYY-MM with month 01–12"}


def _body_error(msg: str) -> JSONResponse:
    return JSONResponse({"detail": [{"loc": ["body"], "msg": msg, "type": "json_invalid"}],
                         "field": "body", "message": f"field 'body': {msg}"}, status_code=422)


def _readable(error: dict, field: str) -> dict:
    if error.get("type") == "string_pattern_mismatch" and field in _PATTERN_MESSAGES:
        return {**error, "msg": _PATTERN_MESSAGES[field]}
    return error


async def on_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if errors and errors[0].get("type") == "json_invalid":  # loc is ("body", byte offset)
        loc = tuple(errors[0].get("loc", ()))
        reason = (errors[0].get("ctx") or {}).get("error", errors[0].get("msg", "invalid"))
        where = f" at offset {loc[1]}" if len(loc) > 1 else ""
        return _body_error(f"malformed JSON{where}: {reason}")
    errors = [_readable(e, _field(tuple(e.get("loc", ())))) for e in errors]
    specific = [e for e in errors if e.get("type") not in
                ("string_type", "model_type", "model_attributes_type", "list_type")]
    first = (specific or errors)[0] if errors else {"loc": (), "msg": "invalid"}
    field = _field(tuple(first.get("loc", ())))
    if str(first.get("type", "")).startswith("union_tag"):
        field = "kind"
    body = {"detail": jsonable_encoder(errors, custom_encoder={ValueError: str}),
            "field": field, "message": f"field '{field}': {first.get('msg', 'invalid')}"}
    return JSONResponse(body, status_code=422)


async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """FastAPI answers a JSON body it cannot decode as text (not UTF-8) with a bare 400; that
    is bad input like malformed JSON, so it gets the same 422 naming ``body``."""
    cause = exc.__cause__
    if exc.status_code == 400 and isinstance(cause, UnicodeDecodeError):
        return _body_error(f"malformed JSON at offset {cause.start}: not UTF-8 text "
                           f"({cause.reason})")
    if exc.status_code == 400 and isinstance(cause, ValueError):
        return _body_error(f"malformed JSON: {cause}")
    return await http_exception_handler(request, exc)


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
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(ConfigError, on_config)
    app.add_exception_handler(NotFoundError, on_not_found)
    app.add_exception_handler(InfeasibleError, on_conflict)
    app.add_exception_handler(StaleTransition, on_conflict)
    app.add_exception_handler(Exception, on_error)
