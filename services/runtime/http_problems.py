"""Error responses shared by the services' FastAPI apps.

`Problem` and `problem()` declare error responses in the OpenAPI documents; every route that
takes a body also declares `UNREADABLE_BODY` (FastAPI's 400 for bytes that are not UTF-8).

FastAPI's own 422 handler echoes each invalid input back. JSON may carry a lone surrogate
("\\ud800"): Python's json module decodes it, pydantic rejects it, and the echo then cannot
be encoded as UTF-8, so a validation error became a 500. This handler answers the same 422
body with such characters replaced.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class Problem(BaseModel):
    """What FastAPI's HTTPException answers."""

    detail: str


def problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


UNREADABLE_BODY: dict[int | str, dict[str, Any]] = {
    400: problem("The body cannot be decoded (not UTF-8)")
}


def _encodable(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list | tuple):
        return [_encodable(item) for item in value]
    if isinstance(value, dict):
        return {_encodable(key): _encodable(item) for key, item in value.items()}
    return value


async def _validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    detail = _encodable(jsonable_encoder(error.errors()))
    return JSONResponse(status_code=422, content={"detail": detail})


def install_validation_handler(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
